"""The vehicle detector: an Ultralytics YOLO ONNX model run with onnxruntime over a batch of camera frames.

Works with the shipped model and with a user's own export (e.g. a COCO YOLO11n: set class_map to
{2: car, 3: motorcycle, 5: bus, 7: truck}). Both output layouts are decoded (see vision/decode.py). A model with a
fixed batch is run over chunks of that size; a dynamic-batch model once per batch. Half-precision (half=True)
exports get float16 input. No torch here.
"""

from __future__ import annotations

import ast
import threading
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path
from typing import Protocol

import numpy as np

from configs.vision import DetectorConfig
from vision.decode import check_class_map, decode_batch, output_layout
from vision.detections import Detections
from vision.errors import ModelError, VisionError
from vision.preprocess import Letterbox, letterbox_batch

__all__ = ["SHIPPED_FP32_MODEL", "SHIPPED_MODEL", "Detector", "FakeDetector", "FaultyDetector", "OnnxDetector", "default_detector_config"]

# the runtime default is the int8 copy (vision/quantize.py: same counts; 2x faster on a CPU with VNNI, 1.17x on AVX2
# alone); the fp32 export it was made from ships too, as the master for `greenwave quantize` with a site's own frames
SHIPPED_MODEL = "greenwave-vehicles-v8n.int8.onnx"
SHIPPED_FP32_MODEL = "greenwave-vehicles-v8n.onnx"


def default_detector_config() -> DetectorConfig:
    """The shipped model with its own class order (car, truck, bus, motorcycle)."""
    return DetectorConfig(model=Path(str(files("vision") / "models" / SHIPPED_MODEL)))


class Detector(Protocol):
    def detect(self, frames: Sequence[np.ndarray]) -> list[Detections]: ...


class FakeDetector:
    """Returns scripted detections, one list entry per call (or the same every call); for tests."""

    def __init__(self, script: list[list[Detections]] | list[Detections]) -> None:
        self._script = script
        self.calls = 0

    def detect(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        item = self._script[min(self.calls, len(self._script) - 1)]
        self.calls += 1
        if isinstance(item, Detections):
            return [item for _ in frames]
        return list(item)[: len(frames)]


class FaultyDetector:
    """A real detector behind a switch that makes it raise (a crashed model, a driver error); for fault injection."""

    def __init__(self, inner: Detector) -> None:
        self.inner = inner
        self.failing = threading.Event()

    def detect(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        if self.failing.is_set():
            raise VisionError("injected: inference failed")
        return self.inner.detect(frames)


class OnnxDetector:
    """onnxruntime session + Ultralytics letterbox + decode + NMS.

    Raises:
        ModelError: the model file is missing or not a detector ONNX this runtime can decode.
    """

    def __init__(self, config: DetectorConfig) -> None:
        import onnxruntime as ort  # adapter boundary

        self.config = config
        path = Path(config.model)
        if not path.is_file():
            raise ModelError(f"detector model: expected an ONNX file at {path}, found nothing")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = config.threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self.session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
            raise ModelError(f"detector model {path}: expected a loadable ONNX model, found {exc}") from exc
        inp = self.session.get_inputs()[0]
        if len(inp.shape) != 4:
            raise ModelError(f"detector model {path}: expected a [B, 3, H, W] input, found {inp.shape}")
        self.path = path
        self.input_name = inp.name
        self.input_dtype = np.float16 if inp.type == "tensor(float16)" else np.float32  # a half=True export
        out = self.session.get_outputs()[0]
        self.output_name = out.name
        b, _, h, w = inp.shape
        meta = _metadata(self.session)
        if isinstance(h, int) and isinstance(w, int):
            self.input_hw = (h, w)
        elif "input_size" not in config.model_fields_set and _imgsz(meta.get("imgsz")):
            self.input_hw = _imgsz(meta.get("imgsz"))  # type: ignore[assignment]  # the size it was exported at
        else:
            self.input_hw = (config.input_size, config.input_size)
        self.max_batch = b if isinstance(b, int) and b > 0 else None  # None: any batch size
        self.layout = output_layout(tuple(out.shape))  # None: judged from the first output
        n_classes = _declared_classes(meta, out.shape, self.layout)
        if n_classes is not None:
            check_class_map(config.class_map, n_classes)

    def infer(self, batch: np.ndarray) -> np.ndarray:
        """Bare session.run over a preprocessed batch, in chunks of the model's batch when that is fixed.

        A fixed-batch model gets its frames in chunks of that size, the last one padded with copies and trimmed.

        Raises:
            ModelError: onnxruntime failed (one line: its message's first line).
        """
        batch = batch.astype(self.input_dtype, copy=False)
        fixed = self.max_batch
        if fixed is None or fixed == len(batch):
            return self._run(batch)
        outs = []
        for i in range(0, len(batch), fixed):
            chunk = batch[i : i + fixed]
            n = len(chunk)
            if n < fixed:
                chunk = np.concatenate([chunk, np.repeat(chunk[-1:], fixed - n, axis=0)])
            outs.append(self._run(chunk)[:n])
        return np.concatenate(outs)

    def _run(self, batch: np.ndarray) -> np.ndarray:
        try:
            out = self.session.run([self.output_name], {self.input_name: batch})[0]
        except Exception as exc:  # onnxruntime's own error types, with multi-line messages
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"detector model {self.path}: expected inference to run, found {first}") from exc
        return out.astype(np.float32, copy=False)

    def forward(self, frames: Sequence[np.ndarray]) -> tuple[np.ndarray, list[Letterbox]]:
        """Letterbox + session.run: the raw model output and how each frame was fitted."""
        batch, boxes = letterbox_batch(list(frames), self.input_hw)
        out = self.infer(batch)
        self._layout_of(out)
        return out, boxes

    def _layout_of(self, out: np.ndarray) -> str:
        """The output layout, judged from the first real output when the model's declared shape left it open."""
        if self.layout is None:
            self.layout = output_layout(out.shape)
        if self.layout is None:  # a real output's dims are ints: only a symbolic shape leaves the layout open
            raise ModelError(f"detector output: expected concrete dims, found {list(out.shape)}")
        if self.layout == "e2e" and out.shape[-1] != 6:
            raise ModelError(f"detector output: expected [B, K, 6], found {list(out.shape)}")
        return self.layout

    def decode(self, out: np.ndarray, boxes: list[Letterbox], *, conf: float | None = None) -> list[Detections]:
        """Raw output -> frame-pixel detections (config thresholds unless `conf` overrides the score cut)."""
        decoded = decode_batch(
            out,
            layout=self._layout_of(out),
            class_map=self.config.class_map,
            conf=self.config.conf_threshold if conf is None else conf,
            iou=self.config.iou_threshold,
        )
        return [
            Detections(lb.to_frame(xyxy), score, cls) for (xyxy, score, cls), lb in zip(decoded, boxes, strict=True)
        ]

    def detect(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        if not frames:
            return []
        return self.decode(*self.forward(frames))


def _metadata(session: object) -> dict[str, str]:
    try:
        return dict(session.get_modelmeta().custom_metadata_map)  # type: ignore[attr-defined]
    except Exception:  # a model without metadata
        return {}


def _literal(text: str | None) -> object:
    try:
        return ast.literal_eval(text) if text else None
    except (ValueError, SyntaxError):
        return None


def _imgsz(text: str | None) -> tuple[int, int] | None:
    """Ultralytics' `imgsz` metadata ('[640, 640]', H then W) as (H, W), when it is one."""
    v = _literal(text)
    if isinstance(v, list | tuple) and len(v) == 2 and all(isinstance(x, int) and x % 32 == 0 and x > 0 for x in v):
        return int(v[0]), int(v[1])
    return None


def _declared_classes(meta: dict[str, str], shape: Sequence[object], layout: str | None) -> int | None:
    """The model's class count where it says so: a static raw head's 4 + nc rows, else Ultralytics' `names` metadata."""
    if layout == "raw" and isinstance(shape[1], int):
        return shape[1] - 4
    names = _literal(meta.get("names"))
    return len(names) if isinstance(names, dict | list) and names else None
