"""Train the vehicle detector with Ultralytics, offline, and export it to ONNX (the optional `train` extra).

Only `greenwave train` imports this module; the runtime (vision/detector.py) never needs torch or ultralytics.
Training runs from a model yaml (no weight download), on CPU, with Ultralytics' own settings kept in a local folder.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vision.errors import VisionError

__all__ = ["TrainSettings", "check_dataset", "export_onnx", "fix_onnx_input_hw", "train_detector", "use_dataset"]


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
    workers: int = 0  # dataloader processes (0: in the main process; a GPU box with many cores: 8)
    device: str = "cpu"  # or "0": the first GPU


def _offline_env(config_dir: Path) -> None:
    config_dir.mkdir(parents=True, exist_ok=True)
    os.environ["YOLO_OFFLINE"] = "true"
    os.environ["YOLO_AUTOINSTALL"] = "false"
    os.environ["YOLO_CONFIG_DIR"] = str(config_dir)


_NO_EXTRA = "training: expected the optional 'train' extra (pip install -e '.[train]'), found ultralytics missing"


def require_train_extra() -> None:
    """Refuse early (before an hour of rendering) when Ultralytics is not installed; it is not imported here."""
    if importlib.util.find_spec("ultralytics") is None:
        raise VisionError(_NO_EXTRA)


def _import_yolo(config_dir: Path) -> Any:
    _offline_env(config_dir)
    try:
        from ultralytics import YOLO
    except ImportError as exc:
        raise VisionError(_NO_EXTRA) from exc
    _read_results_without_polars()
    return YOLO


def _read_results_without_polars() -> None:
    """Where polars is missing, let Ultralytics' trainer read its results.csv with the csv module instead.

    Ultralytics reads that CSV with polars only to store it in each checkpoint; polars' runtime is a 54 MB wheel,
    more than a GPU box's carried wheels can spare beside a dataset (vision/models/MODEL_CARD.md, retraining). The
    columns come back as lists of floats, as polars' `to_dict(as_series=False)` gives them.
    """
    try:
        import polars  # noqa: F401
    except ImportError:
        from ultralytics.engine.trainer import BaseTrainer

        trainer_cls: Any = BaseTrainer  # typed or not (ultralytics installed or not), a method is replaced here
        trainer_cls.read_results_csv = _results_csv


def _results_csv(trainer: Any) -> dict[str, list[float]]:
    import csv

    try:
        with open(trainer.csv, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f, skipinitialspace=True))
        return {key.strip(): [float(r[key]) for r in rows] for key in (rows[0] if rows else {})}
    except (OSError, ValueError, TypeError):  # missing, or a row cut short: like Ultralytics, store nothing
        return {}


def check_dataset(dataset_dir: str | Path) -> Path:
    """The resolved folder of a rendered dataset, or a VisionError saying what it lacks. Writes nothing."""
    root = Path(dataset_dir).resolve()
    for split in ("train", "val"):
        images = root / "images" / split
        n = sum(1 for _ in images.glob("*.jpg")) if images.is_dir() else 0
        if not n or not (root / "labels" / split).is_dir():
            raise VisionError(
                f"training: expected a rendered dataset in {root} (images/{split}/*.jpg and labels/{split}/),"
                f" found {n} images"
            )
    rendered = root / "data.yaml"
    if not rendered.is_file():
        raise VisionError(f"training: expected {rendered} (written by `greenwave train --render-only`), found none")
    return root


def use_dataset(dataset_dir: str | Path, out_dir: str | Path) -> Path:
    """A data.yaml in `out_dir` for a dataset rendered elsewhere (`greenwave train --render-only`), then moved.

    The rendered data.yaml names the folder it was written in, which is gone once the dataset travels (to a GPU
    box, say); the dataset itself is only read.
    """
    root = check_dataset(dataset_dir)
    rendered = root / "data.yaml"
    lines = [ln for ln in rendered.read_text(encoding="utf-8").splitlines() if not ln.startswith("path:")]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = out / "data.yaml"
    data.write_text("\n".join([f"path: {root}", *lines]) + "\n", encoding="utf-8")
    return data


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
