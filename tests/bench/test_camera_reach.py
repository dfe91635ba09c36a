"""bench/camera_reach.py: vehicles are tallied in the right band and phase, the reach stops at the first band the
camera undercounts, and stop-line crossings are counted as SUMO and as the controller count them."""

from bench.camera_reach import BandTally, CrossingCounter, reach_m, sumo_crossings
from configs.controller import ControllerParams
from controller.measurement import ApproachingVehicle, IntersectionMeasurement, LaneMeasurement


def _junction(lanes: dict[str, tuple[float, list[float]]], now_s: float = 0.0) -> IntersectionMeasurement:
    """lane -> (zone_m, moving vehicles' distances)."""
    return IntersectionMeasurement(
        junction_id="J",
        now_s=now_s,
        incoming={
            lane: LaneMeasurement(
                lane_id=lane,
                vehicles=len(ds),
                queued=0,
                approaching=tuple(ApproachingVehicle(distance_m=d, speed_mps=10.0) for d in ds),
                zone_m=zone,
            )
            for lane, (zone, ds) in lanes.items()
        },
    )


def test_vehicles_are_tallied_per_band_and_phase_and_truth_is_cut_at_the_camera_zone():
    tally = BandTally(bands=8)
    camera = _junction({"a": (50.0, [3.0, 25.0]), "b": (80.0, [79.9]), "ghost": (80.0, [5.0])})
    truth = _junction({"a": (80.0, [2.0, 24.0, 31.0, 60.0]), "b": (80.0, [72.0]), "ghost": (80.0, [5.0])})
    tally.add(camera, truth, served={"a": True}, skip=frozenset({"ghost"}))
    # lane a (green): SUMO's vehicle 60 m out is past the camera's 50 m zone, so not the camera's to count
    assert tally.truth["green"] == [1, 0, 1, 1, 0, 0, 0, 0]
    assert tally.camera["green"] == [1, 0, 1, 0, 0, 0, 0, 0]
    # lane b (not served: red); the unseen lane is not tallied at all
    assert tally.truth["red"] == [0, 0, 0, 0, 0, 0, 0, 1]
    assert tally.camera["red"] == [0, 0, 0, 0, 0, 0, 0, 1]
    assert tally.ratios("green")[:4] == [1.0, None, 1.0, 0.0]


def test_reach_ends_before_the_first_band_the_camera_undercounts():
    # the first band (vehicles crossing the stop line) does not count; an empty band does not end the reach
    assert reach_m([0.6, 0.9, None, 0.85, 0.7, 0.95], 0.8) == 40.0
    assert reach_m([0.9, 0.5, 0.9], 0.8) == 10.0
    assert reach_m([0.9, 0.9, 0.9], 0.8) == 30.0


def test_sumo_crossings_count_vehicles_that_left_forward_not_lane_changes():
    lane_edge = {"e_0": "e", "e_1": "e"}
    before = {"e_0": {"a", "b", "c"}, "e_1": {"d"}}
    now = {"e_0": set(), "e_1": {"d", "b"}}  # b changed lanes; a entered the junction; c arrived (left the net)
    road = {"a": ":J_0", "b": "e", "d": "e"}
    assert sumo_crossings(before, now, road.get, lane_edge) == 2


def test_crossing_counter_counts_a_vehicle_leaving_on_green_once_and_none_on_red():
    params = ControllerParams()
    counter = CrossingCounter(["a"], params)
    steps = [[20.0], [8.0], []]  # a vehicle at 12 m/s reaches the stop line and is gone
    for t, ds in enumerate(steps):
        counter.update(_junction({"a": (80.0, ds)}, float(t)), {"a": True})
    assert counter.total == 1
    red = CrossingCounter(["a"], params)
    for t, ds in enumerate(steps):
        red.update(_junction({"a": (80.0, ds)}, float(t)), {"a": False})
    assert red.total == 0
