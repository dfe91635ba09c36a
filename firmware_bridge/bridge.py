"""`FieldBridge`: one controller, opened from a `BridgeConfig`, with the three command paths behind one object.

    with FieldBridge.open(config) as bridge:      # leaving the block always releases control
        bridge.command(now_s, PhaseCommand(hold=frozenset({2})), inputs_healthy=detectors_ok)
        report = bridge.download(plan)
        print(bridge.status())

Typed reads (`status()`), plan download (`download`) and real-time commands (`realtime`) share one client.
`__exit__` releases (zero phase control, systemPatternControl standby) whatever happened inside the block.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType

from configs.bridge import BridgeConfig, BridgePlanConfig
from firmware_bridge.client import SnmpClient
from firmware_bridge.ntcip import (
    OBJECTS,
    ControlCol,
    StatusCol,
    UnitControlStatus,
    control_oid,
    mask_to_phases,
    oid_of,
    status_oid,
)
from firmware_bridge.plan import SPLIT_MODES, DownloadReport, PatternPlan, SplitEntry, download_plan
from firmware_bridge.realtime import PhaseCommand, RealtimeCommander
from firmware_bridge.transport import Link, open_link

__all__ = ["BridgeStatus", "DetectorReading", "FieldBridge", "PhaseTimingReadback", "plan_from_config"]

_OCCUPANCY_MAX_RAW = 200  # 0..200 = 0..100 % in 0.5 % steps; 210..255 are detector fault codes


@dataclass(frozen=True, slots=True)
class BridgeStatus:
    unit_control_status: int
    pattern: int  # coordPatternStatus: running pattern, 0 free
    system_pattern: int  # systemPatternControl: 0 standby
    backup_time_s: int
    greens: frozenset[int]
    yellows: frozenset[int]
    reds: frozenset[int]
    held: frozenset[int]
    force_off: frozenset[int]

    @property
    def control(self) -> str:
        try:
            return UnitControlStatus(self.unit_control_status).name.lower()
        except ValueError:
            return str(self.unit_control_status)


@dataclass(frozen=True, slots=True)
class PhaseTimingReadback:
    """A phase's timing as the controller stores it, in seconds."""

    phase: int
    min_green_s: float
    passage_s: float
    max1_s: float
    yellow_s: float
    red_clear_s: float
    ring: int


@dataclass(frozen=True, slots=True)
class DetectorReading:
    detector: int
    volume_veh: int  # vehicles in the last volumeOccupancyPeriod
    occupancy_pct: float | None  # None when the controller reports a detector fault


def plan_from_config(cfg: BridgePlanConfig) -> PatternPlan:
    return PatternPlan(
        pattern=cfg.pattern,
        cycle_s=cfg.cycle_s,
        offset_s=cfg.offset_s,
        split_number=cfg.split_number,
        splits=tuple(
            SplitEntry(phase=p, time_s=s.time_s, mode=SPLIT_MODES[s.mode], coord=s.coord)
            for p, s in sorted(cfg.splits.items())
        ),
    )


class FieldBridge:
    def __init__(self, link: Link, client: SnmpClient, *, backup_time_s: int) -> None:
        self.link = link
        self.client = client
        self.realtime = RealtimeCommander(client, backup_time_s=backup_time_s)

    @classmethod
    def open(cls, config: BridgeConfig) -> FieldBridge:
        """Open the link a config names (no traffic is sent yet).

        Raises:
            BridgeUrlError, BridgeLinkError: the URL is wrong or the port cannot be opened.
        """
        link = open_link(config.url, address=config.address)
        client = SnmpClient(link, config.community.encode(), timeout_s=config.timeout_s, retries=config.retries,
                            backoff_s=config.backoff_s)  # fmt: skip
        return cls(link, client, backup_time_s=config.backup_time_s)

    def __enter__(self) -> FieldBridge:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release control if it may be held, then close the link; never raises for a failed release."""
        try:
            if self.realtime.active:
                self.realtime.release()
        finally:
            self.link.close()

    def status(self) -> BridgeStatus:
        oids = [
            oid_of("unitControlStatus"), oid_of("coordPatternStatus"), oid_of("systemPatternControl"),
            oid_of("unitBackupTime"), status_oid(StatusCol.GREENS), status_oid(StatusCol.YELLOWS),
            status_oid(StatusCol.REDS), control_oid(ControlCol.HOLD), control_oid(ControlCol.FORCE_OFF),
        ]  # fmt: skip
        v = [x if isinstance(x, int) else 0 for x in self.client.get(oids)]
        return BridgeStatus(v[0], v[1], v[2], v[3], mask_to_phases(v[4]), mask_to_phases(v[5]), mask_to_phases(v[6]),
                            mask_to_phases(v[7]), mask_to_phases(v[8]))  # fmt: skip

    def command(self, now_s: float, command: PhaseCommand | None, *, inputs_healthy: bool = True) -> bool:
        """One real-time tick: send `command` when due; release when there is none or the inputs are unhealthy.

        Returns:
            Whether anything was written.
        Raises:
            BridgeError: the link failed; control was released first (or is left to the backup timer).
        """
        return self.realtime.step(now_s, command if inputs_healthy else None)

    def phase_timings(self, phases: Sequence[int]) -> list[PhaseTimingReadback]:
        """Read the phase table rows of `phases` (units converted from the MIB's tenths where needed)."""
        names = (
            "phaseMinimumGreen",
            "phasePassage",
            "phaseMaximum1",
            "phaseYellowChange",
            "phaseRedClear",
            "phaseRing",
        )
        oids = [oid_of(n, p) for p in phases for n in names]
        raw = self.client.get(oids)
        out = []
        for i, p in enumerate(phases):
            row = [OBJECTS[n].from_raw(raw[i * len(names) + k]) for k, n in enumerate(names)]
            nums = [float(v) if isinstance(v, int | float) else 0.0 for v in row]
            out.append(PhaseTimingReadback(p, nums[0], nums[1], nums[2], nums[3], nums[4], int(nums[5])))
        return out

    def detectors(self, detectors: Sequence[int]) -> list[DetectorReading]:
        """Volume and occupancy of the last period per detector (NTCIP 1202 volumeOccupancyTable)."""
        oids = [oid_of(n, d) for d in detectors for n in ("detectorVolume", "detectorOccupancy")]
        raw = [v if isinstance(v, int) else -1 for v in self.client.get(oids)]
        return [
            DetectorReading(
                d, raw[2 * i], raw[2 * i + 1] / 2 if 0 <= raw[2 * i + 1] <= _OCCUPANCY_MAX_RAW else None
            )
            for i, d in enumerate(detectors)
        ]

    def download(self, plan: PatternPlan, *, activate: bool = False) -> DownloadReport:
        return download_plan(self.client, plan, activate=activate)
