"""The controller interface: observe measurements -> decide the green phase wanted now.

A `PhaseController` is pure: it gets an `IntersectionMeasurement` and the guard's `SignalStatus` each step and
returns the index of the green phase it wants (the current one to extend). The `SafetyGuard` turns that into
safe signal strings. Native SUMO programs (`fixed`, `actuated`) are not PhaseControllers: the sim harness runs them
as SUMO's own logic.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from configs.controller import ControllerParams
from controller.guard import SignalStatus
from controller.measurement import IntersectionMeasurement
from controller.signal_model import SignalModel

__all__ = ["ControllerFactory", "PhaseController"]


class PhaseController(Protocol):
    name: str

    def decide(self, measurement: IntersectionMeasurement, status: SignalStatus) -> int:
        """Return the green phase index wanted now (status.phase to extend)."""
        ...

    def demand(self, measurement: IntersectionMeasurement) -> Sequence[bool] | None:
        """Per phase, whether anything waits for it (None: unknown). Lets the guard skip empty phases."""
        ...


ControllerFactory = Callable[[SignalModel, ControllerParams], PhaseController]
