"""Fixed-time plans by Webster's method, as a traffic engineer sets them for an average demand.

Method (Webster 1958, as taught in HCM/TRL practice):

1. Each green phase has a critical flow ratio y_i = max over the lane groups it serves of q / s
   (q: average flow in veh/h, s: saturation flow of the lane group in veh/h). Y = sum y_i.
2. Lost time per phase l_i = yellow + all-red (start-up loss and the used part of the yellow cancel out),
   L = sum l_i.
3. Optimal cycle C0 = (1.5 L + 5) / (1 - Y); the plan's cycle is C0 rounded UP to a multiple of 5 s and kept in
   [min_cycle_s, max_cycle_s] (max_cycle_s when Y >= 0.95, where the formula breaks down).
4. Effective green C - L is split in proportion to y_i; a phase below its minimum green gets the minimum and the
   rest is re-split among the others. Greens are whole seconds (largest-remainder rounding) so that
   sum(green + yellow + all-red) == C exactly.
5. A corridor uses one common cycle, the largest C0 of its junctions rounded as in 3, each junction split by its
   own y_i (`common_cycle_s`).

Pure computation: no SUMO, no files.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "PhaseDemand",
    "PhaseTiming",
    "SignalPlan",
    "common_cycle_s",
    "round_cycle_s",
    "split_greens",
    "webster_cycle_raw_s",
    "webster_plan",
]

CYCLE_STEP_S = 5


@dataclass(frozen=True, slots=True)
class PhaseDemand:
    """One green phase's demand and clearance."""

    name: str
    critical_flow_ratio: float  # y_i = max q/s over the lane groups the phase serves
    min_green_s: int
    yellow_s: int
    all_red_s: int

    @property
    def lost_s(self) -> int:
        return self.yellow_s + self.all_red_s


@dataclass(frozen=True, slots=True)
class PhaseTiming:
    name: str
    green_s: int
    yellow_s: int
    all_red_s: int


@dataclass(frozen=True, slots=True)
class SignalPlan:
    """A fixed-time plan for one junction: phases in order, cycle and offset."""

    cycle_s: int
    offset_s: int
    phases: tuple[PhaseTiming, ...]
    flow_ratio_sum: float  # Y
    lost_time_s: int  # L
    webster_cycle_s: float  # C0 before rounding


def webster_cycle_raw_s(demands: Sequence[PhaseDemand]) -> float:
    """C0 = (1.5 L + 5) / (1 - Y); inf when Y >= 0.95 (the formula's range ends there)."""
    y_sum = sum(d.critical_flow_ratio for d in demands)
    lost = sum(d.lost_s for d in demands)
    if y_sum >= 0.95:
        return math.inf
    return (1.5 * lost + 5.0) / (1.0 - y_sum)


def round_cycle_s(raw_s: float, *, min_cycle_s: int, max_cycle_s: int) -> int:
    """Round a Webster cycle up to a multiple of 5 s within [min_cycle_s, max_cycle_s]."""
    if math.isinf(raw_s):
        return max_cycle_s
    stepped = CYCLE_STEP_S * math.ceil(raw_s / CYCLE_STEP_S - 1e-9)
    return int(min(max_cycle_s, max(min_cycle_s, stepped)))


def common_cycle_s(junctions: Sequence[Sequence[PhaseDemand]], *, min_cycle_s: int, max_cycle_s: int) -> int:
    """The corridor's common cycle: the critical (largest) junction cycle, rounded."""
    raw = max(webster_cycle_raw_s(d) for d in junctions)
    return round_cycle_s(raw, min_cycle_s=min_cycle_s, max_cycle_s=max_cycle_s)


def split_greens(demands: Sequence[PhaseDemand], cycle_s: int) -> tuple[int, ...]:
    """Whole-second greens in proportion to y_i, minimum greens respected, summing to cycle - L.

    Raises:
        ValueError: the cycle cannot hold the minimum greens and clearances.
    """
    available = cycle_s - sum(d.lost_s for d in demands)
    if available < sum(d.min_green_s for d in demands):
        raise ValueError(
            f"cycle {cycle_s} s cannot hold min greens {[d.min_green_s for d in demands]} plus lost time"
        )
    fixed: dict[int, float] = {}
    while True:
        free = [i for i in range(len(demands)) if i not in fixed]
        rest = available - sum(fixed.values())
        weight = sum(max(demands[i].critical_flow_ratio, 1e-6) for i in free)
        share = {i: rest * max(demands[i].critical_flow_ratio, 1e-6) / weight for i in free}
        low = [i for i in free if share[i] < demands[i].min_green_s]
        if not low:
            break
        for i in low:
            fixed[i] = float(demands[i].min_green_s)
    exact = [fixed.get(i, share.get(i, 0.0)) for i in range(len(demands))]
    greens = [math.floor(g) for g in exact]
    # Largest remainder, ties to the earlier phase, so the result is deterministic.
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - greens[i]), i))
    for i in order[: available - sum(greens)]:
        greens[i] += 1
    return tuple(greens)


def webster_plan(
    demands: Sequence[PhaseDemand],
    *,
    min_cycle_s: int,
    max_cycle_s: int,
    cycle_s: int | None = None,
    offset_s: int = 0,
) -> SignalPlan:
    """Webster's plan for one junction; `cycle_s` imposes a common (corridor) cycle instead of the own one."""
    raw = webster_cycle_raw_s(demands)
    cycle = (
        cycle_s
        if cycle_s is not None
        else round_cycle_s(raw, min_cycle_s=min_cycle_s, max_cycle_s=max_cycle_s)
    )
    greens = split_greens(demands, cycle)
    return SignalPlan(
        cycle_s=cycle,
        offset_s=offset_s % cycle,
        phases=tuple(
            PhaseTiming(name=d.name, green_s=g, yellow_s=d.yellow_s, all_red_s=d.all_red_s)
            for d, g in zip(demands, greens, strict=True)
        ),
        flow_ratio_sum=sum(d.critical_flow_ratio for d in demands),
        lost_time_s=sum(d.lost_s for d in demands),
        webster_cycle_s=raw,
    )
