"""bench/progression.py: halts are attributed to the right signal of a trip, in order, and each signal's seconds to
the right kind of green use, from synthetic steps and a real SUMO run."""

import pytest
import sumolib

from bench.progression import GREEN_USE, GreenUseRecorder, HaltRecorder, _lane_signal, progression
from sim.compare import resolve_scenario
from sim.runner import RunSpec, run_one
from sim.sumocfg import read_sumocfg

LANES = {"a1": ("A", "A_in"), "a2": ("A", "A_in"), "b1": ("B", "B_in"), "c1": ("C", "C_in")}


def _record(steps):
    rec = HaltRecorder(LANES)
    for step in steps:
        rec.observe(step)
    return rec


def test_first_and_later_signals_are_counted_per_trip_in_order():
    rec = _record(
        [
            [("v1", "a1", 5.0), ("v2", "b1", 0.0), ("v3", "x", 0.0)],  # v3 off every approach: not counted
            [("v1", "a2", 0.0), ("v2", "b1", 3.0)],  # v1 halts at A, its first signal
            [("v1", "b1", 9.0), ("v2", "c1", 0.05)],  # v2 halts at C, a later signal
            [("v1", "c1", 8.0)],
        ]
    )
    assert rec.visits == {"v1": ["A", "B", "C"], "v2": ["B", "C"]}
    stats = progression(rec.visits, rec.halts, rec.approach)
    assert (stats.first_visits, stats.first_halts) == (2, 2)  # v1 at A, v2 at B
    assert (stats.later_visits, stats.later_halts) == (3, 1)  # v1 at B and C, v2 at C (halted)
    assert stats.by_approach == {"B/B_in": (1, 0), "C/C_in": (2, 1)}
    assert stats.later_share == 1 / 3


def test_a_vehicle_back_on_a_passed_approach_is_ignored_there():
    rec = _record([[("v", "a1", 5.0)], [("v", "b1", 5.0)], [("v", "a1", 0.0)]])
    assert rec.visits == {"v": ["A", "B"]}
    assert rec.halts == {}  # its halt on the way back is not charged to the visit at A, which it passed


def test_green_use_tells_a_used_green_from_an_idle_one_and_a_clearance():
    use = GreenUseRecorder({"S": ("a", "a", "b", "")})  # lane a has links 0 and 1, b link 2, index 3 is unused
    steps = [
        (1, "GGrr", set(), {"b"}),  # a's green begins: start-up counts as used
        (2, "GGrr", {"a"}, {"b"}),  # a vehicle crosses
        (3, "GGrr", set(), {"b"}),
        (4, "GGrr", set(), {"b"}),  # 2 s since the last crossing: still within the gap
        (5, "GGrr", set(), {"b"}),  # 3 s without a crossing while b queues: idle
        (6, "GGrr", {"b"}, set()),  # idle, nobody waiting (a crossing on a red lane is not a green's use)
        (7, "yyrr", set(), {"b"}),
        (8, "rrGG", set(), {"a"}),  # b's green begins (a link of the unused index is ignored)
    ]
    for now, state, crossed, halting in steps:
        use.observe("S", float(now), state, crossed, halting)
    assert use.signals["S"].seconds == dict(zip(GREEN_USE, (1.0, 5.0, 1.0, 1.0), strict=True))
    with pytest.raises(ValueError, match="expected a 4-link state"):
        use.observe("S", 9.0, "GGr", set(), set())


def test_a_real_run_reports_halts_at_the_single_junction():
    _name, cfg = resolve_scenario("single")
    lanes = _lane_signal(cfg, 150.0)
    assert lanes and {sig for sig, _edge in lanes.values()} == {"C"}
    rec = HaltRecorder(lanes)
    use = GreenUseRecorder()
    steps = []

    def on_step(api, now_s):
        steps.append(now_s)
        rec.on_step(api, now_s)
        use.on_step(api, now_s)

    result = run_one(RunSpec(cfg, "fixed", 1, end_s=240.0), on_step=on_step)
    assert steps == [float(t) for t in range(1, 241)]  # once per 1 s step, after it
    stats = progression(rec.visits, rec.halts, rec.approach)
    # one signal: every trip's signal is its first; under a fixed plan some arrive on red and halt
    assert stats.later_visits == 0
    assert 0 < stats.first_halts < stats.first_visits
    assert stats.first_visits <= result["trips"]
    # green use: every second counted once; the fixed plan's clearances (read from the net, not the run) exactly
    seconds = use.signals["C"].seconds
    assert sum(seconds.values()) == 240.0
    net = sumolib.net.readNet(str(read_sumocfg(cfg).net_file), withPrograms=True)
    (program,) = net.getTLS("C").getPrograms().values()
    phases = [(int(p.duration), "G" not in p.state and "g" not in p.state) for p in program.getPhases()]
    cycle = sum(d for d, _c in phases)

    def in_clearance(t: int) -> bool:
        t %= cycle
        for d, clearing in phases:
            if t < d:
                return clearing
            t -= d
        raise AssertionError

    assert seconds["clearance"] == sum(in_clearance(t) for t in range(1, 241))
    assert seconds["green used"] > seconds["green idle, others queued"] > 0
