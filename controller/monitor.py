"""An independent watchdog over the signal strings a junction actually shows.

The `SafetyMonitor` does not trust the guard: it sees only (time, signal string, demand) and the signal model, and
counts every violation of the rules the guard is meant to enforce:

- ``green_to_red``: a link loses right of way (green -> red, or 'G' -> 'g') without a yellow in between;
- ``short_yellow`` / ``short_all_red``: a change interval shorter than the model's for the phase being left
  (a skipped all-red counts as a short one);
- ``short_green`` / ``long_green``: a phase green shorter than its minimum or longer than its maximum;
- ``max_red``: a phase that waited longer than max_red_s: red with demand all that time, through demand gaps
  shorter than `DEMAND_GAP_S` (controller/waiting.py, the same definition the guard enforces);
- ``unknown_state``: a string that is neither a phase's green nor a yellow/all-red built for the switch
  from the green being left (this is what rules out conflicting greens: only the program's own green strings
  may ever be shown as greens).

Pure logic: time comes in as `now_s`. It does not correct anything; it only counts (`violations`) and keeps the
first few messages (`examples`) for reports.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from enum import Enum

from controller.signal_model import SignalModel, link_rank
from controller.waiting import WaitClock

__all__ = ["SafetyMonitor", "VIOLATION_KINDS"]

VIOLATION_KINDS = (
    "green_to_red",
    "short_yellow",
    "short_all_red",
    "short_green",
    "long_green",
    "max_red",
    "unknown_state",
)

_YELLOW_CHARS = frozenset("yYuU")


class _Kind(str, Enum):
    GREEN = "green"
    YELLOW = "yellow"
    ALL_RED = "all_red"
    UNKNOWN = "unknown"


class SafetyMonitor:
    """Counts safety violations in a stream of (now_s, signal string) observations of one junction.

    Args:
        model: the junction's signal model (greens, their clearances, min/max green, max red).
        tolerance_s: slack on every duration check; one simulation step covers sampling (a state shown from
            step t to step t+k lasts k steps, and a bound can only be acted on at a step).
    """

    def __init__(self, model: SignalModel, *, tolerance_s: float = 1e-6, max_examples: int = 20) -> None:
        self.model = model
        self.tolerance_s = tolerance_s
        self.violations: Counter[str] = Counter()
        self.examples: list[str] = []
        self._max_examples = max_examples
        self._greens = {p.state: p.index for p in model.phases}
        n = model.n_phases
        # yellow/all-red strings reachable from each green, with the targets they may lead to
        self._yellows: list[dict[str, set[int]]] = [{} for _ in range(n)]
        self._all_reds: list[dict[str, set[int]]] = [{} for _ in range(n)]
        for i in range(n):
            for j in range(n):
                if i == j:
                    continue
                self._yellows[i].setdefault(model.yellow_state(i, j), set()).add(j)
                self._all_reds[i].setdefault(model.all_red_state(i, j), set()).add(j)
        self._state: str | None = None
        self._kind = _Kind.UNKNOWN
        self._since_s = 0.0
        self._from_phase: int | None = None  # green being served or left
        self._targets: set[int] = set()
        self._yellow_s = 0.0  # length of the yellow just ended (for a skipped all-red)
        self._long_reported = False
        self._first_green = True  # the green shown at the first observation started at an unknown time
        self._waits = WaitClock(n)  # when each phase's wait (red with demand) began
        self._red_reported = [False] * n
        self._last_s: float | None = None

    @property
    def total(self) -> int:
        return sum(self.violations.values())

    def observe(self, now_s: float, state: str, demand: Sequence[bool] | None = None) -> None:
        """Record that `state` is shown from `now_s` on; `demand` per phase (None: demand everywhere)."""
        if self._state is None:
            self._first(now_s, state)
        elif state != self._state:
            self._change(now_s, state)
        self._check_durations(now_s)
        self._check_red(now_s, demand)
        self._last_s = now_s

    # -- internals ---------------------------------------------------------------------------------------------

    def _flag(self, kind: str, now_s: float, detail: str) -> None:
        self.violations[kind] += 1
        if len(self.examples) < self._max_examples:
            self.examples.append(f"t={now_s:g} {self.model.junction_id}: {kind}: {detail}")

    def _first(self, now_s: float, state: str) -> None:
        self._state = state
        self._since_s = now_s
        if state in self._greens:
            self._kind = _Kind.GREEN
            self._from_phase = self._greens[state]
        else:
            self._kind = _Kind.UNKNOWN
            self._flag("unknown_state", now_s, f"initial state {state!r} is not a phase green")

    def _change(self, now_s: float, state: str) -> None:
        prev = self._state
        assert prev is not None
        for k, (a, b) in enumerate(zip(prev, state, strict=False)):
            if link_rank(a) > link_rank(b) and b not in _YELLOW_CHARS:
                self._flag("green_to_red", now_s, f"link {k} {a!r}->{b!r} without yellow ({prev} -> {state})")
                break
        elapsed = now_s - self._since_s
        tol = self.tolerance_s
        src = self._from_phase
        if self._kind is _Kind.GREEN and src is not None:
            # a green that ends between two observations past its max is judged at its end, not only while shown
            self._check_durations(now_s)
        if self._kind is _Kind.GREEN and src is not None and not self._first_green:
            phase = self.model.phases[src]
            if elapsed < phase.min_green_s - tol:
                self._flag(
                    "short_green", now_s, f"phase {src} green {elapsed:g}s < min {phase.min_green_s:g}s"
                )
        if self._kind is _Kind.YELLOW and src is not None:
            self._yellow_s = elapsed
            need = self._need(src, 0)
            if elapsed < need - tol:
                self._flag("short_yellow", now_s, f"after phase {src}: yellow {elapsed:g}s < {need:g}s")
        if self._kind is _Kind.ALL_RED and src is not None:
            need = self._need(src, 1)
            if elapsed < need - tol:
                self._flag("short_all_red", now_s, f"after phase {src}: all-red {elapsed:g}s < {need:g}s")

        kind, targets = self._classify(state)
        if kind is _Kind.GREEN:
            j = next(iter(targets))
            if self._kind is _Kind.YELLOW and src is not None and self.model.clearance(src, j)[1] > tol:
                self._flag("short_all_red", now_s, f"after phase {src}: all-red skipped")
            if self._kind in (_Kind.YELLOW, _Kind.ALL_RED) and j not in self._targets:
                self._flag(
                    "unknown_state", now_s, f"green {j} after a transition built for {sorted(self._targets)}"
                )
            self._from_phase = j
            self._first_green = False
            self._long_reported = False  # (j's red wait is judged and cleared in _check_red, which follows)
        elif kind is _Kind.UNKNOWN:
            self._flag("unknown_state", now_s, f"{state!r} after {prev!r}")
        self._kind = kind
        self._targets = targets
        self._state = state
        self._since_s = now_s

    def _need(self, src: int, part: int) -> float:
        """The yellow (part 0) or all-red (part 1) the switch under way needs: the least over where it may lead."""
        targets = self._targets or set(range(self.model.n_phases)) - {src}
        return min((self.model.clearance(src, j)[part] for j in targets), default=0.0)

    def _classify(self, state: str) -> tuple[_Kind, set[int]]:
        if state in self._greens:
            return _Kind.GREEN, {self._greens[state]}
        src = self._from_phase
        if src is None:
            return _Kind.UNKNOWN, set()
        if self._kind is _Kind.GREEN and state in self._yellows[src]:
            return _Kind.YELLOW, set(self._yellows[src][state])
        if self._kind in (_Kind.GREEN, _Kind.YELLOW) and state in self._all_reds[src]:
            targets = set(self._all_reds[src][state])
            if self._kind is _Kind.YELLOW:
                targets &= self._targets
            if targets:
                return _Kind.ALL_RED, targets
        return _Kind.UNKNOWN, set()

    def _check_durations(self, now_s: float) -> None:
        if self._kind is not _Kind.GREEN or self._from_phase is None or self._long_reported:
            return
        phase = self.model.phases[self._from_phase]
        longest = max(p.max_green_s for p in self.model.phases if p.state == phase.state)  # twins may differ
        if now_s - self._since_s > longest + self.tolerance_s:
            self._long_reported = True
            self._flag("long_green", now_s, f"phase {phase.index} green past max {phase.max_green_s:g}s")

    def _check_red(self, now_s: float, demand: Sequence[bool] | None) -> None:
        # a phase is served while any green that covers it shows (its twin in a program that repeats a green)
        showing = self._from_phase if self._kind is _Kind.GREEN else None
        green = self.model.covered(showing) if showing is not None else frozenset()
        n = self.model.n_phases
        running = [self._waits.since(k) for k in range(n)]
        self._waits.update(now_s, green, demand)
        for k in range(n):
            # a wait that ends now (served, or demand gone) is judged up to now, as one still running
            since = running[k] if running[k] is not None else self._waits.since(k)
            late = since is not None and now_s - since > self.model.max_red_s + self.tolerance_s
            if since is not None and late and not self._red_reported[k]:
                self._red_reported[k] = True
                self._flag("max_red", now_s, f"phase {k} red with demand for {now_s - since:g}s")
            if self._waits.since(k) is None:
                self._red_reported[k] = False
