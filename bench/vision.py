"""Vision benchmark: held-out accuracy by condition and pipeline speed, measured side by side in one run.

    python -m bench.vision [--json PATH] [--quick] [--model FILE] [--tracker iou|bytetrack]

Accuracy: camera sequences at 10 frames/s rendered from scenarios and camera poses not used in training (the RESCO
cologne1 and ingolstadt1 networks, used in place, and generated networks of unseen seeds), each approach filmed
under day, night and rain. Per condition: detection mAP50, per-lane count accuracy = 1 - (misses + overcounts) /
truth, share of lane-frames whose queued count is within +-1, mean queue-length error in metres. The first 2 s of
each sequence are not scored (the tracker needs history to tell stopped from moving).

Speed (medians over repeated passes on the same rendered frames): the whole pipeline (frame -> letterbox -> infer
-> decode/NMS -> track -> lane counts) against bare session.run on the same preprocessed inputs, against
Ultralytics' YOLO(model).predict when ultralytics is installed, and a 4-camera intersection (one batched call).
The machine is shared: compare ratios measured in the same run, not absolute numbers across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from configs.vision import CameraConfig, DetectorConfig
from sim.camera import CameraFrame, SyntheticCamera
from sim.dataset import SumoFilm, generate_scenario
from vision.counting import LaneCounter
from vision.detections import Detections
from vision.detector import OnnxDetector, default_detector_config
from vision.pipeline import IntersectionPipeline
from vision.tracking import iou_matrix

__all__ = ["average_precision", "main"]

CONDITIONS = ("day", "night", "rain")
RESCO = Path(os.environ.get("GREENWAVE_RESCO", Path(__file__).resolve().parents[2] / "shared/scenarios/resco"))
WARMUP_FRAMES = 20


def average_precision(scores: list[float], tps: list[bool], n_gt: int) -> float:
    """All-point interpolated AP (VOC 2010+ / COCO style at one IoU)."""
    if n_gt == 0:
        return float("nan")
    if not scores:
        return 0.0
    order = np.argsort(-np.asarray(scores))
    tp = np.asarray(tps, float)[order]
    ctp, cfp = np.cumsum(tp), np.cumsum(1 - tp)
    recall = ctp / n_gt
    precision = ctp / np.maximum(ctp + cfp, 1e-9)
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[1.0], precision, [0.0]])
    mpre = np.flip(np.maximum.accumulate(np.flip(mpre)))
    idx = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[idx + 1] - mrec[idx]) * mpre[idx + 1]))


class _Acc:
    """Per-condition accumulators."""

    def __init__(self) -> None:
        self.abs_err = 0
        self.misses = 0
        self.overcounts = 0
        self.truth = 0
        self.lane_frames = 0
        self.queued_ok = 0
        self.queue_err_m = 0.0
        self.frames = 0
        self.ap: dict[int, tuple[list[float], list[bool]]] = defaultdict(lambda: ([], []))
        self.n_gt: dict[int, int] = defaultdict(int)

    def add_detections(self, det: Detections, frame: CameraFrame) -> None:
        self.frames += 1
        for c in np.unique(np.concatenate([frame.classes, det.class_id])).astype(int):
            gt = frame.boxes_xyxy[frame.classes == c]
            d = det[det.class_id == c]
            self.n_gt[c] += len(gt)
            order = np.argsort(-d.confidence)
            iou = iou_matrix(d.xyxy[order], gt)
            used = np.zeros(len(gt), bool)
            for k in range(len(order)):
                j = int(np.argmax(iou[k])) if len(gt) else -1
                ok = j >= 0 and iou[k, j] >= 0.5 and not used[j]
                if ok:
                    used[j] = True
                self.ap[c][0].append(float(d.confidence[order[k]]))
                self.ap[c][1].append(bool(ok))

    def add_counts(self, counts: dict[str, Any], frame: CameraFrame) -> None:
        for lane, truth in frame.lanes.items():
            m = counts.get(lane)
            if m is None:
                continue
            self.lane_frames += 1
            self.truth += truth.vehicles
            self.abs_err += abs(m.vehicles - truth.vehicles)
            self.misses += max(0, truth.vehicles - m.vehicles)
            self.overcounts += max(0, m.vehicles - truth.vehicles)
            self.queued_ok += abs(m.queued - truth.queued) <= 1
            self.queue_err_m += abs(m.queue_m - truth.queue_m)

    def summary(self) -> dict[str, float]:
        aps = [average_precision(*self.ap[c], self.n_gt[c]) for c in self.n_gt if self.n_gt[c] > 0]
        nan = float("nan")  # nothing scored (sequences no longer than the warm-up): no figure, not a perfect one
        return {
            "frames": self.frames,
            "lane_frames": self.lane_frames,
            "truth_vehicles": self.truth,
            "count_accuracy": 1 - self.abs_err / self.truth if self.truth else nan,
            "misses": self.misses,
            "overcounts": self.overcounts,
            "queued_within_1": self.queued_ok / self.lane_frames if self.lane_frames else nan,
            "queue_error_m": self.queue_err_m / self.lane_frames if self.lane_frames else nan,
            "map50": float(np.mean(aps)) if aps else float("nan"),
        }


def _scenarios(quick: bool, work: Path) -> list[tuple[str, list[str], Path, float]]:
    """(name, sumo args, net file, warm-up seconds) of the held-out scenarios."""
    out = []
    for name in ("cologne1", "ingolstadt1"):
        cfg = RESCO / name / f"{name}.sumocfg"
        if cfg.is_file():
            out.append((name, ["-c", str(cfg)], RESCO / name / f"{name}.net.xml", 240.0))
    for kind, seed in (("grid", 90001), ("rand", 90002))[: 1 if quick else 2]:
        scn = generate_scenario(kind, seed, work / f"{kind}_{seed}")
        out.append((f"{kind}-{seed}", scn.sumo_args(), scn.net_file, 200.0))
    return out


def _busy_approaches(film: SumoFilm, k: int) -> list[int]:
    """Approach indices with the most vehicles in their last 60 m now (queues make the test meaningful)."""
    assert film.reader is not None
    states = film.reader.read()
    score = []
    for _, ap in film.scene.approaches:
        lanes = set(ap.lane_ids)
        score.append(sum(1 for v in states if v.lane_id in lanes and v.dist_to_stop_m <= 60))
    return list(np.argsort(score)[::-1][:k])


def run_accuracy(detector: OnnxDetector, *, quick: bool, tracker: str, seed: int = 7, n_frames: int = 0,
                 keep_frames: int = 48, samples: Path | None = None) -> tuple[dict[str, dict[str, float]], list[np.ndarray], list[CameraConfig]]:
    """Render held-out sequences, run the pipeline, score by condition; also returns frames kept for timing."""
    accs = {c: _Acc() for c in CONDITIONS}
    n_frames = n_frames or (60 if quick else 130)
    rng = np.random.default_rng(seed)
    kept: list[np.ndarray] = []
    cams: list[CameraConfig] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, args, net, warm in _scenarios(quick, Path(tmp)):
            t0 = time.perf_counter()
            with SumoFilm(args, net, step_length_s=0.1, seed=seed) as film:
                film.step(int(warm / 0.1))
                approaches = _busy_approaches(film, 2 if quick else 3)
                rigs: list[tuple[str, SyntheticCamera, LaneCounter]] = []
                for ai in approaches:
                    for cond in CONDITIONS:
                        rig = film.camera(rng, cond, approach_index=int(ai))
                        cfg = CameraConfig.model_validate(rig.camera_config(f"{name}-{ai}-{cond}"))
                        cams.append(cfg)
                        rigs.append((cond, rig, LaneCounter.from_config(cfg, tracker=tracker)))
                for f in range(n_frames):
                    film.step(1)
                    assert film.reader is not None
                    states = film.reader.read()
                    frames = [rig.render(states, rng) for _, rig, _ in rigs]
                    out, boxes = detector.forward([fr.image for fr in frames])
                    loose = detector.decode(out, boxes, conf=0.01)
                    dets = detector.decode(out, boxes)
                    all_counts = []
                    for (cond, _, counter), fr, dl, d in zip(rigs, frames, loose, dets, strict=True):
                        counts = counter.update(d, f * 0.1)
                        all_counts.append(counts)
                        accs[cond].add_detections(dl, fr)
                        if f >= WARMUP_FRAMES:
                            accs[cond].add_counts(counts, fr)
                    if samples is not None and f == n_frames // 2:
                        _save_samples(samples, name, rigs, frames, dets, all_counts)
                    if len(kept) < keep_frames and f % 10 == 0:
                        kept.extend(fr.image for fr in frames[: keep_frames - len(kept)])
            print(f"  {name}: {len(rigs)} cameras x {n_frames} frames in {time.perf_counter() - t0:.0f} s",
                  file=sys.stderr, flush=True)
    return {c: a.summary() for c, a in accs.items()}, kept, cams


def _save_samples(folder: Path, name: str, rigs: list[Any], frames: list[CameraFrame],
                  dets: list[Detections], counts: list[dict[str, Any]]) -> None:
    """Detections (class colours) and lane polygons (yellow) on the left, the truth boxes on the right."""
    import cv2

    from vision.annotate import annotate

    folder.mkdir(parents=True, exist_ok=True)
    for k, ((cond, _, counter), fr, d, c) in enumerate(zip(rigs, frames, dets, counts, strict=True)):
        left = annotate(fr.image, d, counter.zones, c)
        right = fr.image.copy()
        for x0, y0, x1, y1 in fr.boxes_xyxy.astype(int):
            cv2.rectangle(right, (x0, y0), (x1, y1), (255, 255, 255), 1)
        cv2.imwrite(str(folder / f"{name}_{k}_{cond}.png"), np.hstack([left, right]))


def _median_fps(fn: Any, n_items: int, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return n_items / statistics.median(times)


def run_speed(detector: OnnxDetector, frames: Sequence[np.ndarray], cams: Sequence[CameraConfig],
              repeats: int) -> dict[str, Any]:
    from vision.preprocess import letterbox

    pre = [letterbox(f, detector.input_hw)[0][None] for f in frames]
    counter = LaneCounter.from_config(cams[0])
    name_in, name_out = detector.input_name, detector.output_name

    def bare() -> None:
        for x in pre:
            detector.session.run([name_out], {name_in: x})

    def pipeline() -> None:
        for i, f in enumerate(frames):
            counter.update(detector.detect([f])[0], i * 0.1)

    ultra = _ultralytics_runner(Path(detector.config.model), frames, detector)
    bare()  # warm-up
    pipeline()
    bare_fps, pipe_fps, ultra_fps = [], [], []
    for _ in range(repeats):  # interleaved, so load changes on the shared machine hit all three alike
        bare_fps.append(_median_fps(bare, len(frames), 1))
        pipe_fps.append(_median_fps(pipeline, len(frames), 1))
        if ultra is not None:
            ultra_fps.append(_median_fps(ultra, len(frames), 1))
    res: dict[str, Any] = {"bare_fps": statistics.median(bare_fps), "pipeline_fps": statistics.median(pipe_fps)}
    res["overhead_ratio"] = res["bare_fps"] / res["pipeline_fps"]
    four = IntersectionPipeline(detector, list(cams[:4]) if len(cams) >= 4 else [cams[0]] * 4)
    groups = [list(frames[i : i + 4]) for i in range(0, len(frames) - 3, 4)]

    def intersection() -> None:
        for k, g in enumerate(groups):
            four.process(g, k * 0.1)

    intersection()
    res["four_camera_fps_per_camera"] = _median_fps(intersection, len(groups), repeats)
    res["ultralytics_fps"] = statistics.median(ultra_fps) if ultra_fps else None
    if res["ultralytics_fps"]:
        res["speedup_vs_ultralytics"] = res["pipeline_fps"] / res["ultralytics_fps"]
    return res


def _ultralytics_runner(model: Path, frames: Sequence[np.ndarray], detector: OnnxDetector) -> Any:
    """A pass of Ultralytics' YOLO(model).predict over the frames (same size and thresholds), or None."""
    try:
        with tempfile.TemporaryDirectory() as cfg_dir:
            os.environ.setdefault("YOLO_OFFLINE", "true")
            os.environ.setdefault("YOLO_AUTOINSTALL", "false")
            os.environ.setdefault("YOLO_CONFIG_DIR", cfg_dir)
            from ultralytics import YOLO
    except ImportError:
        return None
    yolo = YOLO(str(model), task="detect")
    kw: dict[str, Any] = {"imgsz": list(detector.input_hw), "conf": detector.config.conf_threshold,
                          "iou": detector.config.iou_threshold, "verbose": False, "device": "cpu"}

    def run() -> None:
        for f in frames:
            yolo.predict(f, **kw)

    run()
    return run


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.vision", description=__doc__.splitlines()[0])
    ap.add_argument("--json", metavar="PATH", help="write the results as JSON too")
    ap.add_argument("--quick", action="store_true", help="fewer scenarios and frames (smoke run)")
    ap.add_argument("--model", metavar="FILE", help="ONNX model (default: the shipped one)")
    ap.add_argument("--tracker", default="iou", choices=("iou", "bytetrack"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--frames", type=int, default=0, help="frames per camera sequence (default 130, quick 60)")
    ap.add_argument("--samples", metavar="DIR", help="save a few annotated sample frames (PNG) here")
    args = ap.parse_args(argv)
    cfg = default_detector_config()
    if args.model:
        cfg = DetectorConfig(model=Path(args.model), threads=args.threads)
    else:
        cfg = cfg.model_copy(update={"threads": args.threads})
    detector = OnnxDetector(cfg)
    layout = detector.layout or "judged from the first output"
    print(f"model {cfg.model} input {detector.input_hw} layout {layout}; tracker {args.tracker}",
          file=sys.stderr)
    acc, frames, cams = run_accuracy(detector, quick=args.quick, tracker=args.tracker, n_frames=args.frames,
                                     samples=Path(args.samples) if args.samples else None)
    speed = run_speed(detector, frames, cams, repeats=3 if args.quick else 5)
    result = {
        "model": str(cfg.model),
        "tracker": args.tracker,
        "count_accuracy": {c: round(acc[c]["count_accuracy"], 4) for c in CONDITIONS},
        "queued_within_1": {c: round(acc[c]["queued_within_1"], 4) for c in CONDITIONS},
        "queue_error_m": {c: round(acc[c]["queue_error_m"], 2) for c in CONDITIONS},
        "map50": {c: round(acc[c]["map50"], 4) for c in CONDITIONS},
        "by_condition": acc,
        **{k: (round(v, 3) if isinstance(v, float) else v) for k, v in speed.items()},
    }
    for c in CONDITIONS:
        a = acc[c]
        print(f"{c:6s} count_acc {a['count_accuracy']:.3f}  queued+-1 {a['queued_within_1']:.3f}  "
              f"queue_err {a['queue_error_m']:.1f} m  mAP50 {a['map50']:.3f}  "
              f"({a['lane_frames']} lane-frames, {a['truth_vehicles']} vehicle-frames, "
              f"{a['misses']} missed, {a['overcounts']} overcounted)")
    print(f"speed: pipeline {speed['pipeline_fps']:.1f} fps, bare session.run {speed['bare_fps']:.1f} fps, "
          f"overhead x{speed['overhead_ratio']:.3f}; 4 cameras {speed['four_camera_fps_per_camera']:.1f} fps each; "
          f"ultralytics predict {speed['ultralytics_fps'] or float('nan'):.1f} fps")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
