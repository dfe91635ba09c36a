"""The one detections type every vision tool takes: boxes, scores, vehicle classes (and track ids once tracked).

Boxes are xyxy in source-frame pixels; `class_id` indexes VEHICLE_CLASSES (car, truck, bus, motorcycle), whatever
the model's own class ids were (the detector maps them through the config's class_map).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from configs.vision import VEHICLE_CLASSES

__all__ = ["VEHICLE_CLASSES", "Detections"]


@dataclass(frozen=True)
class Detections:
    xyxy: np.ndarray  # (n, 4) float32
    confidence: np.ndarray  # (n,) float32
    class_id: np.ndarray  # (n,) int64, index into VEHICLE_CLASSES
    tracker_id: np.ndarray | None = field(default=None)  # (n,) int64 when tracked

    def __post_init__(self) -> None:
        n = len(self.xyxy)
        if self.xyxy.shape != (n, 4) or len(self.confidence) != n or len(self.class_id) != n:
            raise ValueError(
                f"Detections: expected xyxy (n, 4) with n scores and classes, found {self.xyxy.shape}, "
                f"{len(self.confidence)} scores, {len(self.class_id)} classes"
            )

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index: np.ndarray | slice) -> Detections:
        return Detections(
            self.xyxy[index],
            self.confidence[index],
            self.class_id[index],
            None if self.tracker_id is None else self.tracker_id[index],
        )

    def with_tracks(self, tracker_id: np.ndarray) -> Detections:
        return replace(self, tracker_id=np.asarray(tracker_id, np.int64))

    @property
    def anchors(self) -> np.ndarray:
        """Bottom-centre points (n, 2): where a vehicle touches the road, used for lane assignment."""
        return np.stack([(self.xyxy[:, 0] + self.xyxy[:, 2]) / 2, self.xyxy[:, 3]], axis=1)

    @property
    def class_names(self) -> list[str]:
        return [VEHICLE_CLASSES[int(c)] for c in self.class_id]
