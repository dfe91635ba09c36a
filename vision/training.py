"""Train the vehicle detector with Ultralytics, offline, and export it to ONNX (the optional `train` extra).

Only `greenwave train` imports this module; the runtime (vision/detector.py) never needs torch or ultralytics.
Training runs from a model yaml (no weight download), on CPU, with Ultralytics' own settings kept in a local folder.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vision.errors import VisionError

__all__ = ["TrainSettings", "export_onnx", "fix_onnx_input_hw", "train_detector"]


@dataclass(frozen=True, slots=True)
class TrainSettings:
    model_yaml: str = "yolov8n.yaml"
    imgsz: int = 320
    epochs: int = 30
    batch: int = 16
    time_h: float | None = None  # wall-clock cap; Ultralytics then fits its schedule to it
    export_hw: tuple[int, int] = (256, 448)  # ONNX input (H, W): 640x360 frames letterbox to 448x252 + pad
    seed: int = 0
    init_weights: str | None = None  # continue from these .pt weights instead of training from scratch
    workers: int = 0
    device: str = "cpu"


def _offline_env(config_dir: Path) -> None:
    config_dir.mkdir(parents=True, exist_ok=True)
    os.environ["YOLO_OFFLINE"] = "true"
    os.environ["YOLO_AUTOINSTALL"] = "false"
    os.environ["YOLO_CONFIG_DIR"] = str(config_dir)


def _import_yolo(config_dir: Path) -> Any:
    _offline_env(config_dir)
    try:
        from ultralytics import YOLO
    except ImportError as exc:
        raise VisionError(
            "training: expected the optional 'train' extra (pip install -e '.[train]'), found ultralytics missing"
        ) from exc
    return YOLO


def train_detector(data_yaml: str | Path, out_dir: str | Path, settings: TrainSettings) -> Path:
    """Train from `settings.model_yaml` on a YOLO dataset; returns the best .pt weights path."""
    out = Path(out_dir).resolve()
    yolo = _import_yolo(out / "ultralytics_config")
    model = yolo(settings.model_yaml)
    kwargs: dict[str, Any] = {
        "data": str(Path(data_yaml).resolve()), "imgsz": settings.imgsz, "epochs": settings.epochs,
        "batch": settings.batch, "workers": settings.workers, "device": settings.device, "amp": False,
        "plots": False, "project": str(out), "name": "train", "exist_ok": True, "seed": settings.seed,
        "deterministic": False, "val": False, "pretrained": False, "verbose": False, "patience": 1000,
        "cache": "ram",
    }
    if settings.time_h:
        kwargs["time"] = settings.time_h
    if settings.init_weights:
        # a path in `pretrained` is what makes Ultralytics load the weights; no warm-up, which would undo them
        kwargs.update(pretrained=str(settings.init_weights), warmup_epochs=0, warmup_bias_lr=0.0)
    model.train(**kwargs)
    weights = out / "train" / "weights"
    best = weights / "best.pt" if (weights / "best.pt").is_file() else weights / "last.pt"
    if not best.is_file():
        raise VisionError(f"training: expected weights under {weights}, found none")
    return best


def export_onnx(weights: str | Path, dest: str | Path, settings: TrainSettings) -> Path:
    """Export weights to ONNX (dynamic batch) and set its input to settings.export_hw."""
    dest = Path(dest)
    yolo = _import_yolo(Path(weights).resolve().parent / "ultralytics_config")
    model = yolo(str(weights))
    exported = Path(model.export(format="onnx", imgsz=settings.imgsz, dynamic=True, simplify=False, opset=17))
    dest.parent.mkdir(parents=True, exist_ok=True)
    if exported.resolve() != dest.resolve():
        shutil.copyfile(exported, dest)
    fix_onnx_input_hw(dest, settings.export_hw)
    return dest


def fix_onnx_input_hw(path: str | Path, hw: tuple[int, int]) -> None:
    """Pin the spatial input size of a dynamic-shape ONNX detector, keeping the batch axis dynamic."""
    import onnx

    model = onnx.load(str(path))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[0].dim_param = "batch"
    dims[2].dim_value, dims[3].dim_value = hw
    for out in model.graph.output:
        for d in out.type.tensor_type.shape.dim[1:]:
            d.dim_param = d.dim_param or "n"
    onnx.save(model, str(path))
