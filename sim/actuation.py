"""How a guarded decision reaches SUMO's traffic light.

`direct`: the guard's signal string is set on SUMO's light (setRedYellowGreenState, an "online" program: the guard
inserts the yellows).
`pmpp`: the guard's decisions go as hold / force-off / call / omit through the firmware bridge (SNMP in PMPP frames
over a pty pair) to a virtual controller on simulation time, whose lights drive SUMO's (`sim.bridge_loop`).
Both implement the same `Actuator` protocol, so the harness loop does not change.
"""

from __future__ import annotations

from typing import Any, Protocol

from controller.guard import SignalCommand
from controller.signal_model import SignalModel
from sim.errors import SimError

__all__ = ["ACTUATIONS", "Actuator", "DirectActuator", "make_actuator"]

ACTUATIONS = ("direct", "pmpp")


class Actuator(Protocol):
    def apply(self, now_s: float, command: SignalCommand) -> str:
        """Carry the command out; return the signal string SUMO shows from now on."""
        ...

    def close(self) -> None:
        """Release whatever the actuator holds (control handed back, processes stopped)."""
        ...


class DirectActuator:
    def __init__(self, api: Any, tls_id: str, initial_state: str) -> None:
        self._set = api.trafficlight.setRedYellowGreenState
        self._tls = tls_id
        self._state = initial_state
        self._set(tls_id, initial_state)

    def apply(self, now_s: float, command: SignalCommand) -> str:
        if command.state != self._state:
            self._set(self._tls, command.state)
            self._state = command.state
        return self._state

    def close(self) -> None:
        return None


def make_actuator(kind: str, api: Any, tls_id: str, model: SignalModel, initial_state: str) -> Actuator:
    """Raises SimError for an unknown actuation path."""
    if kind == "direct":
        return DirectActuator(api, tls_id, initial_state)
    if kind == "pmpp":
        from sim.bridge_loop import PmppActuator  # pysnmp and pyserial load only for this path

        return PmppActuator(api, tls_id, model, initial_state)
    raise SimError(f"unknown actuation {kind!r}: expected one of {', '.join(ACTUATIONS)}")
