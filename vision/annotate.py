"""Draw detections, lane zones and per-lane counts on a frame (for --out videos and for looking at samples)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import cv2
import numpy as np

from controller.measurement import LaneMeasurement
from vision.counting import LaneZone
from vision.detections import VEHICLE_CLASSES, Detections

__all__ = ["annotate"]

_COLOURS = {"car": (80, 220, 80), "truck": (230, 140, 40), "bus": (40, 60, 230), "motorcycle": (220, 60, 220)}


def annotate(
    frame: np.ndarray,
    detections: Detections,
    zones: Sequence[LaneZone] = (),
    counts: Mapping[str, LaneMeasurement] | None = None,
) -> np.ndarray:
    """A copy of `frame` with lane polygons, boxes (class colour) and a count label per lane."""
    img = frame.copy()
    for z in zones:
        cv2.polylines(img, [z.polygon.astype(np.int32).reshape(-1, 1, 2)], True, (0, 230, 230), 1, cv2.LINE_AA)
    for (x0, y0, x1, y1), c in zip(detections.xyxy, detections.class_id, strict=True):
        colour = _COLOURS[VEHICLE_CLASSES[int(c)]]
        cv2.rectangle(img, (int(x0), int(y0)), (int(x1), int(y1)), colour, 1, cv2.LINE_AA)
    if counts:
        for z in zones:
            m = counts.get(z.lane_id)
            if m is None:
                continue
            x, y = z.polygon[np.argmax(z.polygon[:, 1])]
            label = f"{m.vehicles}v {m.queued}q {m.queue_m:.0f}m"
            cv2.putText(img, label, (int(x) - 30, int(min(y, img.shape[0] - 4))), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                        (0, 0, 0), 3, cv2.LINE_AA)
            cv2.putText(img, label, (int(x) - 30, int(min(y, img.shape[0] - 4))), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                        (255, 255, 255), 1, cv2.LINE_AA)
    return img
