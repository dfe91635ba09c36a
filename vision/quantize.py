"""Post-training int8 quantization of an ONNX detector with onnxruntime's own tooling (offline, `train` extra).

Why: on a 2-core edge box the fp32 YOLOv8n at 256x448 takes about 70 ms for a 4-camera batch, most of the
100 ms a 10 frames/s camera allows. onnxruntime's static QDQ quantization (int8 weights per output channel, uint8
activations calibrated on real frames) runs the convolutions on the CPU's integer units (AVX-512 VNNI / AVX2),
about twice as fast, and the file is a quarter of the size. The runtime is unchanged: the quantized model has the
same input and output layout, and vision/detector.py loads it like any other.

What stays float: the detection head's box/class decoding after its last convolutions (the DFL softmax, the concat
of boxes and sigmoid scores): quantizing those would put pixel coordinates and scores on a 256-step grid. The head
is found by Ultralytics' node naming (`/model.N/...`, the largest N); a model without that naming is quantized whole.

Calibration frames must look like what the camera will see: by default the rendered dataset's validation images;
in the field, a few dozen frames from the intersection's own cameras (`greenwave quantize --calib DIR`).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np

from vision.errors import VisionError
from vision.preprocess import letterbox_batch

__all__ = ["calibration_frames", "head_nodes", "quantize_detector"]

_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
_MODULE = re.compile(r"^/model\.(\d+)/")


def calibration_frames(folder: str | Path, limit: int = 64) -> list[Path]:
    """Up to `limit` image files of `folder`, spread evenly over its sorted listing."""
    folder = Path(folder)
    if not folder.is_dir():
        raise VisionError(f"calibration frames: expected a folder of images, found {folder} missing")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES)
    if not files:
        raise VisionError(f"calibration frames: expected .jpg/.png images in {folder}, found none")
    if len(files) > limit:
        files = [files[int(i)] for i in np.linspace(0, len(files) - 1, limit)]
    return files


def head_nodes(graph_nodes: Sequence[object]) -> list[str]:
    """Names of the non-convolution nodes of the last Ultralytics module (the Detect head's decoding)."""
    modules = [int(m.group(1)) for n in graph_nodes if (m := _MODULE.match(getattr(n, "name", "")))]
    if not modules:
        return []
    last = f"/model.{max(modules)}/"
    return [n.name for n in graph_nodes if n.name.startswith(last) and n.op_type != "Conv"]  # type: ignore[attr-defined]


def quantize_detector(model: str | Path, dest: str | Path, frames: Sequence[Path]) -> Path:
    """Write an int8 (QDQ) copy of `model` to `dest`, calibrated on `frames`; returns `dest`.

    Raises:
        VisionError: the model cannot be read, or a frame cannot be decoded.
    """
    try:
        import onnx
        from onnxruntime.quantization import (
            CalibrationDataReader,
            CalibrationMethod,
            QuantFormat,
            QuantType,
            quantize_static,
        )
        from onnxruntime.quantization.shape_inference import quant_pre_process
    except ImportError as exc:
        raise VisionError(
            "quantize: expected the optional 'train' extra (onnx) installed, found it missing"
        ) from exc
    model, dest = Path(model), Path(dest)
    try:
        proto = onnx.load(str(model))
    except Exception as exc:  # onnx raises DecodeError, OSError, ...
        raise VisionError(f"quantize: expected an ONNX model at {model}, found {type(exc).__name__}: {exc}") from exc
    inp = proto.graph.input[0]
    dims = [d.dim_value for d in inp.type.tensor_type.shape.dim]
    if len(dims) != 4 or dims[2] <= 0 or dims[3] <= 0:
        raise VisionError(f"quantize: expected a fixed (H, W) input on {model}, found dims {dims}")
    input_hw = (dims[2], dims[3])

    def batches() -> Iterator[dict[str, np.ndarray]]:
        for path in frames:
            img = cv2.imread(str(path))
            if img is None:
                raise VisionError(f"calibration frame: expected an image, found {path} unreadable")
            blob, _ = letterbox_batch([img], input_hw)
            yield {inp.name: blob}

    class _Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = batches()

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._it, None)

    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="greenwave-quant-") as tmp:
        pre = Path(tmp) / "pre.onnx"
        # graph optimisation and ONNX shape inference first, as onnxruntime recommends (symbolic inference
        # cannot follow the dynamic batch through the head's reshapes, and is not needed for a CNN)
        quant_pre_process(str(model), str(pre), skip_symbolic_shape=True)
        staged = Path(tmp) / "int8.onnx"
        quantize_static(
            str(pre), str(staged), _Reader(),
            quant_format=QuantFormat.QDQ, per_channel=True,
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
            nodes_to_exclude=head_nodes(onnx.load(str(pre)).graph.node),
            calibrate_method=CalibrationMethod.MinMax,
        )
        staged.replace(dest)  # whole file or nothing at `dest`
    return dest
