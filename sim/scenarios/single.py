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

Measured (SUMO 1.28, --time-to-teleport -1, seeds 1-3): about 2300 vehicles, all inserted, all but the ~55
still driving at 3600 s arrive, no teleports or collisions; mean timeLoss 39-46 s, waitingTime 28-34 s. The
average plan (cycle 85 s) runs NS at x 0.95 and EW at x 0.3-0.4 in the first slice and the reverse in the
third (EW-left 0.97); re-timing by Webster every 15 minutes cuts mean timeLoss to 35-37 s.
"""

from __future__ import annotations

from sim.scenarios.definition import ScenarioDefinition
from sim.scenarios.demand import Demand, OdFlow
from sim.scenarios.layout import Arm, ArmRef, Junction, Layout, Turn, turn_between

__all__ = ["FLOWS_VEH_H", "JUNCTION_ID", "definition"]

JUNCTION_ID = "C"

# veh/h per slice (0-15, 15-30, 30-45, 45-60 min) for each approach and turn.
FLOWS_VEH_H: dict[tuple[str, Turn], tuple[float, ...]] = {
    ("N", Turn.THROUGH): (640, 620, 240, 260),
    ("N", Turn.LEFT): (120, 120, 50, 70),
    ("N", Turn.RIGHT): (90, 100, 60, 70),
    ("S", Turn.THROUGH): (600, 580, 220, 240),
    ("S", Turn.LEFT): (110, 110, 45, 60),
    ("S", Turn.RIGHT): (80, 90, 50, 60),
    ("E", Turn.THROUGH): (220, 380, 580, 400),
    ("E", Turn.LEFT): (50, 110, 170, 120),
    ("E", Turn.RIGHT): (60, 80, 100, 80),
    ("W", Turn.THROUGH): (200, 360, 560, 380),
    ("W", Turn.LEFT): (45, 100, 160, 110),
    ("W", Turn.RIGHT): (50, 70, 90, 70),
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
