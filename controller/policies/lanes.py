"""The per-lane view every measured-demand policy shares.

- `LaneTable`: which incoming lanes each green phase serves, at what share of saturation flow (protected 'G' 1,
  permissive 'g' `permissive_rate`), and through which exits (so a blocked exit can be taken out).
- `FlowEstimator`: smoothed arrival flow per lane from successive measurements, by conservation
  (arrivals = change in vehicles in the zone + vehicles that crossed the stop line).
- `DemandTracker`: the demand vector the guard's max-red bound and the monitor use. A phase has demand when a
  vehicle waits on a lane it serves that no green has served, for every link the phase gives that lane, since
  that phase's own green ended. So a movement that another phase already serves (overlapping phases) does not
  force a redundant phase, while any movement left unserved (a protected left from a lane the through phase
  also serves) is bounded by max_red_s: the bound is per movement, expressed through phases.

Pure computation over measurements: no SUMO, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from configs.controller import ControllerParams
from controller.guard import SignalStatus, Stage, max_red_due, next_ending
from controller.lane_filter import ACCEL_MPS2, TOL_M
from controller.measurement import ApproachingVehicle, LaneMeasurement, OutgoingMeasurement
from controller.signal_model import SignalModel, link_rank

__all__ = ["DemandTracker", "FlowEstimator", "LaneTable", "bounded_switch", "status_at"]

_EPS = 1e-6


class LaneTable:
    """Static lane/phase structure of one junction."""

    def __init__(self, model: SignalModel, params: ControllerParams) -> None:
        self.model = model
        self.lanes: tuple[str, ...] = model.incoming_lanes()
        index = {lane: i for i, lane in enumerate(self.lanes)}
        n_lanes = len(self.lanes)
        # per phase, per lane: base discharge share and the exits of the lane's green links
        self.rate: list[list[float]] = []
        self.exits: list[list[tuple[str, ...]]] = []
        for ph in model.phases:
            rates = [0.0] * n_lanes
            exits: list[list[str]] = [[] for _ in range(n_lanes)]
            for link in model.links:
                rank = link_rank(ph.state[link.index])
                if not rank:
                    continue
                i = index[link.in_lane]
                rates[i] = max(rates[i], 1.0 if rank == 2 else params.permissive_rate)
                exits[i].append(link.out_lane)
            self.rate.append(rates)
            self.exits.append([tuple(e) for e in exits])
        self.served: list[tuple[int, ...]] = [tuple(i for i, r in enumerate(rs) if r > 0) for rs in self.rate]
        # lanes feeding each exit, for max-pressure's downstream share
        self.feeders: dict[str, int] = {}
        for link in model.links:
            self.feeders[link.out_lane] = self.feeders.get(link.out_lane, 0) + 1
        self.links_from: list[int] = [0] * n_lanes
        for link in model.links:
            self.links_from[index[link.in_lane]] += 1

    def lane_measurements(self, incoming: Mapping[str, LaneMeasurement]) -> list[LaneMeasurement | None]:
        return [incoming.get(lane) for lane in self.lanes]

    def effective_rates(
        self, outgoing: Mapping[str, OutgoingMeasurement], spill_occupancy: float
    ) -> list[list[float]]:
        """Rates with links into blocked exits removed: a lane discharges only through its open exits."""
        blocked = {
            lane
            for lane, out in outgoing.items()
            if out.occupancy >= spill_occupancy and out.halting > 0 and out.halting * 2 >= out.vehicles
        }
        if not blocked:
            return self.rate
        rates = []
        for p, rs in enumerate(self.rate):
            row = list(rs)
            for i in self.served[p]:
                exits = self.exits[p][i]
                open_n = sum(1 for e in exits if e not in blocked)
                if open_n < len(exits):
                    row[i] = rs[i] * open_n / len(exits)
            rates.append(row)
        return rates


_SURE_CROSSING_MPS = 5.0  # a vehicle this fast, about to reach the line, crosses (it could not stop)
# A lane discharges at most at its saturation flow. The cap on counted crossings sits this far above the configured
# flow, for a field that discharges faster than configured; SUMO's lanes peak at about 1.2x 1800 veh/h over 10 s.
_CROSSING_FLOW_MARGIN = 1.25
_CROSSING_BURST = 2.0  # crossings one step may count after a quiet spell: one the sensor saw a step late


class FlowEstimator:
    """Arrival flow per lane (veh/s), exponentially smoothed with time constant `window_s`.

    Crossings counted per lane are capped at `max_crossing_veh_s` (a token bucket holding `_CROSSING_BURST`): a
    sensor that loses and finds vehicles near the line reads more departures than a lane can discharge, and each
    phantom one is also a phantom arrival here and a phantom platoon member for the downstream neighbour.
    """

    def __init__(
        self, n_lanes: int, *, window_s: float, free_speed_mps: float, max_crossing_veh_s: float | None = None
    ) -> None:
        self.rate_veh_s = [0.0] * n_lanes
        self.crossed = [0] * n_lanes  # per lane, vehicles that crossed the stop line in the last update
        self.window_s = window_s
        self.free_speed_mps = free_speed_mps
        self.max_crossing_veh_s = max_crossing_veh_s
        self.elapsed_s = 0.0
        self._budget = [_CROSSING_BURST] * n_lanes  # per lane, crossings the cap still allows
        self._prev: list[LaneMeasurement | None] | None = None
        self._last_s: float | None = None

    @classmethod
    def for_params(cls, n_lanes: int, params: ControllerParams) -> FlowEstimator:
        """The estimator the policies use: `params`' smoothing window and free speed, crossings capped a margin
        above its saturation flow."""
        return cls(
            n_lanes,
            window_s=params.flow_window_s,
            free_speed_mps=params.free_speed_mps,
            max_crossing_veh_s=_CROSSING_FLOW_MARGIN * params.saturation_flow_veh_h / 3600.0,
        )

    def update(
        self,
        now_s: float,
        lanes: Sequence[LaneMeasurement | None],
        served: Sequence[bool],
        seen_crossing: Sequence[int] | None = None,
    ) -> None:
        """Args:
            served: per lane, whether it could discharge since the last update (green or yellow shown).
            seen_crossing: per lane, moving vehicles followed over the stop line since the last update (the
                `LaneFilter`'s `crossed`). Given, they stand in for the vehicles predicted to cross at speed,
                which are otherwise believed regardless of the zone's count.
        """
        prev, last = self._prev, self._last_s
        self._prev, self._last_s = list(lanes), now_s
        self.crossed = [0] * len(lanes)
        if prev is None or last is None:
            return
        dt = now_s - last
        if dt <= 0:
            return
        self.elapsed_s += dt
        alpha = min(1.0, dt / self.window_s)
        for i, lm in enumerate(lanes):
            before = prev[i]
            n_now = lm.vehicles if lm is not None else 0
            n_before = before.vehicles if before is not None else 0
            crossed = 0
            if self.max_crossing_veh_s is not None:
                self._budget[i] = min(_CROSSING_BURST, self._budget[i] + self.max_crossing_veh_s * dt)
            if served[i] and before is not None:
                fast = 0  # predicted crossers too fast to stop at the line
                for v in before.approaching:
                    speed = self._speed(v)
                    if v.distance_m - speed * dt > 0.0:
                        break  # nearest first: the rest are farther
                    crossed += 1
                    fast += speed >= _SURE_CROSSING_MPS
                if seen_crossing is not None:
                    # a camera's speed lags (a fit over seconds): a vehicle braking for the yellow, or slower than
                    # its estimate, is predicted over the line two steps running. Followed, it counts once.
                    fast = seen_crossing[i]
                # a vehicle that accelerated out of the queue may cross unpredicted: the zone's count fell. Only one
                # within reach of the line can have: a vehicle a camera loses up the lane or in a long queue (on
                # a fast approach it sees ~60 % of a queue, and the count jumps each second) did not cross.
                reach = sum(1 for v in before.approaching
                            if v.distance_m - self._speed(v) * dt - 0.5 * ACCEL_MPS2 * dt * dt <= TOL_M)
                reach += min(before.queued, 1)  # the head of the queue
                crossed = max(crossed, min(n_before - n_now, reach))
                # a slow one is believed only as far as the zone lost vehicles, given those that entered at its
                # far end: a left creeping up to the line while it waits for a gap looks about to cross each second
                entered = 0
                if lm is not None:
                    entered = sum(1 for v in lm.approaching if v.distance_m > lm.zone_m - self._speed(v) * dt)
                crossed = max(fast, min(crossed, n_before + entered - n_now))
                if self.max_crossing_veh_s is not None:
                    crossed = min(crossed, int(self._budget[i] + _EPS))
                    self._budget[i] -= crossed
                self.crossed[i] = crossed
            arrivals = max(0, n_now - n_before + crossed)
            self.rate_veh_s[i] += alpha * (arrivals / dt - self.rate_veh_s[i])


    def _speed(self, v: ApproachingVehicle) -> float:
        return v.speed_mps if v.speed_mps is not None else self.free_speed_mps


class DemandTracker:
    """Which phases have demand in the sense of the max-red bound (see the module docstring).

    Service is tracked per lane and phase: a green serves lane i on behalf of phase p only if it gives right of
    way to every link of lane i that p does. A lane shared by a through (one phase) and a protected left (another)
    is not served for the left by the through's green, so the left stays bounded by max red.
    """

    def __init__(self, table: LaneTable) -> None:
        self.table = table
        model = table.model
        index = {lane: i for i, lane in enumerate(table.lanes)}
        green = [
            [frozenset(lk.index for lk in model.links if index[lk.in_lane] == i and ph.state[lk.index] in "Gg")
             for i in range(len(table.lanes))]
            for ph in model.phases
        ]  # fmt: skip
        # per green phase q: the (p, lane) pairs its green serves
        self._serves: list[list[tuple[int, int]]] = [
            [(p, i) for p, lanes in enumerate(table.served) for i in lanes if green[p][i] <= green[q][i]]
            for q in range(model.n_phases)
        ]
        self._last_served_s: list[list[float | None]] = [[None] * len(table.lanes) for _ in table.served]

    def update(self, status: SignalStatus) -> None:
        if status.stage is Stage.GREEN:
            for p, i in self._serves[status.phase]:
                self._last_served_s[p][i] = status.now_s

    def demand(self, status: SignalStatus, counts: Sequence[int]) -> tuple[bool, ...]:
        now = status.now_s
        out = []
        for p, lanes in enumerate(self.table.served):
            if p == status.phase and status.stage is Stage.GREEN:
                out.append(any(counts[i] > 0 for i in lanes))
                continue
            since = now - status.red_wait_s[p] + 1.5  # served after this: no longer waiting on phase p
            served = self._last_served_s[p]
            out.append(any(counts[i] > 0 and ((last := served[i]) is None or last < since) for i in lanes))
        return tuple(out)


def status_at(status: SignalStatus, now_s: float) -> SignalStatus:
    """The guard's status as it will be at `now_s` if the green continues.

    Controllers see the status of the previous step, while the guard advances its timers before applying the
    request; without this a controller would ask for an extension one step after the maximum green.
    """
    dt = now_s - status.now_s
    if dt <= 0 or status.stage is not Stage.GREEN:
        return status
    return replace(
        status,
        now_s=now_s,
        stage_elapsed_s=status.stage_elapsed_s + dt,
        green_elapsed_s=status.green_elapsed_s + dt,
        red_wait_s=tuple(w if k == status.phase else w + dt for k, w in enumerate(status.red_wait_s)),
        wait_s=tuple(w + dt if w > 0.0 else w for w in status.wait_s),  # a phase waiting keeps waiting
    )


def bounded_switch(
    model: SignalModel, status: SignalStatus, demand: Sequence[bool] | None, wanted: int
) -> int:
    """`wanted`, unless starting it first would push another phase with demand past max_red_s.

    The guard applies the same rule (`max_red_due` with `first`); asking for its answer keeps the controller's
    plan and the shown signals the same, with no override.
    """
    cur = status.phase
    if status.green_elapsed_s >= model.phases[cur].max_green_s - _EPS and not model.losing_links(cur, wanted):
        # at max green, staying or a switch that changes nothing (a twin green) is not allowed: the guard would
        # end the green towards the next phase that takes right of way, so ask for that
        wanted = next_ending(model, cur, demand)
    if wanted == cur:
        return wanted
    urgent = max_red_due(model, cur, status.green_elapsed_s, status.wait_s, demand, first=wanted)
    return wanted if urgent is None else urgent
