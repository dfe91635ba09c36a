"""A scenario definition (layout + demand + signal rules) compiled into networks, routes and fixed-time plans.

`compile_scenario` is where the Webster plans are made (see `webster` and `signals` for the method): each
junction gets Webster's plan on the hour-average movement flows; with a `Progression` all junctions share the
critical junction's cycle and get offsets that start the arterial through greens one travel time apart
(progression speed along the arterial), in the direction with the larger average arterial through flow.

Pure computation: no SUMO, no files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from sim.scenarios.demand import Demand, MovementKey, average_flows, movement_flows
from sim.scenarios.layout import ArmRef, Layout, PlainNetwork, Turn, find_route, plain_network
from sim.scenarios.signals import (
    SATURATION,
    PhaseDesign,
    ProgramPhase,
    SaturationFlows,
    SignalRules,
    design_phases,
    phase_demands,
    program_phases,
)
from sim.scenarios.webster import PhaseDemand, SignalPlan, common_cycle_s, webster_plan

__all__ = ["CompiledScenario", "Progression", "ScenarioDefinition", "compile_scenario"]


@dataclass(frozen=True, slots=True)
class Progression:
    """Arterial progression: junctions in eastbound order and the arms the arterial enters them by."""

    junctions: tuple[str, ...]
    forward_arm: str  # arm the arterial enters by in the listed order (e.g. "W" for eastbound)
    backward_arm: str  # arm it enters by in the reverse order
    speed_m_s: float


@dataclass(frozen=True, slots=True)
class ScenarioDefinition:
    name: str
    layout: Layout
    demand: Demand
    rules: SignalRules = field(default_factory=SignalRules)
    saturation: SaturationFlows = SATURATION
    progression: Progression | None = None
    end_s: int = 3600


@dataclass(frozen=True, slots=True)
class CompiledScenario:
    definition: ScenarioDefinition
    network: PlainNetwork
    routes: dict[tuple[ArmRef, ArmRef], tuple[str, ...]]
    flows: dict[MovementKey, tuple[float, ...]]
    phases: dict[str, tuple[PhaseDesign, ...]]
    demands: dict[str, tuple[PhaseDemand, ...]]
    plans: dict[str, SignalPlan]
    programs: dict[str, tuple[ProgramPhase, ...]]

    def degree_of_saturation(self, junction: str, slice_index: int) -> dict[str, float]:
        """Per phase: critical q/s of the slice divided by the plan's green share g/C (Webster's x)."""
        d = self.definition
        j = d.layout.junction(junction)
        slice_flows = {
            (arm, turn): q[slice_index] for (jid, arm, turn), q in self.flows.items() if jid == junction
        }
        ys = phase_demands(j, self.phases[junction], slice_flows, rules=d.rules, saturation=d.saturation)
        plan = self.plans[junction]
        return {
            y.name: y.critical_flow_ratio * plan.cycle_s / t.green_s
            for y, t in zip(ys, plan.phases, strict=True)
        }


def compile_scenario(definition: ScenarioDefinition) -> CompiledScenario:
    d = definition
    network = plain_network(d.layout)
    routes = {
        (od.origin, od.destination): find_route(d.layout, od.origin, od.destination)[0]
        for od in d.demand.flows
    }
    flows = movement_flows(d.layout, d.demand)
    phases = {j.id: design_phases(j, network) for j in d.layout.junctions}
    demands = {
        j.id: phase_demands(
            j, phases[j.id], average_flows(flows, j.id), rules=d.rules, saturation=d.saturation
        )
        for j in d.layout.junctions
    }
    bounds = {"min_cycle_s": d.rules.min_cycle_s, "max_cycle_s": d.rules.max_cycle_s}
    if d.progression is None:
        plans = {jid: webster_plan(dem, **bounds) for jid, dem in demands.items()}
    else:
        cycle = common_cycle_s(list(demands.values()), **bounds)
        plans = {jid: webster_plan(dem, cycle_s=cycle, **bounds) for jid, dem in demands.items()}
        plans = _with_offsets(d, plans, phases, flows)
    programs = {jid: program_phases(phases[jid], plans[jid], network.signal_links(jid)) for jid in plans}
    return CompiledScenario(d, network, routes, flows, phases, demands, plans, programs)


def _with_offsets(
    d: ScenarioDefinition,
    plans: dict[str, SignalPlan],
    phases: dict[str, tuple[PhaseDesign, ...]],
    flows: dict[MovementKey, tuple[float, ...]],
) -> dict[str, SignalPlan]:
    prog = d.progression
    if prog is None:
        return plans
    forward = sum(sum(flows.get((j, prog.forward_arm, Turn.THROUGH), ())) for j in prog.junctions)
    backward = sum(sum(flows.get((j, prog.backward_arm, Turn.THROUGH), ())) for j in prog.junctions)
    order = prog.junctions if forward >= backward else tuple(reversed(prog.junctions))
    enter_arm = prog.forward_arm if forward >= backward else prog.backward_arm
    out = dict(plans)
    first = d.layout.junction(order[0])
    travel_s = 0.0
    prev = first
    for jid in order:
        j = d.layout.junction(jid)
        travel_s += math.hypot(j.x_m - prev.x_m, j.y_m - prev.y_m) / prog.speed_m_s
        prev = j
        plan = plans[jid]
        start = _through_green_start_s(phases[jid], plan, enter_arm)
        # SUMO's offset delays the program: cycle time = (t - offset) mod C, so the through green of this
        # junction starts at offset + start; we want that at travel_s (first junction's through green at 0).
        offset = round(travel_s - start) % plan.cycle_s
        out[jid] = SignalPlan(
            cycle_s=plan.cycle_s,
            offset_s=offset,
            phases=plan.phases,
            flow_ratio_sum=plan.flow_ratio_sum,
            lost_time_s=plan.lost_time_s,
            webster_cycle_s=plan.webster_cycle_s,
        )
    return out


def _through_green_start_s(phases: tuple[PhaseDesign, ...], plan: SignalPlan, arm: str) -> int:
    t = 0
    for ph, timing in zip(phases, plan.phases, strict=True):
        if arm in ph.arms and ph.kind in ("through", "all"):
            return t
        t += timing.green_s + timing.yellow_s + timing.all_red_s
    raise ValueError(f"no through phase for arm {arm!r}")
