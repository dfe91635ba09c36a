"""Per-lane measurements each second: the one input interface every controller reads.

Filled in simulation by an oracle that sees only what a camera would (sim/oracle.py) and in the field by the vision
pipeline. Controllers never read SUMO, cameras or the clock themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

__all__ = [
    "ApproachingVehicle",
    "IntersectionMeasurement",
    "LaneMeasurement",
    "MeasurementSource",
    "OutgoingMeasurement",
    "STANDING_QUEUE_M",
    "standing_call",
]


@dataclass(frozen=True, slots=True)
class ApproachingVehicle:
    """A moving vehicle in the detection zone."""

    distance_m: float  # from its front to the stop line
    speed_mps: float | None = None  # None when the sensor cannot tell


@dataclass(frozen=True, slots=True)
class LaneMeasurement:
    """One incoming lane's state within the detection zone (about 100-150 m before the stop line)."""

    lane_id: str
    vehicles: int  # all vehicles in the zone
    queued: int  # stopped vehicles (speed below ~0.1-1 m/s)
    approaching: tuple[ApproachingVehicle, ...] = ()  # the moving ones, nearest first
    queue_m: float = 0.0  # from the stop line to the back of the last queued vehicle
    occupancy: float = 0.0  # share of the zone covered by vehicles, 0..1
    zone_m: float = 150.0


STANDING_QUEUE_M = 7.0  # one car and its gap


def standing_call(lane_id: str, zone_m: float) -> LaneMeasurement:
    """The safe assumption for a lane without counts (no camera sees it, or its camera is dead, frozen or stale).

    One vehicle waiting at the stop line: the lane's movement is served every cycle and never starved, at the price
    of some green time.
    """
    return LaneMeasurement(lane_id=lane_id, vehicles=1, queued=1, queue_m=STANDING_QUEUE_M,
                           occupancy=min(1.0, STANDING_QUEUE_M / zone_m), zone_m=zone_m)  # fmt: skip


@dataclass(frozen=True, slots=True)
class OutgoingMeasurement:
    """An exit lane just past the junction; a full exit must not be fed (spillback)."""

    lane_id: str
    vehicles: int
    occupancy: float  # 0..1 over the observed stretch
    length_m: float
    halting: int = 0


@dataclass(frozen=True, slots=True)
class IntersectionMeasurement:
    junction_id: str
    now_s: float
    incoming: Mapping[str, LaneMeasurement]
    outgoing: Mapping[str, OutgoingMeasurement] = field(default_factory=dict)
    healthy: bool = True  # False when inputs are stale or broken: the runtime releases control
    # predicted arrivals beyond the zone, per incoming lane, from upstream neighbours' published plans (nearest
    # first; distance_m > zone_m, so distance / speed is the stop-line arrival time); empty when uncoordinated
    upstream: Mapping[str, tuple[ApproachingVehicle, ...]] = field(default_factory=dict)


class MeasurementSource(Protocol):
    """Anything that can say, at time `now_s`, what the lanes of a junction look like."""

    def measure(self, junction_id: str, now_s: float) -> IntersectionMeasurement: ...
