"""`greenwave detect SOURCE --config FILE [--csv counts.csv] [--out annotated.mp4] [--find-clutter]`.

--find-clutter is for commissioning: run it over a recording of the empty road, and it prints, as the camera config's
`ignore_boxes`, the boxes the detector finds inside a lane zone in at least half of the frames (a lane marking read
as a motorcycle). Vehicles passing through are at a new place in each frame and are not listed.

Privacy: frames are processed in memory and dropped; the CSV holds counts only; an annotated video is written only
when --out is given. Nothing is sent anywhere.
"""

from __future__ import annotations

import argparse
import csv
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np

from configs.errors import ConfigError
from configs.loader import load_config, load_yaml_model
from configs.outputs import check_output_file, replacing
from configs.vision import CameraConfig, DetectorConfig
from vision.annotate import annotate
from vision.counting import LaneCounter, find_clutter
from vision.detector import OnnxDetector, default_detector_config
from vision.errors import VisionError
from vision.sources import VideoSource

__all__ = ["CSV_FIELDS", "run_detect"]

CSV_FIELDS = ("time_s", "frame", "lane", "vehicles", "queued", "queue_m", "occupancy")
CLUTTER_SHARE = 0.5  # --find-clutter: a box in at least this share of the empty road's frames is clutter


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
    csv_path = Path(args.csv) if args.csv else None
    if csv_path is not None:
        check_output_file("--csv", csv_path)  # before the model loads and the source opens, not after
    detector = OnnxDetector(det_cfg)
    counter = LaneCounter.from_config(camera)
    frames = 0
    in_zones: list[Any] = []  # --find-clutter: per frame, the boxes inside a lane zone
    with VideoSource(args.source) as source, ExitStack() as stack:
        # the CSV replaces an existing one only once this run ends (stopped by the operator, Ctrl-C or SIGTERM as
        # KeyboardInterrupt: with the whole frames counted so far); a source that cannot be opened, or a failure,
        # leaves yesterday's file as it was
        rows = None
        if csv_path is not None:
            rows = csv.writer(stack.enter_context(replacing(csv_path, keep_partial_on=(KeyboardInterrupt,))))
            rows.writerow(CSV_FIELDS)
        writer: Any = None
        shape: tuple[int, ...] | None = None
        for t_s, frame in source.frames():
            if frame.shape != shape:  # the first frame, or a reconnect that changed the stream's size
                shape = frame.shape
                _check_zones(counter, frame, args.config)
            det = detector.detect([frame])[0]
            if args.find_clutter:
                lanes = np.asarray(counter.lane_of(det.anchors) if len(det) else [], int)
                in_zones.append(det.xyxy[lanes >= 0])
            counts = counter.update(det, t_s)
            if rows:
                stamp = f"{t_s:.3f}"  # a frame's rows in one write: an interrupt never cuts a frame in two
                rows.writerows([stamp, frames, lane, m.vehicles, m.queued, f"{m.queue_m:.1f}", f"{m.occupancy:.3f}"]
                               for lane, m in counts.items())  # fmt: skip
            if args.out:
                if writer is None:
                    writer = stack.enter_context(_open_writer(Path(args.out), frame, source.fps or camera.fps))
                writer.write(_fit_to(annotate(frame, det, counter.zones, counts), writer.size))
            frames += 1
            if args.max_frames and frames >= args.max_frames:
                break
    where = f", counts in {csv_path}" if csv_path else " (no --csv: counts not kept)"
    print(f"{frames} frames, {len(counter.zones)} lanes{where}", file=sys.stderr)
    if args.find_clutter:
        boxes = find_clutter(in_zones, CLUTTER_SHARE)
        print(f"ignore_boxes:{'' if boxes else ' []'}  # inside a lane zone in at least {CLUTTER_SHARE:.0%} of"
              f" {frames} frames of the empty road")
        for box in boxes:
            print(f"- [{', '.join(f'{v:.1f}' for v in box)}]")
    return 0


def _check_zones(counter: LaneCounter, frame: Any, config: str) -> None:
    h, w = frame.shape[:2]
    off = counter.zones_off_frame(w, h)
    if off:
        raise VisionError(
            f"{config}: lanes: expected polygons inside the {w}x{h} frame, found {off} mostly outside it"
            " (drawn on another resolution?)"
        )
    cut = counter.stop_lines_at_edge(w, h)
    if cut:
        print(f"{config}: warning: lanes {cut}: stop line at the edge of the {w}x{h} frame; the vehicle standing there"
              " is cut by the frame and often missed: re-aim the camera", file=sys.stderr)


def _fit_to(image: Any, size: tuple[int, int]) -> Any:
    """The annotated frame at the video's size (a reconnect can change the stream's resolution)."""
    import cv2

    return image if (image.shape[1], image.shape[0]) == size else cv2.resize(image, size)


def _open_writer(path: Path, frame: Any, fps: float) -> Any:
    import cv2

    h, w = frame.shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (w, h))
    if not writer.isOpened():
        raise VisionError(f"--out {path}: expected a writable video file, found the writer cannot open it")
    return _SizedWriter(writer, (w, h))


class _SizedWriter:
    """cv2.VideoWriter with the frame size it was opened for (it drops frames of any other size)."""

    def __init__(self, writer: Any, size: tuple[int, int]) -> None:
        self._writer, self.size = writer, size

    def write(self, image: Any) -> None:
        self._writer.write(image)

    def release(self) -> None:
        self._writer.release()

    def __enter__(self) -> _SizedWriter:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()
