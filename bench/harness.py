"""Harness overhead: a `fixed` run through the controller interface vs plain `sumo -c`, same scenario, same outputs.

    python -m bench.harness [SCENARIO ...] [--repeats N]

Prints the median wall time of each and their ratio, measured alternately in the same run (the machine is shared
and noisy: medians and ratios, not absolute seconds).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from sim.compare import resolve_scenario
from sim.runner import RunSpec, run_one
from sim.sumo_bin import sumo_binary

DEFAULT = ["single", str(Path(__file__).resolve().parents[2] / "shared/scenarios/resco/cologne1/cologne1.sumocfg")]


def plain_sumo_s(cfg: Path, seed: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sumo_binary("sumo"), "-c", str(cfg), "--seed", str(seed), "--time-to-teleport", "-1",
               "--tripinfo-output", f"{tmp}/ti.xml", "--tripinfo-output.write-unfinished", "true",
               "--no-step-log", "true", "--no-warnings", "true", "--duration-log.disable", "true"]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        return time.perf_counter() - t0


def harness_s(cfg: Path, seed: int) -> float:
    t0 = time.perf_counter()
    run_one(RunSpec(cfg, "fixed", seed))
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenarios", nargs="*", default=DEFAULT)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    print(f"{'scenario':<14}{'plain sumo -c (s)':>20}{'harness fixed (s)':>20}{'ratio':>8}")
    for scenario in args.scenarios:
        name, cfg = resolve_scenario(scenario)
        plain, ours = [], []
        for r in range(args.repeats):
            plain.append(plain_sumo_s(cfg, 42 + r))
            ours.append(harness_s(cfg, 42 + r))
        p, o = statistics.median(plain), statistics.median(ours)
        print(f"{name:<14}{p:>20.3f}{o:>20.3f}{o / p:>8.2f}")


if __name__ == "__main__":
    main()
