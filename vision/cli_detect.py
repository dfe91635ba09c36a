"""`greenwave detect SOURCE --config FILE [--csv counts.csv] [--out annotated.mp4]`.

Privacy: frames are processed in memory and dropped; the CSV holds counts only; an annotated video is written only
when --out is given. Nothing is sent anywhere.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import Any

from configs.errors import ConfigError
from configs.loader import load_config, load_yaml_model
from configs.vision import CameraConfig, DetectorConfig
from vision.annotate import annotate
from vision.counting import LaneCounter
from vision.detector import OnnxDetector, default_detector_config
from vision.errors import VisionError
from vision.sources import VideoSource

__all__ = ["CSV_FIELDS", "run_detect"]

CSV_FIELDS = ("time_s", "frame", "lane", "vehicles", "queued", "queue_m", "occupancy")


def _load(args: argparse.Namespace) -> tuple[CameraConfig, DetectorConfig]:
    kind, cfg = load_config(args.config)
    detector: DetectorConfig | None = None
    if kind == "camera":
        camera = cfg
    elif kind == "edge":
        cams = [c for c in cfg.cameras if args.camera in (None, c.name)]
        if not cams:
            names = [c.name for c in cfg.cameras]
            raise ConfigError(f"{args.config}: cameras: expected a camera named {args.camera!r}, found {names}")
        camera, detector = cams[0], cfg.detector
    else:
        raise ConfigError(f"{args.config}: kind: expected 'camera' or 'edge', found {kind!r}")
    if args.detector:
        detector = load_yaml_model(args.detector, DetectorConfig)
    return camera, detector or default_detector_config()


def run_detect(args: argparse.Namespace) -> int:
    camera, det_cfg = _load(args)
    detector = OnnxDetector(det_cfg)
    counter = LaneCounter.from_config(camera)
    writer: Any = None
    csv_file = open(args.csv, "w", newline="", encoding="utf-8") if args.csv else None  # noqa: SIM115
    try:
        rows = csv.writer(csv_file) if csv_file else None
        if rows:
            rows.writerow(CSV_FIELDS)
        frames = 0
        with VideoSource(args.source) as source:
            for t_s, frame in source.frames():
                det = detector.detect([frame])[0]
                counts = counter.update(det, t_s)
                if rows:
                    for lane, m in counts.items():
                        rows.writerow([f"{t_s:.3f}", frames, lane, m.vehicles, m.queued, f"{m.queue_m:.1f}",
                                       f"{m.occupancy:.3f}"])
                if args.out:
                    writer = writer or _open_writer(Path(args.out), frame, source.fps or camera.fps)
                    writer.write(annotate(frame, det, counter.zones, counts))
                frames += 1
                if args.max_frames and frames >= args.max_frames:
                    break
    finally:
        if csv_file:
            csv_file.close()
        if writer is not None:
            writer.release()
    print(f"{frames} frames, {len(counter.zones)} lanes" + (f", counts in {args.csv}" if args.csv else ""),
          file=sys.stderr)
    return 0


def _open_writer(path: Path, frame: Any, fps: float) -> Any:
    import cv2

    h, w = frame.shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (w, h))
    if not writer.isOpened():
        raise VisionError(f"--out {path}: expected a writable video file, found the writer cannot open it")
    return writer
