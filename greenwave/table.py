"""Terminal tables for comparison results."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from sim.compare import CompareResult

__all__ = ["print_compare_table"]


def print_compare_table(result: CompareResult, *, wall_s: float | None = None) -> None:
    """Mean ± spread over seeds per controller, and each metric as a ratio to `fixed` when it ran."""
    seeds = len(next(iter(result.controllers.values()))["per_seed"]) if result.controllers else 0
    title = f"{result.scenario}: mean over {seeds} seed(s)"
    if wall_s is not None:
        title += f", wall {wall_s:.1f} s"
    table = Table(title=title)
    for col in ("controller", "delay s", "stop time s", "stops", "travel time s", "arrived", "teleports",
                "vs fixed (delay/stop/travel)", "decision ms"):
        table.add_column(col, justify="left" if col == "controller" else "right")
    base = result.controllers.get("fixed")
    for name, c in result.controllers.items():
        ratio = ""
        if base and name != "fixed":
            ratio = "/".join(f"{c[k] / base[k]:.2f}" for k in ("delay_s", "stop_time_s", "travel_time_s") if base[k])
        table.add_row(
            name,
            f"{c['delay_s']:.1f} ±{c['delay_s_sd']:.1f}",
            f"{c['stop_time_s']:.1f} ±{c['stop_time_s_sd']:.1f}",
            f"{c['stops']:.2f}",
            f"{c['travel_time_s']:.1f}",
            str(c["arrived"]),
            str(c["teleports"]),
            ratio,
            "" if c.get("decision_ms") is None else f"{c['decision_ms']:.3f}",
        )
    Console(width=140).print(table)
