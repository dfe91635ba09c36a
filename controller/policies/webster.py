"""Webster fixed-time plans recomputed from measured flows: the classic "adaptive by re-timing" baseline.

Every `webster_update_cycles` cycles the plan is recomputed from smoothed arrival flows (FlowEstimator): per phase
the critical flow ratio y = max over its lanes of flow / (saturation x link share), a lane served by several
phases split evenly among them; Y = sum y; lost time L = sum over phases of (clearance + startup lost); cycle
C = (1.5 L + 5) / (1 - Y) clamped to [min_cycle_s, max_cycle_s], and C = max_cycle_s when Y >= 0.9
(oversaturated: Webster's formula diverges, so the longest cycle is split in proportion to y). Effective greens
(C - L) y_p / Y, clamped to each phase's min/max green. Until flows have been measured for one window the
program's own splits run. Phases are served in the program's order; a phase with no demand is skipped.
"""

from __future__ import annotations

from collections.abc import Sequence

from configs.controller import ControllerParams
from controller.guard import SignalStatus, Stage, max_red_due
from controller.measurement import IntersectionMeasurement
from controller.policies.lanes import DemandTracker, FlowEstimator, LaneTable, bounded_switch, status_at
from controller.registry import register
from controller.signal_model import SignalModel

__all__ = ["WebsterController", "webster_plan"]

_EPS = 1e-6
OVERSATURATED_Y = 0.9


def webster_plan(
    ratios: Sequence[float],
    lost_s: float,
    *,
    min_cycle_s: float,
    max_cycle_s: float,
    min_green_s: Sequence[float],
    max_green_s: Sequence[float],
) -> tuple[float, tuple[float, ...]]:
    """Cycle length and green per phase from critical flow ratios (Webster 1958).

    Returns:
        (cycle_s, greens_s): the cycle from the formula (or max_cycle_s when oversaturated) and the greens
        clamped to their bounds (so the greens plus lost time may differ from the cycle after clamping).
    """
    y_total = sum(ratios)
    if y_total <= _EPS:
        cycle = min_cycle_s
        share = [1.0 / len(ratios)] * len(ratios)
    else:
        cycle = max_cycle_s if y_total >= OVERSATURATED_Y else (1.5 * lost_s + 5.0) / (1.0 - y_total)
        cycle = min(max_cycle_s, max(min_cycle_s, cycle))
        share = [y / y_total for y in ratios]
    effective = max(0.0, cycle - lost_s)
    greens = tuple(
        min(hi, max(lo, effective * s)) for s, lo, hi in zip(share, min_green_s, max_green_s, strict=True)
    )
    return cycle, greens


class WebsterController:
    name = "webster"

    def __init__(self, model: SignalModel, params: ControllerParams) -> None:
        self.model = model
        self.params = params
        self.table = LaneTable(model, params)
        self.flows = FlowEstimator.for_params(len(self.table.lanes), params)
        self.tracker = DemandTracker(self.table)
        self.greens_s: tuple[float, ...] = tuple(
            min(p.max_green_s, max(p.min_green_s, p.program_green_s)) for p in model.phases
        )
        self.cycle_s = sum(self.greens_s) + sum(p.clearance_s for p in model.phases)
        self._demand: tuple[bool, ...] | None = None
        self._cycles = 0
        self._prev_phase: int | None = None

    def decide(self, measurement: IntersectionMeasurement, status: SignalStatus) -> int:
        status = status_at(status, measurement.now_s)
        wanted = self._choose(measurement, status)
        if status.stage is not Stage.GREEN:
            return wanted
        return bounded_switch(self.model, status, self._demand, wanted)

    def _choose(self, measurement: IntersectionMeasurement, status: SignalStatus) -> int:
        lanes = self.table.lane_measurements(measurement.incoming)
        counts = [lm.vehicles if lm is not None else 0 for lm in lanes]
        shown = status.phase if status.stage is not Stage.ALL_RED else None
        served = [shown is not None and self.table.rate[shown][i] > 0 for i in range(len(lanes))]
        self.flows.update(measurement.now_s, lanes, served)
        self.tracker.update(status)
        self._demand = self.tracker.demand(status, counts)
        if status.stage is not Stage.GREEN:
            return status.target
        cur = status.phase
        if self._prev_phase is not None and cur != self._prev_phase and cur <= self._prev_phase:
            self._cycles += 1  # wrapped around the sequence
            if self._cycles % self.params.webster_update_cycles == 0:
                self._replan()
        self._prev_phase = cur
        phase = self.model.phases[cur]
        g = status.green_elapsed_s
        if g < phase.min_green_s - _EPS:
            return cur
        due = max_red_due(self.model, cur, g, status.wait_s, self._demand)
        if due is not None:
            return due
        if g < self.greens_s[cur] - _EPS and g < phase.max_green_s - _EPS:
            return cur
        n = self.model.n_phases
        for step in range(1, n):
            k = (cur + step) % n
            if any(counts[i] > 0 for i in self.table.served[k]):
                return k
        return cur if g < phase.max_green_s - _EPS else (cur + 1) % n

    def _replan(self) -> None:
        if self.flows.elapsed_s < self.params.flow_window_s:
            return
        table, params = self.table, self.params
        n_serving = [0] * len(table.lanes)
        for served in table.served:
            for i in served:
                n_serving[i] += 1
        sat = params.saturation_flow_veh_h / 3600.0
        ratios = []
        for p, served in enumerate(table.served):
            y = 0.0
            for i in served:
                y = max(y, self.flows.rate_veh_s[i] / n_serving[i] / (sat * table.rate[p][i]))
            ratios.append(y)
        lost = sum(p.clearance_s + params.startup_lost_s for p in self.model.phases)
        self.cycle_s, self.greens_s = webster_plan(
            ratios,
            lost,
            min_cycle_s=params.min_cycle_s,
            max_cycle_s=params.max_cycle_s,
            min_green_s=[p.min_green_s for p in self.model.phases],
            max_green_s=[p.max_green_s for p in self.model.phases],
        )

    def demand(self, measurement: IntersectionMeasurement) -> Sequence[bool] | None:
        return self._demand


register("webster", WebsterController)
