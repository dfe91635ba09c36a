"""The oracle measurement source: per-lane measurements read from SUMO within the zone a camera would see.

It reports exactly what `controller.measurement` defines and nothing a camera could not give: vehicles and stopped
vehicles within `range_m` of the stop line, the moving ones with distance and speed, the queue length, occupancy,
and the state of the exit lanes. Vehicles upstream on a lane that feeds several controlled lanes are attributed by
the lane they will take at the signal (a camera sees the lane a vehicle is in once it is close enough).
"""

from __future__ import annotations

from typing import Any

from controller.measurement import (
    ApproachingVehicle,
    IntersectionMeasurement,
    LaneMeasurement,
    OutgoingMeasurement,
)
from sim.topology import SignalInfo

__all__ = ["QUEUED_SPEED_MPS", "OracleSource"]

QUEUED_SPEED_MPS = 0.5  # a vehicle slower than this counts as queued (a tracker's "stopped")
_GAP_M = 2.5  # standstill gap used for queue length and occupancy


class OracleSource:
    """MeasurementSource backed by a running SUMO (libsumo or TraCI module)."""

    def __init__(self, api: Any, signals: dict[str, SignalInfo], *, range_m: float) -> None:
        self._api = api
        self._signals = signals
        self._range_m = range_m
        self._link_lane = {
            tls: {link.index: link.in_lane for link in info.links} for tls, info in signals.items()
        }

    def measure(self, junction_id: str, now_s: float) -> IntersectionMeasurement:
        info = self._signals[junction_id]
        lane_api, veh_api = self._api.lane, self._api.vehicle
        per_lane: dict[str, list[tuple[float, float, float]]] = {lane: [] for lane in info.zones}
        for lane_id, segments in info.zones.items():
            for seg in segments:
                for vid in lane_api.getLastStepVehicleIDs(seg.lane):
                    # (an internal lane's own length can differ a little from the gap its segment spans)
                    dist = seg.offset_m + max(0.0, seg.length_m - veh_api.getLanePosition(vid))
                    if dist > self._range_m:
                        continue
                    # a lane feeding several controlled lanes is in each of their zones: count its vehicles
                    # once, in the zone of the lane they will take at the signal
                    if seg.shared and self._lane_at_signal(junction_id, vid) != lane_id:
                        continue
                    per_lane[lane_id].append((max(dist, 0.0), veh_api.getSpeed(vid), veh_api.getLength(vid)))
        incoming = {lane: self._lane_measurement(lane, vehs) for lane, vehs in per_lane.items()}
        outgoing = {}
        for link in info.links:
            out = link.out_lane
            if out in outgoing:
                continue
            n = lane_api.getLastStepVehicleNumber(out)
            length = info.lane_lengths.get(out, 1.0)
            occ = min(1.0, n * (lane_api.getLastStepLength(out) + _GAP_M) / max(length, 1.0)) if n else 0.0
            outgoing[out] = OutgoingMeasurement(
                lane_id=out,
                vehicles=n,
                occupancy=occ,
                length_m=length,
                halting=lane_api.getLastStepHaltingNumber(out),
            )
        return IntersectionMeasurement(junction_id=junction_id, now_s=now_s, incoming=incoming, outgoing=outgoing)

    def _lane_at_signal(self, junction_id: str, vid: str) -> str | None:
        for tls_id, index, _dist, _state in self._api.vehicle.getNextTLS(vid):
            if tls_id == junction_id:
                return self._link_lane[junction_id].get(index)
            return None
        return None

    def _lane_measurement(self, lane_id: str, vehs: list[tuple[float, float, float]]) -> LaneMeasurement:
        vehs.sort()
        queued = [v for v in vehs if v[1] < QUEUED_SPEED_MPS]
        moving = tuple(ApproachingVehicle(distance_m=d, speed_mps=s) for d, s, _ in vehs if s >= QUEUED_SPEED_MPS)
        queue_m = 0.0
        if queued:
            # the queue runs from the stop line back to the rear of the last stopped vehicle in the contiguous queue
            d, _s, length = queued[-1]
            queue_m = min(self._range_m, d + length)
        occupied = sum(length + _GAP_M for _d, _s, length in vehs)
        return LaneMeasurement(
            lane_id=lane_id,
            vehicles=len(vehs),
            queued=len(queued),
            approaching=moving,
            queue_m=queue_m,
            occupancy=min(1.0, occupied / self._range_m),
            zone_m=self._range_m,
        )
