"""Deriving the phase model from a SUMO program: which greens, and the clearance each switch needs."""

from __future__ import annotations

import pytest

from controller.guard import SafetyGuard
from controller.monitor import SafetyMonitor
from controller.signal_model import ProgramPhase, derive_signal_model
from tests.controller.builders import PARTIAL_YELLOW, four_way_links, make_model


def test_a_switch_gets_the_longest_clearance_the_program_gives_its_losing_links() -> None:
    model = make_model(PARTIAL_YELLOW)
    assert [p.state for p in model.phases] == ["GGGrrrGGGrrr", "GGrrrrGGrrrr", "rrrGGGrrrGGG"]
    assert model.clearance(0, 1) == (3.0, 0.0)  # the program's own cut-off of the lefts: 3 s yellow, through runs on
    assert model.clearance(0, 2) == (4.0, 2.0)  # straight to EW: the throughs' 4 s yellow and 2 s all-red
    assert model.clearance(1, 2) == (4.0, 2.0)
    assert model.clearance(1, 0) == (0.0, 0.0)  # nothing loses right of way
    assert (model.phases[0].yellow_s, model.phases[0].all_red_s) == (4.0, 2.0)  # worst case, for planning


def test_guard_shows_the_full_clearance_when_it_skips_the_program_s_partial_yellow() -> None:
    model = make_model(PARTIAL_YELLOW)
    guard, mon = SafetyGuard(model, now_s=0.0), SafetyMonitor(model)
    mon.observe(0.0, guard.state)
    shown = []
    for t in range(1, 30):
        cmd = guard.step(float(t), 2)  # EW from the start, straight from the first green
        mon.observe(float(t), cmd.state)
        shown.append(cmd.state)
    assert shown.count("yyyrrryyyrrr") == 4 and shown.count("rrrrrrrrrrrr") == 2
    assert mon.total == 0, mon.examples


def test_nema_yellow_and_red_attributes_are_lower_bounds() -> None:
    # netconvert --tls.default-type NEMA writes greens only, the change interval in yellow= and red=
    program = [
        ProgramPhase("GGrrrrGGrrrr", 20, yellow_s=4.5, red_s=2.0),
        ProgramPhase("rrrGGrrrrGGr", 20, yellow_s=3.5, red_s=1.5),
    ]
    model = derive_signal_model("J", four_way_links(), program, min_green_s=5, max_green_s=60, max_red_s=120,
                                yellow_s=3.0)  # fmt: skip
    assert model.clearance(0, 1) == (4.5, 2.0) and model.clearance(1, 0) == (3.5, 1.5)


@pytest.mark.parametrize("program_yellow_s", [2.0, 5.0])
def test_yellow_never_below_the_configured_floor_nor_the_program(program_yellow_s: float) -> None:
    program = [ProgramPhase("GGrrrrGGrrrr", 20), ProgramPhase("yyrrrryyrrrr", program_yellow_s),
               ProgramPhase("rrrGGrrrrGGr", 20), ProgramPhase("rrryyrrrryyr", program_yellow_s)]  # fmt: skip
    model = derive_signal_model("J", four_way_links(), program, min_green_s=5, max_green_s=60, max_red_s=120,
                                yellow_s=3.0)  # fmt: skip
    assert model.clearance(0, 1)[0] == max(3.0, program_yellow_s)


@pytest.mark.parametrize("name", ["adaptive", "max-pressure", "webster"])
def test_a_left_sharing_its_lane_with_the_through_is_still_bounded_by_max_red(name: str) -> None:
    """Lane A: through (link 0, phase 0) and protected left (link 1, phase 1); lane B: phase 2. Queues never
    clear (a left-turner at the head of A blocks it), so only the max-red bound can bring phase 1 round."""
    from configs.controller import ControllerParams
    from controller.measurement import IntersectionMeasurement, LaneMeasurement
    from controller.registry import get_factory
    from controller.signal_model import Link

    program = [ProgramPhase("Grr", 20), ProgramPhase("yrr", 3), ProgramPhase("rGr", 10), ProgramPhase("ryr", 3),
               ProgramPhase("rrG", 20), ProgramPhase("rry", 3)]  # fmt: skip
    links = [Link(0, "A", "X"), Link(1, "A", "Y"), Link(2, "B", "Z")]
    model = derive_signal_model("J", links, program, min_green_s=5, max_green_s=60, max_red_s=120, yellow_s=3)
    ctrl = get_factory(name)(model, ControllerParams())
    guard, mon = SafetyGuard(model), SafetyMonitor(model)
    mon.observe(0.0, guard.state)
    worst = 0.0
    for t in range(1, 1200):
        m = IntersectionMeasurement("J", float(t), {lane: LaneMeasurement(lane, 6, 6, queue_m=40.0, occupancy=0.3)
                                                    for lane in ("A", "B")})  # fmt: skip
        cmd = guard.step(float(t), ctrl.decide(m, guard.status), ctrl.demand(m))
        mon.observe(float(t), cmd.state, None)  # judged as if every movement always waits
        worst = max(worst, cmd.status.red_wait_s[1])
    assert worst <= 120.0 and mon.total == 0, mon.examples
