"""Progression: how often vehicles that already passed one signal are stopped again at the next ones.

    python -m bench.progression [SCENARIO] [--controllers fixed,adaptive] [--seeds 1,2,3] [--workers N] [--json PATH]

Trip metrics say how much delay a controller leaves; this says where. Every simulated second, each vehicle on a
signal's approach (the lanes of its detection zone, `detection_range_m` upstream of the stop line) is noted as
visiting that signal, and as halting there when its speed is at most 0.1 m/s (SUMO's waiting threshold). A trip's
signals are counted in the order it reaches them:

- first signal: halts per vehicle at the first signal of its trip (random arrivals: some halts are unavoidable);
- later signals: halts per visit at the second and following signals. A green wave drives this towards 0: the
  vehicles have been released as a platoon, and the next signal can know when they come;
- the same per approach of the later signals (the busiest), so a weak junction or direction shows.

Prints each controller's shares and the ratio to the first controller named (fixed by default). It exists because
issue #3's corridor gap is here: the adaptive controller halves halts at the first signal, while fixed time's green
wave stops far fewer vehicles at later ones (see the issue note of 2026-11-28).

The same runs also say how each signal spent its time (green use, a classic timing measure), per second:

- clearance: no movement has green (yellow, all-red);
- green used: a lane with green had a vehicle cross its stop line within the last `IDLE_GAP_S`, or the green began
  less than that ago (start-up);
- green idle, others queued: no crossing for `IDLE_GAP_S` on any green lane while a vehicle halts on a red one. This
  is the time a controller could have given away; a green held for an arriving platoon counts here too;
- green idle: the same with nobody waiting elsewhere (harmless).

A controller that leaves little idle-with-queue time uses its greens well, so what delay it leaves comes from when
vehicles arrive (progression) and from the clearances, not from greens held too long.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["GREEN_USE", "GreenUseRecorder", "HaltRecorder", "ProgressionStats", "progression"]

HALT_SPEED_MPS = 0.1
IDLE_GAP_S = 3.0  # an actuated controller's usual passage gap: a green this long without a crossing is idle
GREEN_USE = ("clearance", "green used", "green idle, others queued", "green idle")
_SHOWN_APPROACHES = 12


@dataclass
class HaltRecorder:
    """Per vehicle, the signals it reached (in order) and those it halted at; fed once per simulation step."""

    lane_signal: Mapping[str, tuple[str, str]]  # approach lane (zone segment) -> (signal id, approach edge)
    visits: dict[str, list[str]] = field(default_factory=dict)
    halts: dict[str, set[str]] = field(default_factory=dict)
    approach: dict[tuple[str, str], str] = field(default_factory=dict)  # (vehicle, signal) -> approach edge

    def observe(self, vehicles: Iterable[tuple[str, str, float]]) -> None:
        """`vehicles`: (vehicle id, lane id, speed m/s) of every vehicle in the network this step."""
        for vid, lane, speed in vehicles:
            where = self.lane_signal.get(lane)
            if where is None:
                continue
            signal, edge = where
            seq = self.visits.setdefault(vid, [])
            if not seq or seq[-1] != signal:
                if signal in seq:
                    continue  # back on an approach it passed (a loop, a U-turn): neither a visit nor its halt
                seq.append(signal)
                self.approach[(vid, signal)] = edge
            if speed <= HALT_SPEED_MPS:
                self.halts.setdefault(vid, set()).add(signal)

    def on_step(self, api: Any, now_s: float) -> None:
        veh = api.vehicle
        self.observe((v, veh.getLaneID(v), veh.getSpeed(v)) for v in veh.getIDList())


@dataclass
class _SignalUse:
    links: tuple[str, ...]  # per link index, its incoming lane
    lanes: frozenset[str] = field(init=False)  # the incoming lanes, once each

    def __post_init__(self) -> None:
        self.lanes = frozenset(self.links) - {""}
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(GREEN_USE, 0.0))
    green: frozenset[str] = frozenset()  # lanes with green now
    green_since_s: float = float("-inf")
    crossed_s: float = float("-inf")  # last crossing on a lane with green


@dataclass
class GreenUseRecorder:
    """Per signal, how each second was spent (see the module docstring); fed once per simulation step.

    `links`: signal -> the incoming lane of each link index ('' for an unused index); read from the running
    simulation at the first `on_step` when not given.
    """

    links: Mapping[str, Sequence[str]] = field(default_factory=dict)
    signals: dict[str, _SignalUse] = field(init=False)
    _on_lane: dict[str, set[str]] = field(default_factory=dict)  # incoming lane -> vehicles on it last step

    def __post_init__(self) -> None:
        self.signals = {tls: _SignalUse(tuple(lanes)) for tls, lanes in self.links.items()}

    def observe(
        self, signal: str, now_s: float, state: str, crossed: set[str], halting: set[str], step_s: float = 1.0
    ) -> None:
        """`state`: the signal string shown; `crossed`: incoming lanes a vehicle left into the junction this step;
        `halting`: incoming lanes with a halted vehicle."""
        use = self.signals[signal]
        if len(state) != len(use.links):
            raise ValueError(f"green use: {signal} expected a {len(use.links)}-link state, found {state!r}")
        green = frozenset(lane for lane, c in zip(use.links, state, strict=True) if lane and c in "Gg")
        if green != use.green:
            use.green, use.green_since_s = green, now_s
        if green & crossed:
            use.crossed_s = now_s
        if not green:
            kind = "clearance"
        elif now_s - use.green_since_s < IDLE_GAP_S or now_s - use.crossed_s < IDLE_GAP_S:
            kind = "green used"
        elif any(lane not in green for lane in halting):
            kind = "green idle, others queued"
        else:
            kind = "green idle"
        use.seconds[kind] += step_s

    def on_step(self, api: Any, now_s: float) -> None:
        tls, lane_api, veh = api.trafficlight, api.lane, api.vehicle
        if not self.signals:
            self.signals = {
                sig: _SignalUse(tuple(link[0][0] if link else "" for link in tls.getControlledLinks(sig)))
                for sig in tls.getIDList()
            }
        live = set(veh.getIDList())
        for signal, use in self.signals.items():
            crossed: set[str] = set()
            halting: set[str] = set()
            for lane in use.lanes:
                now_on = set(lane_api.getLastStepVehicleIDs(lane))
                gone = self._on_lane.get(lane, set()) - now_on
                # on into the junction or past it: not a lane change, nor a vehicle that left the network
                edge = lane.rsplit("_", 1)[0]
                if any(v in live and veh.getLaneID(v).rsplit("_", 1)[0] != edge for v in gone):
                    crossed.add(lane)
                self._on_lane[lane] = now_on
                if lane_api.getLastStepHaltingNumber(lane):
                    halting.add(lane)
            self.observe(signal, now_s, tls.getRedYellowGreenState(signal), crossed, halting)


@dataclass(frozen=True)
class ProgressionStats:
    first_visits: int
    first_halts: int
    later_visits: int
    later_halts: int
    by_approach: dict[str, tuple[int, int]]  # later signals only: "signal/approach edge" -> (visits, halts)

    @property
    def first_share(self) -> float:
        return self.first_halts / self.first_visits if self.first_visits else float("nan")

    @property
    def later_share(self) -> float:
        return self.later_halts / self.later_visits if self.later_visits else float("nan")


def progression(
    visits: Mapping[str, Sequence[str]],
    halts: Mapping[str, set[str]],
    approach: Mapping[tuple[str, str], str] | None = None,
) -> ProgressionStats:
    """Halts at the first signal of each trip and at the later ones (see the module docstring)."""
    first_v = first_h = later_v = later_h = 0
    by: dict[str, list[int]] = {}
    for vid, seq in visits.items():
        stopped = halts.get(vid, set())
        for k, signal in enumerate(seq):
            halted = signal in stopped
            if k == 0:
                first_v += 1
                first_h += halted
                continue
            later_v += 1
            later_h += halted
            edge = approach.get((vid, signal)) if approach else None
            row = by.setdefault(f"{signal}/{edge}" if edge else signal, [0, 0])
            row[0] += 1
            row[1] += halted
    return ProgressionStats(
        first_v, first_h, later_v, later_h, {k: (v, h) for k, (v, h) in sorted(by.items())}
    )


def _lane_signal(sumocfg: Path, range_m: float) -> dict[str, tuple[str, str]]:
    from sim.sumocfg import read_sumocfg
    from sim.topology import read_topology

    topo = read_topology(read_sumocfg(sumocfg).net_file, range_m=range_m)
    out: dict[str, tuple[str, str]] = {}
    for tls_id, info in topo.signals.items():
        for lane, segments in info.zones.items():
            for seg in segments:
                out.setdefault(seg.lane, (tls_id, info.lane_edges[lane]))
    return out


def _run(
    job: tuple[Path, str, int],
) -> tuple[str, int, dict[str, Any], ProgressionStats, dict[str, dict[str, float]]]:
    from configs.controller import ControllerParams
    from sim.runner import RunSpec, run_one

    sumocfg, controller, seed = job
    params = ControllerParams()
    recorder = HaltRecorder(_lane_signal(sumocfg, params.detection_range_m))
    use = GreenUseRecorder()

    def on_step(api: Any, now_s: float) -> None:
        recorder.on_step(api, now_s)
        use.on_step(api, now_s)

    result = run_one(RunSpec(sumocfg, controller, seed, params=params), on_step=on_step)
    seconds = {sig: dict(u.seconds) for sig, u in use.signals.items()}
    return controller, seed, result, progression(recorder.visits, recorder.halts, recorder.approach), seconds


def _sum(stats: Sequence[ProgressionStats]) -> ProgressionStats:
    by: dict[str, tuple[int, int]] = {}
    for s in stats:
        for key, (v, h) in s.by_approach.items():
            pv, ph = by.get(key, (0, 0))
            by[key] = (pv + v, ph + h)
    return ProgressionStats(
        sum(s.first_visits for s in stats),
        sum(s.first_halts for s in stats),
        sum(s.later_visits for s in stats),
        sum(s.later_halts for s in stats),
        dict(sorted(by.items())),
    )


def main(argv: list[str] | None = None) -> int:
    from sim.compare import resolve_scenario
    from sim.errors import SimError

    ap = argparse.ArgumentParser(prog="python -m bench.progression", description=__doc__.split("\n")[0])
    ap.add_argument(
        "scenario", nargs="?", default="corridor", help="built-in name or .sumocfg (default corridor)"
    )
    ap.add_argument("--controllers", default="fixed,adaptive", help="the first is the reference for ratios")
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        print(f"error: --seeds: expected comma-separated integers, found {args.seeds!r}", file=sys.stderr)
        return 2
    controllers = [c.strip() for c in args.controllers.split(",") if c.strip()]
    try:
        _name, sumocfg = resolve_scenario(args.scenario)
    except SimError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    jobs = [(sumocfg, c, s) for c in controllers for s in seeds]
    # a fresh process per run: libsumo state leaks between simulations run one after another in a process
    ctx = mp.get_context("spawn")
    with ProcessPoolExecutor(max_workers=max(1, args.workers), mp_context=ctx, max_tasks_per_child=1) as pool:
        runs = list(pool.map(_run, jobs))
    per: dict[str, list[ProgressionStats]] = {c: [] for c in controllers}
    stops: dict[str, list[float]] = {c: [] for c in controllers}
    use: dict[str, dict[str, dict[str, float]]] = {c: {} for c in controllers}  # summed over seeds
    for controller, _seed, result, stats, seconds in runs:
        per[controller].append(stats)
        stops[controller].append(result["stops"])
        for sig, kinds in seconds.items():
            acc = use[controller].setdefault(sig, dict.fromkeys(GREEN_USE, 0.0))
            for kind, sec in kinds.items():
                acc[kind] += sec
    total = {c: _sum(v) for c, v in per.items()}
    ref = controllers[0]
    print(f"{args.scenario}: halts per signal reached, seeds {args.seeds} (ratios to {ref})")
    print(
        f"{'controller':14s} {'stops/veh':>9s} {'first signal':>13s} {'later signals':>14s} {'ratio first':>12s} "
        f"{'ratio later':>12s}"
    )
    for c in controllers:
        t, r = total[c], total[ref]
        print(
            f"{c:14s} {sum(stops[c]) / len(stops[c]):9.2f} {t.first_share:13.3f} {t.later_share:14.3f} "
            f"{t.first_share / r.first_share:12.2f} {t.later_share / r.later_share:12.2f}"
        )
    # the busiest approaches reached from another signal, where progression shows
    busiest = sorted(total[ref].by_approach, key=lambda k: -total[ref].by_approach[k][0])[:_SHOWN_APPROACHES]
    if busiest:
        print("halts per visit at later signals, busiest approaches (visits):")
        for key in sorted(busiest):
            cells = []
            for c in controllers:
                v, h = total[c].by_approach.get(key, (0, 0))
                cells.append(f"{c} {h / v:.3f}" if v else f"{c} -")
            print(f"  {key:28s} ({total[ref].by_approach[key][0]:5d})  " + "  ".join(cells))
    print(f"green use per signal, share of the simulated time ({', '.join(GREEN_USE)}):")
    for sig in sorted(use[ref]):
        cells = []
        for c in controllers:
            shares = use[c].get(sig)
            total_s = sum(shares.values()) if shares else 0.0
            cells.append(f"{c} " + " / ".join(f"{shares[k] / total_s:.3f}" for k in GREEN_USE)
                         if shares and total_s else f"{c} -")
        print(f"  {sig:10s} " + "   ".join(cells))
    if args.json:
        out = {
            c: {
                "first_share": total[c].first_share,
                "later_share": total[c].later_share,
                "first_visits": total[c].first_visits,
                "later_visits": total[c].later_visits,
                "by_approach": total[c].by_approach,
                "stops": stops[c],
                "green_use_s": use[c],
            }
            for c in controllers
        }
        args.json.write_text(
            json.dumps({"scenario": args.scenario, "seeds": seeds, "controllers": out}, indent=2)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
