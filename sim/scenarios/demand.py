"""Time-varying origin-destination demand between boundary arms, and the movement flows it puts on junctions.

Demand is given per time slice (default 15 min) in veh/h; SUMO draws arrivals as a Poisson process per slice
(`period="exp(rate)"`) and each vehicle's type from the mix, so seeds vary arrivals and types.

No SUMO calls and no files here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from sim.scenarios.layout import ArmRef, Layout, Turn, find_route
from sim.scenarios.vehicles import DEFAULT_MIX, VehicleMix

__all__ = ["Demand", "MovementKey", "OdFlow", "average_flows", "movement_flows"]

MovementKey = tuple[str, str, Turn]  # junction, from arm, turn


@dataclass(frozen=True, slots=True)
class OdFlow:
    origin: ArmRef
    destination: ArmRef
    veh_h: tuple[float, ...]  # one value per slice


@dataclass(frozen=True, slots=True)
class Demand:
    flows: tuple[OdFlow, ...]
    slice_s: int = 900
    mix: VehicleMix = field(default=DEFAULT_MIX)

    @property
    def n_slices(self) -> int:
        return max((len(f.veh_h) for f in self.flows), default=0)

    @property
    def duration_s(self) -> int:
        return self.n_slices * self.slice_s

    def expected_vehicles(self) -> float:
        return sum(sum(f.veh_h) * self.slice_s / 3600.0 for f in self.flows)

    def slice_totals_veh_h(self) -> tuple[float, ...]:
        return tuple(sum(f.veh_h[k] for f in self.flows if k < len(f.veh_h)) for k in range(self.n_slices))


def movement_flows(layout: Layout, demand: Demand) -> dict[MovementKey, tuple[float, ...]]:
    """Flow of every junction movement per slice (veh/h), from the OD flows routed through the layout."""
    acc: dict[MovementKey, list[float]] = defaultdict(lambda: [0.0] * demand.n_slices)
    for od in demand.flows:
        _, moves = find_route(layout, od.origin, od.destination)
        for move in moves:
            row = acc[(move.junction, move.from_arm, move.turn)]
            for k, q in enumerate(od.veh_h):
                row[k] += q
    return {k: tuple(v) for k, v in sorted(acc.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2].value))}


def average_flows(
    flows: Mapping[MovementKey, tuple[float, ...]], junction: str
) -> dict[tuple[str, Turn], float]:
    """Hour-average flow of each movement of one junction, keyed by (from arm, turn)."""
    return {(arm, turn): sum(q) / len(q) for (j, arm, turn), q in flows.items() if j == junction and q}
