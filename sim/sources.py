"""Which measurement source feeds the controllers in a simulation.

`oracle`: per-lane measurements read from SUMO within the zone a camera would see (sim/oracle.py). Other sources
(rendered camera frames through the detector) implement controller.measurement.MeasurementSource the same way.
"""

from __future__ import annotations

from typing import Any

from configs.controller import ControllerParams
from controller.measurement import MeasurementSource
from sim.errors import SimError
from sim.oracle import OracleSource
from sim.topology import SignalInfo

__all__ = ["MEASUREMENTS", "make_source"]

MEASUREMENTS = ("oracle",)


def make_source(
    kind: str, api: Any, signals: dict[str, SignalInfo], params: ControllerParams, *, seed: int = 0
) -> MeasurementSource:
    """Raises SimError for an unknown source."""
    if kind == "oracle":
        return OracleSource(api, signals, range_m=params.detection_range_m)
    raise SimError(f"unknown measurement source {kind!r}: expected one of {', '.join(MEASUREMENTS)}")
