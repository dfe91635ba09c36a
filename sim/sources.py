"""Which measurement source feeds the controllers in a simulation.

`oracle`: per-lane measurements read from SUMO within the zone a camera would see (sim/oracle.py).
`camera`: rendered camera frames of every approach through the shipped ONNX detector and the vision pipeline
(sim/camera_source.py), by day; `camera-mixed`: the same with each camera's conditions drawn (day/dusk/night/rain).
"""

from __future__ import annotations

from typing import Any

from configs.controller import ControllerParams
from controller.measurement import MeasurementSource
from sim.errors import SimError
from sim.oracle import OracleSource
from sim.topology import SignalInfo

__all__ = ["MEASUREMENTS", "make_source"]

MEASUREMENTS = ("oracle", "camera", "camera-mixed")


def make_source(
    kind: str, api: Any, signals: dict[str, SignalInfo], params: ControllerParams, *, seed: int = 0
) -> MeasurementSource:
    """Raises SimError for an unknown source."""
    if kind == "oracle":
        return OracleSource(api, signals, range_m=params.detection_range_m)
    if kind in ("camera", "camera-mixed"):
        from sim.camera_source import CameraLoopConfig, CameraSource  # onnxruntime and OpenCV only when asked

        conditions = "mixed" if kind == "camera-mixed" else "day"
        return CameraSource(api, signals, params, seed=seed, config=CameraLoopConfig(conditions=conditions))
    raise SimError(f"unknown measurement source {kind!r}: expected one of {', '.join(MEASUREMENTS)}")
