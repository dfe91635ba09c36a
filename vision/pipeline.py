"""Frames of an intersection's cameras -> one batched detector call -> per-lane measurements.

The runtime path: preprocess, infer, decode and NMS happen in the detector, tracking and counting per camera.
Holds no frames after a call returns.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from configs.vision import CameraConfig
from controller.measurement import LaneMeasurement
from vision.counting import CountingSettings, LaneCounter
from vision.detections import Detections
from vision.detector import Detector
from vision.errors import VisionError

__all__ = ["IntersectionPipeline"]


class IntersectionPipeline:
    """All cameras of one intersection, one detector, one lane counter per camera."""

    def __init__(
        self,
        detector: Detector,
        cameras: Sequence[CameraConfig],
        *,
        tracker: str = "iou",
        settings: CountingSettings | None = None,
    ) -> None:
        if not cameras:
            raise VisionError("pipeline: expected at least one camera, found none")
        self.detector = detector
        self.cameras = list(cameras)
        self.counters = [LaneCounter.from_config(c, tracker=tracker, settings=settings) for c in self.cameras]
        self.last_detections: list[Detections] = []

    def process(self, frames: Sequence[np.ndarray], now_s: float) -> dict[str, LaneMeasurement]:
        """One frame per camera, in camera order; returns measurements of every configured lane."""
        if len(frames) != len(self.cameras):
            raise VisionError(f"pipeline: expected {len(self.cameras)} frames (one per camera), found {len(frames)}")
        dets = self.detector.detect(frames)
        self.last_detections = dets
        out: dict[str, LaneMeasurement] = {}
        for counter, det in zip(self.counters, dets, strict=True):
            out.update(counter.update(det, now_s))
        return out
