"""Scenarios to film and datasets rendered from them: generated SUMO networks with a vehicle-type mix, camera rigs
over their signalised approaches, and a YOLO-format training set.

Networks come from SUMO's own netgenerate (grid, spider, random) and demand from randomTrips.py; the held-out
benchmark also films existing scenarios (e.g. the RESCO nets) through `SumoFilm`. Nothing here trains a model.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from sim.camera import CameraFrame, SyntheticCamera
from sim.camera_effects import Conditions, random_conditions
from sim.camera_model import pose_for_approach
from sim.camera_scene import RoadScene, load_road_scene
from sim.camera_sumo import VehicleStateReader
from sim.camera_vehicles import CLASSES
from sim.errors import ScenarioError
from sim.sumo_bin import sumo_binary, sumo_tool

__all__ = ["GeneratedScenario", "SumoFilm", "generate_scenario", "render_yolo_dataset"]

VTYPES_XML = """<additional>
  <vTypeDistribution id="mix">
    <vType id="car" vClass="passenger" length="4.5" width="1.8" minGap="2.0" speedDev="0.1" probability="0.55"/>
    <vType id="car_small" vClass="passenger" length="3.8" width="1.65" minGap="2.0" speedDev="0.1" probability="0.1"/>
    <vType id="car_large" vClass="passenger" length="4.9" width="1.9" minGap="2.0" speedDev="0.1" probability="0.07"/>
    <vType id="van" vClass="delivery" length="5.6" width="2.0" minGap="2.2" probability="0.09"/>
    <vType id="truck" vClass="truck" length="8.5" width="2.5" minGap="2.5" probability="0.05"/>
    <vType id="truck_long" vClass="truck" length="13.0" width="2.55" minGap="2.5" probability="0.03"/>
    <vType id="bus" vClass="bus" length="12.0" width="2.55" minGap="2.5" probability="0.05"/>
    <vType id="motorcycle" vClass="motorcycle" length="2.2" width="0.8" minGap="1.5" probability="0.06"/>
  </vTypeDistribution>
</additional>
"""

NET_KINDS = ("grid", "spider", "rand")


@dataclass(frozen=True, slots=True)
class GeneratedScenario:
    net_file: Path
    route_file: Path
    additional_file: Path

    def sumo_args(self) -> list[str]:
        return ["-n", str(self.net_file), "-r", str(self.route_file), "-a", str(self.additional_file)]


def _run(cmd: list[str], what: str, cwd: Path | None = None) -> None:
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=cwd)
    if res.returncode != 0:
        tail = (res.stderr or res.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ScenarioError(f"{what}: expected exit 0, found {res.returncode} ({tail[0]})")


def generate_scenario(kind: str, seed: int, out_dir: str | Path, *, end_s: int = 900) -> GeneratedScenario:
    """A random signalised network of `kind` (grid, spider, rand) with mixed traffic, built with SUMO tools.

    Raises:
        ScenarioError: unknown kind, or a SUMO tool failed.
    """
    if kind not in NET_KINDS:
        raise ScenarioError(f"net kind: expected one of {NET_KINDS}, found {kind!r}")
    rng = np.random.default_rng(seed)
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    net = out / f"{kind}_{seed}.net.xml"
    lanes = int(rng.choice([1, 2, 2, 3, 3]))
    cmd = [sumo_binary("netgenerate"), f"--{kind}", "-o", str(net), "--seed", str(seed),
           "--default-junction-type", "traffic_light", "--default.lanenumber", str(lanes),
           "--default.speed", f"{rng.uniform(11, 17):.1f}", "--no-turnarounds", "true",
           "--default.lanewidth", f"{rng.uniform(3.0, 3.6):.2f}", "--junctions.corner-detail", "5"]
    if kind == "grid":
        cmd += ["--grid.number", str(int(rng.integers(2, 4))), "--grid.length", f"{rng.uniform(150, 260):.0f}",
                "--grid.attach-length", f"{rng.uniform(120, 200):.0f}"]
    elif kind == "spider":
        cmd += ["--spider.arm-number", str(int(rng.integers(3, 6))), "--spider.circle-number", "2",
                "--spider.space-radius", f"{rng.uniform(110, 180):.0f}", "--spider.omit-center", "false"]
    else:
        cmd += ["--rand.iterations", str(int(rng.integers(15, 35))), "--rand.min-distance", "120",
                "--rand.max-distance", "260", "--rand.random-lanenumber", "true", "--rand.min-angle", "60"]
    _run(cmd, f"netgenerate {kind} seed {seed}")
    add = out / "vtypes.add.xml"
    add.write_text(VTYPES_XML, encoding="utf-8")
    trips = out / f"{kind}_{seed}.trips.xml"
    period = rng.uniform(0.6, 1.6) / lanes
    _run([sys.executable, str(sumo_tool("randomTrips.py")), "-n", str(net), "-o", str(trips), "--seed", str(seed),
          "-e", str(end_s), "--period", f"{period:.3f}", "--fringe-factor", "10", "--min-distance", "250",
          "--trip-attributes", 'type="mix" departLane="best" departSpeed="max"'], f"randomTrips seed {seed}",
         cwd=out)  # randomTrips leaves a routes.rou.xml in its working folder: keep it out of the caller's
    return GeneratedScenario(net, trips, add)


class SumoFilm:
    """A SUMO run (libsumo, in process) with cameras over its signalised approaches.

    Only one may be open at a time in a process (libsumo is a singleton). Use as a context manager.
    """

    def __init__(self, sumo_args: list[str], net_file: str | Path, *, step_length_s: float = 1.0, seed: int = 0,
                 scene: RoadScene | None = None) -> None:
        self.scene = scene or load_road_scene(net_file)
        self._args = [sumo_binary("sumo"), *sumo_args, "--step-length", str(step_length_s), "--seed", str(seed),
                      "--no-step-log", "true", "--no-warnings", "true", "--time-to-teleport", "180",
                      "--ignore-route-errors", "true"]
        self._sumo: Any = None
        self.reader: VehicleStateReader | None = None

    def __enter__(self) -> SumoFilm:
        import libsumo

        try:
            libsumo.start(self._args)
        except Exception as exc:  # libsumo raises its own TraCIException / FatalTraCIError
            raise ScenarioError(f"sumo: expected the scenario to load, found {type(exc).__name__}: {exc}") from exc
        self._sumo = libsumo
        self.reader = VehicleStateReader(libsumo, self.scene.lane_lengths_m)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._sumo is not None:
            self._sumo.close()
            self._sumo = None

    def step(self, n: int = 1) -> None:
        for _ in range(n):
            self._sumo.simulationStep()

    def camera(self, rng: np.random.Generator, conditions: Conditions | str | None = None, *,
               zone_m: float = 60.0, approach_index: int | None = None) -> SyntheticCamera:
        """A random camera rig over one approach (random pose and, unless given, random conditions)."""
        i = int(rng.integers(len(self.scene.approaches))) if approach_index is None else approach_index
        _, approach = self.scene.approaches[i]
        cam = pose_for_approach(approach, rng)
        cond = conditions if isinstance(conditions, Conditions) else random_conditions(rng, conditions)
        return SyntheticCamera(self.scene, approach, cam, cond, zone_m=zone_m, seed=int(rng.integers(1 << 31)))


def _yolo_lines(frame: CameraFrame) -> list[str]:
    h, w = frame.image.shape[:2]
    lines = []
    for (x0, y0, x1, y1), c in zip(frame.boxes_xyxy, frame.classes, strict=True):
        lines.append(f"{int(c)} {(x0 + x1) / 2 / w:.6f} {(y0 + y1) / 2 / h:.6f} {(x1 - x0) / w:.6f} {(y1 - y0) / h:.6f}")
    return lines


def _frames_from(scn: GeneratedScenario, seed: int, n_frames: int, rng: np.random.Generator,
                 warmup_s: int = 150) -> Iterator[CameraFrame]:
    with SumoFilm(scn.sumo_args(), scn.net_file, seed=seed) as film:
        film.step(warmup_s)
        rigs = [film.camera(rng) for _ in range(max(2, n_frames // 6))]
        made = 0
        while made < n_frames:
            film.step(int(rng.integers(2, 7)))
            assert film.reader is not None
            states = film.reader.read()
            for rig in rng.choice(len(rigs), size=min(2, len(rigs), n_frames - made), replace=False):
                yield rigs[int(rig)].render(states, rng)
                made += 1


def render_yolo_dataset(out_dir: str | Path, *, n_train: int, n_val: int, seed: int = 0,
                        per_scenario: int = 60, log: Any = None) -> Path:
    """Render a YOLO-format dataset from freshly generated scenarios; returns the data.yaml path.

    Train and val come from different scenario seeds. Images are 640x360 JPEGs. The generated SUMO scenarios are
    temporary: the folder holds only what training reads (images, labels, data.yaml), so it can travel as it is.
    """
    out = Path(out_dir)
    with tempfile.TemporaryDirectory(prefix="greenwave-dataset-") as tmp:
        _render_splits(out, Path(tmp), n_train=n_train, n_val=n_val, seed=seed, per_scenario=per_scenario, log=log)
    data = out / "data.yaml"
    names = "\n".join(f"  {i}: {c}" for i, c in enumerate(CLASSES))
    data.write_text(f"path: {out.resolve()}\ntrain: images/train\nval: images/val\nnames:\n{names}\n", encoding="utf-8")
    return data


def _render_splits(out: Path, work: Path, *, n_train: int, n_val: int, seed: int, per_scenario: int,
                   log: Any) -> None:
    rng = np.random.default_rng(seed)
    for split, n, base in (("train", n_train, seed * 1000), ("val", n_val, seed * 1000 + 500)):
        (out / "images" / split).mkdir(parents=True, exist_ok=True)
        (out / "labels" / split).mkdir(parents=True, exist_ok=True)
        count, k = 0, 0
        while count < n:
            kind = NET_KINDS[k % len(NET_KINDS)]
            scn_seed = base + k
            k += 1
            try:
                scn = generate_scenario(kind, scn_seed, work / f"{kind}_{scn_seed}")
                frames = list(_frames_from(scn, scn_seed, min(per_scenario, n - count), rng))
            except ScenarioError as exc:
                if log:
                    log(f"skipped {kind} seed {scn_seed}: {exc}")
                continue
            for fr in frames:
                stem = f"{split}_{count:05d}_{fr.conditions.name}"
                cv2.imwrite(str(out / "images" / split / f"{stem}.jpg"), fr.image, [cv2.IMWRITE_JPEG_QUALITY, 92])
                (out / "labels" / split / f"{stem}.txt").write_text("\n".join(_yolo_lines(fr)), encoding="utf-8")
                count += 1
            if log:
                log(f"{split}: {count}/{n} images ({kind} seed {scn_seed})")
