"""Benchmark how far upstream the closed loop's cameras count moving vehicles: the zone a camera can claim.

    python -m bench.camera_reach [--scenario corridor] [--seeds 1] [--window-s 600 --offset-s 900]
                                 [--max-zone-m 80] [--min-ratio 0.8] [--workers N] [--json PATH]

SUMO runs the scenario's own signal plan (no controller: the cameras only watch). Every controlled approach is filmed
as in `greenwave sim compare --measure camera` (sim/camera_source.py, same poles per seed), with the reported zone
opened to --max-zone-m. Each second the camera source's measurement is set beside the oracle's (sim/oracle.py) and,
per 10 m band upstream of the stop line, the moving vehicles of each are tallied, on green and on red. Printed: per
band, SUMO's count, the camera's and their ratio (camera / SUMO: misses net of phantoms), and the reach: the far end
of the last band (past the first 10 m) up to which every ratio on green is at least --min-ratio.

Why moving vehicles on green: that is what a zone is for. The controller plans with the zone a camera reports, and on
a coordinated corridor it drops a vehicle the upstream junction released once the vehicle is inside that zone
(controller/coordination.py): from there on only the camera may count it. A camera claiming more road than it counts
reliably loses exactly the platoon members a green extension is for. Queued vehicles are left out: the measurement
carries only their count, not where each stands.

It also counts stop-line crossings per source, as the controller derives them (controller/policies/lanes.py's
`FlowEstimator` after the `LaneFilter`, fed each source's measurement and which lanes were served) against SUMO's
own (a vehicle that left the lane into the junction). A coordinated junction publishes those crossings to its
downstream neighbour, which plans with them as a platoon on its way (controller/coordination.py), and the same
count feeds each lane's arrival-flow estimate: an overcount is phantom traffic in both.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from configs.controller import ControllerParams
from controller.lane_filter import LaneFilter
from controller.measurement import IntersectionMeasurement
from controller.policies.lanes import FlowEstimator

__all__ = ["BAND_M", "BandTally", "CrossingCounter", "main", "reach_m", "sumo_crossings"]

BAND_M = 10.0
_SERVED = frozenset("gGy")  # a link showing green or yellow can discharge


@dataclass
class BandTally:
    """Per 10 m band: moving vehicles SUMO has there and the camera reports there, on green and on red."""

    bands: int
    truth: dict[str, list[int]] = field(default_factory=dict)
    camera: dict[str, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for phase in ("green", "red"):
            self.truth.setdefault(phase, [0] * self.bands)
            self.camera.setdefault(phase, [0] * self.bands)

    def add(
        self,
        camera: IntersectionMeasurement,
        truth: IntersectionMeasurement,
        served: dict[str, bool],
        skip: frozenset[str] = frozenset(),
    ) -> None:
        """Tally one junction step. Truth is cut at each lane's camera zone; `skip`: lanes no camera sees."""
        for lane, cm in camera.incoming.items():
            if lane in skip or lane not in truth.incoming:
                continue
            phase = "green" if served.get(lane, False) else "red"
            for v in truth.incoming[lane].approaching:
                if v.distance_m < cm.zone_m:
                    self.truth[phase][self._band(v.distance_m)] += 1
            for v in cm.approaching:
                self.camera[phase][self._band(min(v.distance_m, cm.zone_m - 1e-6))] += 1

    def _band(self, distance_m: float) -> int:
        return min(self.bands - 1, max(0, int(distance_m // BAND_M)))

    def merge(self, other: BandTally) -> None:
        for phase in ("green", "red"):
            self.truth[phase] = [a + b for a, b in zip(self.truth[phase], other.truth[phase], strict=True)]
            self.camera[phase] = [a + b for a, b in zip(self.camera[phase], other.camera[phase], strict=True)]

    def ratios(self, phase: str) -> list[float | None]:
        return [c / t if t else None for t, c in zip(self.truth[phase], self.camera[phase], strict=True)]


class CrossingCounter:
    """Stop-line crossings of some lanes as the adaptive controller counts them from a measurement source."""

    def __init__(self, lanes: Sequence[str], params: ControllerParams) -> None:
        self.lanes = tuple(lanes)
        n = len(self.lanes)
        self._filter = LaneFilter(n, hold_s=params.measurement_hold_s, free_speed_mps=params.free_speed_mps)
        self._flows = FlowEstimator.for_params(n, params)
        self.total = 0

    def update(self, measurement: IntersectionMeasurement, served: Mapping[str, bool]) -> int:
        """This step's crossings (also added to `total`)."""
        flags = [served.get(lane, False) for lane in self.lanes]
        lanes = self._filter.update(measurement.now_s, [measurement.incoming.get(x) for x in self.lanes], flags)
        self._flows.update(measurement.now_s, lanes, flags, self._filter.crossed)
        n = sum(self._flows.crossed)
        self.total += n
        return n


def sumo_crossings(
    before: Mapping[str, set[str]], now: Mapping[str, set[str]], edge_of_vehicle: Callable[[str], str | None],
    lane_edge: Mapping[str, str],
) -> int:
    """Vehicles on a lane a step ago that left it forward: now on another edge (the junction) or out of the net.

    A vehicle that changed to another lane of the same edge did not cross; `edge_of_vehicle` gives None for one
    that left the simulation (it crossed and arrived).
    """
    n = 0
    for lane, ids in before.items():
        for vid in ids - now.get(lane, set()):
            if edge_of_vehicle(vid) != lane_edge[lane]:
                n += 1
    return n


def reach_m(ratios: list[float | None], min_ratio: float) -> float:
    """The far end of the last 10 m band up to which every band with traffic has a ratio of at least `min_ratio`.

    The first band does not count: on green its vehicles are crossing the stop line, where SUMO still has them on
    the lane and the camera's lane zone has ended (0.6-0.85 of them counted, however good the camera).
    """
    reach = BAND_M
    for k, r in enumerate(ratios[1:], start=1):
        if r is not None and r < min_ratio:
            break
        reach = (k + 1) * BAND_M
    return reach


def _job(job: tuple[str, int, float | None, float | None, float]) -> dict[str, Any]:
    """One seed in this process: SUMO on the scenario's plan, the cameras and the oracle side by side."""
    from configs.controller import ControllerParams
    from sim.camera_source import CameraLoopConfig, CameraSource
    from sim.oracle import OracleSource
    from sim.runner import RunSpec, run_one
    from sim.sumocfg import read_sumocfg
    from sim.topology import read_topology

    cfg_path, seed, begin, end, max_zone_m = job
    params = ControllerParams()
    signals = read_topology(read_sumocfg(Path(cfg_path)).net_file, range_m=params.detection_range_m).signals
    tally = BandTally(bands=int(-(-max_zone_m // BAND_M)))
    sources: list[Any] = []
    links = {tls: [(link.index, link.in_lane) for link in info.links] for tls, info in signals.items()}

    counters: dict[str, dict[str, CrossingCounter]] = {}  # tls -> source -> counter
    on_lanes: dict[str, set[str]] = {}  # lane -> vehicle ids a step ago, on the lanes the cameras see
    lane_edge: dict[str, str] = {}
    crossings = {"sumo": 0, "camera": 0, "oracle": 0}

    def on_step(api: Any, now_s: float) -> None:
        if not sources:  # built on the first step: they need the running SUMO
            sources.append(
                CameraSource(api, signals, params, seed=seed, config=CameraLoopConfig(max_zone_m=max_zone_m))
            )
            sources.append(OracleSource(api, signals, range_m=max_zone_m))
            for tls, info in signals.items():
                seen = sorted(set(info.zones) - set(sources[0].unseen_lanes(tls)))
                counters[tls] = {src: CrossingCounter(seen, params) for src in ("camera", "oracle")}
                lane_edge.update((lane, api.lane.getEdgeID(lane)) for lane in seen)
        cam, oracle = sources
        now_on = {lane: set(api.lane.getLastStepVehicleIDs(lane)) for lane in lane_edge}
        if on_lanes:
            alive = set(api.vehicle.getIDList())
            crossings["sumo"] += sumo_crossings(
                on_lanes, now_on, lambda v: api.vehicle.getRoadID(v) if v in alive else None, lane_edge
            )
        on_lanes.clear()
        on_lanes.update(now_on)
        for tls in signals:
            state = api.trafficlight.getRedYellowGreenState(tls)
            served: dict[str, bool] = {}
            for index, lane in links[tls]:
                served[lane] = served.get(lane, False) or state[index] in _SERVED
            measured = {"camera": cam.measure(tls, now_s), "oracle": oracle.measure(tls, now_s)}
            for src, m in measured.items():
                crossings[src] += counters[tls][src].update(m, served)
            tally.add(measured["camera"], measured["oracle"], served, frozenset(cam.unseen_lanes(tls)))

    run_one(RunSpec(Path(cfg_path), "fixed", seed, begin, end, params=params), on_step=on_step)
    return {"seed": seed, "truth": tally.truth, "camera": tally.camera, "crossings": crossings}


def run(
    scenario: str,
    seeds: list[int],
    *,
    window_s: float,
    offset_s: float,
    max_zone_m: float,
    workers: int,
    log: Any = print,
) -> dict[str, Any]:
    from bench.closed_loop import _scenario_arg
    from sim.compare import resolve_scenario
    from sim.sumocfg import read_sumocfg

    _, cfg = resolve_scenario(_scenario_arg(scenario))
    start = read_sumocfg(cfg).begin_s or 0.0
    begin, end = start + offset_s, start + offset_s + window_s
    jobs = [(str(cfg), seed, begin, end, max_zone_m) for seed in seeds]
    total = BandTally(bands=int(-(-max_zone_m // BAND_M)))
    crossings = {"sumo": 0, "camera": 0, "oracle": 0}
    t0 = time.perf_counter()
    with mp.get_context("spawn").Pool(processes=max(1, workers), maxtasksperchild=1) as pool:
        for r in pool.imap_unordered(_job, jobs):
            total.merge(BandTally(total.bands, r["truth"], r["camera"]))
            for src, n in r["crossings"].items():
                crossings[src] += n
            log(f"[{time.perf_counter() - t0:6.0f} s] {scenario} seed {r['seed']} done")
    return {
        "scenario": scenario,
        "seeds": seeds,
        "window_s": [begin, end],
        "max_zone_m": max_zone_m,
        "truth": total.truth,
        "camera": total.camera,
        "ratio": {p: total.ratios(p) for p in ("green", "red")},
        "crossings": crossings,
    }


def print_report(report: dict[str, Any], min_ratio: float) -> None:
    print(
        f"{report['scenario']}, seeds {report['seeds']}, {report['window_s'][0]:g}-{report['window_s'][1]:g} s:"
        " moving vehicles per band, SUMO / camera (ratio)"
    )
    print(f"{'band':>10}  {'green':>22}  {'red':>22}")
    for k in range(len(report["truth"]["green"])):
        cells = []
        for phase in ("green", "red"):
            t, c, r = report["truth"][phase][k], report["camera"][phase][k], report["ratio"][phase][k]
            cells.append(f"{t:6d} / {c:6d} ({'  -  ' if r is None else f'{r:5.2f}'})")
        print(f"{k * BAND_M:4.0f}-{(k + 1) * BAND_M:3.0f} m  {cells[0]:>22}  {cells[1]:>22}")
    print(
        f"reach on green at ratio >= {min_ratio:.2f}: {reach_m(report['ratio']['green'], min_ratio):.0f} m"
        f" (the loop's cameras claim CameraLoopConfig.max_zone_m)"
    )
    c = report["crossings"]
    ratio = {src: f"{c[src] / c['sumo']:.2f}" if c["sumo"] else "-" for src in ("camera", "oracle")}
    print(
        f"stop-line crossings on the cameras' lanes, as the controller counts them: SUMO {c['sumo']}, from the"
        f" cameras {c['camera']} ({ratio['camera']}), from the oracle {c['oracle']} ({ratio['oracle']})"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.camera_reach", description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="corridor")
    ap.add_argument("--seeds", type=lambda t: [int(x) for x in t.split(",") if x.strip()], default=[1])
    ap.add_argument("--window-s", type=float, default=600.0)
    ap.add_argument(
        "--offset-s", type=float, default=900.0, help="window start after the scenario's begin time"
    )
    ap.add_argument("--max-zone-m", type=float, default=80.0, help="zone the cameras report while measured")
    ap.add_argument("--min-ratio", type=float, default=0.8)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    report = run(
        args.scenario,
        args.seeds,
        window_s=args.window_s,
        offset_s=args.offset_s,
        max_zone_m=args.max_zone_m,
        workers=args.workers,
    )
    print_report(report, args.min_ratio)
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
