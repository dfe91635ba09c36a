"""Benchmark the adaptive optimizer against fixed, actuated, max-pressure and webster control.

    python -m bench.optimizer [--json PATH] [--seeds 1,2,3] [--scenarios single,corridor,cologne1,...] [--workers N]

Runs `sim.compare.compare` per scenario (one scenario at a time; the seeds of each controller in `--workers`
processes) over the built-in scenarios and ../shared/scenarios/resco/{cologne1,ingolstadt1,grid4x4}, and prints per
scenario the ratios adaptive/fixed, adaptive/actuated and adaptive/max-pressure for delay, stop time, stops and
travel time, the decision time per intersection per simulated second (median), guard overrides, SafetyMonitor violations, teleports,
collisions and emergency stops, with the issue-3 targets checked. Timing lives here, never in tests.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["main"]

RESCO_ROOT = Path(__file__).resolve().parents[2] / "shared" / "scenarios" / "resco"
RESCO = ("cologne1", "ingolstadt1", "grid4x4")
CONTROLLERS = ("fixed", "actuated", "max-pressure", "webster", "adaptive")
METRICS = ("delay_s", "stop_time_s", "stops", "travel_time_s")
STRETCH = {"cologne1": 0.46, "ingolstadt1": 0.53}


def _scenario_arg(name: str) -> str:
    if name in RESCO:
        return str(RESCO_ROOT / name / f"{name}.sumocfg")
    return name


def ratios(result: dict[str, Any], base: str, of: str = "adaptive") -> dict[str, float]:
    a, b = result["controllers"][of], result["controllers"][base]
    return {k: a[k] / b[k] if b[k] else float("nan") for k in METRICS}


def targets(name: str, result: dict[str, Any]) -> dict[str, bool]:
    c = result["controllers"]
    a = c["adaptive"]
    out = {
        "stop<=0.75xfixed": a["stop_time_s"] <= 0.75 * c["fixed"]["stop_time_s"],
        "travel<=0.85xfixed": a["travel_time_s"] <= 0.85 * c["fixed"]["travel_time_s"],
        "delay<actuated": a["delay_s"] < c["actuated"]["delay_s"],
        "delay<max-pressure": a["delay_s"] < c["max-pressure"]["delay_s"],
        "no teleports": a["teleports"] == 0,
        "no safety violations": not any(a.get("safety_violations", {}).values()),
    }
    if name in STRETCH:
        out[f"stretch delay<={STRETCH[name]}xfixed"] = a["delay_s"] <= STRETCH[name] * c["fixed"]["delay_s"]
    return out


def run(scenarios: list[str], seeds: list[int], workers: int) -> dict[str, Any]:
    from sim.compare import compare

    report: dict[str, Any] = {}
    for name in scenarios:
        res = compare(_scenario_arg(name), CONTROLLERS, seeds, workers=workers).to_json()
        res["ratios"] = {base: ratios(res, base) for base in ("fixed", "actuated", "max-pressure")}
        res["targets"] = targets(name, res)
        report[name] = res
        _print_one(name, res)
    return report


def _print_one(name: str, res: dict[str, Any]) -> None:
    c = res["controllers"]
    print(f"\n== {name} ==")
    print(
        f"{'controller':13s} {'delay':>7s} {'stop':>7s} {'stops':>6s} {'travel':>7s} {'tele':>4s} {'coll':>4s} {'dec ms':>7s}  overrides"
    )
    for ctrl, v in c.items():
        dec = f"{v['decision_ms']:.3f}" if v.get("decision_ms") is not None else "-"
        print(
            f"{ctrl:13s} {v['delay_s']:7.2f} {v['stop_time_s']:7.2f} {v['stops']:6.2f} {v['travel_time_s']:7.2f} "
            f"{v['teleports']:4d} {v.get('collisions', 0):4d} {dec:>7s}  {v.get('guard_overrides', {})} violations {v.get('safety_violations', {})}"
        )
    for base, r in res["ratios"].items():
        print(f"adaptive/{base:13s} " + "  ".join(f"{k.removesuffix('_s')} {r[k]:.2f}" for k in METRICS))
    print("targets: " + ", ".join(f"{k} {'OK' if ok else 'MISS'}" for k, ok in res["targets"].items()))


def main(argv: list[str] | None = None) -> int:
    from sim.scenarios import BUILTIN_SCENARIOS

    parser = argparse.ArgumentParser(prog="python -m bench.optimizer", description=__doc__.split("\n")[0])
    parser.add_argument("--json", metavar="PATH", help="also write the full results as JSON")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--scenarios", default=",".join(list(BUILTIN_SCENARIOS) + list(RESCO)))
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    report = run(args.scenarios.split(","), [int(s) for s in args.seeds.split(",")], args.workers)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
