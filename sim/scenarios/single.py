"""Built-in scenario `single`: one 4-arm signalised intersection, one hour of time-varying demand.

Layout: arms N, E, S, W, 450 m long, 50 km/h; each approach has 2 through lanes (the right one also turns right)
and a 60 m left-turn bay; exits have 2 lanes. Junction and signal id: "C".

Signals: protected lefts, NS-left, NS-through, EW-left, EW-through, each green followed by 4 s yellow and 2 s
all-red. The fixed plan is Webster's on the hour-average flows (`sim.scenarios.webster`), with saturation
flows from `sim.scenarios.signals.SATURATION`.

Demand (`FLOWS_VEH_H`, four 15-minute slices): the NS through movements peak first (the morning inflow), then
the EW direction peaks with heavy left turns in the third slice. A plan for the hour's average starves NS
through early and EW left in the third slice while wasting green on the other axis, but no movement stays
oversaturated for long, so fixed time is busy without gridlock.
"""

from __future__ import annotations

from sim.scenarios.definition import ScenarioDefinition
from sim.scenarios.demand import Demand, OdFlow
from sim.scenarios.layout import Arm, ArmRef, Junction, Layout, Turn, turn_between

__all__ = ["FLOWS_VEH_H", "JUNCTION_ID", "definition"]

JUNCTION_ID = "C"

# veh/h per slice (0-15, 15-30, 30-45, 45-60 min) for each approach and turn.
FLOWS_VEH_H: dict[tuple[str, Turn], tuple[float, ...]] = {
    ("N", Turn.THROUGH): (560, 600, 300, 320),
    ("N", Turn.LEFT): (110, 120, 70, 80),
    ("N", Turn.RIGHT): (90, 100, 70, 80),
    ("S", Turn.THROUGH): (520, 560, 280, 300),
    ("S", Turn.LEFT): (100, 110, 60, 70),
    ("S", Turn.RIGHT): (80, 90, 60, 70),
    ("E", Turn.THROUGH): (280, 420, 560, 380),
    ("E", Turn.LEFT): (60, 125, 170, 115),
    ("E", Turn.RIGHT): (70, 90, 100, 80),
    ("W", Turn.THROUGH): (260, 400, 540, 360),
    ("W", Turn.LEFT): (55, 115, 160, 105),
    ("W", Turn.RIGHT): (60, 80, 90, 70),
}


def _layout() -> Layout:
    arms = tuple(
        Arm(name, bearing, lanes=2, left_bay_m=60.0, length_m=450.0, speed_m_s=13.89)
        for name, bearing in (("N", 0.0), ("E", 90.0), ("S", 180.0), ("W", 270.0))
    )
    return Layout(junctions=(Junction(JUNCTION_ID, 0.0, 0.0, arms),))


def definition() -> ScenarioDefinition:
    layout = _layout()
    j = layout.junction(JUNCTION_ID)
    flows = []
    for (src, turn), veh_h in FLOWS_VEH_H.items():
        dst = next(a.name for a in j.arms if a.name != src and turn_between(j, src, a.name) == turn)
        flows.append(OdFlow(ArmRef(JUNCTION_ID, src), ArmRef(JUNCTION_ID, dst), veh_h))
    return ScenarioDefinition(name="single", layout=layout, demand=Demand(flows=tuple(flows)))
