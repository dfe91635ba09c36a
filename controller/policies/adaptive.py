"""Schedule-driven adaptive control in the style of Surtrac: each second, plan the next minute and act on its start.

Every second of a green past its minimum, the controller predicts, per incoming lane, when each vehicle it can see
reaches the stop line (queued: now; moving: distance / speed), adds the vehicles expected to enter the zone later
(smoothed measured arrival flow), and scores candidate schedules over `horizon_s` by the total delay they cause:

    switch now to q  (for each phase q ahead in the program's cyclic order that would serve a waiting vehicle)
    extend d seconds, then switch to the best q  (d in `extension_probe_s`)

A schedule is rolled out lane by lane: vehicles discharge one saturation headway apart (longer for permissive
links, none through a blocked exit), after `startup_lost_s` when a lane's green begins; each later green in the
rollout lasts until its lanes gap out (`gap_s`) within its min/max green, then the next phase with vehicles
follows after the yellow/all-red. The controller extends when some extension has less delay than switching now
(by `switch_margin_veh_s`), and otherwise starts the best switch. Only the first second is executed; the plan is
recomputed from fresh measurements next second (rolling horizon).

Phase sequence rule: phases are served in the program's cyclic order. A phase is skipped when no vehicle waits
that it would serve better than the current green does, and the plan may skip a phase that has such vehicles when
serving the following phase first gives less delay over the horizon; a skipped phase is still bounded by the
max-red rule (`max_red_due`, asked for before the guard has to force it), so skipping can delay a movement, never
starve it. Spillback: links into an exit whose occupancy is at least `spillback_occupancy` with halting vehicles
get no discharge in the plan, so the plan does not feed a blocked exit.

Cost per decision is a handful of rollouts, each linear in the visible vehicles: pure Python, no allocation beyond
a few lists. It deliberately does not coordinate with neighbours beyond what their outflows show as arrivals.
"""

from __future__ import annotations

from collections.abc import Sequence

from configs.controller import ControllerParams
from controller.guard import SignalStatus, Stage, max_red_due
from controller.measurement import IntersectionMeasurement, LaneMeasurement
from controller.policies.lanes import DemandTracker, FlowEstimator, LaneTable
from controller.registry import register
from controller.signal_model import SignalModel

__all__ = ["AdaptiveController"]

_EPS = 1e-6
_MIN_SPEED_MPS = 1.0  # a crawling vehicle is treated as moving this fast, so its ETA stays bounded
_MAX_FUTURE_PER_LANE = 40


class AdaptiveController:
    name = "adaptive"

    def __init__(self, model: SignalModel, params: ControllerParams) -> None:
        self.model = model
        self.params = params
        self.table = LaneTable(model, params)
        self.flows = FlowEstimator(
            len(self.table.lanes), window_s=params.flow_window_s, free_speed_mps=params.free_speed_mps
        )
        self.tracker = DemandTracker(self.table)
        self.headway_s = 3600.0 / params.saturation_flow_veh_h
        n = model.n_phases
        self._clear = [
            [p.clearance_s if model.losing_links(p.index, q) else 0.0 for q in range(n)] for p in model.phases
        ]
        self._demand: tuple[bool, ...] | None = None
        self.last_plan: dict[str, float] = {}  # cost per candidate of the last full decision, for inspection

    # -- the PhaseController interface -----------------------------------------------------------------------

    def decide(self, measurement: IntersectionMeasurement, status: SignalStatus) -> int:
        table = self.table
        lanes = table.lane_measurements(measurement.incoming)
        counts = [lm.vehicles if lm is not None else 0 for lm in lanes]
        shown = status.phase if status.stage is not Stage.ALL_RED else None
        served = [shown is not None and table.rate[shown][i] > 0 for i in range(len(lanes))]
        self.flows.update(measurement.now_s, lanes, served)
        self.tracker.update(status)
        self._demand = self.tracker.demand(status, counts)
        if status.stage is not Stage.GREEN:
            return status.target
        cur = status.phase
        phase = self.model.phases[cur]
        g = status.green_elapsed_s
        if g < phase.min_green_s - _EPS or not measurement.healthy:
            return cur
        due = max_red_due(self.model, cur, g, status.red_wait_s, self._demand)
        if due is not None:
            return due
        rates = table.effective_rates(measurement.outgoing, self.params.spillback_occupancy)
        cands = self._candidates(cur, counts, rates)
        if not cands:
            return cur  # nothing waits elsewhere: keep the green (the guard ends it at max)
        arrivals = self._arrivals(lanes)
        switch_cost = {q: self._rollout(arrivals, rates, cur, 0.0, q) for q in cands}
        best_q = min(cands, key=lambda q: (switch_cost[q], cands.index(q)))
        self.last_plan = {f"switch->{q}": c for q, c in switch_cost.items()}
        room = phase.max_green_s - g
        if room < 1.0 - _EPS:
            return best_q
        best_switch = switch_cost[best_q]
        for d in self.params.extension_probe_s:
            if d > room + _EPS:
                break
            cost = self._rollout(arrivals, rates, cur, d, best_q)
            self.last_plan[f"extend{d:g}"] = cost
            if cost + self.params.switch_margin_veh_s < best_switch - _EPS:
                return cur
        return best_q

    def demand(self, measurement: IntersectionMeasurement) -> Sequence[bool] | None:
        return self._demand

    # -- planning ----------------------------------------------------------------------------------------------

    def _candidates(self, cur: int, counts: Sequence[int], rates: Sequence[Sequence[float]]) -> list[int]:
        """Phases ahead in cyclic order that would serve a waiting vehicle better than the current green."""
        n = self.model.n_phases
        cur_rates = rates[cur]
        out = []
        for step in range(1, n):
            q = (cur + step) % n
            rq = rates[q]
            if any(counts[i] > 0 and rq[i] > cur_rates[i] + _EPS for i in self.table.served[q]):
                out.append(q)
        return out

    def _arrivals(self, lanes: Sequence[LaneMeasurement | None]) -> list[list[float]]:
        """Per lane, predicted stop-line arrival times (s from now), sorted: seen vehicles, then expected ones."""
        params = self.params
        horizon = params.horizon_s
        free = params.free_speed_mps
        out = []
        for i, lm in enumerate(lanes):
            times: list[float] = []
            zone = params.detection_range_m
            if lm is not None:
                zone = lm.zone_m
                times = [0.0] * lm.queued
                for v in lm.approaching:
                    speed = v.speed_mps if v.speed_mps is not None else free
                    times.append(v.distance_m / max(speed, _MIN_SPEED_MPS))
                times.sort()
            rate = self.flows.rate_veh_s[i]
            if rate > 1e-3:
                t = zone / free + 0.5 / rate
                step = 1.0 / rate
                k = 0
                while t < horizon and k < _MAX_FUTURE_PER_LANE:
                    times.append(t)
                    t += step
                    k += 1
            out.append(times)
        return out

    def _rollout(
        self,
        arrivals: list[list[float]],
        rates: Sequence[Sequence[float]],
        cur: int,
        extend_s: float,
        first: int,
    ) -> float:
        """Total delay (vehicle-seconds, truncated at the horizon) of: extend `extend_s`, then `first`, then on."""
        params = self.params
        horizon = params.horizon_s
        headway = self.headway_s
        startup = params.startup_lost_s
        gap = params.gap_s
        phases = self.model.phases
        served = self.table.served
        n_lanes = len(arrivals)
        ptr = [0] * n_lanes
        free_at = [0.0] * n_lanes
        green_end = [0.0 if rates[cur][i] > 0 else -1e9 for i in range(n_lanes)]
        delay = 0.0

        def serve(p: int, start: float, end: float) -> float:
            total = 0.0
            rp = rates[p]
            for i in served[p]:
                r = rp[i]
                if r <= 0.0:
                    continue
                arr = arrivals[i]
                k = ptr[i]
                if k >= len(arr):
                    continue
                h = headway / r
                t = start + (0.0 if green_end[i] >= start - 0.5 else startup)
                if free_at[i] > t:
                    t = free_at[i]
                while k < len(arr):
                    a = arr[k]
                    d = a if a > t else t
                    if d > end:
                        break
                    total += (d if d < horizon else horizon) - a if a < horizon else 0.0
                    t = d + h
                    k += 1
                ptr[i] = k
                free_at[i] = t
                green_end[i] = end
            return total

        def clearing_s(p: int, start: float) -> float:
            ph = phases[p]
            rp = rates[p]
            longest = 0.0
            limit = start + ph.max_green_s
            for i in served[p]:
                r = rp[i]
                arr = arrivals[i]
                k = ptr[i]
                if r <= 0.0 or k >= len(arr):
                    continue
                h = headway / r
                t = max(free_at[i], start + (0.0 if green_end[i] >= start - 0.5 else startup))
                last = start
                while k < len(arr):
                    a = arr[k]
                    if a > t + gap:
                        break
                    d = a if a > t else t
                    if d > limit:
                        break
                    last = d
                    t = d + h
                    k += 1
                if last - start > longest:
                    longest = last - start
            return min(ph.max_green_s, max(ph.min_green_s, longest + 1.0))

        if extend_s > 0.0:
            delay += serve(cur, 0.0, extend_s)
        t = extend_s + self._clear[cur][first]
        p = first
        n = self.model.n_phases
        windows = 0
        while t < horizon and windows < 2 * n:
            dur = clearing_s(p, t)
            delay += serve(p, t, t + dur)
            windows += 1
            t_next = t + dur
            nxt = -1
            for step in range(1, n):
                q = (p + step) % n
                look = t_next + self._clear[p][q] + phases[q].min_green_s
                rq = rates[q]
                if any(
                    rq[i] > 0.0 and ptr[i] < len(arrivals[i]) and arrivals[i][ptr[i]] < look
                    for i in served[q]
                ):
                    nxt = q
                    break
            if nxt < 0:
                break
            t = t_next + self._clear[p][nxt]
            p = nxt
        # vehicles not served within the horizon wait until its end
        for i in range(n_lanes):
            arr = arrivals[i]
            for k in range(ptr[i], len(arr)):
                a = arr[k]
                if a >= horizon:
                    break
                delay += horizon - a
        return delay


register("adaptive", AdaptiveController)
