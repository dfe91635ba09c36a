"""Multi-object tracking for the lane counter: gives each vehicle a stable id across frames.

Two implementations behind one small protocol (`update(detections) -> detections with tracker_id`):
- `IouTracker`: greedy IoU association with a short memory; no dependencies. The default.
- `ByteTrackAdapter`: Roboflow's maintained ByteTrack (`trackers` package) when installed; it pulls in
  opencv-python (GUI build) and supervision, so it stays optional on the edge box. bench/vision.py measures both.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from vision.detections import Detections
from vision.errors import VisionError

__all__ = ["ByteTrackAdapter", "IouTracker", "Tracker", "iou_matrix", "make_tracker"]


class Tracker(Protocol):
    def update(self, detections: Detections) -> Detections: ...


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(n, m) IoU of xyxy boxes."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float32)
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-6)


class IouTracker:
    """Greedy highest-IoU-first matching of detections to the tracks' last boxes (shifted by their velocity).

    A track survives `max_lost` frames without a match, so a detection that flickers keeps its id.
    """

    def __init__(self, *, min_iou: float = 0.25, max_lost: int = 5) -> None:
        self.min_iou = min_iou
        self.max_lost = max_lost
        self._boxes = np.zeros((0, 4), np.float32)
        self._vel = np.zeros((0, 4), np.float32)
        self._ids = np.zeros(0, np.int64)
        self._lost = np.zeros(0, np.int64)
        self._next = 1

    def update(self, detections: Detections) -> Detections:
        pred = self._boxes + self._vel * (1 + self._lost[:, None])
        iou = iou_matrix(pred, detections.xyxy)
        n_t, n_d = iou.shape
        det_track = np.full(n_d, -1, np.int64)
        if n_t and n_d:
            order = np.argsort(-iou, axis=None)
            used_t, used_d = np.zeros(n_t, bool), np.zeros(n_d, bool)
            for flat in order:
                t, d = divmod(int(flat), n_d)
                if iou[t, d] < self.min_iou:
                    break
                if used_t[t] or used_d[d]:
                    continue
                used_t[t] = used_d[d] = True
                det_track[d] = t
        matched_t = det_track[det_track >= 0]
        keep_old = np.ones(n_t, bool)
        keep_old[matched_t] = False
        ids = np.empty(n_d, np.int64)
        new_boxes, new_vel, new_ids, new_lost = [], [], [], []
        for d in range(n_d):
            t = det_track[d]
            box = detections.xyxy[d]
            if t >= 0:
                vel = (box - self._boxes[t]) / (1 + self._lost[t])
                new_vel.append(0.6 * self._vel[t] + 0.4 * vel)
                ids[d] = self._ids[t]
            else:
                new_vel.append(np.zeros(4, np.float32))
                ids[d] = self._next
                self._next += 1
            new_boxes.append(box)
            new_ids.append(ids[d])
            new_lost.append(0)
        stale = keep_old & (self._lost < self.max_lost)
        self._boxes = np.concatenate([np.array(new_boxes, np.float32).reshape(-1, 4), self._boxes[stale]])
        self._vel = np.concatenate([np.array(new_vel, np.float32).reshape(-1, 4), self._vel[stale]])
        self._ids = np.concatenate([np.array(new_ids, np.int64), self._ids[stale]])
        self._lost = np.concatenate([np.array(new_lost, np.int64), self._lost[stale] + 1])
        return detections.with_tracks(ids)


class ByteTrackAdapter:
    """Roboflow `trackers` ByteTrack behind the Tracker protocol; detections it leaves unmatched get id -1."""

    def __init__(self, fps: float = 10.0) -> None:
        try:
            import supervision as sv
            from trackers import ByteTrackTracker
        except ImportError as exc:
            raise VisionError("tracker 'bytetrack': expected the 'trackers' package installed, found none") from exc
        self._sv = sv
        # thresholds lowered to the detector's default score cut (0.25): ByteTrack's defaults (0.7) drop night
        # detections, and only detections above high_conf_det_threshold start a track, so it may not sit above
        # the activation threshold (at 0.5, a vehicle detected at 0.25-0.5 was never tracked, so never queued)
        self._tracker: Any = ByteTrackTracker(
            frame_rate=fps, lost_track_buffer=max(int(fps), 1), track_activation_threshold=0.25,
            high_conf_det_threshold=0.25, minimum_consecutive_frames=1,
        )

    def update(self, detections: Detections) -> Detections:
        sv_det = self._sv.Detections(
            xyxy=detections.xyxy.astype(np.float32),
            confidence=detections.confidence.astype(np.float32),
            class_id=detections.class_id.astype(int),
        )
        out = self._tracker.update(sv_det)
        ids = np.full(len(detections), -1, np.int64)
        if len(out) and out.tracker_id is not None:
            match = iou_matrix(detections.xyxy, np.asarray(out.xyxy, np.float32))
            for d in range(len(detections)):
                j = int(match[d].argmax()) if match.shape[1] else -1
                if j >= 0 and match[d, j] > 0.9:
                    ids[d] = int(out.tracker_id[j])
        return detections.with_tracks(ids)


def make_tracker(kind: str = "iou", fps: float = 10.0) -> Tracker:
    """'iou' (built in) or 'bytetrack' (needs the `trackers` package)."""
    if kind == "iou":
        return IouTracker()
    if kind == "bytetrack":
        return ByteTrackAdapter(fps)
    raise VisionError(f"tracker: expected 'iou' or 'bytetrack', found {kind!r}")
