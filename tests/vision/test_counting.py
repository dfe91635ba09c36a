"""Lane counting: anchor assignment, queued vs moving with hysteresis, flicker hold, queue length, tracker ids."""

from __future__ import annotations

import numpy as np
import pytest

from tests.vision.builders import make_camera, make_detections
from vision.counting import LaneCounter, find_clutter
from vision.detections import Detections
from vision.tracking import IouTracker

# two lanes side by side; y pixels map to metres upstream: ground y = (400 - v) / 4, x = u / 4
LANES = {"L0": [(0, 0), (100, 0), (100, 400), (0, 400)], "L1": [(100, 0), (200, 0), (200, 400), (100, 400)]}
H = [[0.25, 0, 0], [0, -0.25, 100.0], [0, 0, 1]]


def _counter(**kw) -> LaneCounter:
    return LaneCounter.from_config(make_camera(LANES, homography=H), **kw)


def _car(cx: float, bottom: float) -> tuple[float, float, float, float]:
    return (cx - 15, bottom - 20, cx + 15, bottom)


def test_bottom_centre_anchor_picks_the_lane() -> None:
    c = _counter()
    # a box spanning both lanes is counted where its bottom-centre lies (x = 120 -> L1)
    m = c.update(make_detections([(60, 100, 180, 150), _car(50, 300)]), 0.0)
    assert (m["L0"].vehicles, m["L1"].vehicles) == (1, 1)


def test_commissioned_clutter_is_dropped_but_a_vehicle_on_the_same_spot_is_counted() -> None:
    # a lane marking the detector reads as a motorcycle at L0's stop bar: 8 x 24 px, standing in every frame
    clutter = (46.0, 370.0, 54.0, 394.0)
    camera = make_camera(LANES, homography=H).model_copy(update={"ignore_boxes": [list(clutter)]})
    c = LaneCounter.from_config(camera)
    for k in range(12):
        jitter = (k % 3) - 1.0  # the phantom's box moves by a pixel or two from frame to frame
        m = c.update(make_detections([(46 + jitter, 371 - jitter, 55 + jitter, 393), _car(150, 392)]), k * 0.1)
    assert m["L0"].vehicles == 0 and m["L1"].queued == 1
    # a car stopping over the marking is four times its size: counted
    for k in range(12, 24):
        m = c.update(make_detections([_car(50, 394)]), k * 0.1)
    assert m["L0"].queued == 1


def test_find_clutter_keeps_what_stands_in_most_frames_of_the_empty_road() -> None:
    frames = []
    for k in range(10):
        boxes = [(100 + k * 30, 200 - k * 10, 140 + k * 30, 230 - k * 10)]  # a vehicle passing through
        if k != 3:  # the marking, missed in one frame, a pixel off in others
            boxes.append((46 + (k % 2), 370, 54 + (k % 2), 394))
        if k == 5:
            boxes.append((300, 10, 304, 14))  # a speck of sensor noise
        frames.append(np.array(boxes, float))
    assert find_clutter(frames, min_share=0.5) == [[46.0, 370.0, 55.0, 394.0]]
    assert find_clutter(frames, min_share=0.95) == []


def test_ignore_boxes_must_be_boxes() -> None:
    with pytest.raises(ValueError, match=r"ignore_boxes\[0\]: expected \[x0, y0, x1, y1\]"):
        make_camera(LANES).model_validate(make_camera(LANES).model_dump() | {"ignore_boxes": [[10, 10, 5, 20]]})


def test_outside_every_zone_is_not_counted() -> None:
    m = _counter().update(make_detections([_car(300, 200)]), 0.0)
    assert m["L0"].vehicles == m["L1"].vehicles == 0


def test_stopped_vehicles_become_queued_and_give_queue_length() -> None:
    c = _counter()
    for k in range(12):
        m = c.update(make_detections([_car(50, 392), _car(50, 360)]), k * 0.1)
    lane = m["L0"]
    assert lane.vehicles == 2 and lane.queued == 2
    # the farther car's front is (400 - 360) / 4 = 10 m upstream, plus a car length
    assert lane.queue_m == pytest.approx(10 + 4.5, abs=0.01)
    assert lane.approaching == ()


def test_moving_vehicle_is_approaching_with_speed_and_distance() -> None:
    c = _counter()
    for k in range(12):
        bottom = 100 + k * 4.0  # 4 px per 0.1 s = 1 m per 0.1 s = 10 m/s towards the stop line
        m = c.update(make_detections([_car(150, bottom)]), k * 0.1)
    lane = m["L1"]
    assert lane.queued == 0 and len(lane.approaching) == 1
    assert lane.approaching[0].speed_mps == pytest.approx(10.0, rel=0.05)
    assert lane.approaching[0].distance_m == pytest.approx((400 - 144) / 4, abs=0.01)


def test_queued_needs_history_then_hysteresis_holds_through_creep() -> None:
    c = _counter()
    m = c.update(make_detections([_car(50, 300)]), 0.0)
    assert m["L0"].queued == 0  # no history yet: not called stopped
    bottom = 300.0
    for k in range(1, 10):
        m = c.update(make_detections([_car(50, bottom)]), k * 0.1)
    assert m["L0"].queued == 1
    for k in range(10, 25):  # creeping at 1.6 m/s: between the stop (1.2) and move (2.5) thresholds
        bottom += 0.64
        m = c.update(make_detections([_car(50, bottom)]), k * 0.1)
    assert m["L0"].queued == 1
    for k in range(25, 40):  # drives off at 8 m/s
        bottom += 3.2
        m = c.update(make_detections([_car(50, bottom)]), k * 0.1)
    assert m["L0"].queued == 0


def test_one_missed_frame_is_held_but_a_vanished_vehicle_is_dropped() -> None:
    c = _counter()
    c.update(make_detections([_car(50, 300)]), 0.0)
    c.update(make_detections([_car(50, 300)]), 0.1)
    assert c.update(Detections.empty(), 0.2)["L0"].vehicles == 1  # flicker: held
    assert c.update(Detections.empty(), 0.6)["L0"].vehicles == 0  # gone


def test_occupancy_counts_vehicle_lengths_over_the_zone() -> None:
    m = _counter().update(make_detections([_car(50, 300), _car(50, 200)], classes=[0, 2]), 0.0)
    assert m["L0"].occupancy == pytest.approx((4.5 + 12.0) / 60.0)


def test_without_homography_distances_scale_along_the_polygon() -> None:
    c = LaneCounter.from_config(make_camera(LANES, zone_m=40.0))
    for k in range(10):
        m = c.update(make_detections([_car(50, 200)]), k * 0.1)
    assert m["L0"].queue_m == pytest.approx(20 + 4.5, abs=0.5)


def test_without_homography_distances_run_from_the_configured_stop_line() -> None:
    """A camera looking back at the approach from beyond the junction: the stop line is the polygon's top edge."""
    from configs.vision import CameraConfig

    cam = CameraConfig(name="cam", source="0", zone_m=40.0,
                       lanes=[{"lane": "L0", "polygon": LANES["L0"], "stop_line": ((0, 0), (100, 0))}])  # fmt: skip
    c = LaneCounter.from_config(cam)
    for k in range(10):
        m = c.update(make_detections([_car(50, 20)]), k * 0.1)  # stopped 20 px below the stop line: 2 m
    assert m["L0"].queued == 1 and m["L0"].queue_m == pytest.approx(2 + 4.5, abs=0.5)


def test_a_stop_line_at_the_frame_edge_is_reported() -> None:
    from configs.vision import CameraConfig

    inside, at_edge, unset = ((20, 300), (90, 300)), ((110, 300), (199, 355)), None
    cam = CameraConfig(name="cam", source="0", lanes=[
        {"lane": "L0", "polygon": LANES["L0"], "stop_line": inside},
        {"lane": "L1", "polygon": LANES["L1"], "stop_line": at_edge},  # 355 of 360: within 2% of the bottom
        {"lane": "L2", "polygon": LANES["L1"], "stop_line": unset},
    ])  # fmt: skip
    c = LaneCounter.from_config(cam)
    assert c.stop_lines_at_edge(640, 360) == ["L1"]
    assert c.stop_lines_at_edge(640, 480) == []  # the same lines on a taller frame are clear of its edge
    assert c.stop_lines_at_edge(80, 360) == ["L0", "L1"]  # and on a narrow one both run off its right side


def test_iou_tracker_keeps_ids_for_moving_boxes_and_survives_a_miss() -> None:
    tr = IouTracker()
    a = tr.update(make_detections([_car(50, 100), _car(150, 300)])).tracker_id.tolist()
    b = tr.update(make_detections([_car(150, 304), _car(50, 104)])).tracker_id.tolist()
    assert b == a[::-1]
    tr.update(Detections.empty())
    c = tr.update(make_detections([_car(50, 112)])).tracker_id.tolist()
    assert c == [a[0]]
    d = tr.update(make_detections([_car(50, 116), _car(400, 50)])).tracker_id.tolist()
    assert d[0] == a[0] and d[1] not in a


def test_detections_reject_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="expected xyxy"):
        Detections(np.zeros((2, 4), np.float32), np.zeros(1, np.float32), np.zeros(2, np.int64))


def test_bytetrack_adapter_gives_stable_ids_when_installed() -> None:
    pytest.importorskip("trackers")
    from vision.tracking import make_tracker

    tr = make_tracker("bytetrack", 10.0)
    ids = [tr.update(make_detections([_car(50, 100 + 4 * k), _car(150, 300)], conf=0.8)).tracker_id.tolist()
           for k in range(5)]
    assert ids[1] == ids[4] and len(set(ids[4])) == 2 and min(ids[4]) >= 0


def test_unknown_tracker_is_an_error() -> None:
    from vision.errors import VisionError
    from vision.tracking import make_tracker

    with pytest.raises(VisionError, match="expected 'iou' or 'bytetrack'"):
        make_tracker("sort")


def test_a_lane_whose_polygon_ends_short_reports_the_zone_it_covers() -> None:
    """A left bay ends 50 m before the camera's 80 m zone: its measurements must not claim the 50-80 m it never saw."""
    lanes = {"bay": [(0, 200), (100, 200), (100, 400), (0, 400)], "L1": LANES["L1"]}  # bay: v 200..400 = 0..50 m
    c = LaneCounter.from_config(make_camera(lanes, homography=H, zone_m=80.0))
    m = c.update(make_detections([]), 0.0)
    assert m["bay"].zone_m == pytest.approx(50.0) and m["L1"].zone_m == pytest.approx(80.0)


def test_without_homography_sideways_drift_is_not_speed() -> None:
    c = LaneCounter.from_config(make_camera(LANES, zone_m=40.0))
    for k in range(30):  # a stopped car drifting sideways 3 px/s as a pole sways (image x is pixels, not metres)
        m = c.update(make_detections([_car(40 + 0.3 * k, 200)]), k * 0.1)
        if k >= 10:
            assert m["L0"].queued == 1, k


def test_bytetrack_tracks_a_vehicle_detected_below_half_confidence() -> None:
    pytest.importorskip("trackers")
    c = _counter(tracker="bytetrack")
    for k in range(20):  # a parked car at confidence 0.40, above the detector's 0.25 cut
        m = c.update(make_detections([_car(50, 300)], conf=0.40), k * 0.1)
    assert m["L0"].vehicles == 1 and m["L0"].queued == 1


def test_a_track_handed_the_vehicle_behind_starts_its_speed_afresh() -> None:
    """At 1 frame/s a platoon member moves further than the spacing and the tracker hands its track the follower;
    traffic does not back away from the stop line, so that jump must not enter the speed fit."""
    from vision.counting import CountingSettings

    class _Scripted:  # the IoU tracker's mix-up, pinned: one id throughout
        def update(self, detections: Detections) -> Detections:
            ids = np.ones(len(detections), int)
            return Detections(detections.xyxy, detections.confidence, detections.class_id, ids)

    settings = CountingSettings(speed_window_s=3.5, min_history_s=1.5, hold_s=0.5)
    c = LaneCounter.from_config(make_camera(LANES, homography=H), tracker="iou", settings=settings)
    c.tracker = _Scripted()
    for t, metres in enumerate([20.0, 23.5, 16.5, 9.5]):  # the leader, then the follower moving at 7 m/s
        m = c.update(make_detections([_car(50, 400 - 4 * metres)]), float(t))
    (v,) = m["L0"].approaching
    assert v.speed_mps == pytest.approx(7.0, abs=0.1)


def test_at_three_frames_a_second_a_vehicle_missed_for_one_frame_is_still_counted() -> None:
    c = LaneCounter.from_config(make_camera(LANES, homography=H, fps=3.0))
    for k in range(4):
        m = c.update(make_detections([_car(50, 300)]), k / 3.0)
    assert m["L0"].vehicles == 1
    m = c.update(make_detections([]), 4 / 3.0)  # missed for one frame
    assert m["L0"].vehicles == 1
