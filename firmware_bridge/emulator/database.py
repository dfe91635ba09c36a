"""The virtual controller's stored NTCIP 1202 database: initial values, write checks and derived timing.

It holds the raw writable objects (phase table, control groups, patterns, splits, unit and coordination
scalars), checks every write the way a field controller protects itself (an unsafe value is refused, never
clamped), and turns the stored values into the timer's `PhaseTiming`s and `SplitPlan`s. Pure: no clock, no I/O,
no SNMP encoding (see `controller`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from firmware_bridge.emulator.timing import (
    NEMA_DUAL_RING,
    PhaseTiming,
    Recall,
    RingLayout,
    SplitPlan,
    default_timings,
)
from firmware_bridge.ntcip import OBJECTS, ControlCol, ObjectDef, Unit, control_oid, lookup, oid_of
from firmware_bridge.snmp import ErrorStatus, Oid, Value

__all__ = ["Database", "DatabaseSettings", "WriteRefused"]

N_PATTERNS = 4
N_DETECTORS = 8
_OPT_ENABLED, _OPT_MIN_RECALL, _OPT_MAX_RECALL = 0x01, 0x40, 0x80
_SPLIT_MODE_MIN_RECALL, _SPLIT_MODE_MAX_RECALL, _SPLIT_MODE_OMITTED = 3, 4, 7
# Objects a dbCreateTransaction buffers (the stored database), as opposed to real-time control objects.
_DATABASE_OBJECTS = frozenset(
    {n for n in OBJECTS if n.startswith(("phase", "pattern", "split", "vehicleDetector"))}
    - {n for n in OBJECTS if n.startswith(("phaseStatusGroup", "phaseControlGroup"))}
)


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    backup_time_s: int = 10
    min_green_floor_s: float = 4.0
    min_yellow_s: float = 3.0
    timebase_pattern: int = 1  # the plan the controller runs on its own (time of day)
    supports_transactions: bool = True
    layout: RingLayout = NEMA_DUAL_RING
    # The cabinet's stored database for another layout (a simulator's junction): per phase of `layout`; None keeps
    # the NEMA 8-phase defaults.
    timings: Mapping[int, PhaseTiming] | None = None
    # Split per phase (s) of the stored timebase pattern, cycle = the longest ring's sum, no coordinated phase;
    # None keeps the default 100 s pattern (2/6 coordinated).
    timebase_splits_s: Mapping[int, int] | None = None


class WriteRefused(Exception):  # noqa: N818 - internal signal turned into an SNMP error status, never escapes
    def __init__(self, status: ErrorStatus, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class Database:
    def __init__(self, settings: DatabaseSettings | None = None) -> None:
        settings = settings or DatabaseSettings()
        self.settings = settings
        self.values: dict[Oid, Value] = {}
        self._init_phases(dict(settings.timings) if settings.timings is not None else default_timings())
        self._init_patterns()
        for col in ControlCol:
            self.values[control_oid(col)] = 0
        for det in range(1, N_DETECTORS + 1):
            self.values[oid_of("vehicleDetectorCallPhase", det)] = det
        self.values[oid_of("unitBackupTime")] = settings.backup_time_s
        self.values[oid_of("coordOperationalMode")] = 0
        self.values[oid_of("systemPatternControl")] = 0
        self.values[oid_of("systemSyncControl")] = 0
        self.values[oid_of("volumeOccupancyPeriod")] = 60

    def _init_phases(self, timings: dict[int, PhaseTiming]) -> None:
        layout = self.settings.layout
        for p, t in timings.items():
            recall = {Recall.MIN: _OPT_MIN_RECALL, Recall.MAX: _OPT_MAX_RECALL}.get(t.recall, 0)
            row: dict[str, Value] = {
                "phaseWalk": 0, "phasePedestrianClear": 0, "phaseMinimumGreen": round(t.min_green_s),
                "phasePassage": round(t.passage_s * 10), "phaseMaximum1": round(t.max1_s),
                "phaseMaximum2": round(t.max1_s), "phaseYellowChange": round(t.yellow_s * 10),
                "phaseRedClear": round(t.red_clear_s * 10), "phaseRedRevert": 20, "phaseStartup": 2,
                "phaseOptions": _OPT_ENABLED | recall, "phaseRing": layout.ring_of(p) + 1,
                "phaseConcurrency": bytes(q for q in layout.phases if layout.compatible(p, q)),
            }  # fmt: skip
            for name, raw in row.items():
                self.values[oid_of(name, p)] = raw

    def _init_patterns(self) -> None:
        layout, splits = self.settings.layout, self.settings.timebase_splits_s
        if splits is None:
            splits, coords, cycle = {p: 35 if p % 2 == 0 else 15 for p in layout.phases}, {2, 6}, 100
        else:
            coords, cycle = set(), max(sum(splits.get(p, 0) for p in ring) for ring in layout.rings)
        for pat in range(1, N_PATTERNS + 1):
            stored = pat == self.settings.timebase_pattern
            for name, raw in (("patternCycleTime", cycle if stored else 0), ("patternOffsetTime", 0),
                              ("patternSplitNumber", pat), ("patternSequenceNumber", 1)):  # fmt: skip
                self.values[oid_of(name, pat)] = raw
            for p in layout.phases:
                coord = p in coords
                self.values[oid_of("splitTime", pat, p)] = splits.get(p, 0) if stored else 0
                self.values[oid_of("splitMode", pat, p)] = 2
                self.values[oid_of("splitCoordPhase", pat, p)] = int(coord)

    # -- reads ------------------------------------------------------------------------------------------
    def get(self, name: str, *index: int) -> Value:
        return self.values[oid_of(name, *index)]

    def int_of(self, name: str, *index: int, view: dict[Oid, Value] | None = None) -> int:
        value = (view or self.values)[oid_of(name, *index)]
        return value if isinstance(value, int) else 0

    def timings(self) -> dict[int, PhaseTiming]:
        out = {}
        for p in self.settings.layout.phases:
            options = self.int_of("phaseOptions", p)
            recall = (
                Recall.MAX
                if options & _OPT_MAX_RECALL
                else Recall.MIN
                if options & _OPT_MIN_RECALL
                else Recall.NONE
            )
            out[p] = PhaseTiming(
                min_green_s=float(self.int_of("phaseMinimumGreen", p)),
                passage_s=self.int_of("phasePassage", p) / 10,
                max1_s=float(self.int_of("phaseMaximum1", p)),
                yellow_s=self.int_of("phaseYellowChange", p) / 10,
                red_clear_s=self.int_of("phaseRedClear", p) / 10,
                recall=recall,
            )
        return out

    def plan(self, pattern: int) -> SplitPlan | None:
        """The stored pattern as a timer plan; None when it does not exist or has no cycle (run free)."""
        if not 1 <= pattern <= N_PATTERNS or self.int_of("patternCycleTime", pattern) <= 0:
            return None
        split = self.int_of("patternSplitNumber", pattern)
        if not 1 <= split <= N_PATTERNS:
            return None
        phases = self.settings.layout.phases
        mode = {p: self.int_of("splitMode", split, p) for p in phases}
        coord = frozenset(p for p in phases if self.int_of("splitCoordPhase", split, p))
        return SplitPlan(
            pattern=pattern,
            cycle_s=float(self.int_of("patternCycleTime", pattern)),
            offset_s=float(self.int_of("patternOffsetTime", pattern)),
            split_s={
                p: float(self.int_of("splitTime", split, p)) for p in phases if mode[p] != _SPLIT_MODE_OMITTED
            },
            max_recall=frozenset(p for p in phases if mode[p] == _SPLIT_MODE_MAX_RECALL) | coord,
            coord=coord,
            min_recall=frozenset(p for p in phases if mode[p] == _SPLIT_MODE_MIN_RECALL),
        )

    # -- writes -----------------------------------------------------------------------------------------
    @staticmethod
    def is_database_object(definition: ObjectDef) -> bool:
        return definition.name in _DATABASE_OBJECTS

    def check_write(self, oid: Oid, value: Value, view: dict[Oid, Value]) -> ObjectDef:
        """Refuse a write a field controller would refuse; `view` is the database as it would be so far.

        Raises:
            WriteRefused: with the SNMP error status to answer.
        """
        found = lookup(oid)
        if found is not None and found[0].access.value == "read-only":
            raise WriteRefused(ErrorStatus.READ_ONLY, f"{found[0].name} is read-only")
        if found is None or oid not in self.values:
            raise WriteRefused(ErrorStatus.NO_SUCH_NAME, f"no such object {oid}")
        definition, index = found
        if definition.unit is Unit.OCTETS:
            if not isinstance(value, bytes):
                raise WriteRefused(ErrorStatus.BAD_VALUE, f"{definition.name}: expected octets")
        elif not isinstance(value, int) or not definition.minimum <= value <= definition.maximum:
            raise WriteRefused(
                ErrorStatus.BAD_VALUE, f"{definition.name}: expected integer in range, got {value!r}"
            )
        self._check_safety(definition, index, value, view)
        return definition

    def _check_safety(
        self, definition: ObjectDef, index: tuple[int, ...], value: Value, view: dict[Oid, Value]
    ) -> None:
        s, name = self.settings, definition.name
        bad = ErrorStatus.BAD_VALUE
        if name == "phaseYellowChange" and isinstance(value, int) and value < round(s.min_yellow_s * 10):
            raise WriteRefused(bad, f"yellow {value / 10} s below {s.min_yellow_s} s")
        if name == "phaseMinimumGreen" and isinstance(value, int) and value < s.min_green_floor_s:
            raise WriteRefused(bad, f"min green {value} s below floor {s.min_green_floor_s} s")
        if name == "phaseConcurrency" and isinstance(value, bytes):
            phase = index[0]
            wrong = [q for q in value if q not in s.layout.phases or not s.layout.compatible(phase, q)]
            if wrong:
                raise WriteRefused(bad, f"phase {phase} cannot run with {wrong}")
        if name == "splitTime" and isinstance(value, int) and value > 0:
            phase = index[1]
            if phase in s.layout.phases:
                need = (self.int_of("phaseMinimumGreen", phase, view=view)
                        + (self.int_of("phaseYellowChange", phase, view=view)
                           + self.int_of("phaseRedClear", phase, view=view)) / 10)  # fmt: skip
                if value < math.ceil(need - 1e-9):
                    raise WriteRefused(
                        bad, f"split {value} s for phase {phase} below min green + clearance {need} s"
                    )
        if name == "systemPatternControl" and isinstance(value, int):
            if value == 255:
                raise WriteRefused(bad, "flash is not available from the system")
            if 1 <= value <= 253 and (
                value > N_PATTERNS or self.int_of("patternCycleTime", value, view=view) <= 0
            ):
                raise WriteRefused(bad, f"pattern {value} is not stored")

    def verify(self, view: dict[Oid, Value]) -> list[str]:
        """Consistency of a database (each ring's splits add up to the cycle of every stored pattern)."""
        problems = []
        for pat in range(1, N_PATTERNS + 1):
            cycle = self.int_of("patternCycleTime", pat, view=view)
            split = self.int_of("patternSplitNumber", pat, view=view)
            if cycle <= 0 or not 1 <= split <= N_PATTERNS:
                continue
            for ring in self.settings.layout.rings:
                total = sum(self.int_of("splitTime", split, p, view=view) for p in ring)
                if total != cycle:
                    problems.append(f"pattern {pat}: ring {ring} splits add to {total} s, cycle {cycle} s")
        return problems

    def control_bits(self, col: ControlCol) -> int:
        value = self.values[control_oid(col)]
        return value if isinstance(value, int) else 0

    def zero_control(self) -> None:
        for col in ControlCol:
            self.values[control_oid(col)] = 0
        self.values[oid_of("systemPatternControl")] = 0


def merged(base: dict[Oid, Value], updates: Iterable[tuple[Oid, Value]]) -> dict[Oid, Value]:
    view = dict(base)
    view.update(updates)
    return view
