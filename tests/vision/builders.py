"""Test builders: tiny ONNX detectors with scripted outputs (no torch), detections, camera configs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from configs.vision import CameraConfig
from vision.detections import Detections


def make_onnx_detector(path: Path, output: np.ndarray, *, hw: tuple[int | str, int | str] = (192, 320),
                       dynamic_batch: bool = True, batch: int | None = None,
                       out_dims: list[int | str] | None = None, half: bool = False,
                       metadata: dict[str, str] | None = None) -> Path:
    """An ONNX model [B, 3, H, W] -> `output` broadcast over the batch (input-dependent by a zero term).

    `batch` fixes the batch size (default 1 when not `dynamic_batch`); `out_dims` overrides the output dims the model
    declares after the batch (symbolic names as a dynamic export has); `half` makes input and output float16, as a
    half=True export; `metadata` is stored as the model's metadata (Ultralytics: names, imgsz, ...). Symbolic `hw`
    names make a dynamic-input model.
    """
    dtype, elem = (np.float16, TensorProto.FLOAT16) if half else (np.float32, TensorProto.FLOAT)
    const = numpy_helper.from_array(output.astype(dtype)[None], name="C")
    zero = numpy_helper.from_array(np.array(0.0, dtype), name="Z")
    axes = numpy_helper.from_array(np.array([1, 2], np.int64), name="A")
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["m"], axes=[1, 2, 3], keepdims=0),
        helper.make_node("Unsqueeze", ["m", "A"], ["m3"]),
        helper.make_node("Mul", ["m3", "Z"], ["m0"]),
        helper.make_node("Add", ["m0", "C"], ["output0"]),
    ]
    if out_dims is not None:
        # reshape to dims computed from the input's data, so onnxruntime cannot infer them: they stay symbolic,
        # as in a dynamic Ultralytics export
        dims = numpy_helper.from_array(np.array(output.shape, np.float32), name="D")
        nodes[-1] = helper.make_node("Add", ["m0", "C"], ["y"])
        nodes += [
            helper.make_node("Shape", ["images"], ["s"], end=1),
            helper.make_node("ReduceMean", ["images"], ["mm"], keepdims=0),
            helper.make_node("Cast", ["mm"], ["mm32"], to=TensorProto.FLOAT),
            helper.make_node("Mul", ["mm32", "Z32"], ["z32"]),
            helper.make_node("Add", ["z32", "D"], ["d"]),
            helper.make_node("Cast", ["d"], ["di"], to=TensorProto.INT64),
            helper.make_node("Concat", ["s", "di"], ["shape"], axis=0),
            helper.make_node("Reshape", ["y", "shape"], ["output0"]),
        ]
        extra = [dims, numpy_helper.from_array(np.array(0.0, np.float32), name="Z32")]
    else:
        extra = []
    b: int | str = batch if batch is not None else ("batch" if dynamic_batch else 1)
    graph = helper.make_graph(
        nodes,
        "fake_yolo",
        [helper.make_tensor_value_info("images", elem, [b, 3, *hw])],
        [helper.make_tensor_value_info("output0", elem, [b, *(out_dims or output.shape)])],
        initializer=[const, zero, axes, *extra],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if metadata is not None:
        helper.set_model_props(model, metadata)
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
