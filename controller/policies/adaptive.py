"""Schedule-driven adaptive control in the style of Surtrac: each second, plan until every vehicle in sight is served.

Every second of a green past its minimum, the controller predicts, per incoming lane, when each vehicle it can see
reaches the stop line unimpeded (queued: now; moving: distance / max(speed, free_speed_mps), so a vehicle
slowing behind a queue or for the red counts as already arriving), adds the vehicles expected to enter the zone within
`horizon_s` (smoothed measured arrival flow), and scores schedules by the total delay of all those vehicles:

    switch now to q: for each phase q ahead in the program's cyclic order that would serve a waiting vehicle
        better than the current green, a plan "clearance, q, then the sequence" is rolled out until every
        predicted vehicle is served; each planned green lasts until its lanes gap out (`gap_s`) within its
        min/max green, and phases with nothing left to serve are skipped;
    extend d, then the best switch plan shifted by d: for d in `extension_probe_s` (up to the max green).

A rollout discharges each lane one saturation headway apart (longer for permissive 'g' links, none through a
blocked exit), after `startup_lost_s` when a lane's green begins. Plans are not truncated at the horizon (every
predicted vehicle is served, so delaying others is never free), and the extension plans reuse the switch plan's
windows, so the comparison measures the shift alone rather than noise between two re-planned schedules. The
controller extends when some extension lets through a vehicle that the switch target would not serve as well and
costs less delay than switching now (or at most `switch_margin_veh_s` more, against dithering); otherwise it starts
the best switch. Only the first second is executed and everything is re-planned next second.

Phase sequence rule: phases are served in the program's cyclic order. A phase is skipped when no vehicle waits
that it would serve better than the current green does, and the plan may skip a phase that has such vehicles when
serving the following phase first gives less delay; a skipped phase is still bounded by the max-red rule
(`max_red_due`, asked for before the guard has to force it), so skipping can delay a movement, never starve it.
Spillback: links into an exit whose occupancy is at least `spillback_occupancy` with halting vehicles get no
discharge in the plan, so the plan does not feed a blocked exit and serves other movements instead.

Waiting weight (`wait_weight_s`, W): a queued vehicle's further delay counts 1 + w / W, where w is how long its
lane has already waited (red with demand, `SignalStatus.wait_s`, the max-red bound's clock); vehicles still
approaching count 1. Plain total delay is what the plan should minimise, but a plan re-made every second only sees
the vehicles of the next minute or so: each second, the main road's next arrivals make extending look a little
better than serving the side street, and the side street's wait is put off again and again, up to the max-red
bound (oracle-fed, corridor seed 1: 67 vehicles waited over 90 s). The weight stands for the arrivals the plan
cannot see yet. It is not tuned per network: W = 60 s (a vehicle waiting a minute counts double); W from 30 to
120 s all did better than none on the built-in corridor (travel 109.2-110.2 s against 111.5 s, seeds 1-3).

Corridor coordination (`coordination_horizon_s` > 0): the measurement's `upstream` arrivals (vehicles upstream
neighbours released or plan to release toward this junction, beyond the zone; controller/coordination.py) join the
predicted arrivals when due within that horizon, so a green is held for a platoon nobody here can see yet and
switch plans count the delay they would cause it. In return the controller publishes its own plan each second
(`published`): vehicles that crossed each stop line in the last step and the crossing times its chosen schedule
predicts; nothing while its measurement is unhealthy.

Flickering sensors: every measurement first passes through `LaneFilter` (controller/lane_filter.py), which holds a
queue on red until its lane is served (nothing leaves on red) and counts a vehicle over the stop line once, as it is
followed there. Without it a vehicle waiting at a red line that the camera loses is a call that vanished, and a
vehicle lost and found near the line reads as a departure plus an arrival (inflating the flow estimate), published
downstream as a platoon member that was never released. It can also keep a moving vehicle the camera lost where it
must still be, for up to `measurement_hold_s`; that is off by default (measured: see the parameter).

Cost per decision is a few rollouts, each linear in the predicted vehicles: pure Python, no numpy.
"""

from __future__ import annotations

from collections.abc import Sequence

from configs.controller import ControllerParams
from controller.coordination import PublishedPlan
from controller.guard import SignalStatus, Stage, max_red_due
from controller.lane_filter import LaneFilter
from controller.measurement import IntersectionMeasurement, LaneMeasurement
from controller.policies.lanes import DemandTracker, FlowEstimator, LaneTable, bounded_switch, status_at
from controller.registry import register
from controller.signal_model import SignalModel

__all__ = ["AdaptiveController"]

_EPS = 1e-6
_Windows = list[tuple[int, float, float]]  # planned greens: (phase, start_s, end_s) from now
_MAX_FUTURE_PER_LANE = 40


class AdaptiveController:
    name = "adaptive"

    def __init__(self, model: SignalModel, params: ControllerParams) -> None:
        self.model = model
        self.params = params
        self.table = LaneTable(model, params)
        self.flows = FlowEstimator.for_params(len(self.table.lanes), params)
        self.tracker = DemandTracker(self.table)
        self.filter = LaneFilter(
            len(self.table.lanes), hold_s=params.measurement_hold_s, free_speed_mps=params.free_speed_mps
        )
        self._lanes: list[LaneMeasurement | None] = []  # this step's filtered measurements
        self.headway_s = 3600.0 / params.saturation_flow_veh_h
        n = model.n_phases
        self._clear = [[sum(model.clearance(p, q)) for q in range(n)] for p in range(n)]
        self._demand: tuple[bool, ...] | None = None
        self._weights: list[float] | None = None  # per lane, the weight of its queued vehicles' delay
        self.last_plan: dict[str, float] = {}  # cost per candidate of the last full decision, for inspection
        self._published: PublishedPlan | None = None
        self._to_publish: tuple[IntersectionMeasurement, SignalStatus, int, tuple[int, ...]] | None = None
        # the decision's plan, for publishing: (phase asked for, arrivals, rates, current phase, green windows)
        self._chosen: tuple[int, list[list[float]], Sequence[Sequence[float]], int, _Windows] | None = None

    # -- the PhaseController interface -----------------------------------------------------------------------

    def decide(self, measurement: IntersectionMeasurement, status: SignalStatus) -> int:
        status = status_at(status, measurement.now_s)
        self._chosen = None
        wanted = self._choose(measurement, status)
        if status.stage is Stage.GREEN:
            wanted = bounded_switch(self.model, status, self._demand, wanted)
        self._published = None
        self._to_publish = None
        if self.params.coordination_horizon_s > 0 and measurement.healthy:
            self._to_publish = (measurement, status, wanted, tuple(self.flows.crossed))
        return wanted

    @property
    def published(self) -> PublishedPlan | None:
        """This second's plan for downstream neighbours (None with coordination off or an unhealthy measurement).

        Built when first read, so a junction nobody listens to pays nothing for it.
        """
        if self._published is None and self._to_publish is not None:
            self._published = self._publish(*self._to_publish)
        return self._published

    def _publish(
        self,
        measurement: IntersectionMeasurement,
        status: SignalStatus,
        wanted: int,
        crossed_n: Sequence[int],
    ) -> PublishedPlan:
        """The crossings of the last step and the schedule that follows from `wanted`."""
        now = measurement.now_s
        table = self.table
        crossed = {table.lanes[i]: n for i, n in enumerate(crossed_n) if n}
        chosen = self._chosen
        if chosen is not None and chosen[0] == wanted:
            _w, arrivals, rates, cur, windows = chosen
        else:
            arrivals = self._arrivals(self._lanes, measurement)
            rates = table.effective_rates(measurement.outgoing, self.params.spillback_occupancy)
            if status.stage is Stage.GREEN:
                cur = status.phase
                _c, windows = self._plan(arrivals, rates, cur, wanted)
            else:  # in a clearance towards the target: its green starts when the clearance ends
                cur = status.phase
                left = max(0.0, self._clear[cur][status.target] - status.stage_elapsed_s)
                if status.stage is Stage.ALL_RED:
                    left = max(0.0, self.model.clearance(cur, status.target)[1] - status.stage_elapsed_s)
                _c, windows = self._plan(arrivals, rates, cur, status.target, first_at_s=left)
        sim = _Rollout(self, arrivals, rates, cur, record=True)
        for p, start, end in windows:
            sim.serve(p, start, end)
        recorded = sim.departures or []
        departures = {table.lanes[i]: tuple(now + d for d in deps) for i, deps in enumerate(recorded) if deps}
        return PublishedPlan(
            junction_id=self.model.junction_id, now_s=now, crossed=crossed, departures_s=departures
        )

    def _choose(self, measurement: IntersectionMeasurement, status: SignalStatus) -> int:
        table = self.table
        lanes = table.lane_measurements(measurement.incoming)
        shown = status.phase if status.stage is not Stage.ALL_RED else None
        served = [shown is not None and table.rate[shown][i] > 0 for i in range(len(lanes))]
        lanes = self._lanes = self.filter.update(measurement.now_s, lanes, served)
        counts = [lm.vehicles if lm is not None else 0 for lm in lanes]
        self.flows.update(measurement.now_s, lanes, served, self.filter.crossed)
        self.tracker.update(status)
        self._demand = self.tracker.demand(status, counts)
        self._weights = self._wait_weights(status)  # before any plan, the published one included
        if status.stage is not Stage.GREEN:
            return status.target
        cur = status.phase
        phase = self.model.phases[cur]
        g = status.green_elapsed_s
        if g < phase.min_green_s - _EPS or not measurement.healthy:
            return cur
        due = max_red_due(self.model, cur, g, status.wait_s, self._demand)
        if due is not None:
            return due
        at_max = g >= phase.max_green_s - 1.0 + _EPS  # this is the last second the green may run
        rates = table.effective_rates(measurement.outgoing, self.params.spillback_occupancy)
        cands = self._candidates(cur, counts, rates)
        if not cands:
            return self._next_with_demand(cur, counts) if at_max else cur
        arrivals = self._arrivals(lanes, measurement)
        plans = {q: self._plan(arrivals, rates, cur, q) for q in cands}
        best_q = min(cands, key=lambda q: (plans[q][0], cands.index(q)))
        best_switch, windows = plans[best_q]
        self.last_plan = {f"switch->{q}": c for q, (c, _w) in plans.items()}
        self._chosen = (best_q, arrivals, rates, cur, windows)
        if at_max:
            return best_q
        room = phase.max_green_s - g
        for d in self.params.extension_probe_s:
            if d > room + _EPS:
                break
            cost, moved = self._extended(arrivals, rates, cur, d, windows, best_q)
            self.last_plan[f"extend{d:g}"] = cost
            if moved == 0:
                continue  # an extension that serves nobody only delays the others (gap-out)
            if cost < best_switch + self.params.switch_margin_veh_s - _EPS:
                shifted = [(cur, 0.0, d)] + [(p, a + d, b + d) for p, a, b in windows]
                self._chosen = (cur, arrivals, rates, cur, shifted)
                return cur
        return best_q

    def _wait_weights(self, status: SignalStatus) -> list[float] | None:
        """Per lane, 1 + how long the lane has waited / `wait_weight_s` (None with the weight off)."""
        w_s = self.params.wait_weight_s
        if w_s <= 0:
            return None
        n = len(self.table.lanes)
        waits = [float("inf")] * n
        for q, lanes in enumerate(self.table.served):
            for i in lanes:
                waits[i] = min(waits[i], status.wait_s[q])
        return [1.0 + (w / w_s if w != float("inf") else 0.0) for w in waits]

    def _next_with_demand(self, cur: int, counts: Sequence[int]) -> int:
        n = self.model.n_phases
        for step in range(1, n):
            k = (cur + step) % n
            if any(counts[i] > 0 for i in self.table.served[k]):
                return k
        return (cur + 1) % n

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

    def _arrivals(
        self, lanes: Sequence[LaneMeasurement | None], measurement: IntersectionMeasurement
    ) -> list[list[float]]:
        """Per lane, predicted stop-line arrival times (s from now), sorted: seen vehicles, then expected ones
        (from upstream neighbours' plans when coordinated, else from the measured flow)."""
        params = self.params
        horizon = params.horizon_s
        free = params.free_speed_mps
        upstream = measurement.upstream if params.coordination_horizon_s > 0 else {}
        coord_s = params.coordination_horizon_s
        out = []
        for i, lm in enumerate(lanes):
            times: list[float] = []
            zone = params.detection_range_m
            if lm is not None:
                zone = lm.zone_m
                times = [0.0] * lm.queued
                for v in lm.approaching:
                    speed = v.speed_mps if v.speed_mps is not None else free
                    times.append(v.distance_m / max(speed, free))
                times.sort()
            ups = upstream.get(self.table.lanes[i]) if upstream else None
            if ups:
                for v in ups:
                    t_s = v.distance_m / max(v.speed_mps or free, 1.0)
                    if t_s > coord_s:
                        break
                    times.append(t_s)
                times.sort()
                out.append(times)
                continue
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

    def _plan(
        self,
        arrivals: list[list[float]],
        rates: Sequence[Sequence[float]],
        cur: int,
        first: int,
        *,
        first_at_s: float | None = None,
    ) -> tuple[float, list[tuple[int, float, float]]]:
        """Switch now to `first`, then follow the sequence until every predicted vehicle is served.

        Each green lasts until its lanes gap out (within min/max green); phases without remaining vehicles are
        skipped. Returns (total delay in vehicle-seconds, the green windows (phase, start_s, end_s)).
        """
        sim = _Rollout(self, arrivals, rates, cur)
        phases = self.model.phases
        n = self.model.n_phases
        windows: list[tuple[int, float, float]] = []
        t = self._clear[cur][first] if first_at_s is None else first_at_s
        p = first
        while len(windows) < 3 * n:
            end = t + sim.clearing_s(p, t)
            sim.serve(p, t, end)
            windows.append((p, t, end))
            nxt = -1
            for step in range(1, n):
                q = (p + step) % n
                if sim.waiting(q, end + self._clear[p][q] + phases[q].min_green_s):
                    nxt = q
                    break
            if nxt < 0:
                if not sim.waiting(p, float("inf")):
                    break
                nxt = (p + 1) % n  # only later arrivals remain: keep cycling to reach them
            t = end + self._clear[p][nxt]
            p = nxt
        return sim.delay + sim.leftover(t), windows

    def _extended(
        self,
        arrivals: list[list[float]],
        rates: Sequence[Sequence[float]],
        cur: int,
        extend_s: float,
        windows: list[tuple[int, float, float]],
        target: int,
    ) -> tuple[float, int]:
        """Delay of: extend the current green `extend_s`, then the same windows as the switch plan, shifted.

        Returns (total delay, vehicles the extension lets through that `target`'s green would not serve as well:
        a lane that both greens serve gains nothing from the extension).
        """
        sim = _Rollout(self, arrivals, rates, cur)
        sim.serve(cur, 0.0, extend_s)
        rc, rt = rates[cur], rates[target]
        moved = sum(sim.ptr[i] for i in self.table.served[cur] if rt[i] < rc[i])
        t = extend_s
        for p, start, end in windows:
            sim.serve(p, start + extend_s, end + extend_s)
            t = end + extend_s
        return sim.delay + sim.leftover(t), moved


class _Rollout:
    """Lane-by-lane queue discharge under a sequence of green windows (one candidate schedule)."""

    __slots__ = (
        "arrivals",
        "delay",
        "departures",
        "free_at",
        "gap",
        "green_end",
        "headway",
        "phases",
        "ptr",
        "rates",
        "served",
        "startup",
        "weights",
    )

    def __init__(
        self,
        ctrl: AdaptiveController,
        arrivals: list[list[float]],
        rates: Sequence[Sequence[float]],
        cur: int,
        *,
        record: bool = False,
    ) -> None:
        n_lanes = len(arrivals)
        self.departures: list[list[float]] | None = [[] for _ in range(n_lanes)] if record else None
        self.arrivals = arrivals
        self.rates = rates
        self.served = ctrl.table.served
        self.phases = ctrl.model.phases
        self.headway = ctrl.headway_s
        self.startup = ctrl.params.startup_lost_s
        self.gap = ctrl.params.gap_s
        self.ptr = [0] * n_lanes
        self.free_at = [0.0] * n_lanes
        self.green_end = [0.0 if rates[cur][i] > 0 else -1e9 for i in range(n_lanes)]
        self.delay = 0.0
        self.weights = ctrl._weights

    def waiting(self, p: int, before_s: float) -> bool:
        """Whether a lane phase p serves has an unserved vehicle arriving before `before_s`."""
        rp, ptr, arrivals = self.rates[p], self.ptr, self.arrivals
        return any(
            rp[i] > 0.0 and ptr[i] < len(arrivals[i]) and arrivals[i][ptr[i]] < before_s
            for i in self.served[p]
        )

    def serve(self, p: int, start: float, end: float) -> None:
        rp = self.rates[p]
        total = 0.0
        for i in self.served[p]:
            r = rp[i]
            arr = self.arrivals[i]
            k = self.ptr[i]
            if r <= 0.0 or k >= len(arr):
                if r > 0.0:
                    self.green_end[i] = end
                continue
            h = self.headway / r
            t = start if self.green_end[i] >= start - 0.5 else start + self.startup
            if self.free_at[i] > t:
                t = self.free_at[i]
            n = len(arr)
            w = self.weights[i] if self.weights is not None else 1.0
            while k < n:
                a = arr[k]
                d = a if a > t else t
                if d > end:
                    break
                total += (d - a) * (w if a <= 0.0 else 1.0)
                if self.departures is not None:
                    self.departures[i].append(d)
                t = d + h
                k += 1
            self.ptr[i] = k
            self.free_at[i] = t
            self.green_end[i] = end
        self.delay += total

    def clearing_s(self, p: int, start: float) -> float:
        """Green needed until every lane of phase p gaps out, within its min/max green."""
        ph = self.phases[p]
        rp = self.rates[p]
        longest = 0.0
        limit = start + ph.max_green_s
        gap = self.gap
        for i in self.served[p]:
            r = rp[i]
            arr = self.arrivals[i]
            k = self.ptr[i]
            if r <= 0.0 or k >= len(arr):
                continue
            h = self.headway / r
            t = start if self.green_end[i] >= start - 0.5 else start + self.startup
            if self.free_at[i] > t:
                t = self.free_at[i]
            last = start
            n = len(arr)
            while k < n:
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

    def leftover(self, end_s: float) -> float:
        """Vehicles the schedule never served: counted as waiting until its end."""
        total = 0.0
        weights = self.weights
        for i, arr in enumerate(self.arrivals):
            w = weights[i] if weights is not None else 1.0
            for k in range(self.ptr[i], len(arr)):
                total += max(0.0, end_s - arr[k]) * (w if arr[k] <= 0.0 else 1.0)
        return total


register("adaptive", AdaptiveController)
