"""Deriving the phase model from a SUMO program: which greens, and the clearance each switch needs."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.guard import SafetyGuard
from controller.monitor import SafetyMonitor
from controller.signal_model import ProgramPhase, derive_signal_model
from tests.controller.builders import PARTIAL_YELLOW, four_way_links, make_model

ROOT = Path(__file__).resolve().parents[2]


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


def test_a_stage_clears_for_the_longest_yellow_and_all_red_of_its_phases() -> None:
    """Phases 2 and 6 run together; 6 needs 4.5 s of yellow and 2.5 s all-red, 2 only 4 s and 2 s. The stage must
    give the longer ones on every switch, whatever stage follows (the example's stages all pair equal timings, so
    taking the shorter, or the next stage's, went unseen)."""
    import yaml

    from configs.intersection import IntersectionConfig
    from controller.intersection_model import model_from_intersection

    body = yaml.safe_load((ROOT / "configs" / "intersection.example.yaml").read_text())
    body.pop("kind")
    for phase in body["phases"]:
        if phase["id"] == 6:
            phase.update(yellow_s=4.5, all_red_s=2.5)
    im = model_from_intersection(IntersectionConfig.model_validate(body))
    model = im.model
    k = next(i for i, phases in enumerate(im.stage_phases) if {2, 6} <= set(phases))
    assert (model.phases[k].yellow_s, model.phases[k].all_red_s) == (4.5, 2.5)
    others = [j for j in range(model.n_phases) if model.losing_links(k, j)]
    assert others and all(model.clearance(k, j) == (4.5, 2.5) for j in others)
    # and the guard shows them: 5 one-second steps of yellow (4.5 s), 3 of all-red (2.5 s)
    guard = SafetyGuard(model, start_phase=k, now_s=0.0)
    shown = [guard.step(float(t), others[0]).state for t in range(1, 60)]
    green_k = model.phases[k].state
    after = shown[next(i for i, s in enumerate(shown) if s != green_k):]
    yellow = model.yellow_state(k, others[0])
    all_red = model.all_red_state(k, others[0])
    assert after[:8] == [yellow] * 5 + [all_red] * 3


def test_a_link_clears_for_the_longest_yellow_the_program_gives_it_anywhere() -> None:
    """Links 0/1 and 6/7 get 5 s of yellow after the first NS green and 3.5 s after the second: a switch from the
    second one straight to EW must still give them 5 s (taking the last one found gave 3.5 s)."""
    program = (
        ProgramPhase("GGGrrrGGGrrr", 20),
        ProgramPhase("yyyrrryyyrrr", 5),
        ProgramPhase("rrrGGGrrrGGG", 20),
        ProgramPhase("rrryyyrrryyy", 3),
        ProgramPhase("GGrrrrGGrrrr", 15),
        ProgramPhase("yyrrrryyrrrr", 3.5),
        ProgramPhase("rrrGGGrrrGGG", 20),
        ProgramPhase("rrryyyrrryyy", 3),
    )
    model = derive_signal_model("J", four_way_links(), program, min_green_s=5, max_green_s=60, max_red_s=120,
                                yellow_s=3.0)  # fmt: skip
    ns_through = next(p.index for p in model.phases if p.state == "GGrrrrGGrrrr")
    ew = next(p.index for p in model.phases if p.state == "rrrGGGrrrGGG")
    assert model.clearance(ns_through, ew) == (5.0, 0.0)
