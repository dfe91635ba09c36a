"""Bridge in the loop: the guard's decisions reach SUMO through the firmware bridge and a virtual controller.

    guard -> PhaseCommand (hold / force-off / call / omit) -> FieldBridge (SNMP SET, PMPP frames) -> pty pair
          -> emulator server thread -> VirtualController (times green, yellow, red clearance) -> SUMO's light

The junction's green phases become one ring of NTCIP phases 1..n in model order (rotated so the guard's start phase
is first: the controller starts where the guard does), with the model's min green, max green, yellow and red
clearance (change intervals in whole seconds, as the guard shows them at 1 s steps). Every phase is on max recall
and the stored timebase plan is the SUMO program's own splits, so a released controller runs the scenario's
fixed-time plan. For guard target j the bridge sends one command: hold j, force-off and omit every other phase,
call j. The controller itself times the change interval; its per-phase lights are turned back into SUMO strings
(green -> the phase's string, yellow / red clearance -> the model's transition strings for the switch commanded).

Time is simulation time: the controller's clock is a value the actuator moves to each step's `now_s` (SUMO runs
far faster than real time), so a run is deterministic; only the bridge's timeouts are wall time. The emulator runs
in a thread of this process; its controller is locked because that thread and the actuator both step it.

Not done here: detector inputs to the controller (it sees only the bridge's calls), plan download, more than
8 phases (phase control group 1).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

from configs.bridge import BridgeConfig
from controller.guard import SignalCommand, Stage
from controller.signal_model import SignalModel
from firmware_bridge.bridge import FieldBridge
from firmware_bridge.emulator.controller import ControllerStatus, ControlSource, VirtualController
from firmware_bridge.emulator.database import DatabaseSettings
from firmware_bridge.emulator.server import serve_serial
from firmware_bridge.emulator.timing import PhaseTiming, Recall, RingLayout, SignalState
from firmware_bridge.errors import BridgeError
from firmware_bridge.ptywire import PtyWire
from firmware_bridge.realtime import PhaseCommand
from sim.errors import SimError

__all__ = [
    "BridgeLoopConfig",
    "BridgeLoopError",
    "PmppActuator",
    "VirtualCabinet",
    "cabinet_settings",
    "phase_command",
    "shown_state",
]

_MAX_PHASES = 8  # phase control group 1
_EPS = 1e-6


class BridgeLoopError(SimError):
    """The bridge to the virtual controller failed during a run (control was released or left to the backup timer)."""


@dataclass(frozen=True, slots=True)
class BridgeLoopConfig:
    community: str = "greenwave-sim"
    address: int = 1
    timeout_s: float = 0.5
    retries: int = 2
    backoff_s: float = 0.1
    backup_time_s: int = 10
    # Pace the cable like a UART at this baud (wall time); None: as fast as the pty goes.
    baud: int | None = None


# -- pure mapping between the guard's model and the controller ------------------------------------------------------


def cabinet_settings(model: SignalModel, start: int, *, backup_time_s: int) -> DatabaseSettings:
    """The controller database for a junction: phase k+1 times model green k; one ring from `start`.

    Raises:
        SimError: more green phases than one phase control group holds.
    """
    n = model.n_phases
    if n > _MAX_PHASES:
        raise SimError(
            f"junction {model.junction_id}: --bridge pmpp handles at most {_MAX_PHASES} green phases, found {n}"
        )
    order = tuple((start + k) % n + 1 for k in range(n))
    timings, splits = {}, {}
    for g in model.phases:
        min_green = max(1.0, math.floor(g.min_green_s + _EPS))  # the guard enforces the true minimum
        timings[g.index + 1] = PhaseTiming(
            min_green_s=min_green,
            passage_s=2.0,
            max1_s=float(min(255, math.ceil(g.max_green_s - _EPS))),
            # The guard holds each change interval for whole steps (1 s): give the controller what SUMO is shown.
            yellow_s=float(math.ceil(g.yellow_s - _EPS)),
            red_clear_s=float(math.ceil(g.all_red_s - _EPS)),
            recall=Recall.MAX,
        )
        green = max(g.program_green_s, min_green)
        splits[g.index + 1] = math.ceil(green + g.yellow_s + g.all_red_s - _EPS)
    layout = RingLayout(rings=(order,), barriers=(frozenset(order),))
    return DatabaseSettings(
        backup_time_s=backup_time_s,
        min_green_floor_s=1.0,
        layout=layout,
        timings=timings,
        timebase_splits_s=splits,
    )


def phase_command(model: SignalModel, target: int) -> PhaseCommand:
    """Keep or bring green `target` (model index): hold it, call it, force off and omit every other phase."""
    p = target + 1
    others = frozenset(range(1, model.n_phases + 1)) - {p}
    return PhaseCommand(hold=frozenset({p}), force_off=others, veh_call=frozenset({p}), omit=others)


def shown_state(model: SignalModel, signal: SignalState, leaving: int, target: int) -> tuple[str, int]:
    """The SUMO string for the controller's lights, and the model phase now green or being left.

    Args:
        leaving: the model phase green (or last green) before this step.
        target: where a change interval leads (the controller's next phase, else the commanded one).
    """
    if signal.greens:
        g = min(signal.greens) - 1
        return model.phases[g].state, g
    if signal.yellows:
        y = min(signal.yellows) - 1
        to = target if target != y else model.next_in_sequence(y)
        return model.yellow_state(y, to), y
    to = target if target != leaving else model.next_in_sequence(leaving)
    return model.all_red_state(leaving, to), leaving


# -- the controller side: emulator thread on one end of a pty pair -------------------------------------------------


class _SharedController(VirtualController):
    """A virtual controller two threads step: the emulator's server loop and the actuator."""

    def __init__(self, settings: DatabaseSettings, *, community: bytes, now_s: float) -> None:
        super().__init__(settings, community=community, now_s=now_s)
        self.lock = threading.RLock()  # handle() steps the timer itself

    def step(self, now_s: float) -> SignalState:
        with self.lock:
            return super().step(now_s)

    def handle(self, payload: bytes, now_s: float) -> bytes | None:
        with self.lock:
            return super().handle(payload, now_s)


class VirtualCabinet:
    """A virtual controller served over PMPP on a pty pair from a thread, on a clock the caller moves.

    `bridge_url` is the other end, for the bridge. `advance(now_s)` moves the clock and times the signal.
    """

    def __init__(self, settings: DatabaseSettings, *, community: str, address: int, now_s: float,
                 baud: int | None = None) -> None:  # fmt: skip
        self.now_s = now_s
        self.controller = _SharedController(settings, community=community.encode(), now_s=now_s)
        self.wire = PtyWire(baud=baud)
        self.wire.__enter__()
        self.bridge_url = f"{self.wire.b_path}?baud={baud or 38400}"
        self._stop = threading.Event()
        self._error: BaseException | None = None
        ready = threading.Event()

        def serve() -> None:
            try:
                serve_serial(self.controller, f"{self.wire.a_path}?baud={baud or 38400}", address=address,
                             stop=self._stop, clock=self.clock, on_ready=ready.set)  # fmt: skip
            except BaseException as exc:  # reported by close(); the bridge sees silence meanwhile
                self._error = exc
                ready.set()

        self.thread = threading.Thread(target=serve, name="greenwave-virtual-cabinet", daemon=True)
        self.thread.start()
        if not ready.wait(10.0) or self._error is not None:
            self.close()
            raise SimError(
                f"virtual controller on {self.wire.a_path}: expected it serving, found {self._error!r}"
            )

    def clock(self) -> float:
        return self.now_s

    def advance(self, now_s: float) -> SignalState:
        self.now_s = max(self.now_s, now_s)
        return self.controller.step(self.now_s)

    @property
    def status(self) -> ControllerStatus:
        with self.controller.lock:
            return self.controller.status

    def close(self) -> None:
        self._stop.set()
        if self.thread.is_alive():
            self.thread.join(timeout=5.0)
        self.wire.close()


# -- the actuator ---------------------------------------------------------------------------------------------------


class PmppActuator:
    """`Actuator` that commands a virtual controller through the bridge and shows SUMO what the controller shows.

    After `close()`: `final_status` is the controller's status once control was handed back, `released_by` says
    how ("release": the controller was off system control when the bridge let go; "backup timer": it was still
    under system control, so its clock ran on past its backup time, as it would in the field).
    """

    def __init__(self, api: Any, tls_id: str, model: SignalModel, initial_state: str, *,
                 config: BridgeLoopConfig | None = None) -> None:  # fmt: skip
        cfg = config or BridgeLoopConfig()
        self.config = cfg
        self.model = model
        self._set = api.trafficlight.setRedYellowGreenState
        self._tls = tls_id
        start = next((g.index for g in model.phases if g.state == initial_state), None)
        if start is None:
            raise SimError(
                f"junction {tls_id}: expected a phase green as the initial state, found {initial_state!r}"
            )
        now_s = float(api.simulation.getTime())
        settings = cabinet_settings(model, start, backup_time_s=cfg.backup_time_s)
        self.cabinet = VirtualCabinet(settings, community=cfg.community, address=cfg.address, now_s=now_s,
                                      baud=cfg.baud)  # fmt: skip
        try:
            bridge_cfg = BridgeConfig(url=self.cabinet.bridge_url, address=cfg.address, community=cfg.community,
                                      timeout_s=cfg.timeout_s, retries=cfg.retries, backoff_s=cfg.backoff_s,
                                      backup_time_s=cfg.backup_time_s)  # fmt: skip
            self.bridge = FieldBridge.open(bridge_cfg)
        except BridgeError as exc:
            self.cabinet.close()
            raise SimError(f"junction {tls_id}: cannot open the bridge: {exc}") from exc
        self.mismatches = 0  # steps where SUMO shows something other than the guard's string
        self.final_status: ControllerStatus | None = None
        self.released_by: str | None = None
        self._closed = False
        self._target = start
        self._now_s = now_s
        self._state, self._leaving = shown_state(model, self.cabinet.advance(now_s), start, start)
        if self._state != initial_state:
            self.close()
            raise SimError(
                f"junction {tls_id}: virtual controller starts on {self._state!r}, expected {initial_state!r}"
            )
        try:  # under command from the start, so its own plan never acts before the first step
            self.bridge.command(now_s, phase_command(model, start))
        except BridgeError as exc:
            self.close()
            raise BridgeLoopError(
                f"junction {tls_id}: cannot take control of the virtual controller: {exc}"
            ) from exc
        self._set(tls_id, self._state)

    def apply(self, now_s: float, command: SignalCommand) -> str:
        """Send the command for the guard's target, move the controller's clock to `now_s`, show its lights.

        Raises:
            BridgeLoopError: the bridge failed; control was released, or is left to the controller's backup timer.
        """
        status = command.status
        self._now_s = now_s
        self._target = status.target if status.stage is not Stage.GREEN else status.phase
        self.cabinet.advance(now_s)
        try:
            self.bridge.command(now_s, phase_command(self.model, self._target))
        except BridgeError as exc:
            raise BridgeLoopError(f"junction {self._tls} at t={now_s:g} s: bridge failed: {exc}") from exc
        # The agent steps before it applies a SET: time the signal at now_s again, under the new command.
        signal = self.cabinet.advance(now_s)
        nexts = sorted(signal.nexts)
        target = nexts[0] - 1 if nexts else self._target
        state, self._leaving = shown_state(self.model, signal, self._leaving, target)
        if state != self._state:
            self._set(self._tls, state)
            self._state = state
        self.mismatches += state != command.state
        return state

    def close(self) -> None:
        """Release control (the bridge's release path), let the backup timer act if that failed, stop the emulator."""
        if self._closed:
            return
        self._closed = True
        try:
            self.bridge.close()  # releases if commands may be in force; never raises
            self.released_by = "release"
            if self.cabinet.status.source is ControlSource.SYSTEM:
                # The release did not arrive: time goes on at the controller until its backup timer hands back.
                self.cabinet.advance(self._now_s + self.config.backup_time_s + 1.0)
                self.released_by = "backup timer"
            self.final_status = self.cabinet.status
        finally:
            self.cabinet.close()
