"""bench/progression.py: halts are attributed to the right signal of a trip, in order, from a real SUMO run."""

from bench.progression import HaltRecorder, _lane_signal, progression
from sim.compare import resolve_scenario
from sim.runner import RunSpec, run_one

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


def test_a_real_run_reports_halts_at_the_single_junction():
    _name, cfg = resolve_scenario("single")
    lanes = _lane_signal(cfg, 150.0)
    assert lanes and {sig for sig, _edge in lanes.values()} == {"C"}
    rec = HaltRecorder(lanes)
    steps = []

    def on_step(api, now_s):
        steps.append(now_s)
        rec.on_step(api, now_s)

    result = run_one(RunSpec(cfg, "fixed", 1, end_s=240.0), on_step=on_step)
    assert steps == [float(t) for t in range(1, 241)]  # once per 1 s step, after it
    stats = progression(rec.visits, rec.halts, rec.approach)
    # one signal: every trip's signal is its first; under a fixed plan some arrive on red and halt
    assert stats.later_visits == 0
    assert 0 < stats.first_halts < stats.first_visits
    assert stats.first_visits <= result["trips"]
