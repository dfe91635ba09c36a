"""SafetyMonitor: each rule it checks, on hand-made signal sequences (good and bad together)."""

from __future__ import annotations

import pytest

from configs.controller import ControllerParams
from controller.monitor import SafetyMonitor
from controller.signal_model import SignalModel
from tests.controller.builders import PERMISSIVE, make_model

M = (
    make_model()
)  # phases: 0 NS-left, 1 NS-through, 2 EW-left, 3 EW-through; yellow 4, all-red 2, min 5, max 60


def _run(model: SignalModel, steps: list[tuple[float, str]], demand=None) -> SafetyMonitor:
    mon = SafetyMonitor(model)
    for t, state in steps:
        mon.observe(t, state, demand)
    return mon


def _switch(model: SignalModel, i: int, j: int, t0: float, green_s: float, yellow_s: float, red_s: float):
    """Green i from t0 for green_s, then the transition to j with the given durations, then green j."""
    steps = [(t0, model.phases[i].state)]
    t = t0 + green_s
    if yellow_s:
        steps.append((t, model.yellow_state(i, j)))
        t += yellow_s
    if red_s:
        steps.append((t, model.all_red_state(i, j)))
        t += red_s
    steps.append((t, model.phases[j].state))
    return steps


@pytest.mark.parametrize(
    ("green_s", "yellow_s", "red_s", "expected"),
    [
        (10, 4, 2, {}),
        (10, 5, 3, {}),  # longer change intervals are fine
        (10, 3, 2, {"short_yellow": 1}),
        (10, 4, 1, {"short_all_red": 1}),
        (10, 4, 0, {"short_all_red": 1}),  # all-red skipped
        (4, 4, 2, {"short_green": 1}),
        (10, 0, 2, {"green_to_red": 1}),  # yellow skipped: greens go straight to red
    ],
)
def test_transition_durations(green_s, yellow_s, red_s, expected):
    steps = _switch(M, 0, 1, 0.0, 20, 4, 2)  # a clean first switch
    tail = _switch(M, 1, 2, steps[-1][0], green_s, yellow_s, red_s)
    mon = _run(M, steps + tail[1:] + [(tail[-1][0] + 1, M.phases[2].state)])
    assert dict(mon.violations) == expected, mon.examples


def test_long_green_counted_once():
    mon = _run(M, [(float(t), M.phases[1].state) for t in range(0, 100)])
    assert dict(mon.violations) == {"long_green": 1}


def test_conflicting_or_foreign_states_are_unknown():
    both = "".join(
        "G" if "G" in (a, b) else "r" for a, b in zip(M.phases[1].state, M.phases[3].state, strict=True)
    )
    mon = _run(M, [(0.0, M.phases[1].state), (10.0, both)])
    assert mon.violations["unknown_state"] == 1
    # a yellow built for "through -> protected left" keeps the permissive left moving: it is no lead-in to the
    # cross street's green
    model = make_model(PERMISSIVE)
    steps = [(0.0, model.phases[0].state), (10.0, model.yellow_state(0, 1)), (15.0, model.phases[2].state)]
    assert _run(model, steps).violations["unknown_state"] == 1


def test_max_red_only_with_demand():
    steps = [(float(t), M.phases[1].state) for t in range(0, 200)]
    assert _run(M, steps, demand=[False, False, False, False]).violations["max_red"] == 0
    # max green is also exceeded here; max red triggers for each of the three other phases once
    assert _run(M, steps, demand=[True, False, True, True]).violations["max_red"] == 3


def test_protected_to_permissive_needs_yellow():
    model = make_model(PERMISSIVE)  # phase 1 protected lefts 'G', phase 0 permissive 'g' for the same links
    assert model.losing_links(1, 0) == frozenset({2, 8})
    direct = _run(model, [(0.0, model.phases[1].state), (10.0, model.phases[0].state)])
    assert direct.violations["green_to_red"] == 1
    proper = _run(model, _switch(model, 1, 0, 0.0, 10, model.phases[1].yellow_s, 0))
    assert proper.total == 0, proper.examples


def test_a_green_that_ends_past_its_max_between_observations_is_counted():
    """Checked only while the green showed, a 61 s green (max 60) seen at its start and at its end passed."""
    steps = _switch(M, 1, 2, 0.0, 61, 4, 2)
    assert dict(_run(M, steps).violations) == {"long_green": 1}
    assert _run(M, _switch(M, 1, 2, 0.0, 60, 4, 2)).total == 0


def test_a_red_wait_that_ends_past_max_red_between_observations_is_counted():
    """A phase served one observation after its bound used to have its wait cleared unjudged."""
    model = make_model(params=ControllerParams(max_red_s=90.0))
    demand = [False, False, True, False]  # phase 2 waits from t=0

    def served_at(t: float) -> list[tuple[float, str]]:
        return [(0.0, model.phases[1].state), (t - 8.0, model.yellow_state(1, 2)),
                (t - 4.0, model.all_red_state(1, 2)), (t, model.phases[2].state)]  # fmt: skip

    mon = _run(model, served_at(91.0), demand)  # last seen red at 87 s (87 < 90), served at 91 s
    assert dict(mon.violations) == {"max_red": 1, "long_green": 1}, mon.examples
    assert _run(model, served_at(90.0), demand).violations["max_red"] == 0


def test_an_initial_state_that_is_no_phase_green_is_counted():
    assert dict(_run(M, [(0.0, "G" * len(M.phases[0].state))]).violations) == {"unknown_state": 1}
