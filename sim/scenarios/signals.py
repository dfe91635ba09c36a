"""Phase design and Webster timing of a generated junction.

Phase design: the four arms form two axes (bearing positions 0/2 and 1/3). An axis whose two arms both have a
left bay gets protected lefts, NEMA-like: `<axis>-left` (both lefts together) then `<axis>-through` (throughs
and rights); otherwise one `<axis>` phase with throughs and rights green and lefts permissive ('g', yielding to
the opposing flow). Every green is followed by yellow and all-red (all links red).

Webster inputs (see `webster`): the critical flow ratio of a phase is the largest q/s over the lane groups it
serves, with
- a protected left bay: q_left / s_left;
- the through lanes of an approach: (q_through + e_r q_right [+ e_l q_left if the left shares the lane]) /
  (lanes * s_through), e_r and e_l being through-car equivalents of a right and a permissive left turner.
The saturation flows are for the scenarios' vehicle mix in SUMO (measured, see `SATURATION`).

Pure computation: no SUMO, no files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sim.scenarios.layout import Connection, Junction, PlainNetwork, Turn
from sim.scenarios.webster import PhaseDemand, SignalPlan

__all__ = [
    "SATURATION",
    "PhaseDesign",
    "ProgramPhase",
    "SaturationFlows",
    "SignalRules",
    "design_phases",
    "phase_demands",
    "program_phases",
]


@dataclass(frozen=True, slots=True)
class SignalRules:
    yellow_s: int = 4
    all_red_s: int = 2
    min_green_through_s: int = 10
    min_green_left_s: int = 6
    min_cycle_s: int = 40
    max_cycle_s: int = 150


@dataclass(frozen=True, slots=True)
class SaturationFlows:
    through_veh_h_lane: float
    left_protected_veh_h: float
    right_equivalent: float
    left_permissive_equivalent: float


# Queue discharge of SUMO 1.28 (default Krauss model, sigma 0.5) with the default vehicle mix, measured on
# `single` under oversaturation (every approach queued through whole greens, 2 seeds, 20 min each): vehicles
# crossing the stop line per displayed green second were 1300-1550 veh/h on through lanes and 1210-1410 veh/h
# on left bays. Lower than textbook values (1800-1900): SUMO's default drivers are sluggish starters.
SATURATION = SaturationFlows(
    through_veh_h_lane=1500.0,
    left_protected_veh_h=1350.0,
    right_equivalent=1.15,
    left_permissive_equivalent=2.0,
)


@dataclass(frozen=True, slots=True)
class PhaseDesign:
    name: str
    arms: tuple[str, ...]  # the axis' arms
    kind: str  # "left", "through" or "all"
    green_links: frozenset[int]  # 'G'
    yield_links: frozenset[int]  # 'g'


@dataclass(frozen=True, slots=True)
class ProgramPhase:
    name: str
    duration_s: int
    state: str


def design_phases(junction: Junction, network: PlainNetwork) -> tuple[PhaseDesign, ...]:
    links = network.signal_links(junction.id)
    arms = junction.ordered_arms()
    phases: list[PhaseDesign] = []
    for p, q in ((arms[0], arms[2]), (arms[1], arms[3])):
        names = (p.name, q.name)
        axis = f"{p.name}{q.name}"

        def pick(turns: set[Turn], names: tuple[str, ...] = names) -> frozenset[int]:
            return frozenset(c.link_index for c in links if c.from_arm in names and c.turn in turns)

        if p.has_bay and q.has_bay:
            phases.append(PhaseDesign(f"{axis}-left", names, "left", pick({Turn.LEFT}), frozenset()))
            phases.append(
                PhaseDesign(
                    f"{axis}-through", names, "through", pick({Turn.THROUGH, Turn.RIGHT}), frozenset()
                )
            )
        else:
            phases.append(
                PhaseDesign(axis, names, "all", pick({Turn.THROUGH, Turn.RIGHT}), pick({Turn.LEFT}))
            )
    return tuple(phases)


def phase_demands(
    junction: Junction,
    phases: tuple[PhaseDesign, ...],
    flows_veh_h: Mapping[tuple[str, Turn], float],
    *,
    rules: SignalRules,
    saturation: SaturationFlows = SATURATION,
) -> tuple[PhaseDemand, ...]:
    """Webster inputs of each phase from movement flows keyed by (from arm, turn)."""
    sat = saturation
    out: list[PhaseDemand] = []
    for ph in phases:
        ratios = [0.0]
        for name in ph.arms:
            arm = junction.arm(name)
            left = flows_veh_h.get((name, Turn.LEFT), 0.0)
            through = flows_veh_h.get((name, Turn.THROUGH), 0.0)
            right = flows_veh_h.get((name, Turn.RIGHT), 0.0)
            main = through + sat.right_equivalent * right
            if ph.kind == "left":
                ratios.append(left / sat.left_protected_veh_h)
                continue
            if ph.kind == "all":
                if arm.has_bay:
                    ratios.append(sat.left_permissive_equivalent * left / sat.through_veh_h_lane)
                else:
                    main += sat.left_permissive_equivalent * left
            ratios.append(main / (arm.lanes * sat.through_veh_h_lane))
        min_green = rules.min_green_left_s if ph.kind == "left" else rules.min_green_through_s
        out.append(PhaseDemand(ph.name, max(ratios), min_green, rules.yellow_s, rules.all_red_s))
    return tuple(out)


def program_phases(
    phases: tuple[PhaseDesign, ...], plan: SignalPlan, links: tuple[Connection, ...]
) -> tuple[ProgramPhase, ...]:
    """SUMO program: per green phase green, yellow (links losing green) and all-red."""
    n = len(links)
    out: list[ProgramPhase] = []
    for ph, timing in zip(phases, plan.phases, strict=True):
        green = "".join("G" if i in ph.green_links else "g" if i in ph.yield_links else "r" for i in range(n))
        yellow = "".join("y" if c in "Gg" else "r" for c in green)
        out.append(ProgramPhase(ph.name, timing.green_s, green))
        out.append(ProgramPhase(f"{ph.name} yellow", timing.yellow_s, yellow))
        if timing.all_red_s > 0:
            out.append(ProgramPhase(f"{ph.name} all-red", timing.all_red_s, "r" * n))
    return tuple(out)
