"""Read the vehicle states the synthetic camera needs from a running SUMO (libsumo or traci, same API).

The adapter between SUMO and sim/camera.py: the only module of the camera that calls the simulator.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sim.camera_vehicles import VehicleState, kind_for

__all__ = ["VehicleStateReader"]


class VehicleStateReader:
    """Reads every vehicle's pose each step; static attributes (type, size) are read once per vehicle."""

    def __init__(self, sumo: Any, lane_lengths_m: Mapping[str, float]) -> None:
        self._sumo = sumo
        self._lane_lengths = lane_lengths_m
        self._static: dict[str, tuple[str, float, float]] = {}

    def read(self) -> list[VehicleState]:
        veh = self._sumo.vehicle
        out = []
        for vid in veh.getIDList():
            st = self._static.get(vid)
            if st is None:
                st = (kind_for(veh.getTypeID(vid), veh.getVehicleClass(vid)), veh.getLength(vid), veh.getWidth(vid))
                self._static[vid] = st
            x, y = veh.getPosition(vid)
            lane = veh.getLaneID(vid)
            length = self._lane_lengths.get(lane)
            dist = length - veh.getLanePosition(vid) if length is not None else float("inf")
            out.append(VehicleState(vid, x, y, veh.getAngle(vid), st[1], st[2], st[0], veh.getSpeed(vid), lane, dist))
        if len(self._static) > 4 * len(out) + 1000:
            alive = set(veh.getIDList())
            self._static = {k: v for k, v in self._static.items() if k in alive}
        return out
