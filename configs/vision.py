"""Camera and detector settings: where frames come from, which lane each image region is, which model runs."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationInfo, field_validator, model_validator

from configs.base import StrictModel

__all__ = ["CameraConfig", "CameraLaneZone", "DetectorConfig"]

# The four road-user classes the controller counts; a detector's own class ids map onto these.
VEHICLE_CLASSES = ("car", "truck", "bus", "motorcycle")


class CameraLaneZone(StrictModel):
    lane: str = Field(min_length=1, description="Lane id from the intersection config (or SUMO lane id).")
    polygon: list[tuple[float, float]] = Field(
        min_length=3, description="Lane region in image pixels, (x, y) vertices."
    )
    stop_line: tuple[tuple[float, float], tuple[float, float]] | None = Field(
        default=None, description="Stop line in image pixels, two points."
    )


class CameraConfig(StrictModel):
    name: str = Field(min_length=1)
    source: str = Field(min_length=1, description="Video file path, rtsp:// URL, or USB index like '0'.")
    fps: float = Field(default=10.0, gt=0, le=120)
    lanes: list[CameraLaneZone] = Field(min_length=1)
    homography: list[list[float]] | None = Field(
        default=None,
        description="3x3 image -> approach ground homography: x metres across, y metres upstream of the stop line.",
    )
    zone_m: float = Field(default=60.0, gt=0, le=500, description="Detection zone length before the stop line.")
    ignore_boxes: list[list[float]] = Field(
        default_factory=list,
        description="Frame-pixel boxes [x0, y0, x1, y1] where the detector fires on the empty road (a lane marking, "
        "a sign), found when the camera is commissioned; a detection of about that size there is dropped.",
    )

    @field_validator("ignore_boxes")
    @classmethod
    def _boxes(cls, boxes: list[list[float]]) -> list[list[float]]:
        for k, b in enumerate(boxes):
            if len(b) != 4 or b[2] <= b[0] or b[3] <= b[1]:
                raise ValueError(f"ignore_boxes[{k}]: expected [x0, y0, x1, y1] with x1 > x0 and y1 > y0, found {b}")
        return boxes

    @field_validator("homography")
    @classmethod
    def _is_3x3(cls, h: list[list[float]] | None) -> list[list[float]] | None:
        if h is not None and (len(h) != 3 or any(len(row) != 3 for row in h)):
            raise ValueError(f"expected a 3x3 matrix, found {len(h)} rows of lengths {[len(r) for r in h]}")
        return h


class DetectorConfig(StrictModel):
    model: Path = Field(description="ONNX file (an Ultralytics YOLO export or the shipped model).")
    input_size: int = Field(default=320, ge=32, le=1920, description="Square model input side in pixels.")
    class_map: dict[int, str] = Field(
        default_factory=lambda: {0: "car", 1: "truck", 2: "bus", 3: "motorcycle"},
        description="Model class id -> vehicle class; ids not listed are ignored (COCO: 2 car, 3 motorcycle, 5 bus, 7 truck).",
    )
    conf_threshold: float = Field(default=0.25, gt=0, lt=1)
    iou_threshold: float = Field(default=0.6, gt=0, lt=1)
    threads: int = Field(default=2, ge=1, le=64, description="onnxruntime intra-op threads.")

    @field_validator("model")
    @classmethod
    def _resolve_model(cls, path: Path, info: ValidationInfo) -> Path:
        return _resolve(path, info)

    @field_validator("class_map")
    @classmethod
    def _known_classes(cls, m: dict[int, str]) -> dict[int, str]:
        for k, v in m.items():
            if v not in VEHICLE_CLASSES:
                raise ValueError(f"class_map[{k}]: expected one of {list(VEHICLE_CLASSES)}, found {v!r}")
        if not m:
            raise ValueError("class_map: expected at least one class, found none")
        return m

    @model_validator(mode="after")
    def _size_multiple_of_stride(self) -> DetectorConfig:
        if self.input_size % 32:
            raise ValueError(f"input_size: expected a multiple of 32 (YOLO stride), found {self.input_size}")
        return self


def _resolve(path: Path, info: ValidationInfo) -> Path:
    """Relative paths are taken from the config file's folder when loaded from a file."""
    base = (info.context or {}).get("base_dir")
    return path if path.is_absolute() or base is None else Path(base) / path
