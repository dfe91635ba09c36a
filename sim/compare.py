"""Compare controllers on one scenario over several seeds, each run in its own process.

Results have the shape the CLI's --json promises:
    {"scenario": str, "controllers": {NAME: {"delay_s", "stop_time_s", "stops", "travel_time_s", "arrived",
     "teleports", "per_seed": [{"seed", ...same keys...}]}}}
plus, per controller, spreads (`<key>_sd`), wall time, decision time and guard overrides, and per-seed queue series
kept out of the JSON (they go to the report).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import statistics
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from configs.controller import ControllerParams
from controller.registry import get_factory
from sim.actuation import ACTUATIONS
from sim.errors import ScenarioError, SimError
from sim.metrics import METRIC_KEYS, aggregate
from sim.runner import RunSpec, run_one
from sim.sources import MEASUREMENTS

__all__ = ["CompareResult", "compare", "resolve_scenario", "scenario_cache_dir"]

_PER_SEED_EXTRA = ("collisions", "emergency_stops", "undeparted", "wall_s", "decision_ms")


def scenario_cache_dir() -> Path:
    root = os.environ.get("GREENWAVE_CACHE") or Path.home() / ".cache" / "greenwave"
    return Path(root) / "scenarios"


def resolve_scenario(scenario: str | Path) -> tuple[str, Path]:
    """A built-in name -> (name, generated .sumocfg); a path -> (its stem, the path).

    Raises:
        ScenarioError: unknown name, missing file, or not a .sumocfg.
    """
    text = str(scenario)
    if text.endswith(".sumocfg"):
        path = Path(text)
        if not path.is_file():
            raise ScenarioError(f"{path}: expected a .sumocfg file, found nothing")
        return path.stem, path.resolve()
    from sim.scenarios import BUILTIN_SCENARIOS, build_scenario

    if text not in BUILTIN_SCENARIOS:
        raise ScenarioError(
            f"unknown scenario {text!r}: expected a built-in name ({', '.join(BUILTIN_SCENARIOS)}) or a .sumocfg path"
        )
    return text, build_scenario(text, scenario_cache_dir() / text)


@dataclass
class CompareResult:
    scenario: str
    sumocfg: Path
    controllers: dict[str, dict[str, Any]] = field(default_factory=dict)
    queues: dict[str, dict[int, dict[str, list[tuple[float, float]]]]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "controllers": self.controllers}


def run_isolated(
    specs: Sequence[RunSpec],
    *,
    workers: int = 1,
    target: Callable[[RunSpec], dict[str, Any]] | None = None,
) -> Iterator[dict[str, Any]]:
    """`run_one` for each spec, each in a fresh spawned process, `workers` at a time; results as they finish.

    A fresh process per run even with one worker: libsumo keeps one simulation per process and state leaks
    between simulations run one after another in a process (measured: cologne1 fixed, seed 7, delay 43.19 s in a
    fresh process, 43.40 s after another run in the same one).

    `target` replaces `run_one` (a module-level function, for tests).

    Raises:
        SimError: a run failed (its own message, one line), or a worker died (killed, out of memory).
    """
    ctx = mp.get_context("spawn")
    with ProcessPoolExecutor(max_workers=max(1, workers), mp_context=ctx, max_tasks_per_child=1) as pool:
        futures = [pool.submit(target or _run_reporting, spec) for spec in specs]
        try:
            for fut in as_completed(futures):
                yield fut.result()
        except BrokenProcessPool:
            raise SimError(
                "a simulation worker process died (killed, or out of memory?); no result for its run"
            ) from None
        finally:
            for fut in futures:
                fut.cancel()


def _run_reporting(spec: RunSpec) -> dict[str, Any]:
    """run_one in a worker; any failure comes back as a SimError (SUMO's own exceptions do not pickle)."""
    try:
        return run_one(spec)
    except SimError:
        raise
    except Exception as exc:
        text = str(exc).strip().splitlines()
        raise SimError(
            f"{spec.controller} seed {spec.seed}: {type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
        ) from None


def compare(
    scenario: str | Path,
    controllers: Sequence[str],
    seeds: Sequence[int],
    *,
    begin_s: float | None = None,
    end_s: float | None = None,
    params: ControllerParams | None = None,
    workers: int | None = None,
    measure: str = "oracle",
    actuation: str = "direct",
    on_done: Callable[[str, int, dict[str, Any]], None] | None = None,
) -> CompareResult:
    """Run every (controller, seed) pair, `workers` at a time (default: CPU count), and aggregate over seeds."""
    for name in controllers:
        if name not in ("fixed", "actuated"):
            get_factory(name)  # unknown names fail before anything starts
    name, cfg = resolve_scenario(scenario)
    params = params or ControllerParams()
    if measure not in MEASUREMENTS:
        raise SimError(f"--measure: expected one of {', '.join(MEASUREMENTS)}, found {measure!r}")
    if actuation not in ACTUATIONS:
        raise SimError(f"--bridge: expected one of {', '.join(ACTUATIONS)}, found {actuation!r}")
    specs = [
        RunSpec(cfg, c, s, begin_s, end_s, params, measure=measure, actuation=actuation)
        for c in controllers
        for s in seeds
    ]
    runs: list[dict[str, Any]] = []
    n = max(1, min(workers or os.cpu_count() or 1, len(specs)))
    for run in run_isolated(specs, workers=n):
        runs.append(run)
        if on_done:
            on_done(run["controller"], run["seed"], run)
    result = CompareResult(scenario=name, sumocfg=cfg)
    for ctrl in controllers:
        mine = sorted((r for r in runs if r["controller"] == ctrl), key=lambda r: r["seed"])
        per_seed = [{"seed": r["seed"], **{k: r[k] for k in METRIC_KEYS + _PER_SEED_EXTRA}} for r in mine]
        summary: dict[str, Any] = dict(aggregate(per_seed))
        decisions = [r["decision_ms"] for r in mine if r["decision_ms"] is not None]
        overrides: dict[str, int] = {}
        violations: dict[str, int] = {}
        for r in mine:
            for k, v in r["guard_overrides"].items():
                overrides[k] = overrides.get(k, 0) + v
            for k, v in r["safety_violations"].items():
                violations[k] = violations.get(k, 0) + v
        summary.update(
            wall_s=statistics.fmean(r["wall_s"] for r in mine),
            decision_ms=statistics.median(decisions) if decisions else None,
            collisions=sum(r["collisions"] for r in mine),
            emergency_stops=sum(r["emergency_stops"] for r in mine),
            guard_overrides=overrides,
            safety_violations=violations,
            per_seed=per_seed,
        )
        result.controllers[ctrl] = summary
        result.queues[ctrl] = {r["seed"]: r["queue_m"] for r in mine}
    return result
