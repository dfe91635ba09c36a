"""What "waiting" means for the max-red bound, shared by the guard that enforces it and the monitor that checks it.

A phase waits while it is red and has demand. Its wait starts at the first step it is red with demand and ends
when a green that covers it shows, or when it has had no demand for `DEMAND_GAP_S`: a shorter gap (a camera that
misses the waiting car for some frames) does not end it, and the time keeps counting through the gap. 10 s costs the
oracle-fed adaptive nothing against 3 s (corridor and single, seeds 1-3, identical figures) and rides out longer
detector misses; 30 s starts to count phases that truly had no demand (single stop time 16.24 -> 16.58 s).

Counting time since a phase was last served instead, as the guard once did, also counts the minutes a phase had
no demand at all; when demand then comes everywhere at once the guard saw every phase as nearly due, could not serve
them all in time and served them in index order, so the one that had really waited longest waited past the bound.
Pure logic: time comes in as `now_s`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

__all__ = ["DEMAND_GAP_S", "WaitClock"]

DEMAND_GAP_S = 10.0


class WaitClock:
    """Per phase, when its current wait began (see the module docstring)."""

    def __init__(self, n_phases: int) -> None:
        self._since: list[float | None] = [None] * n_phases
        self._gap_since: list[float | None] = [None] * n_phases

    def update(self, now_s: float, served: Collection[int], demand: Sequence[bool] | None) -> list[int]:
        """Record the state from `now_s` on; returns the phases whose wait has just ended without service."""
        ended = []
        for k in range(len(self._since)):
            if k in served:
                self._since[k] = self._gap_since[k] = None
            elif demand is None or demand[k]:
                if self._since[k] is None:
                    self._since[k] = now_s
                self._gap_since[k] = None
            elif self._since[k] is not None:
                gap = self._gap_since[k]
                if gap is None:
                    self._gap_since[k] = now_s
                elif now_s - gap >= DEMAND_GAP_S:
                    self._since[k] = self._gap_since[k] = None
                    ended.append(k)
        return ended

    def since(self, k: int) -> float | None:
        return self._since[k]

    def gap_since(self, k: int) -> float | None:
        return self._gap_since[k]

    def waits(self, now_s: float) -> tuple[float, ...]:
        """Per phase, how long it has waited at `now_s` (0 when it is not waiting)."""
        return tuple(0.0 if s is None else now_s - s for s in self._since)
