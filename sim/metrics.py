"""Trip metrics from SUMO's tripinfo output (written with write-unfinished and write-undeparted).

Definitions (RESCO's, see ../shared/scenarios/README.md):
- delay = timeLoss + departDelay, over every loaded trip. A vehicle never inserted gets a row with depart=-1 and
  departDelay = end - scheduled depart, so the entry backlog counts in full.
- stop time = waitingTime (time at speed <= 0.1 m/s), stops = waitingCount, travel time = duration: over the trips
  that departed (a never-inserted vehicle has no stop or travel time, and counting it as 0 would reward a
  controller for keeping vehicles out of the network).
Pure parsing and arithmetic: the runner decides which files to read.
"""

from __future__ import annotations

import math
import statistics
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from sim.errors import SimError

__all__ = ["METRIC_KEYS", "TripMetrics", "aggregate", "parse_tripinfo", "trip_metrics"]

METRIC_KEYS = ("delay_s", "stop_time_s", "stops", "travel_time_s", "arrived", "teleports")


@dataclass(frozen=True, slots=True)
class TripRow:
    depart_s: float  # -1 when never inserted
    depart_delay_s: float
    time_loss_s: float
    waiting_time_s: float
    waiting_count: int
    duration_s: float
    arrived: bool


@dataclass(frozen=True, slots=True)
class TripMetrics:
    delay_s: float
    stop_time_s: float
    stops: float
    travel_time_s: float
    arrived: int
    teleports: int
    trips: int
    undeparted: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def parse_tripinfo(path: Path) -> list[TripRow]:
    """Read a tripinfo XML file.

    Raises:
        SimError: the file is missing or not tripinfo XML.
    """
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise SimError(f"{path}: expected SUMO tripinfo XML, found unreadable file ({exc})") from exc
    rows = []
    for el in root.iter("tripinfo"):
        a = el.attrib
        rows.append(
            TripRow(
                depart_s=float(a["depart"]),
                depart_delay_s=float(a["departDelay"]),
                time_loss_s=float(a["timeLoss"]),
                waiting_time_s=float(a["waitingTime"]),
                waiting_count=int(a["waitingCount"]),
                duration_s=float(a["duration"]),
                arrived=float(a.get("arrival", "-1")) >= 0,
            )
        )
    return rows


def trip_metrics(rows: Sequence[TripRow], *, teleports: int) -> TripMetrics:
    """Means over the trips as defined in the module docstring."""
    departed = [r for r in rows if r.depart_s >= 0]
    return TripMetrics(
        delay_s=_mean(r.time_loss_s + r.depart_delay_s for r in rows),
        stop_time_s=_mean(r.waiting_time_s for r in departed),
        stops=_mean(r.waiting_count for r in departed),
        travel_time_s=_mean(r.duration_s for r in departed),
        arrived=sum(r.arrived for r in rows),
        teleports=teleports,
        trips=len(rows),
        undeparted=len(rows) - len(departed),
    )


def _mean(values: Iterable[float]) -> float:
    vals = list(values)
    return statistics.fmean(vals) if vals else math.nan


def aggregate(per_seed: Sequence[dict]) -> dict[str, float]:
    """Mean and sample standard deviation over seeds for each metric key (`<key>` and `<key>_sd`)."""
    out: dict[str, float] = {}
    for key in METRIC_KEYS:
        vals = [float(run[key]) for run in per_seed]
        mean = statistics.fmean(vals)
        out[key] = int(round(mean)) if key in ("arrived", "teleports") else mean
        out[key + "_sd"] = statistics.stdev(vals) if len(vals) > 1 else 0.0
    return out
