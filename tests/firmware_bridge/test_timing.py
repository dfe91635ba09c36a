"""The virtual controller's actuated dual-ring timing, with injected time."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge.emulator.timing import NEMA_DUAL_RING, ActuatedTimer, Light, PhaseInputs, SplitPlan

DT = 0.1


NO_INPUTS = PhaseInputs()


def run(timer: ActuatedTimer, start_s: float, end_s: float, inputs: PhaseInputs = NO_INPUTS,
        plan: SplitPlan | None = None) -> list[tuple[float, frozenset[int]]]:  # fmt: skip
    """Step at 10 Hz; returns (time, greens) at every change."""
    changes = []
    last = timer.signal.greens
    n = round((end_s - start_s) / DT)
    for i in range(n + 1):
        now = start_s + i * DT
        greens = timer.step(now, inputs, plan).greens
        if greens != last:
            changes.append((round(now, 1), greens))
            last = greens
    return changes


def test_rests_on_main_street_without_calls() -> None:
    timer = ActuatedTimer()
    assert timer.signal.greens == {2, 6}
    assert run(timer, 0, 120) == []


def test_side_street_call_is_served_after_min_green_with_full_clearance() -> None:
    timer = ActuatedTimer()
    run(timer, 0, 3)
    changes = run(timer, 3.1, 40, PhaseInputs(actuated=frozenset({4})))
    # 2/6 have timed 8 s min green; yellow 4.0 s + red clear 1.5 s, then 4 (its ring partner 8 is not called)
    assert changes[0] == (8.0, frozenset())
    assert changes[1] == (13.5, frozenset({4}))


def test_hold_keeps_green_past_max_and_force_off_ends_it_after_min() -> None:
    timer = ActuatedTimer()
    held = run(timer, 0, 60, PhaseInputs(actuated=frozenset({4}), hold=frozenset({2, 6})))
    assert held == []  # still 2/6: max1 is 35 s, the hold wins
    changes = run(timer, 60.1, 70, PhaseInputs(actuated=frozenset({4}), force_off=frozenset({2, 6})))
    assert changes[0] == (60.1, frozenset())


def test_omit_skips_a_called_phase() -> None:
    timer = ActuatedTimer()
    changes = run(timer, 0, 60, PhaseInputs(veh_call=frozenset({4}), omit=frozenset({4})))
    assert all(4 not in greens for _, greens in changes)


def test_gap_out_follows_passage_time() -> None:
    timer = ActuatedTimer()
    run(timer, 0, 9, PhaseInputs(veh_call=frozenset({3})))
    # 2/6 end at their 8 s minimum, clear for 4.0 + 1.5 s, so 3 starts at 13.5 s; its detector is occupied to 20 s
    changes = run(timer, 9.1, 19.9, PhaseInputs(actuated=frozenset({3})))
    start3 = next(t for t, g in changes if 3 in g)
    changes = run(timer, 20.0, 40)
    end3 = next(t for t, g in changes if 3 not in g)
    assert start3 <= 14.0
    assert abs(end3 - 21.9) < 0.15  # last actuation 19.9 s + passage 2.0 s


def test_stored_plan_runs_its_cycle_with_force_offs_at_split_ends() -> None:
    timer = ActuatedTimer()
    splits = {p: 35.0 if p % 2 == 0 else 15.0 for p in range(1, 9)}
    plan = SplitPlan(1, 100, 20, splits, max_recall=frozenset({2, 6}), coord=frozenset({2, 6}))
    changes = run(timer, 0, 500, PhaseInputs(veh_call=frozenset({1, 3, 4, 5, 7, 8})), plan)
    starts: dict[int, list[float]] = {}
    for (_, before), (t, after) in zip(changes, changes[1:], strict=False):
        for phase in after - before:
            starts.setdefault(phase, []).append(t)
        if before == {2, 6} and not after:
            # coordinated 2/6: cycle zero at offset 20 s, forced off at split 35 - yellow 4 - red 1.5 = 29.5 s
            assert (t - 20) % 100 == pytest.approx(29.5, abs=0.01)
    # ring order from the coordinated phase: 2 | 3, 4 | 1, each starting where the previous split ends
    for phase, offset_in_cycle in ((3, 35.0), (4, 50.0), (1, 85.0), (2, 0.0)):
        late = [t for t in starts[phase] if t > 150]
        assert len(late) >= 3
        assert all((t - 20) % 100 == pytest.approx(offset_in_cycle, abs=0.01) for t in late), (phase, late)


def test_a_phase_that_gaps_out_gives_its_time_to_the_next() -> None:
    timer = ActuatedTimer()
    splits = {p: 35.0 if p % 2 == 0 else 15.0 for p in range(1, 9)}
    plan = SplitPlan(1, 100, 0, splits, max_recall=frozenset({2, 6}), coord=frozenset({2, 6}))
    run(timer, 0, 309.9, PhaseInputs(veh_call=frozenset({4})), plan)
    run(
        timer, 310.0, 310.0, PhaseInputs(veh_call=frozenset({4}), actuated=frozenset({3})), plan
    )  # one car on 3
    changes = run(timer, 310.1, 400, PhaseInputs(veh_call=frozenset({4})), plan)
    start3 = next(t for (_, b), (t, a) in zip(changes, changes[1:], strict=False) if 3 in a - b)
    start4 = next(t for (_, b), (t, a) in zip(changes, changes[1:], strict=False) if 4 in a - b)
    end4 = next(t for (_, b), (t, a) in zip(changes, changes[1:], strict=False) if 4 in b - a)
    assert start3 == pytest.approx(335.0)  # its window opens at 35 s
    assert start4 == pytest.approx(344.5)  # 3 gapped out at its 5 s minimum + 4.5 s clearance: 4 starts early
    assert end4 == pytest.approx(379.5)  # ...and is still forced off at its fixed point, 85 - 5.5 s


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(*(st.frozensets(st.integers(1, 8), max_size=3) for _ in range(5))), min_size=1, max_size=12
    ),
    st.booleans(),
)
def test_fuzz_never_conflicting_greens_and_clearances_run_in_full(
    script: list[tuple[frozenset[int], ...]], with_plan: bool
) -> None:
    timer = ActuatedTimer()
    splits = {p: 35.0 if p % 2 == 0 else 15.0 for p in range(1, 9)}
    plan = (
        SplitPlan(1, 100, 7, splits, max_recall=frozenset({2, 6}), coord=frozenset({2, 6}))
        if with_plan
        else None
    )
    now = 0.0
    yellow_since: dict[int, float] = {}
    green_since: dict[int, float] = {}
    for hold, force, call, omit, act in script:
        inputs = PhaseInputs(hold=hold, force_off=force, veh_call=call, omit=omit, actuated=act)
        for _ in range(60):  # 6 s per script entry
            now = round(now + DT, 1)
            before = timer.signal
            sig = timer.step(now, inputs, plan)
            greens = sorted(sig.greens)
            for a in greens:
                for b in greens:
                    assert a == b or NEMA_DUAL_RING.compatible(a, b), (now, greens)
            for p in range(1, 9):
                was, is_ = before.light(p), sig.light(p)
                if was is not Light.GREEN and is_ is Light.GREEN:
                    green_since[p] = now
                if was is Light.GREEN and is_ is Light.YELLOW:
                    t = timer.timings[p]
                    assert now - green_since.get(p, 0.0) >= t.min_green_s - 1e-6
                    yellow_since[p] = now
                if was is Light.YELLOW and is_ is not Light.YELLOW:
                    assert now - yellow_since[p] >= timer.timings[p].yellow_s - 1e-6
                    assert is_ is Light.RED
