"""Camera-in-the-loop measurement source: SUMO -> synthetic camera frames -> the shipped ONNX detector -> lane counts.

Per signalised junction one synthetic pole camera per approach (sim/camera.py, pose from the lane geometry through
sim/camera_model.pose_for_approach, the same rig the vision datasets use). Each simulated second the junction's
cameras render the current vehicle states, one batched detector call runs over them and the vision pipeline
(vision/pipeline.IntersectionPipeline: tracking, lane assignment, queue and speed estimates) turns the detections into
`LaneMeasurement`s keyed by the same SUMO lane ids as the oracle. Frames live in memory for one step and are never
written.

What it deliberately does not do:
- Outgoing (exit) lanes are not measured: the cameras look up the approaches, and the counter has no zones for exit
  lanes. `IntersectionMeasurement.outgoing` is empty, so spillback protection is off under this source.
- A controlled lane that no camera sees (no approach drawn for it, or its zone falls outside every frame) is reported
  as a standing call (`standing_call`: one queued vehicle at the stop line), the fail-safe of a broken detector:
  its movement is served every cycle and never starved, at the price of some green time.
- A moving vehicle appearing in an empty lane is reported once the next frame confirms it (`_confirmed`): one-frame
  false positives would otherwise be phantom calls.
- Each camera is commissioned before the run (`CameraSource._commission`): the detector looks at its empty road and
  what it finds there (a lane marking it reads as a motorcycle) is masked for the run (`CameraConfig.ignore_boxes`).
  Such a phantom stands still, so unmasked it is a queued vehicle calling its phase every cycle. On corridor seeds
  1-6, 9 of the 72 cameras give a box inside a lane zone on their empty road (a few of them specks of sensor noise
  far up the road, at a new place each frame: those are not masked, and never make a queue).
- Cameras are rendered only for junctions the harness measures (controlled junctions), and only when asked.

Speed: frames are rendered at 320 x 180 (the shipped 256 x 448 model letterboxes them up to 448 x 252; see
`CameraLoopConfig.width_px` for why not larger), static layers are drawn once per camera, and one onnxruntime
session (1 thread by default) serves every camera of the process.

Zones: a lane's zone runs upstream along the road it continues (sim/camera_scene: a 50 m turn bay's zone goes on
into the lane before the bay), as a real camera looking up the approach sees it.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from configs.controller import ControllerParams
from configs.vision import CameraConfig, DetectorConfig
from controller.measurement import IntersectionMeasurement, LaneMeasurement, standing_call
from sim.camera import SyntheticCamera
from sim.camera_effects import random_conditions
from sim.camera_model import Approach, PinholeCamera, pose_for_approach
from sim.camera_scene import RoadScene, load_road_scene
from sim.camera_sumo import VehicleStateReader
from sim.errors import SimError
from sim.topology import SignalInfo
from vision.counting import CountingSettings, clear_of_edge, find_clutter
from vision.detections import Detections
from vision.detector import Detector, OnnxDetector, default_detector_config
from vision.errors import VisionError
from vision.pipeline import IntersectionPipeline

__all__ = [
    "CONDITION_MODES",
    "FRAME_SETTINGS",
    "CameraLoopConfig",
    "CameraSource",
    "last_timing",
    "shared_detector",
    "use_model",
]

CONDITION_MODES = ("day", "mixed")
# The harness steps once per simulated second, so the counter sees 1 frame/s: a speed needs 3 positions (2 s), and a
# track missed for one frame is not held (a moving vehicle moves too far for IoU matching at 1 Hz and comes back
# under a new id; holding the old one would count it twice).
FRAME_SETTINGS = CountingSettings(stop_speed_mps=1.2, move_speed_mps=2.5, speed_window_s=2.5, min_history_s=1.5,
                                  hold_s=0.5, forget_s=3.0)


@dataclass(frozen=True, slots=True)
class CameraLoopConfig:
    """How the closed loop films and detects. Defaults: fixed day conditions, the shipped model, 1 thread."""

    conditions: str = "day"  # "day": every camera by day; "mixed": each camera draws day/dusk/night/rain once
    model: Path | None = None  # None: the shipped model (vision.detector.default_detector_config)
    threads: int = 1
    # frame size: 320 x 180, upscaled by the detector's letterbox. 448 x 252 (the model's own input scale) finds more
    # far vehicles (moving ones 40-50 m out: 0.60 against 0.50 of them in a corridor run) but also more phantom calls
    # (78 against 43 in the same 600 s), and camera-fed `single` stopped more: 19.30 against 18.41 s mean stop time
    # over seeds 2 and 3. Kept small until the detector's precision at that scale is tuned.
    width_px: int = 320
    height_px: int = 180
    # the zone a camera reports (the controller plans with the zone it is told): at 320 px a car 80 m upstream is
    # ~5-8 px wide and detected too rarely to claim more. `python -m bench.camera_reach` measures how much of each
    # 10 m band the cameras count. A 50 m zone (where they count 0.75-0.9 of moving vehicles on green, against
    # 0.45-0.65 at 70-80 m) did no better in the closed loop: corridor 900-2700 s, seeds 4-9, camera-fed kept 0.86
    # of the oracle's stop-time reduction with 50 m and 0.85 with 80 m; seed by seed the two differ by -0.05..+0.07,
    # the spread any change of camera gives.
    max_zone_m: float = 80.0
    # frames of each camera's empty road searched for static clutter at start (CameraSource._commission); 0: none
    commission_frames: int = 5
    pose_draws: int = 8  # candidate poles per approach; the one with the largest image scale 50 m upstream wins
    # recall over precision: a missed queued vehicle costs its movement a cycle, a phantom one a few seconds of
    # green. None: the model config's own threshold.
    conf_threshold: float | None = 0.25

    def __post_init__(self) -> None:
        if self.conditions not in CONDITION_MODES:
            raise SimError(f"camera conditions: expected one of {CONDITION_MODES}, found {self.conditions!r}")


_DETECTORS: dict[tuple[str, int, float], OnnxDetector] = {}
_MODEL_OVERRIDE: list[Path] = []  # set by use_model(): what `model=None` means in this process


def use_model(model: Path | None) -> None:
    """Make `model` what this process's camera sources load by default (None: back to the shipped model).

    For benchmarking a candidate model through the harness, whose runs build their sources themselves.
    """
    _MODEL_OVERRIDE[:] = [Path(model)] if model is not None else []


def shared_detector(model: Path | None = None, threads: int = 1, conf_threshold: float | None = None) -> OnnxDetector:
    """One onnxruntime session per process and model (every junction and every run in the process shares it).

    `model=None` is the shipped model (vision.detector.default_detector_config) unless use_model() said otherwise.

    Raises:
        SimError: the model is missing or not loadable (translated from vision's ModelError).
    """
    base = default_detector_config()
    model = model or (_MODEL_OVERRIDE[0] if _MODEL_OVERRIDE else base.model)
    conf = base.conf_threshold if conf_threshold is None else conf_threshold
    cfg = DetectorConfig(**{**base.model_dump(), "model": model, "threads": threads, "conf_threshold": conf})
    key = (str(cfg.model), threads, conf)
    det = _DETECTORS.get(key)
    if det is None:
        try:
            det = _DETECTORS[key] = OnnxDetector(cfg)
        except VisionError as exc:
            raise SimError(f"camera source: {exc}") from exc
    return det


@dataclass
class _Junction:
    cameras: list[SyntheticCamera]
    pipeline: IntersectionPipeline | None
    controlled: frozenset[str]  # the oracle's keys: controlled incoming lanes
    unseen: tuple[str, ...]  # controlled lanes no camera sees: reported as standing calls
    rng: np.random.Generator
    previous: dict[str, LaneMeasurement] = field(default_factory=dict)  # last frame's raw counts per lane


@dataclass
class _Timing:
    frames: int = 0
    render_s: list[float] = field(default_factory=list)  # per camera frame
    infer_s: list[float] = field(default_factory=list)  # per camera frame (batch time / batch size)
    pipeline_s: list[float] = field(default_factory=list)  # per junction step: detector + tracking + counting
    read_s: list[float] = field(default_factory=list)  # vehicle states, per simulated second


class _TimedDetector:
    """The shared detector behind the Detector protocol, recording the batch time per frame."""

    def __init__(self, detector: Detector, timing: _Timing) -> None:
        self._detector = detector
        self._timing = timing

    def detect(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        t0 = time.perf_counter()
        out = self._detector.detect(frames)
        self._timing.infer_s.append((time.perf_counter() - t0) / max(len(frames), 1))
        return out


_LAST: list[CameraSource] = []


def last_timing() -> dict[str, Any] | None:
    """Timing summary of the most recent CameraSource built in this process (for bench/closed_loop.py)."""
    return _LAST[-1].timing_summary() if _LAST else None


class CameraSource:
    """MeasurementSource backed by rendered camera frames and the detector (see the module docstring)."""

    def __init__(
        self,
        api: Any,
        signals: Mapping[str, SignalInfo],
        params: ControllerParams,
        *,
        seed: int = 0,
        config: CameraLoopConfig | None = None,
        scene: RoadScene | None = None,
        detector: Detector | None = None,
    ) -> None:
        """`detector` replaces the process's shared ONNX session (tests pass vision.detector.FakeDetector)."""
        self.config = cfg = config or CameraLoopConfig()
        self._api = api
        self._zone_m = min(params.detection_range_m, cfg.max_zone_m)  # what every camera claims, and unseen lanes
        if scene is None:
            scene = load_road_scene(_net_file(api))
        self.detector = detector if detector is not None else shared_detector(cfg.model, cfg.threads, cfg.conf_threshold)
        rng = np.random.default_rng(seed)
        self._reader = VehicleStateReader(api, scene.lane_lengths_m)
        self._states: list[Any] = []
        self._states_t: float | None = None
        self.timing = _Timing()
        self._junctions: dict[str, _Junction] = {}
        for tls_id, info in signals.items():
            controlled = set(info.zones)
            cams: list[SyntheticCamera] = []
            for _node, approach in scene.approaches:
                if not controlled.intersection(approach.lane_ids):
                    continue  # approaches are keyed by node id; a signal (tls id) may span several nodes
                pose = _best_pose(approach, rng, cfg)
                cond = random_conditions(rng, None if cfg.conditions == "mixed" else cfg.conditions)
                cam = SyntheticCamera(scene, approach, pose, cond,
                                      zone_m=self._zone_m,
                                      seed=int(rng.integers(1 << 31)))
                if cam.lane_polygons:
                    cams.append(cam)
            seen = {lane for cam in cams for lane in cam.lane_polygons}
            pipeline = None
            if cams:
                clutter = self._commission(cams, (seed, len(self._junctions)))
                configs = [
                    CameraConfig.model_validate(
                        cam.camera_config(f"{tls_id}/{cam.approach.edge_id}", "sumo") | {"ignore_boxes": boxes}
                    )
                    for cam, boxes in zip(cams, clutter, strict=True)
                ]
                pipeline = IntersectionPipeline(_TimedDetector(self.detector, self.timing), configs,
                                                settings=FRAME_SETTINGS)
            self._junctions[tls_id] = _Junction(cams, pipeline, frozenset(controlled), tuple(sorted(controlled - seen)),
                                                np.random.default_rng(int(rng.integers(1 << 31))))
        _LAST[:] = [self]

    def _commission(self, cams: Sequence[SyntheticCamera], key: tuple[int, int]) -> list[list[list[float]]]:
        """Per camera, the boxes the detector finds on its empty road: what an installer masks when commissioning.

        Each camera films its approach with no traffic `commission_frames` times (fresh sensor noise each time);
        a box at about the same place in at least two of them is static clutter (vision/counting.find_clutter). The
        noise has its own generators (keyed by seed, junction, camera and frame), so the poles and conditions a seed
        draws are the same with commissioning or without.
        """
        n = self.config.commission_frames
        if n <= 0:
            return [[] for _ in cams]
        frames = [cam.render([], np.random.default_rng([*key, k, i])).image
                  for k, cam in enumerate(cams) for i in range(n)]  # fmt: skip
        dets = self.detector.detect(frames)
        share = min(1.0, 2 / n)
        return [find_clutter([d.xyxy for d in dets[k * n:(k + 1) * n]], share) for k in range(len(cams))]

    def unseen_lanes(self, junction_id: str) -> tuple[str, ...]:
        return self._junctions[junction_id].unseen

    def cameras(self, junction_id: str) -> list[SyntheticCamera]:
        return list(self._junctions[junction_id].cameras)

    def measure(self, junction_id: str, now_s: float) -> IntersectionMeasurement:
        j = self._junctions[junction_id]
        incoming: dict[str, LaneMeasurement] = {}
        if j.pipeline is not None:
            states = self._vehicle_states(now_s)
            t0 = time.perf_counter()
            frames = [cam.render(states, j.rng).image for cam in j.cameras]
            t1 = time.perf_counter()
            counted = j.pipeline.process(frames, now_s)
            for lane, m in counted.items():
                if lane in j.controlled:
                    incoming[lane] = _confirmed(m, j.previous.get(lane))
                    j.previous[lane] = m
            self.timing.pipeline_s.append(time.perf_counter() - t1)
            self.timing.render_s.append((t1 - t0) / len(frames))
            self.timing.frames += len(frames)
            del frames  # frames live for one step only
        for lane in j.unseen:
            incoming[lane] = standing_call(lane, self._zone_m)
        return IntersectionMeasurement(junction_id=junction_id, now_s=now_s, incoming=incoming)

    def _vehicle_states(self, now_s: float) -> list[Any]:
        """All vehicle states, read once per simulated second however many junctions ask."""
        if self._states_t != now_s:
            t0 = time.perf_counter()
            self._states = self._reader.read()
            self._states_t = now_s
            self.timing.read_s.append(time.perf_counter() - t0)
        return self._states

    def timing_summary(self) -> dict[str, Any]:
        """Medians in ms: render and inference per camera frame; pipeline (inference + counting) per junction step."""
        tm = self.timing

        def med(xs: list[float]) -> float | None:
            return statistics.median(xs) * 1000.0 if xs else None

        return {
            "cameras": sum(len(j.cameras) for j in self._junctions.values()),
            "unseen_lanes": sum(len(j.unseen) for j in self._junctions.values()),
            "frames": tm.frames,
            "render_ms": med(tm.render_s),
            "infer_ms": med(tm.infer_s),
            "pipeline_ms": med(tm.pipeline_s),
            "read_ms": med(tm.read_s),
        }


def _confirmed(now: LaneMeasurement, before: LaneMeasurement | None) -> LaneMeasurement:
    """Moving vehicles appearing in an empty lane count once a second frame confirms them.

    A one-frame false positive (a shadow, a vehicle of the next lane for an instant) in an empty lane is a phantom
    call: the controller would give a phase to nobody. A real arrival is seen again a second later, long before it
    reaches the stop line; queued vehicles need 2 s of track history anyway.
    """
    if now.vehicles and not now.queued and before is not None and before.vehicles == 0:
        return LaneMeasurement(lane_id=now.lane_id, vehicles=0, queued=0, zone_m=now.zone_m)
    return now


def _best_pose(approach: Approach, rng: np.random.Generator, cfg: CameraLoopConfig) -> PinholeCamera:
    """Of `pose_draws` plausible poles (sim/camera_model.pose_for_approach), the one an installer would mount.

    First, every lane's stop-line vehicle whole in the frame (or, if no pole manages it, most of it): the vehicle at
    the stop bar is the one the controller must never miss, and the detector misses one the frame edge cuts (in the
    camera loop on `single`, seed 1, a truck at a stop line the frame cut was missed for 13 s running). Then the far
    end seen biggest: a vehicle 50 m upstream is a few pixels wide at 320 px, so the image scale there decides how
    far the detector counts.
    """
    far = np.array([[*(approach.stop_centre - approach.travel_dir * 50.0), 0.0]])
    first = _stop_line_vehicles(approach)
    best, best_key = None, (-1.0, -1.0)
    for _ in range(max(1, cfg.pose_draws)):
        cam = pose_for_approach(approach, rng, width_px=cfg.width_px, height_px=cfg.height_px)
        depth = float(cam.project(far)[1][0])
        scale = cam.focal_px / depth if depth > 0.5 else 0.0
        key = (_share_in_frame(cam, first), scale)
        if key > best_key:
            best, best_key = cam, key
    assert best is not None
    return best


def _stop_line_vehicles(approach: Approach, length_m: float = 4.5, height_m: float = 1.5) -> np.ndarray:
    """(n, 3) corners of a lane-wide, car-long box standing at each lane's stop line (world metres)."""
    t = approach.travel_dir
    pts = []
    for shape, width in zip(approach.lane_shapes, approach.lane_widths_m, strict=True):
        d = shape[-1] - shape[-2]
        across = np.array([-d[1], d[0]]) / max(float(np.linalg.norm(d)), 1e-9)
        for back in (0.0, length_m):
            for side in (0.5, -0.5):
                p = shape[-1] - t * back + across * side * width
                pts += [[*p, 0.0], [*p, height_m]]
    return np.array(pts)


def _share_in_frame(cam: PinholeCamera, points: np.ndarray) -> float:
    """Share of the points in front of the camera and inside the frame, less the margin the edge runtime warns at."""
    uv, depth = cam.project(points)
    return float(np.mean((depth > 0.5) & clear_of_edge(uv, cam.width_px, cam.height_px)))


def _net_file(api: Any) -> Path:
    """The running simulation's network file (libsumo and TraCI both answer getOption)."""
    try:
        net = str(api.simulation.getOption("net-file"))
    except Exception as exc:  # TraCIException from either backend
        raise SimError(f"camera source: expected SUMO to report its net-file option, found {exc}") from exc
    path = Path(net)
    if not path.is_absolute():
        cfg = Path(str(api.simulation.getOption("configuration-file")))
        path = cfg.parent / path
    if not path.is_file():
        raise SimError(f"camera source: expected the network file at {path}, found nothing")
    return path
