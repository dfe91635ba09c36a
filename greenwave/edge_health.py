"""Input watchdog of the edge runtime: which lanes' counts can be trusted, and whether to control at all.

A lane is fresh when its camera is up and a frame of it went through the detector within `stale_s`. A lane that is
not fresh (camera dead, frozen or stale, detector failing, or no camera over it) is degraded: the controller sees a
standing call on it (one queued vehicle at the stop line), as an actuated controller places a call on a failed
detector, so its phase keeps being served. The intersection's inputs are healthy while at least
`min_fresh_share` of the camera-covered lanes are fresh; control is given up at once when they are not, and only
taken back after they have been healthy for `recover_s` (no flapping on a camera that blinks).

Pure logic: time comes in as `now_s`; no threads, no frames, no bridge.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from controller.measurement import LaneMeasurement, standing_call

__all__ = ["InputHealth", "InputWatchdog", "WatchdogSettings"]


@dataclass(frozen=True, slots=True)
class WatchdogSettings:
    stale_s: float = 2.0
    min_fresh_share: float = 0.5
    recover_s: float = 3.0


@dataclass(frozen=True, slots=True)
class InputHealth:
    healthy: bool  # what the runtime acts on (with the recovery delay applied)
    fresh: frozenset[str]
    degraded: frozenset[str]
    reason: str  # "" when healthy


class InputWatchdog:
    """Per decision: which lanes are fresh, and whether the intersection may be controlled."""

    def __init__(
        self, lanes: Iterable[str], covered: Iterable[str], settings: WatchdogSettings | None = None
    ) -> None:
        self.lanes = tuple(lanes)
        self.covered = frozenset(covered)
        self.settings = settings or WatchdogSettings()
        self._healthy_since: float | None = None

    def assess(
        self, now_s: float, lane_frame_s: Mapping[str, float], usable_lanes: Iterable[str]
    ) -> InputHealth:
        """Fresh and degraded lanes now, and whether the intersection may be controlled.

        Args:
            lane_frame_s: per lane, capture time of the last frame whose detections updated it.
            usable_lanes: lanes whose camera is up and not frozen right now.
        """
        usable = frozenset(usable_lanes)
        fresh = frozenset(
            lane
            for lane in self.covered
            if lane in usable and now_s - lane_frame_s.get(lane, float("-inf")) <= self.settings.stale_s
        )
        degraded = frozenset(self.lanes) - fresh
        share = len(fresh) / len(self.covered) if self.covered else 0.0
        ok_now = bool(self.covered) and share >= self.settings.min_fresh_share
        if not ok_now:
            self._healthy_since = None
            reason = (
                "no camera covers any lane"
                if not self.covered
                else f"{len(fresh)} of {len(self.covered)} camera lanes fresh, below {self.settings.min_fresh_share:.0%}"
            )
            return InputHealth(False, fresh, degraded, reason)
        if self._healthy_since is None:
            self._healthy_since = now_s
        waited = now_s - self._healthy_since
        if waited < self.settings.recover_s:
            return InputHealth(
                False, fresh, degraded, f"inputs healthy for {waited:.1f} s of {self.settings.recover_s:g} s"
            )
        return InputHealth(True, fresh, degraded, "")

    def measurements(
        self, health: InputHealth, counted: Mapping[str, LaneMeasurement], zone_m: Mapping[str, float]
    ) -> dict[str, LaneMeasurement]:
        """Counted measurements for fresh lanes, standing calls for the rest (every lane of the intersection)."""
        out: dict[str, LaneMeasurement] = {}
        for lane in self.lanes:
            m = counted.get(lane)
            out[lane] = (
                m if lane in health.fresh and m is not None else standing_call(lane, zone_m.get(lane, 60.0))
            )
        return out
