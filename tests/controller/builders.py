"""Builders for controller tests: signal models from hand-written SUMO-like programs, and measurements."""

from __future__ import annotations

from collections.abc import Sequence

from configs.controller import ControllerParams
from controller.guard import SafetyGuard
from controller.measurement import (
    ApproachingVehicle,
    IntersectionMeasurement,
    LaneMeasurement,
    OutgoingMeasurement,
)
from controller.signal_model import Link, ProgramPhase, SignalModel, derive_signal_model

# Four-phase junction with protected lefts, yellow and all-red (like the built-in `single`): approaches N,E,S,W,
# each with a right+through lane (links r, s) and a left lane (link l); 12 links.
FOUR_PHASE = (
    ProgramPhase("rrGrrrrrGrrr", 8),  # NS left
    ProgramPhase("rryrrrrryrrr", 4),
    ProgramPhase("rrrrrrrrrrrr", 2),
    ProgramPhase("GGrrrrGGrrrr", 22),  # NS through
    ProgramPhase("yyrrrryyrrrr", 4),
    ProgramPhase("rrrrrrrrrrrr", 2),
    ProgramPhase("rrrrrGrrrrrG", 11),  # EW left
    ProgramPhase("rrrrryrrrrry", 4),
    ProgramPhase("rrrrrrrrrrrr", 2),
    ProgramPhase("rrrGGrrrrGGr", 20),  # EW through
    ProgramPhase("rrryyrrrryyr", 4),
    ProgramPhase("rrrrrrrrrrrr", 2),
)

# Cologne-style program: permissive lefts ('g') that become protected ('G'), no all-red.
PERMISSIVE = (
    ProgramPhase("GGgrrrGGgrrr", 29),
    ProgramPhase("yygrrryygrrr", 5),
    ProgramPhase("rrGrrrrrGrrr", 6),
    ProgramPhase("rryrrrrryrrr", 5),
    ProgramPhase("rrrGGgrrrGGg", 29),
    ProgramPhase("rrryygrrryyg", 5),
    ProgramPhase("rrrrrGrrrrrG", 6),
    ProgramPhase("rrrrryrrrrry", 5),
)

# The main street served twice per cycle with the same green string (a switch between the two changes nothing).
REPEATED = (
    ProgramPhase("GGrrrrGGrrrr", 20),
    ProgramPhase("yyrrrryyrrrr", 3),
    ProgramPhase("rrrGGrrrrGGr", 20),
    ProgramPhase("rrryyrrrryyr", 3),
    ProgramPhase("GGrrrrGGrrrr", 20),
    ProgramPhase("yyrrrryyrrrr", 3),
    ProgramPhase("rrrrrGrrrrrG", 10),
    ProgramPhase("rrrrryrrrrry", 3),
)

# A lagging cut-off: the NS lefts get 3 s of yellow while the throughs run on as a green of their own, whose own
# clearance (4 s yellow, 2 s all-red) the lefts' links must also get when the model switches straight from the
# first green to EW.
PARTIAL_YELLOW = (
    ProgramPhase("GGGrrrGGGrrr", 20),
    ProgramPhase("GGyrrrGGyrrr", 3),
    ProgramPhase("GGrrrrGGrrrr", 20),
    ProgramPhase("yyrrrryyrrrr", 4),
    ProgramPhase("rrrrrrrrrrrr", 2),
    ProgramPhase("rrrGGGrrrGGG", 30),
    ProgramPhase("rrryyyrrryyy", 4),
    ProgramPhase("rrrrrrrrrrrr", 2),
)

# Eight overlapping phases in the style of RESCO's grid4x4 (NEMA-like pairs, right turns 's' on red), 3 s yellows
# that keep links green into the next phase.
OVERLAPPING = (
    ProgramPhase("GGrsssGGrsss", 10),  # NS through
    ProgramPhase("yyrsssyyrsss", 3),
    ProgramPhase("srGssssrGsss", 10),  # NS lefts
    ProgramPhase("sryssssrysss", 3),
    ProgramPhase("GGGsssrrrsss", 10),  # N all
    ProgramPhase("yyysssrrrsss", 3),
    ProgramPhase("rrrsssGGGsss", 10),  # S all
    ProgramPhase("rrrsssyyysss", 3),
    ProgramPhase("sssGGrsssGGr", 10),  # EW through
    ProgramPhase("sssyyrsssyyr", 3),
    ProgramPhase("sssrrGsssrrG", 10),  # EW lefts
    ProgramPhase("sssrrysssrry", 3),
    ProgramPhase("sssGGGsssrrr", 10),  # E all
    ProgramPhase("sssyyysssrrr", 3),
    ProgramPhase("sssrrrsssGGG", 10),  # W all
    ProgramPhase("sssrrrsssyyy", 3),
)

APPROACHES = ("n", "e", "s", "w")


def four_way_links() -> tuple[Link, ...]:
    """12 links: per approach, right and through from lane _0, left from lane _1."""
    links = []
    for a, name in enumerate(APPROACHES):
        right, through, left = (a + 3) % 4, (a + 2) % 4, (a + 1) % 4
        links.append(Link(3 * a, f"{name}_in_0", f"{APPROACHES[right]}_out_0"))
        links.append(Link(3 * a + 1, f"{name}_in_0", f"{APPROACHES[through]}_out_0"))
        links.append(Link(3 * a + 2, f"{name}_in_1", f"{APPROACHES[left]}_out_0"))
    return tuple(links)


def make_model(
    program: Sequence[ProgramPhase] = FOUR_PHASE, params: ControllerParams | None = None
) -> SignalModel:
    p = params or ControllerParams()
    return derive_signal_model(
        "J",
        four_way_links(),
        program,
        min_green_s=p.min_green_s,
        max_green_s=p.max_green_s,
        max_red_s=p.max_red_s,
        yellow_s=p.yellow_s,
    )


def lane(
    lane_id: str, *, queued: int = 0, approaching: Sequence[tuple[float, float | None]] = ()
) -> LaneMeasurement:
    moving = tuple(
        ApproachingVehicle(distance_m=d, speed_mps=v) for d, v in sorted(approaching, key=lambda dv: dv[0])
    )
    return LaneMeasurement(
        lane_id=lane_id,
        vehicles=queued + len(moving),
        queued=queued,
        approaching=moving,
        queue_m=7.5 * queued,
        occupancy=min(1.0, 7.5 * (queued + len(moving)) / 150.0),
    )


def measure(
    model: SignalModel,
    now_s: float,
    lanes: dict[str, LaneMeasurement] | None = None,
    outgoing: dict[str, OutgoingMeasurement] | None = None,
) -> IntersectionMeasurement:
    """A measurement with every incoming lane present (empty unless given)."""
    given = lanes or {}
    incoming = {lid: given.get(lid) or lane(lid) for lid in model.incoming_lanes()}
    outs = {lid: OutgoingMeasurement(lid, 0, 0.0, 200.0) for lid in model.outgoing_lanes()}
    outs.update(outgoing or {})
    return IntersectionMeasurement(
        junction_id=model.junction_id, now_s=now_s, incoming=incoming, outgoing=outs
    )


def green_for(model: SignalModel, phase: int, seconds: int) -> SafetyGuard:
    """A guard that has shown `phase` green for `seconds`."""
    guard = SafetyGuard(model, start_phase=phase, now_s=0.0)
    for t in range(1, seconds + 1):
        guard.step(float(t), phase, None)
    return guard
