"""Volume and occupancy per detector over NTCIP 1202 collection periods (volumeOccupancyTable).

Counts vehicles (rising edges of presence) and occupied time during the running period; when the period ends,
the totals become the reported values and the sequence number advances, as a controller reports them. Pure: time
comes in as `now_s`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["VolumeOccupancy"]


@dataclass
class VolumeOccupancy:
    n_detectors: int = 8
    period_s: float = 60.0
    now_s: float = 0.0
    sequence: int = 0
    reported_volume: list[int] = field(default_factory=list)
    reported_occupancy_raw: list[int] = field(default_factory=list)  # 0..200 = 0..100 % in 0.5 % steps

    def __post_init__(self) -> None:
        self._start_s = self.now_s
        self._present: frozenset[int] = frozenset()
        self._count = [0] * self.n_detectors
        self._occupied_s = [0.0] * self.n_detectors
        self.reported_volume = [0] * self.n_detectors
        self.reported_occupancy_raw = [0] * self.n_detectors

    def presence(self, detectors: frozenset[int]) -> None:
        """Detectors occupied from now on; a detector that becomes occupied counts one vehicle."""
        for d in detectors - self._present:
            if 1 <= d <= self.n_detectors:
                self._count[d - 1] += 1
        self._present = frozenset(d for d in detectors if 1 <= d <= self.n_detectors)

    def advance(self, now_s: float) -> None:
        while now_s > self.now_s:
            end = min(now_s, self._start_s + self.period_s)
            for d in self._present:
                self._occupied_s[d - 1] += end - self.now_s
            self.now_s = end
            if end >= self._start_s + self.period_s:
                self._close_period()

    def _close_period(self) -> None:
        self.reported_volume = [min(c, 255) for c in self._count]
        self.reported_occupancy_raw = [min(200, round(200 * occ / self.period_s)) for occ in self._occupied_s]
        self.sequence = (self.sequence + 1) % 256
        self._start_s += self.period_s
        self._count = [0] * self.n_detectors
        self._occupied_s = [0.0] * self.n_detectors
