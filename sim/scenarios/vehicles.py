"""Vehicle types of the built-in scenarios and their mix.

Type ids and vClasses are meaningful on purpose: the synthetic camera renders vehicles by `getTypeID` /
`getVehicleClass`, and the detector's class map uses the same four classes (car, truck, bus, motorcycle).
Sizes and dynamics are typical European values (SUMO defaults where they are realistic).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BUS", "CAR", "DEFAULT_MIX", "MOTORCYCLE", "TRUCK", "VehicleMix", "VehicleType"]


@dataclass(frozen=True, slots=True)
class VehicleType:
    id: str
    vclass: str  # SUMO vClass
    gui_shape: str
    length_m: float
    width_m: float
    height_m: float
    min_gap_m: float
    accel_m_s2: float
    decel_m_s2: float
    max_speed_m_s: float
    color: str  # "r,g,b" for sumo-gui


CAR = VehicleType("car", "passenger", "passenger", 4.5, 1.8, 1.5, 2.5, 2.6, 4.5, 50.0, "0.8,0.8,0.8")
TRUCK = VehicleType("truck", "truck", "truck", 8.0, 2.4, 3.2, 2.5, 1.3, 4.0, 25.0, "0.3,0.4,0.8")
BUS = VehicleType("bus", "bus", "bus", 12.0, 2.5, 3.2, 2.5, 1.2, 4.0, 22.0, "0.9,0.6,0.1")
MOTORCYCLE = VehicleType(
    "motorcycle", "motorcycle", "motorcycle", 2.2, 0.9, 1.4, 2.0, 3.5, 6.0, 40.0, "0.8,0.1,0.1"
)


@dataclass(frozen=True, slots=True)
class VehicleMix:
    """Shares of each vehicle type in every flow (normalised when written)."""

    shares: tuple[tuple[VehicleType, float], ...]

    def normalised(self) -> tuple[tuple[VehicleType, float], ...]:
        total = sum(s for _, s in self.shares)
        if total <= 0 or any(s < 0 for _, s in self.shares):
            raise ValueError(
                f"vehicle mix: expected non-negative shares with a positive sum, found {self.shares}"
            )
        return tuple((t, round(s / total, 4)) for t, s in self.shares if s > 0)


DEFAULT_MIX = VehicleMix(((CAR, 0.86), (TRUCK, 0.07), (BUS, 0.03), (MOTORCYCLE, 0.04)))
