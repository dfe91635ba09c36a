"""The edge runtime's link to the field controller: guard stages -> NTCIP phase control, sent from its own thread.

`phase_command(target, all_phases)` is the mapping, pure: hold and call the phases of the stage the guard is in or
heading to, force off and omit every other phase. While the guard shows a green that holds the stage's phases and
keeps the controller from leaving; when the guard starts a change, the next command forces the current phases off
and omits everything but the target, so the controller times its own yellow and red clearance and goes there.

`BridgeWorker` owns the `FieldBridge` in a thread, so a silent controller (retries, timeouts) never stalls the
frame pipeline. It sends the latest decision as soon as it arrives and keeps it alive through the
RealtimeCommander; a decision older than `command_ttl_s` (the runtime stopped deciding) is released, not kept
alive. It reads the controller's status every `status_interval_s`, which is also how it notices the controller is
back after a failure. On any bridge error control is released (or left to the controller's backup timer when even
the release cannot be delivered) and the worker backs off before trying again. `stop()` releases and closes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from firmware_bridge.bridge import BridgeStatus, FieldBridge
from firmware_bridge.errors import BridgeError
from firmware_bridge.realtime import PhaseCommand
from greenwave.edge_log import log_event
from greenwave.edge_metrics import Metrics

__all__ = ["BridgeWorker", "Decision", "phase_command"]

_log = logging.getLogger("greenwave.edge")


def phase_command(target: frozenset[int], all_phases: frozenset[int]) -> PhaseCommand:
    """Hold and call `target`; force off and omit every other phase."""
    others = frozenset(all_phases - target)
    return PhaseCommand(hold=target, force_off=others, veh_call=target, omit=others)


@dataclass(frozen=True, slots=True)
class Decision:
    command: PhaseCommand | None  # None: release control to the controller's own plan
    decided_s: float
    frame_s: float | None  # capture time of the oldest newest-frame behind it (for frame-to-command latency)


class BridgeWorker:
    def __init__(
        self,
        bridge: FieldBridge,
        metrics: Metrics,
        *,
        command_ttl_s: float = 3.0,
        status_interval_s: float = 1.0,
        retry_s: float = 1.0,
        retry_max_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bridge = bridge
        self.metrics = metrics
        self.command_ttl_s = command_ttl_s
        self.status_interval_s = status_interval_s
        self.retry_s, self.retry_max_s = retry_s, retry_max_s
        self._clock = clock
        self._cond = threading.Condition()
        self._decision: Decision | None = None
        self._handled: Decision | None = None
        self._stop = threading.Event()
        self._up = False
        self._error: str | None = None
        self.status: BridgeStatus | None = None
        self._status_s = float("-inf")
        self._thread = threading.Thread(target=self._run, name="bridge", daemon=True)

    # -- called by the runtime ------------------------------------------------------------------------------
    @property
    def up(self) -> bool:
        """The last exchange with the controller succeeded."""
        return self._up

    @property
    def error(self) -> str | None:
        return self._error

    @property
    def commanding(self) -> bool:
        """Phase control may be in force at the controller (sent and not released)."""
        return self.bridge.realtime.active

    def submit(self, decision: Decision) -> None:
        with self._cond:
            self._decision = decision
            self._cond.notify()

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float | None = None) -> None:
        """Stop the thread, then release control and close the link (also if the thread is stuck).

        Waits for the thread up to `timeout_s` (default: two of the client's worst-case requests, at least 5 s);
        the release then waits for any request still in flight (the client sends one at a time).
        """
        self._stop.set()
        with self._cond:
            self._cond.notify()
        if timeout_s is None:
            timeout_s = max(5.0, 2 * self.bridge.client.worst_case_s())
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        released = self.bridge.realtime.active
        try:
            self.bridge.close()  # releases if phase control may be in force
        except Exception as exc:  # shutdown goes on; the controller's backup timer hands control back
            log_event(_log, "bridge_close_failed", error=f"{type(exc).__name__}: {exc}", level=logging.WARNING)
            released = False
        log_event(_log, "bridge_closed", released=released)

    # -- thread ---------------------------------------------------------------------------------------------
    def _run(self) -> None:
        wait_s = self.retry_s
        while not self._stop.is_set():
            with self._cond:
                if self._decision is self._handled:
                    self._cond.wait(0.1)
                decision = self._decision
            if self._stop.is_set():
                return
            try:
                self._tick(decision)
                wait_s = self.retry_s
            except BridgeError as exc:  # the bridge has released control, or left it to the backup timer
                self._fail(exc)
                self._stop.wait(wait_s)
                wait_s = min(wait_s * 2, self.retry_max_s)
            except Exception as exc:  # a fault the bridge did not expect: the thread must live on and release
                self._fail(exc)
                self._release_quietly()
                self._stop.wait(wait_s)
                wait_s = min(wait_s * 2, self.retry_max_s)

    def _release_quietly(self) -> None:
        """Release after an unexpected fault; a release that fails too is left to the backup timer (logged)."""
        try:
            self.bridge.realtime.release()
        except Exception as exc:
            log_event(_log, "release_failed", error=f"{type(exc).__name__}: {exc}", level=logging.WARNING)

    def _tick(self, decision: Decision | None) -> None:
        now = self._clock()
        command = decision.command if decision is not None else None
        if command is not None and decision is not None and now - decision.decided_s > self.command_ttl_s:
            command = None  # nobody decided for a while: do not keep a stale command alive
        was_active = self.bridge.realtime.active
        sent = self.bridge.command(now, command)
        if sent:
            self.metrics.inc("greenwave_bridge_writes_total")
        if was_active and command is None:
            self.metrics.inc("greenwave_bridge_releases_total")
            log_event(_log, "released", why="runtime released control" if decision else "no decision")
        if decision is not None and decision is not self._handled:
            self._handled = decision
            if decision.frame_s is not None and decision.command is not None:
                self.metrics.observe("greenwave_frame_to_command_seconds", self._clock() - decision.frame_s)
        if now - self._status_s >= self.status_interval_s:
            self._status_s = now
            self.status = self.bridge.status()
            self.metrics.set("greenwave_controller_unit_control_status", self.status.unit_control_status)
            for p in range(1, 9):
                self.metrics.set("greenwave_controller_green", int(p in self.status.greens), {"phase": p})
                self.metrics.set("greenwave_controller_held", int(p in self.status.held), {"phase": p})
        if not self._up:
            log_event(_log, "bridge_up")
        self._up, self._error = True, None
        self.metrics.set("greenwave_bridge_up", 1)
        self.metrics.set("greenwave_bridge_commanding", int(self.bridge.realtime.active))

    def _fail(self, exc: Exception) -> None:
        text = str(exc) if isinstance(exc, BridgeError) else f"{type(exc).__name__}: {exc}"
        if self._up or self._error is None:
            log_event(_log, "bridge_down", error=text, level=logging.WARNING)
        self._up, self._error = False, text
        self._status_s = float("-inf")
        self.metrics.inc("greenwave_bridge_errors_total")
        self.metrics.set("greenwave_bridge_up", 0)
        self.metrics.set("greenwave_bridge_commanding", int(self.bridge.realtime.active))
