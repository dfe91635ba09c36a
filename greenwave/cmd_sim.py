"""`greenwave sim compare ...` and `greenwave demo`."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

from configs.controller import ControllerParams
from configs.errors import ConfigError
from configs.loader import load_yaml_model
from configs.outputs import check_output_dir, check_output_file, write_atomic
from controller.registry import controller_names
from greenwave.argtypes import bounded_int
from greenwave.table import print_compare_table
from sim.compare import CompareResult, compare

__all__ = ["add_parser"]

DEMO_SCENARIO = "single"


def add_parser(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser(
        "demo", help="compare the controllers on the built-in 'single' scenario (about a minute on 2 cores)"
    )
    demo.add_argument("--seeds", type=_seeds, default=[1], help="comma-separated seeds (default 1)")
    demo.set_defaults(func=_demo)

    p = sub.add_parser("sim", help="SUMO simulations")
    ssub = p.add_subparsers(dest="sim_command", metavar="ACTION", required=True)
    c = ssub.add_parser("compare", help="compare signal controllers on a scenario over seeds")
    c.add_argument("scenario", help="built-in name (single, corridor) or path to a .sumocfg")
    c.add_argument("--controllers", type=_names, default=["fixed", "actuated"],
                   help="comma-separated controller names (default fixed,actuated)")
    c.add_argument("--seeds", type=_seeds, default=[1, 2, 3], help="comma-separated seeds (default 1,2,3)")
    c.add_argument("--begin", type=float, default=None, metavar="S", help="simulation begin time (s)")
    c.add_argument("--end", type=float, default=None, metavar="S", help="simulation end time (s)")
    c.add_argument("--params", type=Path, default=None, metavar="FILE", help="controller parameters YAML")
    c.add_argument("--json", type=Path, default=None, metavar="PATH", help="write the results as JSON")
    c.add_argument("--report", type=Path, default=None, metavar="DIR", help="write PNG plots and a Markdown summary")
    c.add_argument("--workers", type=bounded_int(1), default=None, help="parallel SUMO processes (default: CPU count)")
    c.add_argument("--measure", default="oracle", metavar="SOURCE",
                   help="what feeds the controllers: 'oracle' (SUMO within camera range, default), 'camera' (rendered "
                        "day views through the shipped detector) or 'camera-mixed' (day/dusk/night/rain per camera); "
                        "fixed and actuated are SUMO's own logic and ignore it")
    c.add_argument("--bridge", default="direct", metavar="PATH",
                   help="how decisions reach SUMO: 'direct' (default) or 'pmpp' (bridge + virtual controller; "
                        "fixed and actuated ignore it)")
    c.set_defaults(func=_compare)


def _names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"expected comma-separated controller names, found {text!r}")
    return names


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, found {text!r}") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"expected distinct comma-separated integers, found {text!r}")
    return seeds


def _run(scenario: str, controllers: list[str], seeds: list[int], **kw) -> tuple[CompareResult, float]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    total = len(controllers) * len(seeds)
    t0 = time.perf_counter()
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        transient=True, disable=not sys.stderr.isatty() and os.environ.get("GREENWAVE_PROGRESS") != "1",
    ) as progress:
        task = progress.add_task(f"{scenario}: {total} runs", total=total)
        result = compare(
            scenario, controllers, seeds,
            on_done=lambda c, s, r: progress.advance(task), **kw,
        )
    return result, time.perf_counter() - t0


def _compare(args: argparse.Namespace) -> int:
    if args.begin is not None and args.end is not None and args.end <= args.begin:
        raise ConfigError(f"--end: expected a time after --begin ({args.begin}), found {args.end}")
    params = load_yaml_model(args.params, ControllerParams) if args.params else ControllerParams()
    # outputs checked before an hour of simulation, not after it
    if args.json:
        check_output_file("--json", args.json)
    if args.report:
        check_output_dir("--report", args.report)
    result, wall = _run(
        args.scenario, args.controllers, args.seeds,
        begin_s=args.begin, end_s=args.end, params=params, workers=args.workers,
        measure=args.measure, actuation=args.bridge,
    )
    print_compare_table(result, wall_s=wall)
    if args.json:
        write_atomic(args.json, json.dumps(_no_nan(result.to_json()), indent=2, allow_nan=False))
        print(f"wrote {args.json}")
    if args.report:
        from sim.report import write_report

        try:
            paths = write_report(result, args.report)
        except OSError as exc:
            raise ConfigError(f"--report {args.report}: expected a writable folder, found {exc.strerror}") from exc
        for path in paths:
            print(f"wrote {path}")
    return 0


def _no_nan(value: Any) -> Any:
    """NaN (a metric over no trips) as JSON null: NaN is not JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_no_nan(v) for v in value]
    return value


def _demo(args: argparse.Namespace) -> int:
    controllers = list(controller_names())
    print(f"Greenwave demo: {', '.join(controllers)} on the built-in '{DEMO_SCENARIO}' scenario "
          f"(1 simulated hour, seeds {','.join(map(str, args.seeds))})")
    result, wall = _run(DEMO_SCENARIO, controllers, args.seeds)
    print_compare_table(result, wall_s=wall)
    return 0


