"""Vehicle states as the synthetic camera sees them, and their 3D box models by type.

`VehicleState` is what a simulator step provides (SUMO conventions: position = front bumper centre, angle in
degrees, 0 = north, clockwise). `vehicle_parts` turns one into a few coloured boxes (body, cabin or cargo, glass,
rider) whose proportions follow the type; colours and small size changes are fixed per vehicle id, so a vehicle
looks the same from frame to frame.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np

__all__ = ["CLASSES", "CLASS_IDS", "KIND_CLASS", "KINDS", "VehicleState", "kind_for", "vehicle_parts"]

CLASSES = ("car", "truck", "bus", "motorcycle")  # detector classes, in model id order
CLASS_IDS = {c: i for i, c in enumerate(CLASSES)}
KINDS = ("car", "van", "truck", "bus", "motorcycle")  # what is drawn
KIND_CLASS = {"car": "car", "van": "truck", "truck": "truck", "bus": "bus", "motorcycle": "motorcycle"}
HEIGHT_M = {"car": 1.45, "van": 2.1, "truck": 3.4, "bus": 3.1, "motorcycle": 1.65}

_VCLASS_KIND = {
    "passenger": "car", "private": "car", "taxi": "car", "evehicle": "car", "emergency": "van", "delivery": "van",
    "truck": "truck", "trailer": "truck", "army": "truck", "bus": "bus", "coach": "bus", "motorcycle": "motorcycle",
    "moped": "motorcycle",
}

_PAINT = [(235, 235, 235), (30, 30, 30), (180, 180, 180), (120, 120, 120), (40, 40, 170), (150, 80, 30),
          (90, 40, 20), (40, 100, 40), (60, 180, 220), (200, 200, 190), (50, 60, 80), (20, 60, 140)]
_BUS_PAINT = [(40, 40, 200), (200, 200, 200), (50, 160, 60), (30, 180, 230), (160, 90, 20)]
_GLASS = (70, 55, 45)
_DARK = (28, 28, 30)


def kind_for(type_id: str, vclass: str) -> str:
    """The drawn kind of a SUMO vehicle: its type id when that names a kind (e.g. 'van'), else its vClass."""
    low = type_id.lower()
    for k in ("motorcycle", "bus", "truck", "van", "car"):
        if k in low:
            return k
    return _VCLASS_KIND.get(vclass, "car")


@dataclass(frozen=True, slots=True)
class VehicleState:
    vehicle_id: str
    x_m: float  # front bumper centre
    y_m: float
    angle_deg: float  # SUMO convention
    length_m: float
    width_m: float
    kind: str  # one of KINDS
    speed_mps: float = 0.0
    lane_id: str = ""
    dist_to_stop_m: float = math.inf  # front bumper to the end of its lane

    @property
    def height_m(self) -> float:
        return HEIGHT_M[self.kind] * (0.92 + 0.16 * ((zlib.crc32(self.vehicle_id.encode()) >> 8) % 100) / 100)


@dataclass(frozen=True, slots=True)
class Part:
    corners: np.ndarray  # (8, 3): bottom rear-left, front-left, front-right, rear-right, then the same on top
    z0: float
    z1: float
    colour_side: tuple[int, int, int]
    colour_top: tuple[int, int, int]
    overlay: bool = False  # drawn after the other parts (glass on a body)


def vehicle_parts(v: VehicleState) -> list[Part]:
    """Boxes making up a vehicle; the first is the main body (its corners place the lights)."""
    a = math.radians(v.angle_deg)
    hd = np.array([math.sin(a), math.cos(a)])
    rt = np.array([math.cos(a), -math.sin(a)])
    rear = np.array([v.x_m, v.y_m]) - hd * v.length_m
    h = v.height_m
    seed = zlib.crc32(v.vehicle_id.encode())
    paint = (_BUS_PAINT if v.kind == "bus" else _PAINT)[seed % (len(_BUS_PAINT) if v.kind == "bus" else len(_PAINT))]
    L, W = v.length_m, v.width_m

    def box(s0: float, s1: float, wf: float, z0: float, z1: float, side: tuple[int, int, int],
            top: tuple[int, int, int] | None = None, overlay: bool = False) -> Part:
        hw = W * wf / 2
        p = [rear + hd * L * s0 - rt * hw, rear + hd * L * s1 - rt * hw,
             rear + hd * L * s1 + rt * hw, rear + hd * L * s0 + rt * hw]
        c = np.array([[*q, z0] for q in p] + [[*q, z1] for q in p])
        return Part(c, z0, z1, side, top or side, overlay)

    if v.kind == "car":
        return [box(0.0, 1.0, 1.0, 0.3, h * 0.62, paint), box(0.02, 0.98, 0.94, 0.08, 0.35, _DARK),
                box(0.15, 0.72, 0.9, h * 0.62, h, _GLASS, paint)]
    if v.kind == "van":
        return [box(0.0, 0.84, 1.0, 0.35, h, paint), box(0.84, 1.0, 1.0, 0.35, h * 0.5, paint),
                box(0.02, 0.98, 0.94, 0.1, 0.4, _DARK), box(0.80, 0.86, 0.92, h * 0.5, h * 0.92, _GLASS, paint)]
    if v.kind == "truck":
        cargo = _PAINT[(seed >> 4) % 4]
        return [box(0.0, 1.0, 0.9, 0.3, 1.1, _DARK), box(0.0, 0.76, 1.0, 1.1, h, cargo),
                box(0.79, 1.0, 1.0, 0.6, h * 0.88, paint), box(0.985, 1.002, 0.86, h * 0.5, h * 0.82, _GLASS,
                                                                 overlay=True)]
    if v.kind == "bus":
        return [box(0.0, 1.0, 1.0, 0.35, h, paint), box(-0.003, 1.003, 1.01, h * 0.42, h * 0.85, _GLASS, paint,
                                                        overlay=True)]
    rider = _PAINT[(seed >> 3) % len(_PAINT)]
    return [box(0.0, 1.0, 0.7, 0.3, 1.0, _DARK), box(0.3, 0.7, 0.6, 1.0, h, rider)]
