"""Per-lane counts from tracked detections: vehicles, queued (stopped) vehicles, queue length, occupancy.

A detection belongs to the lane whose image polygon holds its bottom-centre anchor. The anchor is taken to the
approach ground plane through the camera's homography (x across, y metres upstream of the stop line), which gives
each track a distance to the stop line and, from a least-squares fit over the last ~1.5 s, a speed. A track is
queued once its speed drops below `stop_speed_mps` and stays queued until it exceeds `move_speed_mps`
(hysteresis); a track missed for a frame or two is still counted for `hold_s` (smoothing against flicker).

Static clutter: the detector may fire on the empty road itself (a lane marking meeting the stop bar read as a
motorcycle), at the same spot in every frame. Such a phantom stands still at the stop line, so it is a queued vehicle
to the controller: a call on every red, and on every green a vehicle that seems to leave and come back. The boxes it
gives on the empty road (`CameraConfig.ignore_boxes`, found when the camera is commissioned) are dropped before
tracking, as is any detection of about their size and place (`clutter_matches`); a vehicle on that spot is larger.
`find_clutter` finds them in detections of the empty road.

Pure computation over detections: no frames, no clock (time comes in as `now_s`), no onnxruntime.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from configs.vision import CameraConfig
from controller.measurement import ApproachingVehicle, LaneMeasurement
from vision.detections import VEHICLE_CLASSES, Detections
from vision.tracking import Tracker, make_tracker

__all__ = ["CountingSettings", "LaneCounter", "LaneZone", "clear_of_edge", "clutter_matches", "find_clutter"]

# typical vehicle length by class, metres: the camera sees the front; the queue ends at the back
CLASS_LENGTH_M = {"car": 4.5, "truck": 8.0, "bus": 12.0, "motorcycle": 2.2}


@dataclass(frozen=True, slots=True)
class LaneZone:
    lane_id: str
    polygon: np.ndarray  # (k, 2) float32 image pixels
    stop_line: np.ndarray | None = None  # (2, 2) image pixels; None: the polygon's lowest edge in the image

    def image_ends_y(self) -> tuple[float, float]:
        """Image y of the zone's stop-line end and of its far end (for counting without a homography)."""
        ys = self.polygon[:, 1]
        if self.stop_line is None:
            return float(ys.max()), float(ys.min())
        near = float(np.mean(self.stop_line[:, 1]))
        far = float(ys.min()) if abs(ys.min() - near) >= abs(ys.max() - near) else float(ys.max())
        return near, far


_BACKWARD_M = 2.0  # a track moving this far away from the stop line in one frame has switched vehicles...
_SLOW_FRAME_S = 0.5  # ...when frames are this far apart
HOLD_S = 0.25  # how long a missed vehicle is still counted, at 6 frames/s and faster
STOP_LINE_EDGE_MARGIN = 0.02  # of the frame size: a stop line this close to the edge cuts the vehicle standing there


def clear_of_edge(uv: np.ndarray, width: int, height: int) -> np.ndarray:
    """Per (n, 2) pixel point, whether it lies inside the frame by at least `STOP_LINE_EDGE_MARGIN` of its size."""
    mx, my = STOP_LINE_EDGE_MARGIN * width, STOP_LINE_EDGE_MARGIN * height
    return (uv[:, 0] >= mx) & (uv[:, 0] <= width - mx) & (uv[:, 1] >= my) & (uv[:, 1] <= height - my)


# A detection is static clutter when its centre lies within a commissioning box grown by this share of its size on each
# side and its area is within these ratios of the box's: the clutter's own box jitters by a few pixels from frame to
# frame, while a vehicle standing on the same spot (a car at the stop line over a lane marking) is several times larger.
_CLUTTER_GROW = 0.5
_CLUTTER_AREA = (0.4, 2.5)


def clutter_matches(xyxy: np.ndarray, clutter: np.ndarray) -> np.ndarray:
    """(n, m): whether detection box i (of `xyxy`, (n, 4)) matches clutter box j (of `clutter`, (m, 4))."""
    xyxy, clutter = np.asarray(xyxy, np.float64).reshape(-1, 4), np.asarray(clutter, np.float64).reshape(-1, 4)
    cx, cy = (xyxy[:, 0] + xyxy[:, 2]) / 2, (xyxy[:, 1] + xyxy[:, 3]) / 2
    area = (xyxy[:, 2] - xyxy[:, 0]) * (xyxy[:, 3] - xyxy[:, 1])
    w, h = clutter[:, 2] - clutter[:, 0], clutter[:, 3] - clutter[:, 1]
    inside = (
        (cx[:, None] >= clutter[None, :, 0] - _CLUTTER_GROW * w)
        & (cx[:, None] <= clutter[None, :, 2] + _CLUTTER_GROW * w)
        & (cy[:, None] >= clutter[None, :, 1] - _CLUTTER_GROW * h)
        & (cy[:, None] <= clutter[None, :, 3] + _CLUTTER_GROW * h)
    )
    ratio = area[:, None] / (w * h)[None, :]
    return np.asarray(inside & (ratio >= _CLUTTER_AREA[0]) & (ratio <= _CLUTTER_AREA[1]))


def find_clutter(frames: Sequence[np.ndarray], min_share: float) -> list[list[float]]:
    """Static clutter in detections of an empty road: boxes at about the same place in at least `min_share` of frames.

    `frames`: per frame, the (n, 4) xyxy boxes detected. A passing vehicle is in a few frames at a new place in each,
    as is a speck of sensor noise: neither is clutter. Each box returned covers all the boxes it was found as.
    """
    groups: list[list[np.ndarray]] = []  # per candidate, its boxes (at most one per frame)
    for boxes in frames:
        taken: set[int] = set()
        for box in np.asarray(boxes, np.float64).reshape(-1, 4):
            means = np.array([np.mean(g, axis=0) for g in groups]).reshape(-1, 4)
            free = [int(k) for k in np.flatnonzero(clutter_matches(box, means)[0]) if int(k) not in taken]
            if free:
                groups[free[0]].append(box)
            else:
                groups.append([box])
                free = [len(groups) - 1]
            taken.add(free[0])
    need = max(1, int(np.ceil(min_share * len(frames))))
    return [[float(v) for v in (*np.min(g, axis=0)[:2], *np.max(g, axis=0)[2:])] for g in groups if len(g) >= need]


@dataclass(frozen=True, slots=True)
class CountingSettings:
    stop_speed_mps: float = 1.2
    move_speed_mps: float = 2.5
    speed_window_s: float = 1.5
    min_history_s: float = 0.4
    hold_s: float = HOLD_S
    forget_s: float = 3.0


@dataclass
class _Track:
    cls: int
    last_seen_s: float
    lane: str | None = None
    history: deque[tuple[float, float, float]] = field(default_factory=deque)
    speed_mps: float | None = None
    queued: bool = False
    distance_m: float = 0.0


class LaneCounter:
    """One camera's lane counter. Feed it every frame's detections with the frame time."""

    def __init__(
        self,
        zones: Sequence[LaneZone],
        *,
        homography: np.ndarray | None = None,
        zone_m: float = 60.0,
        tracker: Tracker | None = None,
        settings: CountingSettings | None = None,
        ignore_boxes: Sequence[Sequence[float]] = (),
    ) -> None:
        self.zones = list(zones)
        self.ignore_boxes = np.asarray(ignore_boxes, np.float64).reshape(-1, 4)
        self.homography = None if homography is None else np.asarray(homography, np.float64)
        self.zone_m = zone_m
        self.tracker = tracker or make_tracker("iou")
        self.settings = settings or CountingSettings()
        self._tracks: dict[int, _Track] = {}
        self._polys = [z.polygon.astype(np.float32).reshape(-1, 1, 2) for z in self.zones]
        self._ends_y = [z.image_ends_y() for z in self.zones]
        # per lane, the zone it really covers: a left bay's polygon ends where the bay does, short of zone_m
        self._zone_m = {z.lane_id: self._reach_m(z) for z in self.zones}

    @classmethod
    def from_config(cls, camera: CameraConfig, *, tracker: str = "iou",
                    settings: CountingSettings | None = None) -> LaneCounter:
        zones = [
            LaneZone(z.lane, np.array(z.polygon, np.float32),
                     None if z.stop_line is None else np.array(z.stop_line, np.float32))
            for z in camera.lanes
        ]  # fmt: skip
        # a missed frame must be held at any frame rate: at 4 fps one frame is 0.25 s
        settings = settings or CountingSettings(hold_s=max(HOLD_S, 1.5 / camera.fps))
        return cls(zones, homography=None if camera.homography is None else np.array(camera.homography),
                   zone_m=camera.zone_m, tracker=make_tracker(tracker, camera.fps), settings=settings,
                   ignore_boxes=camera.ignore_boxes)

    def _reach_m(self, zone: LaneZone) -> float:
        """How far upstream of the stop line the lane's polygon reaches on the ground (zone_m at most)."""
        if self.homography is None:
            return self.zone_m
        pts = cv2.perspectiveTransform(zone.polygon.reshape(-1, 1, 2).astype(np.float64), self.homography)
        reach = float(pts.reshape(-1, 2)[:, 1].max())
        return min(self.zone_m, reach) if reach > 1.0 else self.zone_m

    def zones_off_frame(self, width: int, height: int) -> list[str]:
        """Lanes whose polygon lies mostly (over half its bounding box) outside a width x height frame.

        Such a lane can never be counted: typically polygons drawn on another stream's resolution.
        """
        out = []
        for z in self.zones:
            (x0, y0), (x1, y1) = z.polygon.min(axis=0), z.polygon.max(axis=0)
            area = max(float(x1 - x0), 1.0) * max(float(y1 - y0), 1.0)
            inside = max(0.0, min(x1, width) - max(x0, 0)) * max(0.0, min(y1, height) - max(y0, 0))
            if inside < 0.5 * area:
                out.append(z.lane_id)
        return out

    def stop_lines_at_edge(self, width: int, height: int) -> list[str]:
        """Lanes whose configured stop line reaches the edge of a width x height frame (within 2% of its size).

        The vehicle standing at such a stop line is cut by the frame edge, and a detector misses a cut vehicle far
        more often than a whole one: in the closed camera loop a truck at a stop line the frame cut went unseen for
        13 s running. The camera wants re-aiming. Lanes without a configured stop line are not checked.
        """
        return [z.lane_id for z in self.zones
                if z.stop_line is not None and not clear_of_edge(z.stop_line, width, height).all()]  # fmt: skip

    def lane_of(self, anchors: np.ndarray) -> list[int]:
        """Index of the zone holding each anchor, -1 for none (the deepest inside wins where zones overlap)."""
        out = []
        for x, y in anchors:
            best, best_d = -1, -1e9
            for i, poly in enumerate(self._polys):
                d = cv2.pointPolygonTest(poly, (float(x), float(y)), True)
                if d >= 0 and d > best_d:
                    best, best_d = i, d
            out.append(best)
        return out

    def to_ground(self, anchors: np.ndarray, lanes: list[int]) -> np.ndarray:
        """(n, 2) approach-ground points (x across, y metres upstream of the stop line)."""
        if len(anchors) == 0:
            return np.zeros((0, 2))
        if self.homography is not None:
            pts = cv2.perspectiveTransform(anchors.reshape(-1, 1, 2).astype(np.float64), self.homography)
            return pts.reshape(-1, 2)
        # no calibration: position along the lane polygon's height from its stop-line end, scaled to the zone
        # length (coarse: image y is not linear in distance)
        out = np.zeros((len(anchors), 2))
        for k, (a, li) in enumerate(zip(anchors, lanes, strict=True)):
            near, far = self._ends_y[li] if li >= 0 else (1.0, 0.0)
            span = near - far if abs(near - far) >= 1.0 else 1.0
            out[k] = (a[0], (near - a[1]) / span * self.zone_m)
        return out

    def update(self, detections: Detections, now_s: float) -> dict[str, LaneMeasurement]:
        s = self.settings
        if len(self.ignore_boxes) and len(detections):
            detections = detections[np.asarray(~clutter_matches(detections.xyxy, self.ignore_boxes).any(axis=1))]
        det = self.tracker.update(detections)
        lanes = self.lane_of(det.anchors)
        ground = self.to_ground(det.anchors, lanes)
        seen: set[int] = set()
        untracked: list[tuple[int, int, float]] = []  # (lane index, class, distance) of id-less detections
        for k in range(len(det)):
            tid = int(det.tracker_id[k]) if det.tracker_id is not None else -1
            lane = self.zones[lanes[k]].lane_id if lanes[k] >= 0 else None
            if tid < 0:
                if lanes[k] >= 0:
                    untracked.append((lanes[k], int(det.class_id[k]), float(ground[k, 1])))
                continue
            tr = self._tracks.get(tid)
            if tr is None:
                tr = self._tracks[tid] = _Track(cls=int(det.class_id[k]), last_seen_s=now_s)
            last = tr.history[-1] if tr.history else None
            if last is not None and now_s - last[0] >= _SLOW_FRAME_S and ground[k, 1] - last[2] > _BACKWARD_M:
                # traffic does not back away from the stop line: the tracker gave this track the vehicle behind
                # (at a low frame rate a platoon member moves further than the spacing), so its history is another's.
                # At a video frame rate the tracker does not mix them up, and a far vehicle's position jitters more.
                tr.history.clear()
                tr.queued = False
            tr.cls, tr.last_seen_s, tr.lane, tr.distance_m = int(det.class_id[k]), now_s, lane, float(ground[k, 1])
            tr.history.append((now_s, float(ground[k, 0]), float(ground[k, 1])))
            while tr.history and tr.history[0][0] < now_s - s.speed_window_s:
                tr.history.popleft()
            # without a homography ground x is image pixels: only the along-lane (metre) component is a speed
            tr.speed_mps = _fit_speed(tr.history, s.min_history_s, along_only=self.homography is None)
            if tr.speed_mps is not None:
                if tr.queued and tr.speed_mps > s.move_speed_mps:
                    tr.queued = False
                elif not tr.queued and tr.speed_mps < s.stop_speed_mps:
                    tr.queued = True
            seen.add(tid)
        for tid in [t for t, tr in self._tracks.items() if now_s - tr.last_seen_s > s.forget_s]:
            del self._tracks[tid]
        members: dict[str, list[_Track]] = {z.lane_id: [] for z in self.zones}
        for tid, tr in self._tracks.items():
            if tr.lane is not None and (tid in seen or now_s - tr.last_seen_s <= s.hold_s):
                members[tr.lane].append(tr)
        for li, cls, dist in untracked:
            members[self.zones[li].lane_id].append(_Track(cls=cls, last_seen_s=now_s, distance_m=dist))
        return {lane: self._measure(lane, trs) for lane, trs in members.items()}

    def _measure(self, lane: str, tracks: list[_Track]) -> LaneMeasurement:
        zone_m = self._zone_m[lane]
        queued = [t for t in tracks if t.queued]
        moving = sorted((t for t in tracks if not t.queued), key=lambda t: t.distance_m)
        lengths = [CLASS_LENGTH_M[VEHICLE_CLASSES[t.cls]] for t in tracks]
        queue_m = max((max(t.distance_m, 0.0) + CLASS_LENGTH_M[VEHICLE_CLASSES[t.cls]] for t in queued), default=0.0)
        return LaneMeasurement(
            lane_id=lane,
            vehicles=len(tracks),
            queued=len(queued),
            approaching=tuple(ApproachingVehicle(max(t.distance_m, 0.0), t.speed_mps) for t in moving),
            queue_m=min(queue_m, zone_m),
            occupancy=min(1.0, sum(lengths) / zone_m),
            zone_m=zone_m,
        )


def _fit_speed(
    history: deque[tuple[float, float, float]], min_span_s: float, *, along_only: bool = False
) -> float | None:
    """Ground speed from a least-squares line through the recent positions; None until enough history."""
    if len(history) < 3 or history[-1][0] - history[0][0] < min_span_s:
        return None
    h = np.asarray(history)
    t = h[:, 0] - h[:, 0].mean()
    denom = float(t @ t)
    vx = float(t @ (h[:, 1] - h[:, 1].mean())) / denom
    vy = float(t @ (h[:, 2] - h[:, 2].mean())) / denom
    return abs(vy) if along_only else float(np.hypot(vx, vy))
