"""Decode Ultralytics YOLO ONNX outputs into model-input-pixel boxes, for both layouts, with class mapping and NMS.

- raw head, [B, 4 + nc, N]: cx, cy, w, h then per-class scores (already sigmoid); needs NMS here.
- end-to-end / nms=True, [B, K, 6]: x1, y1, x2, y2, score, class; only a score filter is needed.

Model class ids are mapped to vehicle classes through `class_map`: each candidate takes its best class over all the
model's classes, and candidates whose best class is not in the map are dropped before NMS, so a COCO model's people
and traffic lights never reach the counter.
"""

from __future__ import annotations

from collections.abc import Mapping

import cv2
import numpy as np

from configs.vision import VEHICLE_CLASSES
from vision.errors import ModelError

__all__ = ["check_class_map", "decode_batch", "nms_xyxy", "output_layout"]


def output_layout(shape: tuple[int | str | None, ...]) -> str | None:
    """'raw' for [B, 4+nc, N], 'e2e' for [B, K, 6], None while the dims that tell them apart are symbolic.

    A dynamic export declares names for those dims (Ultralytics: ['batch', 'Sliceoutput0_dim_1', ...] for nms=True);
    the detector then judges the layout from the first real output, by the same rule.
    """
    if len(shape) != 3:
        raise ModelError(f"detector output: expected 3 dims ([B, 4+nc, N] or [B, K, 6]), found {list(shape)}")
    if not isinstance(shape[2], int):
        return None
    if shape[2] == 6 and not (isinstance(shape[1], int) and shape[1] < 6):
        return "e2e"
    return "raw"


def check_class_map(class_map: Mapping[int, str], n_model_classes: int) -> None:
    """Every mapped id must be one of the model's classes: an id past them would silently never count."""
    beyond = sorted(k for k in class_map if not 0 <= k < n_model_classes)
    if beyond:
        raise ModelError(
            f"class_map: expected ids among the model's {n_model_classes} classes (0..{n_model_classes - 1}),"
            f" found {beyond}"
        )


def nms_xyxy(boxes: np.ndarray, scores: np.ndarray, iou: float, classes: np.ndarray | None = None) -> np.ndarray:
    """Indices kept by greedy NMS (per class when `classes` is given, by offsetting boxes per class)."""
    if len(boxes) == 0:
        return np.zeros(0, np.int64)
    b = boxes.astype(np.float32)
    if classes is not None:
        b = b + (classes.astype(np.float32) * 4096.0)[:, None]
    xywh = np.column_stack([b[:, 0], b[:, 1], b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]])
    keep = cv2.dnn.NMSBoxes(xywh.tolist(), scores.astype(float).tolist(), 0.0, float(iou))
    return np.asarray(keep, np.int64).reshape(-1)


def _lookup(class_map: Mapping[int, str], n_model_classes: int) -> np.ndarray:
    """model class id -> vehicle class index, -1 where unmapped."""
    lut = np.full(max(n_model_classes, max(class_map, default=0) + 1), -1, np.int64)
    for k, name in class_map.items():
        lut[k] = VEHICLE_CLASSES.index(name)
    return lut


def decode_batch(
    output: np.ndarray,
    *,
    layout: str,
    class_map: Mapping[int, str],
    conf: float,
    iou: float,
    max_det: int = 300,
    agnostic: bool = True,
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per image: (xyxy in model-input pixels, scores, vehicle class index).

    `agnostic` NMS (the default) suppresses a car box under a truck box of the same vehicle: for counting, one
    vehicle must give one detection whatever the class confusion.
    """
    results = []
    if layout == "e2e":
        lut = _lookup(class_map, 1 + int(output[..., 5].max(initial=0)))
        for det in output:
            det = det[det[:, 4] >= conf]
            cls = lut[np.clip(det[:, 5].astype(np.int64), 0, len(lut) - 1)]
            det, cls = det[cls >= 0], cls[cls >= 0]
            boxes, score = det[:, :4].astype(np.float32), det[:, 4].astype(np.float32)
            if agnostic and len(det) > 1:
                # nms=True exports suppress per class and end-to-end heads pick top-k over all class scores, so
                # one vehicle can come back as both car and truck
                idx = nms_xyxy(boxes, score, iou)[:max_det]
                boxes, score, cls = boxes[idx], score[idx], cls[idx]
            results.append((boxes, score, cls))
        return results
    if output.ndim != 3 or output.shape[1] < 5:
        raise ModelError(f"detector output: expected [B, 4+nc, N], found {list(output.shape)}")
    nc = output.shape[1] - 4
    check_class_map(class_map, nc)
    lut = _lookup(class_map, nc)[:nc]
    cols = np.arange(output.shape[2])
    for pred in output:
        # the best class over all the model's classes, as Ultralytics' NMS takes it: a pedestrian scoring
        # person 0.85 and car 0.3 is a pedestrian (dropped), not a car
        best = pred[4:].argmax(axis=0)
        score = pred[4 + best, cols]
        keep = (score >= conf) & (lut[best] >= 0)
        if not keep.any():
            results.append((np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64)))
            continue
        cx, cy, w, h = pred[:4, keep]
        boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
        score, cls = score[keep], lut[best[keep]]
        idx = nms_xyxy(boxes, score, iou, None if agnostic else cls)[:max_det]
        results.append((boxes[idx].astype(np.float32), score[idx].astype(np.float32), cls[idx]))
    return results
