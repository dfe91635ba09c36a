"""`greenwave detect`, `greenwave train` and `greenwave bench vision`: the vision pipeline from the command line.

`detect` counts vehicles per lane from a video file, RTSP stream or USB camera; frames stay in memory and nothing
is written except the CSV of counts and, only when --out is given, an annotated video. `train` renders a dataset
from generated SUMO scenarios and trains the shipped detector (needs the optional `train` extra).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from greenwave.argtypes import bounded_int
from greenwave.signals import interrupt, on_stop_signals

__all__ = ["add_parser", "int8_path", "run_training"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser("detect", help="count vehicles per lane from a video file, RTSP stream or USB camera")
    d.add_argument("source", metavar="SOURCE", help="video file, rtsp:// URL or USB camera index")
    d.add_argument("--config", required=True, metavar="FILE",
                   help="camera config (kind: camera) or edge config (kind: edge)")
    d.add_argument("--camera", metavar="NAME", help="which camera of an edge config (default: the first)")
    d.add_argument("--detector", metavar="FILE", help="detector config (kind: detector); default: the shipped model")
    d.add_argument("--csv", metavar="FILE", help="write per-lane counts over time to this CSV file")
    d.add_argument("--out", metavar="FILE", help="write an annotated video (the only way frames leave memory)")
    d.add_argument(
        "--max-frames", type=bounded_int(0), default=0, metavar="N", help="stop after N frames (0: until the end)"
    )
    d.add_argument("--find-clutter", action="store_true",
                   help="commissioning, over a recording of the empty road: print the camera's ignore_boxes")
    d.set_defaults(func=_detect)

    t = sub.add_parser("train", help="render a dataset from generated SUMO scenarios and train the detector")
    t.add_argument("--out", default="runs/detector", metavar="DIR", help="work folder (dataset, weights)")
    t.add_argument("--model-out", default=None, metavar="FILE", help="where to write the ONNX (default: DIR/model.onnx)")
    t.add_argument("--images", type=int, default=1400, help="training images to render")
    t.add_argument("--val-images", type=int, default=150, help="validation images (other scenario seeds)")
    t.add_argument("--epochs", type=int, default=40)
    t.add_argument("--time-h", type=float, default=None, help="wall-clock cap in hours (Ultralytics fits its schedule)")
    t.add_argument("--imgsz", type=int, default=320)
    t.add_argument("--model", default="yolov8n.yaml", help="Ultralytics model yaml (trained from scratch)")
    t.add_argument("--seed", type=int, default=1)
    t.add_argument("--init", metavar="WEIGHTS", help="continue training from these .pt weights (fine-tune)")
    t.add_argument("--render-only", action="store_true",
                   help="render the dataset into DIR/dataset and stop (to train elsewhere, e.g. on a GPU box)")
    t.add_argument("--dataset", metavar="DATASET_DIR",
                   help="train on this already rendered dataset (a folder with data.yaml) instead of rendering one")
    t.add_argument("--device", default="cpu", help="'cpu', or a GPU index such as '0'")
    t.add_argument("--batch", type=int, default=16)
    t.add_argument("--workers", type=int, default=0, help="dataloader processes (0: none)")
    t.set_defaults(func=_train)

    q = sub.add_parser("quantize", help="write an int8 copy of an ONNX detector (about 2x faster on a CPU)")
    q.add_argument("model", metavar="MODEL", help="fp32 ONNX detector with a fixed input size")
    q.add_argument("--calib", required=True, metavar="DIR",
                   help="folder of frames like the cameras will see (a few dozen .jpg/.png)")
    q.add_argument("--out", metavar="FILE", help="where to write it (default: MODEL with .int8.onnx)")
    q.add_argument("--frames", type=int, default=64, metavar="N", help="calibration frames to use (default 64)")
    q.set_defaults(func=_quantize)

    b = sub.add_parser("bench", help="benchmarks")
    bsub = b.add_subparsers(dest="bench_command", metavar="WHAT", required=True)
    bv = bsub.add_parser("vision", help="held-out accuracy by condition and pipeline speed (see bench/vision.py)")
    bv.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    bv.add_argument("--quick", action="store_true", help="fewer frames (a smoke run)")
    bv.add_argument("--model", metavar="FILE", help="ONNX model (default: the shipped one)")
    bv.set_defaults(func=_bench)


def _log(msg: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {msg}", flush=True)


def run_training(out_dir: Path, *, n_train: int, n_val: int, seed: int, model_out: Path | None,
                 epochs: int, imgsz: int, model_yaml: str, time_h: float | None,
                 init_weights: str | None = None, dataset: Path | None = None, device: str = "cpu",
                 batch: int = 16, workers: int = 0) -> Path:
    """Render the dataset (or use `dataset`), train, export; returns the ONNX path."""
    from vision.training import (
        TrainSettings,
        check_dataset,
        export_onnx,
        require_train_extra,
        train_detector,
        use_dataset,
    )

    if dataset is not None:
        check_dataset(dataset)  # a wrong path is the first thing to say, with the extra installed or not
    require_train_extra()
    settings = TrainSettings(model_yaml=model_yaml, imgsz=imgsz, epochs=epochs, time_h=time_h, seed=seed,
                             init_weights=init_weights, device=device, batch=batch, workers=workers)
    if dataset is None:
        from sim.dataset import render_yolo_dataset

        data = render_yolo_dataset(out_dir / "dataset", n_train=n_train, n_val=n_val, seed=seed, log=_log)
    else:
        data = use_dataset(dataset, out_dir)
    _log(f"dataset ready: {data}")
    weights = train_detector(data, out_dir, settings)
    _log(f"trained: {weights}")
    onnx_path = export_onnx(weights, model_out or out_dir / "model.onnx", settings)
    _log(f"exported: {onnx_path}")
    from vision.quantize import calibration_frames, quantize_detector

    root = dataset if dataset is not None else data.parent
    int8 = quantize_detector(onnx_path, int8_path(onnx_path), calibration_frames(root / "images" / "val"))
    _log(f"quantized: {int8}")
    return onnx_path


def int8_path(model: Path) -> Path:
    """Where the int8 copy of `model` goes: beside it, `NAME.int8.onnx`."""
    return model.with_name(model.stem + ".int8.onnx")


def _quantize(args: argparse.Namespace) -> int:
    from vision.errors import VisionError
    from vision.quantize import calibration_frames, quantize_detector

    model = Path(args.model)
    out = Path(args.out) if args.out else int8_path(model)
    if out.resolve() == model.resolve():
        raise VisionError(f"quantize: expected --out to differ from the model, found both {out}")
    t0 = time.perf_counter()
    quantize_detector(model, out, calibration_frames(args.calib, args.frames))
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, {time.perf_counter() - t0:.0f} s)")
    return 0


def _train(args: argparse.Namespace) -> int:
    if args.render_only and args.dataset:
        from vision.errors import VisionError

        raise VisionError("train: --render-only and --dataset: expected one of them, found both")
    if args.render_only:
        from sim.dataset import render_yolo_dataset

        data = render_yolo_dataset(Path(args.out) / "dataset", n_train=args.images, n_val=args.val_images,
                                   seed=args.seed, log=_log)
        size_mb = sum(f.stat().st_size for f in data.parent.rglob("*") if f.is_file()) / 1e6
        print(f"rendered {data} ({size_mb:.1f} MB); train on it with: greenwave train --dataset {data.parent}")
        return 0
    run_training(Path(args.out), n_train=args.images, n_val=args.val_images, seed=args.seed,
                 model_out=Path(args.model_out) if args.model_out else None, epochs=args.epochs,
                 imgsz=args.imgsz, model_yaml=args.model, time_h=args.time_h, init_weights=args.init,
                 dataset=Path(args.dataset) if args.dataset else None, device=args.device, batch=args.batch,
                 workers=args.workers)
    return 0


def _detect(args: argparse.Namespace) -> int:
    from vision.cli_detect import run_detect

    with on_stop_signals(interrupt):  # SIGTERM ends a count as Ctrl-C does: the CSV keeps the frames counted so far
        return run_detect(args)


def _bench(args: argparse.Namespace) -> int:
    from bench.vision import main as bench_main

    argv = []
    if args.json:
        argv += ["--json", args.json]
    if args.quick:
        argv.append("--quick")
    if args.model:
        argv += ["--model", args.model]
    return bench_main(argv)


if __name__ == "__main__":
    sys.exit(0)
