"""The virtual NTCIP 1202 controller: an SNMP agent over the stored database, a backup timer and the phase timer.

`VirtualController.handle(payload, now_s)` answers one SNMP message (bytes in, bytes out or None when a real
agent would stay silent: undecodable bytes, wrong community); `step(now_s)` times the signal. The controller
obeys the system (phase control groups, systemPatternControl) only while the backup timer runs: every write to a
system-control object restarts it, and when it expires the controller enters backup mode, zeroes those objects and
runs its own stored (time-of-day) plan. `signal` is the current per-phase green/yellow/red, for driving a simulator.
Pure: time is injected; the serial/UDP loop lives in `server`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from firmware_bridge.emulator.database import Database, DatabaseSettings, WriteRefused, merged
from firmware_bridge.emulator.detectors import VolumeOccupancy
from firmware_bridge.emulator.timing import ActuatedTimer, PhaseInputs, SignalState, SplitPlan
from firmware_bridge.errors import BridgeProtocolError
from firmware_bridge.ntcip import (
    OBJECTS,
    ControlCol,
    CoordMode,
    DbTransaction,
    StatusCol,
    UnitControlStatus,
    mask_to_phases,
    oid_of,
    phases_to_mask,
    status_oid,
)
from firmware_bridge.snmp import (
    ErrorStatus,
    Oid,
    PduType,
    SnmpMessage,
    Value,
    VarBind,
    decode_message,
    encode_message,
)

__all__ = ["ControlSource", "ControllerStatus", "VirtualController"]

_SYSTEM_OBJECTS = frozenset(
    {"systemPatternControl", "systemSyncControl", "unitControl"}
    | {f"phaseControlGroup{c.name.title().replace('_', '')}" for c in ControlCol}
)


class ControlSource(str, Enum):
    OWN_PLAN = "own_plan"  # no system command: the stored time-of-day plan
    SYSTEM = "system"  # phase control bits or a system pattern in force
    BACKUP = "backup"  # the backup timer expired: own plan, system objects zeroed


@dataclass(frozen=True, slots=True)
class ControllerStatus:
    now_s: float
    source: ControlSource
    pattern: int  # running pattern: 1..253, 254 free
    unit_control_status: UnitControlStatus
    signal: SignalState
    held: frozenset[int]
    backup_remaining_s: float | None  # None while no system write restarted the timer


class VirtualController:
    def __init__(
        self, settings: DatabaseSettings | None = None, *, community: bytes = b"public", now_s: float = 0.0
    ) -> None:
        settings = settings or DatabaseSettings()
        self.settings = settings
        self.community = community
        self.db = Database(settings)
        self.timer = ActuatedTimer(self.db.timings(), settings.layout, now_s)
        self._now_s = now_s
        self._t0_s = now_s
        self._source = ControlSource.OWN_PLAN
        self._last_system_write_s: float | None = None
        self._transaction = DbTransaction.NORMAL
        self._pending: dict[Oid, Value] = {}
        self._actuated: frozenset[int] = frozenset()
        self.detectors = VolumeOccupancy(n_detectors=8, period_s=float(self.db.int_of("volumeOccupancyPeriod")),
                                         now_s=now_s)  # fmt: skip
        self.log: list[str] = []  # refused writes and mode changes, for tests and the emulate command

    # -- time ------------------------------------------------------------------------------------------
    def actuate(self, phases: frozenset[int]) -> None:
        """Detector presence by phase from now on (a simulator's detectors, or tests); detector d calls phase d."""
        self.detectors.presence(phases)
        self._actuated = frozenset(phases)

    def step(self, now_s: float) -> SignalState:
        self._now_s = max(now_s, self._now_s)
        self.detectors.advance(self._now_s)
        self._check_backup_timer()
        if self._source is ControlSource.SYSTEM:
            inputs = PhaseInputs(
                hold=mask_to_phases(self.db.control_bits(ControlCol.HOLD)),
                force_off=mask_to_phases(self.db.control_bits(ControlCol.FORCE_OFF)),
                veh_call=mask_to_phases(self.db.control_bits(ControlCol.VEH_CALL)),
                omit=mask_to_phases(self.db.control_bits(ControlCol.PHASE_OMIT)),
                actuated=self._actuated,
            )
        else:
            inputs = PhaseInputs(actuated=self._actuated)
        return self.timer.step(self._now_s, inputs, self._plan())

    def _check_backup_timer(self) -> None:
        backup_s = self.db.int_of("unitBackupTime")
        last = self._last_system_write_s
        if (
            self._source is ControlSource.SYSTEM
            and last is not None
            and backup_s > 0
            and self._now_s - last > backup_s
        ):
            self.db.zero_control()
            self._source = ControlSource.BACKUP
            self.log.append(
                f"{self._now_s - self._t0_s:.1f} s: backup timer expired ({backup_s} s): backup mode, own plan"
            )

    @property
    def last_system_write_s(self) -> float | None:
        """When a system-control object was last written (what restarts the backup timer)."""
        return self._last_system_write_s

    @property
    def running_pattern(self) -> int:
        if self._source is ControlSource.SYSTEM:
            commanded = self.db.int_of("systemPatternControl")
            if commanded == CoordMode.FREE:
                return int(CoordMode.FREE)
            if 1 <= commanded <= 253:
                return commanded
        mode = self.db.int_of("coordOperationalMode")
        return mode if 1 <= mode <= 254 else self.settings.timebase_pattern

    def _plan(self) -> SplitPlan | None:
        return self.db.plan(self.running_pattern)

    @property
    def signal(self) -> SignalState:
        return self.timer.signal

    @property
    def status(self) -> ControllerStatus:
        backup_s = self.db.int_of("unitBackupTime")
        last = self._last_system_write_s
        remaining = None if last is None or backup_s == 0 else max(0.0, backup_s - (self._now_s - last))
        ucs = {
            ControlSource.SYSTEM: UnitControlStatus.SYSTEM_CONTROL,
            ControlSource.BACKUP: UnitControlStatus.BACKUP_MODE,
            ControlSource.OWN_PLAN: UnitControlStatus.TIMEBASE,
        }[self._source]
        return ControllerStatus(
            now_s=self._now_s,
            source=self._source,
            pattern=self.running_pattern,
            unit_control_status=ucs,
            signal=self.signal,
            held=mask_to_phases(self.db.control_bits(ControlCol.HOLD)),
            backup_remaining_s=remaining,
        )

    # -- SNMP ------------------------------------------------------------------------------------------
    def handle(self, payload: bytes, now_s: float) -> bytes | None:
        """Answer one SNMP request; None for bytes that are not a request to this community."""
        try:
            msg = decode_message(payload)
        except BridgeProtocolError:
            return None
        if msg.community != self.community or msg.pdu_type is PduType.RESPONSE:
            return None
        self.step(now_s)
        if msg.pdu_type is PduType.SET:
            reply = self._set(msg)
        else:
            reply = self._get(msg, next_=msg.pdu_type is PduType.GET_NEXT)
        return encode_message(reply)

    def _response(
        self, msg: SnmpMessage, varbinds: tuple[VarBind, ...], status: int = 0, index: int = 0
    ) -> SnmpMessage:
        return SnmpMessage(
            PduType.RESPONSE, msg.community, msg.request_id, varbinds, status, index, msg.version
        )

    def _readable(self) -> dict[Oid, Value]:
        sig = self.signal
        values = dict(self.db.values)
        for col, phases in (
            (StatusCol.REDS, sig.reds), (StatusCol.YELLOWS, sig.yellows), (StatusCol.GREENS, sig.greens),
            (StatusCol.DONT_WALKS, frozenset(self.settings.layout.phases)), (StatusCol.PED_CLEARS, frozenset()),
            (StatusCol.WALKS, frozenset()), (StatusCol.VEH_CALLS, sig.calls), (StatusCol.PED_CALLS, frozenset()),
            (StatusCol.PHASE_ONS, sig.greens | sig.yellows), (StatusCol.PHASE_NEXTS, sig.nexts),
        ):  # fmt: skip
            values[status_oid(col)] = phases_to_mask(phases)
        plan = self._plan()
        cycle_s = int(self._now_s - plan.offset_s) % int(plan.cycle_s) if plan else 0
        status = self.status
        values.update({
            oid_of("maxPhases"): len(self.settings.layout.phases),
            oid_of("maxPhaseGroups"): 1,
            oid_of("maxVehicleDetectors"): self.detectors.n_detectors,
            oid_of("maxPatterns"): 4,
            oid_of("unitControlStatus"): int(status.unit_control_status),
            oid_of("unitFlashStatus"): 2,  # notFlash
            oid_of("coordPatternStatus"): status.pattern if plan else 0,
            oid_of("localFreeStatus"): 1 if plan else 3,  # 1 other(coordinating), 3 commandFree
            oid_of("coordCycleStatus"): cycle_s,
            oid_of("volumeOccupancySequence"): self.detectors.sequence,
        })  # fmt: skip
        for det in range(1, self.detectors.n_detectors + 1):
            values[oid_of("detectorVolume", det)] = self.detectors.reported_volume[det - 1]
            values[oid_of("detectorOccupancy", det)] = self.detectors.reported_occupancy_raw[det - 1]
        if self.settings.supports_transactions:
            values[oid_of("dbCreateTransaction")] = int(self._transaction)
        return values

    def _get(self, msg: SnmpMessage, *, next_: bool) -> SnmpMessage:
        values = self._readable()
        ordered = sorted(values) if next_ else []
        out = []
        for i, vb in enumerate(msg.varbinds, start=1):
            if next_:
                oid = next((o for o in ordered if o > vb.oid), None)
                if oid is None:
                    return self._response(msg, msg.varbinds, ErrorStatus.NO_SUCH_NAME, i)
                out.append(VarBind(oid, values[oid]))
            elif vb.oid in values:
                out.append(VarBind(vb.oid, values[vb.oid]))
            else:
                return self._response(msg, msg.varbinds, ErrorStatus.NO_SUCH_NAME, i)
        return self._response(msg, tuple(out))

    def _set(self, msg: SnmpMessage) -> SnmpMessage:
        # SNMP SET is atomic: check every varbind against the database as it would be, then apply all or none.
        view = merged(self.db.values, self._pending.items())
        defs = []
        for i, vb in enumerate(msg.varbinds, start=1):
            try:
                if vb.oid == oid_of("dbCreateTransaction"):
                    if not self.settings.supports_transactions:
                        raise WriteRefused(ErrorStatus.NO_SUCH_NAME, "dbCreateTransaction not supported")
                    self._check_transaction(vb.value, view)
                    defs.append(OBJECTS["dbCreateTransaction"])
                    continue
                defs.append(self.db.check_write(vb.oid, vb.value, view))
            except WriteRefused as refused:
                self.log.append(f"{self._now_s - self._t0_s:.1f} s: refused {vb.oid}={vb.value!r}: {refused}")
                return self._response(msg, msg.varbinds, refused.status, i)
            view[vb.oid] = vb.value
        for definition, vb in zip(defs, msg.varbinds, strict=True):
            if definition.name == "dbCreateTransaction":
                self._apply_transaction(vb.value)
            elif self._transaction is DbTransaction.TRANSACTION and self.db.is_database_object(definition):
                self._pending[vb.oid] = vb.value
            else:
                self.db.values[vb.oid] = vb.value
                if definition.name in _SYSTEM_OBJECTS:
                    self._system_write()
        self.timer.timings = self.db.timings()
        return self._response(msg, msg.varbinds)

    def _system_write(self) -> None:
        self._last_system_write_s = self._now_s
        commanded = self.db.int_of("systemPatternControl") != 0 or any(
            self.db.control_bits(c) for c in ControlCol
        )
        self._source = ControlSource.SYSTEM if commanded else ControlSource.OWN_PLAN

    def _check_transaction(self, value: Value, view: dict[Oid, Value]) -> None:
        ok = {
            DbTransaction.NORMAL: (1,),
            DbTransaction.TRANSACTION: (1, 3),
            DbTransaction.DONE: (1, 2),
        }[self._transaction]
        if value == DbTransaction.TRANSACTION and self._transaction is DbTransaction.NORMAL:
            return
        if value not in ok:
            raise WriteRefused(
                ErrorStatus.BAD_VALUE, f"dbCreateTransaction {value!r} from state {self._transaction.name}"
            )
        if value == DbTransaction.VERIFYING:
            problems = self.db.verify(view)
            if problems:
                self._pending.clear()
                self._transaction = DbTransaction.NORMAL
                raise WriteRefused(ErrorStatus.BAD_VALUE, "; ".join(problems))

    def _apply_transaction(self, value: Value) -> None:
        if value == DbTransaction.TRANSACTION:
            self._pending.clear()
            self._transaction = DbTransaction.TRANSACTION
        elif value == DbTransaction.VERIFYING:
            self.db.values.update(self._pending)
            self._pending.clear()
            self._transaction = DbTransaction.DONE
        else:  # NORMAL: close (after DONE) or abandon the open transaction
            self._pending.clear()
            self._transaction = DbTransaction.NORMAL
