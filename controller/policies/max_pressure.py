"""Varaiya's max-pressure control (2013) from camera-grade measurements: a strong, simple baseline.

Pressure of a phase = sum over its green links of (vehicles upstream - vehicles queued on the exit), each lane's
count shared among its links and each exit's among the links feeding it, with permissive links weighted by
`permissive_rate`. Slotted as in Varaiya's paper: every `pressure_interval_s` of green (the first slot no shorter than
the minimum green) the phase of maximum pressure is asked for (the current one on ties). A 10 s slot is the stronger
baseline on the nets we measured (5 s slots switch so often that yellow time dominates, and on Cologne the very short
greens produced collisions). The guard inserts yellow/all-red; the max-red bound is asked for explicitly
(`max_red_due`) so the guard never has to override it. It does not look ahead and does not skip empty phases by
sequence: it may pick any phase, as the algorithm does.
"""

from __future__ import annotations

from collections.abc import Sequence

from configs.controller import ControllerParams
from controller.guard import SignalStatus, Stage, max_red_due
from controller.measurement import IntersectionMeasurement
from controller.policies.lanes import DemandTracker, LaneTable, bounded_switch, status_at
from controller.registry import register
from controller.signal_model import SignalModel

__all__ = ["MaxPressureController"]

_EPS = 1e-6


class MaxPressureController:
    name = "max-pressure"

    def __init__(self, model: SignalModel, params: ControllerParams) -> None:
        self.model = model
        self.params = params
        self.table = LaneTable(model, params)
        self.tracker = DemandTracker(self.table)
        self._demand: tuple[bool, ...] | None = None
        self._next_decision_s = 0.0

    def decide(self, measurement: IntersectionMeasurement, status: SignalStatus) -> int:
        status = status_at(status, measurement.now_s)
        wanted = self._choose(measurement, status)
        if status.stage is not Stage.GREEN:
            return wanted
        return bounded_switch(self.model, status, self._demand, wanted)

    def _choose(self, measurement: IntersectionMeasurement, status: SignalStatus) -> int:
        table = self.table
        lanes = table.lane_measurements(measurement.incoming)
        counts = [lm.vehicles if lm is not None else 0 for lm in lanes]
        self.tracker.update(status)
        self._demand = self.tracker.demand(status, counts)
        if status.stage is not Stage.GREEN:
            return status.target
        cur = status.phase
        phase = self.model.phases[cur]
        g = status.green_elapsed_s
        first_decision_s = max(phase.min_green_s, self.params.pressure_interval_s)
        if g < first_decision_s - _EPS:
            self._next_decision_s = status.now_s + first_decision_s - g
            return cur
        due = max_red_due(self.model, cur, g, status.wait_s, self._demand)
        if due is not None:
            return due
        at_max = g >= phase.max_green_s - _EPS
        if status.now_s < self._next_decision_s - _EPS and not at_max:
            return cur
        self._next_decision_s = status.now_s + self.params.pressure_interval_s
        out = measurement.outgoing
        best, best_p = cur, -float("inf")
        if at_max:
            return self._next_with_demand(cur)
        for p in range(self.model.n_phases):
            pressure = 0.0
            rates = table.rate[p]
            for i in table.served[p]:
                lm = lanes[i]
                up = lm.vehicles if lm is not None else 0
                share = 1.0 / max(1, table.links_from[i])
                for exit_lane in table.exits[p][i]:
                    o = out.get(exit_lane)
                    # Varaiya's downstream term is the exit's queue: vehicles driving away on it are no load
                    down = o.halting / max(1, table.feeders.get(exit_lane, 1)) if o is not None else 0.0
                    pressure += rates[i] * (up * share - down)
            if pressure > best_p + _EPS or (p == cur and pressure >= best_p - _EPS):
                best, best_p = p, pressure
        return best

    def _next_with_demand(self, cur: int) -> int:
        n = self.model.n_phases
        for step in range(1, n):
            k = (cur + step) % n
            if self._demand is None or self._demand[k]:
                return k
        return (cur + 1) % n

    def demand(self, measurement: IntersectionMeasurement) -> Sequence[bool] | None:
        return self._demand


register("max-pressure", MaxPressureController)
