"""bench/camera_reach.py: vehicles are tallied in the right band and phase, and the reach stops at the first band
the camera undercounts."""

from bench.camera_reach import BandTally, reach_m
from controller.measurement import ApproachingVehicle, IntersectionMeasurement, LaneMeasurement


def _junction(lanes: dict[str, tuple[float, list[float]]]) -> IntersectionMeasurement:
    """lane -> (zone_m, moving vehicles' distances)."""
    return IntersectionMeasurement(
        junction_id="J",
        now_s=0.0,
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
