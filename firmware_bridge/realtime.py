"""Second-by-second phase control (hold / force-off / vehicle call / omit) kept alive inside the backup timer.

The commander writes unitBackupTime once, then sends the phase control groups whenever the command changes and
again every `resend_interval_s` (half the backup time, so one lost keep-alive is survived). `release()` writes all
control groups to zero and systemPatternControl to standby in one atomic SET: it runs on shutdown, on any error
(the error is re-raised, saying control was released) and whenever the caller has no healthy command. If even
the release cannot be delivered, the controller's own backup timer hands control back within unitBackupTime.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from firmware_bridge.client import SnmpClient
from firmware_bridge.errors import BridgeError, BridgeVerifyError
from firmware_bridge.ntcip import ControlCol, control_oid, oid_of, phases_to_mask
from firmware_bridge.snmp import Oid, Value

__all__ = ["RELEASE_VALUES", "PhaseCommand", "RealtimeCommander"]

_COMMANDED = (ControlCol.HOLD, ControlCol.FORCE_OFF, ControlCol.VEH_CALL, ControlCol.PHASE_OMIT)
RELEASE_VALUES: tuple[tuple[Oid, Value], ...] = (
    *((control_oid(c), 0) for c in (*_COMMANDED, ControlCol.PED_OMIT, ControlCol.PED_CALL)),
    (oid_of("systemPatternControl"), 0),
)


@dataclass(frozen=True, slots=True)
class PhaseCommand:
    """Phase control bits for phases 1..8 (phase control group 1)."""

    hold: frozenset[int] = frozenset()
    force_off: frozenset[int] = frozenset()
    veh_call: frozenset[int] = frozenset()
    omit: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        bad = sorted(p for group in (self.hold, self.force_off, self.veh_call, self.omit) for p in group
                     if not 1 <= p <= 8)  # fmt: skip
        if bad:
            raise ValueError(f"phase control group 1: expected phases 1-8, found {bad}")

    def values(self) -> tuple[tuple[Oid, Value], ...]:
        sets = {ControlCol.HOLD: self.hold, ControlCol.FORCE_OFF: self.force_off,
                ControlCol.VEH_CALL: self.veh_call, ControlCol.PHASE_OMIT: self.omit}  # fmt: skip
        return tuple((control_oid(col), phases_to_mask(sets[col])) for col in _COMMANDED)

    @property
    def empty(self) -> bool:
        return not (self.hold or self.force_off or self.veh_call or self.omit)


class RealtimeCommander:
    def __init__(
        self, client: SnmpClient, *, backup_time_s: int, resend_interval_s: float | None = None
    ) -> None:
        self.client = client
        self.backup_time_s = backup_time_s
        self.resend_interval_s = (
            resend_interval_s if resend_interval_s is not None else max(0.5, backup_time_s / 2)
        )
        self._sent: PhaseCommand | None = None
        self._sent_s = float("-inf")
        # A SET can take effect at the controller even when its reply is lost or the wait for it is cut short:
        # from the moment one is on the wire, control counts as possibly held until a release.
        self._unconfirmed = False
        self._started = False
        self.sends = 0
        self.releases = 0

    @property
    def active(self) -> bool:
        """True while commands may be in force at the controller (not released since the last send)."""
        return self._sent is not None or self._unconfirmed

    def start(self) -> None:
        """Write unitBackupTime and read it back.

        Raises:
            BridgeVerifyError: the controller stores a different value.
        """
        oid = oid_of("unitBackupTime")
        self.client.set([(oid, self.backup_time_s)])
        (stored,) = self.client.get([oid])
        if stored != self.backup_time_s:
            raise BridgeVerifyError(
                f"unitBackupTime: expected {self.backup_time_s} s after writing, found {stored!r}"
            )
        self._started = True

    def due(self, command: PhaseCommand, now_s: float) -> bool:
        """Pure: does `command` need sending at `now_s` (changed, or the keep-alive interval passed)?"""
        return command != self._sent or now_s - self._sent_s >= self.resend_interval_s

    def step(self, now_s: float, command: PhaseCommand | None) -> bool:
        """Send `command` if due; None (no healthy command) releases. Returns whether anything was sent.

        Raises:
            BridgeError: the send failed; control has been released (or the backup timer will release it).
        """
        if command is None:
            if self.active:
                self.release()
                return True
            return False
        if not self.due(command, now_s):
            return False
        if not self._started:
            self._guarded(self.start)
        self._unconfirmed = True
        self._guarded(lambda: self.client.set(list(command.values())))
        self._sent, self._sent_s = command, now_s
        self.sends += 1
        return True

    def _guarded(self, action: Callable[[], object]) -> None:
        try:
            action()
        except BridgeError as exc:
            released = self.release()
            note = (
                "released control"
                if released
                else (
                    f"release not confirmed either; the controller's backup timer ({self.backup_time_s} s) hands "
                    "control back to its own plan"
                )
            )
            exc.args = (f"{exc}; {note}",)  # keep the type (timeout, rejected...) and add what happened next
            raise

    def release(self) -> bool:
        """Zero every phase control group and set systemPatternControl to standby (one retry at most).

        Returns:
            True when the controller confirmed the release. When it did not, control still counts as possibly
            held (`active`), so the next `step(None)` or the bridge's `close()` tries again rather than assume it.
        """
        self._sent, self._sent_s = None, float("-inf")
        self._unconfirmed = True
        self.releases += 1
        try:
            self.client.set(list(RELEASE_VALUES), retries=1)
        except BridgeError:
            return False
        self._unconfirmed = False
        return True
