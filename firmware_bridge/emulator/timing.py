"""Actuated dual-ring phase timing, the way a NEMA TS2 / NTCIP 1202 controller times it.

Rings run their phases in ring order; phases are grouped by barriers and every ring crosses a barrier together,
so phases of different barrier groups are never green at once and each ring shows at most one green. A green
lasts at least its minimum, is extended by actuations until its passage timer gaps out, ends at its maximum,
at a force-off or at the stored plan's force-off point, and is kept by a hold. Yellow and red clearance always
time in full. A green with nowhere to go (no call elsewhere) rests.

Under a stored plan the controller runs a cycle: the local cycle timer is (now - offset) mod cycle, zero where the
coordinated phase's split starts; each phase is forced off at the end of its split minus its clearance, in ring
order from the coordinated phase. Coordinated phases neither gap nor max out; time a phase leaves unused goes to
the next one (early return to the coordinated phase).

Pure logic: time comes in as `now_s` and nothing reads a clock; no SNMP, no I/O (see `controller` and `server`).
Deliberately not modelled: pedestrian intervals, Max2, added initial, permissive periods and offset-seeking
transitions (a plan is entered at whatever point of the cycle the clock says), preemption, overlaps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

__all__ = [
    "NEMA_DUAL_RING",
    "ActuatedTimer",
    "Interval",
    "Light",
    "PhaseInputs",
    "PhaseTiming",
    "Recall",
    "RingLayout",
    "SignalState",
    "SplitPlan",
    "default_timings",
]

_EPS = 1e-6


class Light(str, Enum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


class Interval(str, Enum):
    GREEN = "green"
    YELLOW = "yellow"
    RED_CLEAR = "red_clear"
    BARRIER = "barrier"  # the ring waits in red for the other rings to reach the barrier


class Recall(str, Enum):
    NONE = "none"
    MIN = "min"  # always called, gaps out normally
    MAX = "max"  # always called, never gaps out (runs to max or split)


@dataclass(frozen=True, slots=True)
class PhaseTiming:
    min_green_s: float = 5.0
    passage_s: float = 2.0
    max1_s: float = 30.0
    yellow_s: float = 3.5
    red_clear_s: float = 1.0
    recall: Recall = Recall.NONE


@dataclass(frozen=True, slots=True)
class RingLayout:
    rings: tuple[tuple[int, ...], ...]
    barriers: tuple[frozenset[int], ...]  # barrier groups in service order

    @property
    def phases(self) -> tuple[int, ...]:
        return tuple(sorted(p for ring in self.rings for p in ring))

    def ring_of(self, phase: int) -> int:
        return next(i for i, ring in enumerate(self.rings) if phase in ring)

    def group_of(self, phase: int) -> int:
        return next(i for i, group in enumerate(self.barriers) if phase in group)

    def compatible(self, a: int, b: int) -> bool:
        """Two phases may be green together: different rings, same barrier group."""
        return self.ring_of(a) != self.ring_of(b) and self.group_of(a) == self.group_of(b)


NEMA_DUAL_RING = RingLayout(
    rings=((1, 2, 3, 4), (5, 6, 7, 8)),
    barriers=(frozenset({1, 2, 5, 6}), frozenset({3, 4, 7, 8})),
)


def default_timings() -> dict[int, PhaseTiming]:
    """NEMA 8-phase: protected lefts 1/3/5/7 short, throughs 2/4/6/8 longer; main street 2/6 on min recall."""
    out = {}
    for p in NEMA_DUAL_RING.phases:
        through = p % 2 == 0
        out[p] = PhaseTiming(
            min_green_s=8.0 if through else 5.0,
            passage_s=2.0,
            max1_s=35.0 if through else 15.0,
            yellow_s=4.0 if through else 3.5,
            red_clear_s=1.5 if through else 1.0,
            recall=Recall.MIN if p in (2, 6) else Recall.NONE,
        )
    return out


@dataclass(frozen=True, slots=True)
class PhaseInputs:
    """Phase control bits (NTCIP phaseControlGroup) and detector actuations for one step."""

    hold: frozenset[int] = frozenset()
    force_off: frozenset[int] = frozenset()
    veh_call: frozenset[int] = frozenset()
    omit: frozenset[int] = frozenset()
    actuated: frozenset[int] = frozenset()  # detectors occupied now, by the phase they call


@dataclass(frozen=True, slots=True)
class SplitPlan:
    """A stored coordination pattern as the timer uses it: split (green + clearance) per phase, recalls."""

    pattern: int
    cycle_s: float
    offset_s: float
    split_s: Mapping[int, float]  # 0 or missing: the phase is not served in this pattern
    max_recall: frozenset[int] = frozenset()
    min_recall: frozenset[int] = frozenset()
    coord: frozenset[int] = frozenset()  # coordinated phases: cycle zero is where their split starts


@dataclass(frozen=True, slots=True)
class SignalState:
    """What the signal heads show now, per phase, and why (for status objects and driving a simulator)."""

    now_s: float
    lights: tuple[tuple[int, Light], ...]
    calls: frozenset[int]
    nexts: frozenset[int]

    def light(self, phase: int) -> Light:
        return dict(self.lights)[phase]

    def _with(self, light: Light) -> frozenset[int]:
        return frozenset(p for p, lt in self.lights if lt is light)

    @property
    def greens(self) -> frozenset[int]:
        return self._with(Light.GREEN)

    @property
    def yellows(self) -> frozenset[int]:
        return self._with(Light.YELLOW)

    @property
    def reds(self) -> frozenset[int]:
        return self._with(Light.RED)


@dataclass
class _Ring:
    order: tuple[int, ...]
    phase: int
    interval: Interval
    start_s: float
    last_actuation_s: float
    next_phase: int | None = None


@dataclass
class ActuatedTimer:
    """Times the phases of one controller. Call `step(now_s, inputs, plan)` at 10 Hz or faster."""

    timings: dict[int, PhaseTiming] = field(default_factory=default_timings)
    layout: RingLayout = NEMA_DUAL_RING
    now_s: float = 0.0

    def __post_init__(self) -> None:
        self._group = 0
        self._calls: set[int] = {p for p, t in self.timings.items() if t.recall is not Recall.NONE}
        self._rings: list[_Ring] = []
        first_group = self.layout.barriers[0]
        for order in self.layout.rings:
            start = next((p for p in order if p in first_group and p in self._calls), None)
            if start is None:
                start = next(p for p in order if p in first_group)
                ring = _Ring(order, start, Interval.BARRIER, self.now_s, self.now_s)
            else:
                ring = _Ring(order, start, Interval.GREEN, self.now_s, self.now_s)
                self._calls.discard(start)
            self._rings.append(ring)
        self.green_starts: list[tuple[float, int]] = [
            (self.now_s, r.phase) for r in self._rings if r.interval is Interval.GREEN
        ]

    # -- public ------------------------------------------------------------------------------------------
    @property
    def signal(self) -> SignalState:
        lights = {p: Light.RED for p in self.layout.phases}
        nexts = set()
        for ring in self._rings:
            if ring.interval is Interval.GREEN:
                lights[ring.phase] = Light.GREEN
            elif ring.interval is Interval.YELLOW:
                lights[ring.phase] = Light.YELLOW
            if ring.next_phase is not None:
                nexts.add(ring.next_phase)
        return SignalState(
            self.now_s, tuple(sorted(lights.items())), frozenset(self._calls), frozenset(nexts)
        )

    def step(
        self, now_s: float, inputs: PhaseInputs = PhaseInputs(), plan: SplitPlan | None = None
    ) -> SignalState:
        """Advance to `now_s` (never backwards) under `inputs` and, when not None, the stored `plan`."""
        now_s = max(now_s, self.now_s)
        self.now_s = now_s
        self._latch_calls(inputs, plan)
        for ring in self._rings:
            self._time_clearance(ring, now_s)
        self._decide_greens(now_s, inputs, plan)
        if all(r.interval is Interval.BARRIER for r in self._rings):
            self._cross_barrier(now_s, inputs, plan)
        return self.signal

    # -- internals ---------------------------------------------------------------------------------------
    def _servable(self, phase: int, inputs: PhaseInputs, plan: SplitPlan | None) -> bool:
        if phase in inputs.omit:
            return False
        return plan is None or plan.split_s.get(phase, 0.0) > 0.0

    def _latch_calls(self, inputs: PhaseInputs, plan: SplitPlan | None) -> None:
        greens = {r.phase for r in self._rings if r.interval is Interval.GREEN}
        actuations = set(inputs.actuated) | set(inputs.veh_call)
        for ring in self._rings:  # only vehicles extend a green; recalls only place calls
            if ring.interval is Interval.GREEN and ring.phase in actuations:
                ring.last_actuation_s = self.now_s
        demand = actuations | {p for p, t in self.timings.items() if t.recall is not Recall.NONE}
        if plan is not None:
            demand |= plan.max_recall | plan.min_recall
        self._calls |= {p for p in demand if p not in greens and p in self.timings}

    def _time_clearance(self, ring: _Ring, now_s: float) -> None:
        t = self.timings[ring.phase]
        if ring.interval is Interval.YELLOW and now_s - ring.start_s >= t.yellow_s - _EPS:
            ring.interval, ring.start_s = Interval.RED_CLEAR, ring.start_s + t.yellow_s
        if ring.interval is Interval.RED_CLEAR and now_s - ring.start_s >= t.red_clear_s - _EPS:
            if ring.next_phase is not None:
                self._start_green(ring, ring.next_phase, now_s)
            else:
                ring.interval, ring.start_s = Interval.BARRIER, now_s

    def _start_green(self, ring: _Ring, phase: int, now_s: float) -> None:
        ring.phase, ring.interval, ring.start_s = phase, Interval.GREEN, now_s
        ring.last_actuation_s, ring.next_phase = now_s, None
        self._calls.discard(phase)
        self.green_starts.append((now_s, phase))

    def _forward_in_group(self, ring: _Ring) -> tuple[int, ...]:
        group = self.layout.barriers[self._group]
        i = ring.order.index(ring.phase)
        return tuple(p for p in ring.order[i + 1 :] if p in group)

    def _decide_greens(self, now_s: float, inputs: PhaseInputs, plan: SplitPlan | None) -> None:
        called = {p for p in self._calls if self._servable(p, inputs, plan)}
        reachable: set[int] = set()
        for ring in self._rings:
            if ring.interval is Interval.GREEN:
                reachable |= set(self._forward_in_group(ring))
        cross_demand = bool(called - reachable)
        soft_ready: list[_Ring] = []
        for ring in self._rings:
            if ring.interval is not Interval.GREEN:
                continue
            reason = self._termination(ring, now_s, inputs, plan)
            if reason is None:
                continue
            next_in = next((p for p in self._forward_in_group(ring) if p in called), None)
            if next_in is not None:
                self._start_yellow(ring, next_in, now_s)
            elif cross_demand and reason == "hard":
                self._start_yellow(ring, None, now_s)
            elif cross_demand:
                soft_ready.append(ring)
        if soft_ready and all(
            r in soft_ready or (r.interval is not Interval.GREEN and r.next_phase is None)
            for r in self._rings
        ):
            for ring in soft_ready:
                self._start_yellow(ring, None, now_s)

    def _termination(
        self, ring: _Ring, now_s: float, inputs: PhaseInputs, plan: SplitPlan | None
    ) -> str | None:
        """'hard' (force-off, split, max), 'soft' (gap-out) or None (keep timing the green)."""
        t = self.timings[ring.phase]
        elapsed = now_s - ring.start_s
        if ring.phase in inputs.hold or elapsed < t.min_green_s - _EPS:
            return None
        if ring.phase in inputs.force_off:
            return "hard"
        if plan is not None and plan.cycle_s > 0:
            if elapsed >= self._to_force_off_s(ring, plan) - _EPS:
                return "hard"
            if ring.phase in plan.coord:
                return None  # held to its force-off point: no gap-out, no max-out
            if ring.phase in plan.max_recall:
                return "hard" if elapsed >= t.max1_s - _EPS else None
        if elapsed >= t.max1_s - _EPS:
            return "hard"
        if t.recall is Recall.MAX:
            return None
        if now_s - ring.last_actuation_s >= t.passage_s - _EPS:
            return "soft"
        return None

    def _to_force_off_s(self, ring: _Ring, plan: SplitPlan) -> float:
        """Seconds from the start of this green to the phase's force-off point in the plan's cycle."""
        order = ring.order
        first = next((i for i, p in enumerate(order) if p in plan.coord), 0)
        point = 0.0
        for p in order[first:] + order[:first]:
            point += plan.split_s.get(p, 0.0)
            if p == ring.phase:
                break
        t = self.timings[ring.phase]
        force_off = point - t.yellow_s - t.red_clear_s
        started = (ring.start_s - plan.offset_s) % plan.cycle_s
        to_force_off = (force_off - started) % plan.cycle_s
        if to_force_off > plan.cycle_s - plan.split_s.get(ring.phase, 0.0):
            return 0.0  # started late, after its force-off point: only its minimum green
        return to_force_off

    def _start_yellow(self, ring: _Ring, next_phase: int | None, now_s: float) -> None:
        ring.interval, ring.start_s, ring.next_phase = Interval.YELLOW, now_s, next_phase

    def _cross_barrier(self, now_s: float, inputs: PhaseInputs, plan: SplitPlan | None) -> None:
        called = {p for p in self._calls if self._servable(p, inputs, plan)}
        n = len(self.layout.barriers)
        for k in range(1, n + 1):
            group_index = (self._group + k) % n
            group = self.layout.barriers[group_index]
            if called & group:
                break
        else:
            return  # nothing called anywhere: rest in red
        self._group = group_index
        for ring in self._rings:
            first = next((p for p in ring.order if p in group and p in called), None)
            if first is not None:
                self._start_green(ring, first, now_s)
            else:
                ring.phase = next(p for p in ring.order if p in group)
                ring.start_s = now_s
