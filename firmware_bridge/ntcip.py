"""NTCIP 1202 object model: the objects the bridge uses, their OIDs, index shapes, units and access.

Values on the wire are raw integers (tenths of a second where the MIB says so); `ObjectDef.to_raw` and
`from_raw` convert to and from the engineer's units (seconds), so nothing above this module multiplies by ten.
Pure data and conversions: no I/O, no SNMP encoding. Facts: shared/reference/ntcip.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum, IntEnum

from firmware_bridge.errors import BridgeError
from firmware_bridge.snmp import Oid, Value, format_oid

__all__ = [
    "ASC",
    "OBJECTS",
    "Access",
    "ControlCol",
    "CoordMode",
    "DbTransaction",
    "ObjectDef",
    "PhaseCol",
    "StatusCol",
    "Unit",
    "UnitControlStatus",
    "control_oid",
    "mask_to_phases",
    "oid_of",
    "lookup",
    "parse_name",
    "phases_to_mask",
    "status_oid",
]

ASC: Oid = (1, 3, 6, 1, 4, 1, 1206, 4, 2, 1)
_GLOBAL: Oid = (1, 3, 6, 1, 4, 1, 1206, 4, 2, 6)


class Unit(str, Enum):
    SECONDS = "s"
    TENTHS = "0.1s"  # raw value is tenths of a second; user value is seconds
    NUMBER = "number"  # counts, enums, bitmaps: raw = user
    OCTETS = "octets"  # OCTET STRING (phase concurrency: one octet per phase)


class Access(str, Enum):
    READ = "read-only"
    WRITE = "read-write"


@dataclass(frozen=True, slots=True)
class ObjectDef:
    name: str
    oid: Oid  # without instance; scalars get .0
    n_index: int  # 0 scalar, 1 table row, 2 split table (split, phase)
    unit: Unit = Unit.NUMBER
    access: Access = Access.WRITE
    minimum: int = 0
    maximum: int = 255

    def instance(self, *index: int) -> Oid:
        """OID of one instance.

        Raises:
            BridgeError: wrong number of indexes for this object.
        """
        if len(index) != self.n_index:
            raise BridgeError(f"{self.name}: expected {self.n_index} index(es), found {len(index)} ({index})")
        return self.oid + (index if self.n_index else (0,))

    def to_raw(self, value: float | bytes) -> Value:
        """User units -> wire value (seconds -> tenths where the MIB says so), range-checked."""
        if self.unit is Unit.OCTETS:
            if not isinstance(value, bytes):
                raise BridgeError(f"{self.name}: expected octets, found {value!r}")
            return value
        if isinstance(value, bytes):
            raise BridgeError(f"{self.name}: expected a number, found octets {value!r}")
        raw = round(value * 10) if self.unit is Unit.TENTHS else round(value)
        if abs(raw - (value * 10 if self.unit is Unit.TENTHS else value)) > 1e-6:
            raise BridgeError(f"{self.name}: expected a multiple of {self._step()}, found {value}")
        if not self.minimum <= raw <= self.maximum:
            lo, hi = self.from_raw(self.minimum), self.from_raw(self.maximum)
            raise BridgeError(f"{self.name}: expected {lo!r}..{hi!r} {self.unit.value}, found {value}")
        return raw

    def from_raw(self, raw: Value) -> float | int | bytes | None:
        if self.unit is Unit.TENTHS and isinstance(raw, int):
            return raw / 10.0
        if isinstance(raw, tuple):
            return format_oid(raw).encode()
        return raw

    def _step(self) -> str:
        return "0.1 s" if self.unit is Unit.TENTHS else "1"


class PhaseCol(IntEnum):
    """phaseTable columns (A.1.2.1.<col>.<phase>)."""

    WALK = 2
    PED_CLEAR = 3
    MIN_GREEN = 4
    PASSAGE = 5
    MAX1 = 6
    MAX2 = 7
    YELLOW = 8
    RED_CLEAR = 9
    RED_REVERT = 10
    STARTUP = 20
    OPTIONS = 21
    RING = 22
    CONCURRENCY = 23


class StatusCol(IntEnum):
    """phaseStatusGroupTable columns (A.1.4.1.<col>.<group>), read-only 8-bit masks."""

    REDS = 2
    YELLOWS = 3
    GREENS = 4
    DONT_WALKS = 5
    PED_CLEARS = 6
    WALKS = 7
    VEH_CALLS = 8
    PED_CALLS = 9
    PHASE_ONS = 10
    PHASE_NEXTS = 11


class ControlCol(IntEnum):
    """phaseControlGroupTable columns (A.1.5.1.<col>.<group>), read-write 8-bit masks."""

    PHASE_OMIT = 2
    PED_OMIT = 3
    HOLD = 4
    FORCE_OFF = 5
    VEH_CALL = 6
    PED_CALL = 7


class UnitControlStatus(IntEnum):
    OTHER = 1
    SYSTEM_CONTROL = 2
    SYSTEM_STANDBY = 3
    BACKUP_MODE = 4
    MANUAL = 5
    TIMEBASE = 6
    INTERCONNECT = 7
    INTERCONNECT_BACKUP = 8


class CoordMode(IntEnum):
    """systemPatternControl / coordOperationalMode special values; 1..253 are pattern numbers."""

    STANDBY = 0  # systemPatternControl: hand control back (coordOperationalMode 0 = automatic)
    FREE = 254
    FLASH = 255


class DbTransaction(IntEnum):
    NORMAL = 1
    TRANSACTION = 2
    VERIFYING = 3
    DONE = 6


def _o(name: str, sub: Oid, n_index: int, unit: Unit = Unit.NUMBER, access: Access = Access.WRITE,
       lo: int = 0, hi: int = 255, root: Oid = ASC) -> ObjectDef:  # fmt: skip
    return ObjectDef(name, tuple(int(x) for x in root + sub), n_index, unit, access, lo, hi)


_R, _T, _S, _O = Access.READ, Unit.TENTHS, Unit.SECONDS, Unit.OCTETS
_DEFS = [
    _o("maxPhases", (1, 1), 0, access=_R),
    _o("phaseWalk", (1, 2, 1, 2), 1, _S),
    _o("phasePedestrianClear", (1, 2, 1, 3), 1, _S),
    _o("phaseMinimumGreen", (1, 2, 1, 4), 1, _S),
    _o("phasePassage", (1, 2, 1, 5), 1, _T),
    _o("phaseMaximum1", (1, 2, 1, 6), 1, _S),
    _o("phaseMaximum2", (1, 2, 1, 7), 1, _S),
    _o("phaseYellowChange", (1, 2, 1, 8), 1, _T),
    _o("phaseRedClear", (1, 2, 1, 9), 1, _T),
    _o("phaseRedRevert", (1, 2, 1, 10), 1, _T),
    _o("phaseStartup", (1, 2, 1, 20), 1),
    _o("phaseOptions", (1, 2, 1, 21), 1, hi=65535),
    _o("phaseRing", (1, 2, 1, 22), 1),
    _o("phaseConcurrency", (1, 2, 1, 23), 1, _O),
    _o("maxPhaseGroups", (1, 3), 0, access=_R),
    *(
        _o(f"phaseStatusGroup{c.name.title().replace('_', '')}", (1, 4, 1, c), 1, access=_R)
        for c in StatusCol
    ),
    *(_o(f"phaseControlGroup{c.name.title().replace('_', '')}", (1, 5, 1, c), 1) for c in ControlCol),
    _o("maxVehicleDetectors", (2, 1), 0, access=_R),
    _o("vehicleDetectorCallPhase", (2, 2, 1, 4), 1),
    _o("volumeOccupancySequence", (2, 5, 1), 0, access=_R),
    _o("volumeOccupancyPeriod", (2, 5, 2), 0, _S),
    _o("detectorVolume", (2, 5, 4, 1, 1), 1, access=_R),
    _o("detectorOccupancy", (2, 5, 4, 1, 2), 1, access=_R),  # 0..200 = 0..100 % in 0.5 % steps
    _o("unitBackupTime", (3, 3), 0, _S, hi=65535),
    _o("unitControlStatus", (3, 5), 0, access=_R),
    _o("unitFlashStatus", (3, 6), 0, access=_R),
    _o("coordOperationalMode", (4, 1), 0),
    _o("maxPatterns", (4, 5), 0, access=_R),
    _o("patternCycleTime", (4, 7, 1, 2), 1, _S),
    _o("patternOffsetTime", (4, 7, 1, 3), 1, _S),
    _o("patternSplitNumber", (4, 7, 1, 4), 1),
    _o("patternSequenceNumber", (4, 7, 1, 5), 1),
    _o("splitTime", (4, 9, 1, 3), 2, _S),
    _o("splitMode", (4, 9, 1, 4), 2),
    _o("splitCoordPhase", (4, 9, 1, 5), 2),
    _o("coordPatternStatus", (4, 10), 0, access=_R),
    _o("localFreeStatus", (4, 11), 0, access=_R),
    _o("coordCycleStatus", (4, 12), 0, access=_R, hi=65535),
    _o("systemPatternControl", (4, 14), 0),
    _o("systemSyncControl", (4, 15), 0),
    _o("dbCreateTransaction", (2, 1), 0, root=_GLOBAL),
]
OBJECTS: dict[str, ObjectDef] = {d.name: d for d in _DEFS}
_BY_OID: dict[Oid, ObjectDef] = {d.oid: d for d in _DEFS}


def parse_name(text: str) -> tuple[ObjectDef, tuple[int, ...]]:
    """'phaseYellowChange.2' -> (definition, (2,)); 'splitTime.1.4' -> (definition, (1, 4)); 'unitBackupTime'.

    Raises:
        BridgeError: unknown object name or wrong index count.
    """
    name, *idx = text.strip().split(".")
    if name not in OBJECTS:
        raise BridgeError(f"NTCIP object: expected one of {sorted(OBJECTS)}, found {name!r}")
    definition = OBJECTS[name]
    try:
        index = tuple(int(i) for i in idx)
    except ValueError as exc:
        raise BridgeError(f"{name}: expected integer indexes, found {text!r}") from exc
    if idx == ["0"] and definition.n_index == 0:
        index = ()
    definition.instance(*index)  # validates the count
    return definition, index


def oid_of(name: str, *index: int) -> Oid:
    return OBJECTS[name].instance(*index)


def lookup(oid: Oid) -> tuple[ObjectDef, tuple[int, ...]] | None:
    """Which object an instance OID belongs to, or None."""
    for cut in (len(oid) - 1, len(oid) - 2):
        definition = _BY_OID.get(oid[:cut])
        if definition is not None and len(oid) - cut == max(1, definition.n_index):
            index = oid[cut:] if definition.n_index else ()
            if definition.n_index == 0 and oid[cut:] != (0,):
                return None
            return definition, tuple(index)
    return None


def control_oid(col: ControlCol, group: int = 1) -> Oid:
    """phaseControlGroup<col>.<group>."""
    return ASC + (1, 5, 1, int(col), group)


def status_oid(col: StatusCol, group: int = 1) -> Oid:
    """phaseStatusGroup<col>.<group>."""
    return ASC + (1, 4, 1, int(col), group)


def phases_to_mask(phases: Iterable[int], group: int = 1) -> int:
    """Bit i of group g is phase 8(g-1)+i+1; phases outside the group are ignored."""
    base = 8 * (group - 1)
    return sum(1 << (p - base - 1) for p in set(phases) if base < p <= base + 8)


def mask_to_phases(mask: int, group: int = 1) -> frozenset[int]:
    base = 8 * (group - 1)
    return frozenset(base + i + 1 for i in range(8) if mask >> i & 1)
