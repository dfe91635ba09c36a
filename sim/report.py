"""`--report DIR`: PNG plots (queue over time per approach, per-controller bars) and a Markdown summary."""

from __future__ import annotations

import os
from pathlib import Path

from sim.compare import CompareResult

__all__ = ["write_report"]

_BARS = (("delay_s", "delay (s/veh)"), ("stop_time_s", "stop time (s/veh)"), ("stops", "stops per vehicle"),
         ("travel_time_s", "travel time (s)"))


def write_report(result: CompareResult, out_dir: Path) -> list[Path]:
    """Write the report files; returns their paths. Files are written under temporary names and renamed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    names = list(result.controllers)

    fig, axes = plt.subplots(1, len(_BARS), figsize=(4 * len(_BARS), 3.5))
    for ax, (key, label) in zip(axes, _BARS, strict=True):
        means = [result.controllers[n][key] for n in names]
        sds = [result.controllers[n][key + "_sd"] for n in names]
        ax.bar(names, means, yerr=sds, capsize=3, color="#4a7")
        ax.set_title(label)
        ax.tick_params(axis="x", rotation=30)
    fig.suptitle(f"{result.scenario}: mean ± sd over seeds")
    fig.tight_layout()
    written.append(_save(fig, out_dir / "metrics.png"))
    plt.close(fig)

    approaches = sorted({a for runs in result.queues.values() for q in runs.values() for a in q})
    if approaches:
        cols = min(4, len(approaches))
        rows = (len(approaches) + cols - 1) // cols
        fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.6 * rows), squeeze=False)
        for ax, approach in zip(axes.flat, approaches, strict=False):
            for name in names:
                runs = result.queues[name]
                seed = min(runs)
                series = runs[seed].get(approach, [])
                if series:
                    ax.plot([t for t, _ in series], [q for _, q in series], label=name, lw=1)
            ax.set_title(approach, fontsize=8)
            ax.set_xlabel("time (s)", fontsize=7)
            ax.set_ylabel("queue (m)", fontsize=7)
        for ax in list(axes.flat)[len(approaches):]:
            ax.axis("off")
        axes.flat[0].legend(fontsize=7)
        fig.suptitle(f"{result.scenario}: queue length per approach (first seed)")
        fig.tight_layout()
        written.append(_save(fig, out_dir / "queues.png"))
        plt.close(fig)

    lines = [f"# {result.scenario}", "", f"Scenario file: `{result.sumocfg}`", "",
             "| controller | delay s | stop time s | stops | travel time s | arrived | teleports | seeds |",
             "|---|---|---|---|---|---|---|---|"]
    for name, c in result.controllers.items():
        lines.append(
            f"| {name} | {c['delay_s']:.2f} ± {c['delay_s_sd']:.2f} | {c['stop_time_s']:.2f} ± {c['stop_time_s_sd']:.2f}"
            f" | {c['stops']:.3f} | {c['travel_time_s']:.2f} | {c['arrived']} | {c['teleports']} | {len(c['per_seed'])} |"
        )
    lines += ["", "Delay = timeLoss + departDelay over all loaded trips (never-inserted ones included);",
              "stop time = waitingTime, stops = waitingCount, travel time = duration, over departed trips.",
              "", "![metrics](metrics.png)", "", "![queues](queues.png)", ""]
    md = out_dir / "summary.md"
    tmp = md.with_name(md.name + ".tmp")
    tmp.write_text("\n".join(lines), encoding="utf-8")
    os.replace(tmp, md)
    written.append(md)
    return written


def _save(fig, path: Path) -> Path:
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=90)
    os.replace(tmp, path)
    return path
