"""Test builders: tiny ONNX detectors with scripted outputs (no torch), detections, camera configs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from configs.vision import CameraConfig
from vision.detections import Detections


def make_onnx_detector(path: Path, output: np.ndarray, *, hw: tuple[int, int] = (192, 320),
                       dynamic_batch: bool = True) -> Path:
    """An ONNX model [B, 3, H, W] -> `output` broadcast over the batch (input-dependent by a zero term)."""
    const = numpy_helper.from_array(output.astype(np.float32)[None], name="C")
    zero = numpy_helper.from_array(np.array(0.0, np.float32), name="Z")
    axes = numpy_helper.from_array(np.array([1, 2], np.int64), name="A")
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["m"], axes=[1, 2, 3], keepdims=0),
        helper.make_node("Unsqueeze", ["m", "A"], ["m3"]),
        helper.make_node("Mul", ["m3", "Z"], ["m0"]),
        helper.make_node("Add", ["m0", "C"], ["output0"]),
    ]
    batch: int | str = "batch" if dynamic_batch else 1
    graph = helper.make_graph(
        nodes,
        "fake_yolo",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [batch, 3, *hw])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [batch, *output.shape])],
        initializer=[const, zero, axes],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def raw_output(boxes_cxcywh: list[tuple[float, float, float, float]], class_scores: list[dict[int, float]],
               nc: int, n: int = 64) -> np.ndarray:
    """A [4 + nc, n] raw YOLO head output with the given candidates first, zeros after."""
    out = np.zeros((4 + nc, n), np.float32)
    for i, (box, scores) in enumerate(zip(boxes_cxcywh, class_scores, strict=True)):
        out[:4, i] = box
        for c, s in scores.items():
            out[4 + c, i] = s
    return out


def make_detections(boxes: list[tuple[float, float, float, float]], classes: list[int] | None = None,
                    conf: float = 0.9) -> Detections:
    n = len(boxes)
    return Detections(
        np.array(boxes, np.float32).reshape(-1, 4),
        np.full(n, conf, np.float32),
        np.array(classes if classes is not None else [0] * n, np.int64),
    )


def make_camera(lanes: dict[str, list[tuple[float, float]]], *, homography: list[list[float]] | None = None,
                zone_m: float = 60.0, fps: float = 10.0) -> CameraConfig:
    return CameraConfig(
        name="cam",
        source="0",
        fps=fps,
        lanes=[{"lane": k, "polygon": v} for k, v in lanes.items()],
        homography=homography,
        zone_m=zone_m,
    )
