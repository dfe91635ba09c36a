"""Bridge in the loop vs direct: wall time, signal-timeline agreement and metrics of both paths.

    python -m bench.bridge_loop [SCENARIO] [--controllers adaptive,max-pressure] [--seeds 1,2,3] [--end S]

Each (controller, seed) runs twice, each run in a fresh process (libsumo state leaks between simulations run in
one process): `direct` (the guard's string set on SUMO) and
`pmpp` (hold / force-off / call / omit through the firmware bridge, SNMP in PMPP frames over a pty pair, to a
virtual controller on simulation time). Prints per run the wall times and their ratio, whether the (time, state)
change timelines SUMO was shown are identical (and, if not, the first difference), the metrics of both, safety
violations, bridge SETs and how control was handed back; then the median ratio. Medians and ratios, not absolute
seconds: the machine is shared.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import sim.runner
from controller.guard import SignalCommand
from controller.signal_model import SignalModel
from sim.actuation import make_actuator
from sim.bridge_loop import PmppActuator
from sim.compare import resolve_scenario
from sim.runner import RunSpec, run_one

_METRICS = ("delay_s", "stop_time_s", "stops", "travel_time_s", "arrived")


class _Recorder:
    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.timeline: list[tuple[float, str]] = []

    def apply(self, now_s: float, command: SignalCommand) -> str:
        state = self.inner.apply(now_s, command)
        if not self.timeline or self.timeline[-1][1] != state:
            self.timeline.append((now_s, state))
        return state

    def close(self) -> None:
        self.inner.close()


def _run(spec: RunSpec) -> dict[str, Any]:
    """One run with every signal's actuator recorded; plain data, so it can come back from a worker process."""
    made: list[_Recorder] = []

    def make(kind: str, api: Any, tls_id: str, model: SignalModel, initial_state: str) -> _Recorder:
        made.append(_Recorder(make_actuator(kind, api, tls_id, model, initial_state)))
        return made[-1]

    sim.runner.make_actuator = make  # this (worker) process only, for recording
    t0 = time.perf_counter()
    result = run_one(spec)
    acts = [r.inner for r in made if isinstance(r.inner, PmppActuator)]
    return {
        "result": result,
        "wall_s": time.perf_counter() - t0,
        "timelines": [r.timeline for r in made],
        "sends": sum(a.bridge.realtime.sends for a in acts),
        "released": sorted({str(a.released_by) for a in acts}),
        "held": [sorted(a.final_status.held) for a in acts if a.final_status is not None],
    }


def _first_difference(a: list[tuple[float, str]], b: list[tuple[float, str]]) -> str:
    for x, y in zip(a, b, strict=False):
        if x != y:
            return f"direct {x} vs pmpp {y}"
    return f"lengths {len(a)} vs {len(b)}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default="single")
    ap.add_argument("--controllers", default="adaptive,max-pressure")
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--end", type=float, default=None, help="simulation end (s); default: the scenario's")
    args = ap.parse_args()
    name, cfg = resolve_scenario(args.scenario)
    ratios = []
    pool = ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn"), max_tasks_per_child=1)
    with pool:
        for ctrl in args.controllers.split(","):
            for seed in (int(s) for s in args.seeds.split(",")):
                d = pool.submit(_run, RunSpec(cfg, ctrl, seed, end_s=args.end, actuation="direct")).result()
                p = pool.submit(_run, RunSpec(cfg, ctrl, seed, end_s=args.end, actuation="pmpp")).result()
                direct, pmpp = d["result"], p["result"]
                ratios.append(p["wall_s"] / d["wall_s"])
                same = d["timelines"] == p["timelines"]
                changes = sum(len(t) for t in d["timelines"])
                print(f"{name} {ctrl} seed {seed}: sim {pmpp['sim_s']:.0f} s, wall direct {d['wall_s']:.2f} s, "
                      f"pmpp {p['wall_s']:.2f} s, ratio {ratios[-1]:.2f}")  # fmt: skip
                agreement = (
                    "identical"
                    if same
                    else "DIFFERENT: " + _first_difference(d["timelines"][0], p["timelines"][0])
                )
                print(f"  timeline ({changes} changes): {agreement}; bridge SETs {p['sends']}; "
                      f"released by {','.join(p['released'])}, held after {p['held']}")  # fmt: skip
                for label, r in (("direct", direct), ("pmpp", pmpp)):
                    metrics = ", ".join(
                        f"{k} {r[k]:.3f}" if isinstance(r[k], float) else f"{k} {r[k]}" for k in _METRICS
                    )
                    print(f"  {label:<7}{metrics}, violations {r['safety_violations'] or 0}")
    print(f"median wall ratio pmpp/direct: {statistics.median(ratios):.2f} over {len(ratios)} runs")


if __name__ == "__main__":
    main()
