"""The safety guard: every phase request passes through it before it reaches SUMO or the bridge.

It owns the signal's timing state and turns "I want green phase j" into the signal string to show now. It never
shortens or skips a yellow or all-red, never ends a green before its minimum, ends a green at its maximum, starts
the clearance towards a phase whose red wait would otherwise pass `max_red_s`, and only ever shows a phase's own
green string or a transition string built for the actual switch (so greens never conflict).

Requests it cannot honour are counted in `overrides` (by reason): that is the record of what a controller asked
for that would have been unsafe. Pure logic: time comes in as `now_s`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from controller.signal_model import SignalModel
from controller.waiting import WaitClock

__all__ = ["SafetyGuard", "SignalCommand", "SignalStatus", "Stage", "max_red_due", "next_ending"]

_EPS = 1e-6


class Stage(str, Enum):
    GREEN = "green"
    YELLOW = "yellow"
    ALL_RED = "all_red"


@dataclass(frozen=True, slots=True)
class SignalStatus:
    """What a controller may know about the signal when it decides."""

    now_s: float
    phase: int  # the green being served, or the one being left during a clearance
    target: int  # where a clearance leads; equals `phase` while green
    stage: Stage
    stage_elapsed_s: float
    green_elapsed_s: float  # time in the current green; 0 during a clearance
    red_wait_s: tuple[float, ...]  # per phase: time since its green ended (0 while it is green)
    # per phase: how long it has waited, red with demand (controller/waiting.py); what max red bounds
    wait_s: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class SignalCommand:
    state: str  # SUMO-style signal string to show from now until the next step
    status: SignalStatus
    changed: bool  # the string differs from the previous step's


class SafetyGuard:
    """Turns phase requests into safe signal strings for one junction."""

    def __init__(self, model: SignalModel, *, start_phase: int = 0, now_s: float = 0.0) -> None:
        self.model = model
        self._phase = start_phase % model.n_phases
        self._target = self._phase
        self._stage = Stage.GREEN
        self._stage_elapsed = 0.0
        # how long the green has run: a switch on which no link loses or gains right of way (to a twin of the
        # green, or a narrower one) starts a new phase but the same green runs on, so the clock does not restart
        self._green_elapsed = 0.0
        self._red_wait = [0.0] * model.n_phases
        self._wait = WaitClock(model.n_phases)
        self._wait.update(now_s, model.covered(self._phase), None)  # until told, assume every other phase waits
        self._last_s = now_s
        self._last_state = model.phases[self._phase].state
        self.overrides: Counter[str] = Counter()

    @property
    def status(self) -> SignalStatus:
        return SignalStatus(
            now_s=self._last_s,
            phase=self._phase,
            target=self._target,
            stage=self._stage,
            stage_elapsed_s=self._stage_elapsed,
            green_elapsed_s=self._green_elapsed if self._stage is Stage.GREEN else 0.0,
            red_wait_s=tuple(self._red_wait),
            wait_s=self._wait.waits(self._last_s),
        )

    @property
    def state(self) -> str:
        return self._last_state

    def step(self, now_s: float, requested: int, demand: Sequence[bool] | None = None) -> SignalCommand:
        """Advance the timers to `now_s` and apply `requested` (a green phase index) where it is safe.

        Args:
            requested: the green the controller wants now; the current phase means "extend".
            demand: per phase, whether anything waits for it; phases without demand are never forced by the
                max-red bound. None means "assume demand everywhere".
        """
        dt = max(0.0, now_s - self._last_s)
        self._last_s = now_s
        self._advance(dt)
        self._wait.update(now_s, self._served(), demand)  # as it stands before the decision
        if self._stage is Stage.GREEN:
            self._decide_green(requested, demand)
        elif requested != self._target:
            self.overrides["clearance_in_progress"] += 1
        self._wait.update(now_s, self._served(), demand)  # what is shown from now on (a green may just have ended)
        state = self._state_string()
        changed = state != self._last_state
        self._last_state = state
        return SignalCommand(state=state, status=self.status, changed=changed)

    # -- internals ---------------------------------------------------------------------------------------------

    def _served(self) -> frozenset[int]:
        return self.model.covered(self._phase) if self._stage is Stage.GREEN else frozenset()

    def _advance(self, dt: float) -> None:
        self._stage_elapsed += dt
        served = self._served()
        for k in range(self.model.n_phases):
            if k not in served:
                self._red_wait[k] += dt
        if self._stage is Stage.GREEN:
            self._green_elapsed += dt
            return
        yellow_s, all_red_s = self.model.clearance(self._phase, self._target)
        if self._stage is Stage.YELLOW and self._stage_elapsed >= yellow_s - _EPS:
            if all_red_s > _EPS:
                self._enter(Stage.ALL_RED)
            else:
                self._start_green()
        elif self._stage is Stage.ALL_RED and self._stage_elapsed >= all_red_s - _EPS:
            self._start_green()

    def _decide_green(self, requested: int, demand: Sequence[bool] | None) -> None:
        phase = self.model.phases[self._phase]
        if not 0 <= requested < self.model.n_phases:
            self.overrides["invalid_phase"] += 1
            requested = self._phase
        starving = self._starving(demand)
        want = requested
        if starving is not None and want != starving:
            if want != self._phase:
                self.overrides["max_red"] += 1
            want = starving
        at_max = self._green_elapsed >= phase.max_green_s - _EPS
        if at_max and not self.model.losing_links(self._phase, want):  # staying, or a switch that changes nothing
            if requested == self._phase or not self.model.losing_links(self._phase, requested):
                self.overrides["max_green"] += 1
            want = self._next_with_demand(demand)
        if want == self._phase:
            return
        urgent = self._starving(demand, first=want)
        if urgent is not None and urgent != want:
            self.overrides["max_red"] += 1
            want = urgent
        if self._green_elapsed < phase.min_green_s - _EPS:
            if requested != self._phase:
                self.overrides["min_green"] += 1
            return
        self._begin_clearance(want)

    def _starving(self, demand: Sequence[bool] | None, first: int | None = None) -> int | None:
        waits = self._wait.waits(self._last_s)
        return max_red_due(self.model, self._phase, self._green_elapsed, waits, demand, first=first)

    def _next_with_demand(self, demand: Sequence[bool] | None) -> int:
        return next_ending(self.model, self._phase, demand)

    def _begin_clearance(self, target: int) -> None:
        self._target = target
        if not self.model.losing_links(self._phase, target):
            # nothing loses right of way: no change interval is needed; and when nothing gains it either (a twin or
            # a narrower green) the green runs on, and so does its clock (min and max green)
            self._start_green(run_on=target in self.model.covered(self._phase))
            return
        self._enter(Stage.YELLOW)

    def _enter(self, stage: Stage) -> None:
        self._stage = stage
        self._stage_elapsed = 0.0

    def _start_green(self, *, run_on: bool = False) -> None:
        self._phase = self._target
        for k in self.model.covered(self._phase):
            self._red_wait[k] = 0.0
        if not run_on:
            self._green_elapsed = 0.0
        self._enter(Stage.GREEN)

    def _state_string(self) -> str:
        if self._stage is Stage.GREEN:
            return self.model.phases[self._phase].state
        if self._stage is Stage.YELLOW:
            return self.model.yellow_state(self._phase, self._target)
        return self.model.all_red_state(self._phase, self._target)


def next_ending(model: SignalModel, cur: int, demand: Sequence[bool] | None) -> int:
    """The next phase in sequence that takes right of way from green `cur`, preferring one with demand.

    Where the guard goes when a green reaches its maximum; controllers ask for the same.
    """
    n = model.n_phases
    ahead = [(cur + step) % n for step in range(1, n)]
    ending = [k for k in ahead if model.losing_links(cur, k)] or ahead
    for k in ending:
        if demand is None or demand[k]:
            return k
    return ending[0] if ending else model.next_in_sequence(cur)


def max_red_due(
    model: SignalModel,
    phase: int,
    green_elapsed_s: float,
    wait_s: Sequence[float],
    demand: Sequence[bool] | None,
    *,
    first: int | None = None,
) -> int | None:
    """The phase whose clearance must start now so that no phase with demand waits past max_red_s, or None.

    `wait_s` is how long each phase has waited (red with demand, controller/waiting.py; `SignalStatus.wait_s`).
    Phases with demand are served, in the worst case, earliest deadline first, each for its minimum green
    and clearance, after the current green's remaining minimum and clearance (and after `first`, the phase
    about to be started, if given). When that chain leaves less than one step of slack for some phase, the
    most urgent phase is due now. Looking down the whole chain (not only at the most-waited phase) keeps the
    bound when several phases come due together or another phase is started before a due one. Controllers
    call it too, so that they ask for what the guard would force anyway.
    """
    phases = model.phases
    cur = phases[phase]
    served = model.covered(phase)
    due = sorted(
        (model.max_red_s - wait, k)
        for k, wait in enumerate(wait_s)
        if k not in served and (wait > 0.0 or demand is None or demand[k])  # waiting, or just starting to
    )
    if not due:
        return None
    t = max(0.0, cur.min_green_s - green_elapsed_s) + cur.clearance_s
    if first is not None and first != phase:
        if first == due[0][1]:
            return None  # starting the most urgent phase first is what the rule would do anyway
        t += phases[first].min_green_s + phases[first].clearance_s
    for deadline_s, k in due:
        if k == first:
            continue
        if deadline_s - t <= 1.0 + _EPS:
            return due[0][1]
        t += phases[k].min_green_s + phases[k].clearance_s
    return None
