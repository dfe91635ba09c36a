"""Regression: the adaptive optimizer against fixed, actuated and max-pressure on the built-in scenarios, 3 seeds.

Full simulated hour (the built-in scenarios are small: one run takes a few seconds with libsumo), seeds run in
two processes. Two layers:
- floors that hold today and must keep holding (a change that loses them is a regression);
- the issue-3 targets (stop time <= 0.75 x fixed, travel time <= 0.85 x fixed, delay below actuated and
  max-pressure), strict-xfail where they are not met yet, so the day they are met the test says so.
"""

from __future__ import annotations

import functools

import pytest

from sim.compare import compare

pytestmark = pytest.mark.slow

SEEDS = (1, 2, 3)
CONTROLLERS = ("fixed", "actuated", "max-pressure", "adaptive")
NOT_YET = {
    "single": "adaptive delay is above actuated and stop time above 0.75 x fixed on `single` (issue 3)",
    "corridor": "adaptive loses to the coordinated fixed plan on `corridor`: no neighbour coordination yet (issue 3)",
}
# what holds today, per scenario (measured: single adaptive/fixed delay 0.80, corridor adaptive/max-pressure 0.72)
BEATS_FIXED = {"single": True, "corridor": False}


@functools.cache
def _result(scenario: str) -> dict:
    return compare(scenario, CONTROLLERS, SEEDS, workers=2).to_json()["controllers"]


@pytest.mark.parametrize("scenario", ["single", "corridor"])
def test_adaptive_floors(scenario):
    c = _result(scenario)
    a, fixed = c["adaptive"], c["fixed"]
    assert a["teleports"] == 0
    assert not any(a["safety_violations"].values()), a["safety_violations"]
    assert a["delay_s"] < 0.9 * c["max-pressure"]["delay_s"]
    if BEATS_FIXED[scenario]:
        assert a["delay_s"] < 0.9 * fixed["delay_s"]
        assert a["stop_time_s"] < 0.9 * fixed["stop_time_s"]
        assert a["travel_time_s"] < fixed["travel_time_s"]


@pytest.mark.parametrize(
    "scenario",
    [
        pytest.param(s, marks=pytest.mark.xfail(strict=True, reason=NOT_YET[s])) if s in NOT_YET else s
        for s in ("single", "corridor")
    ],
)
def test_adaptive_meets_issue_targets(scenario):
    c = _result(scenario)
    a, fixed = c["adaptive"], c["fixed"]
    assert a["stop_time_s"] <= 0.75 * fixed["stop_time_s"]
    assert a["travel_time_s"] <= 0.85 * fixed["travel_time_s"]
    assert a["delay_s"] < c["actuated"]["delay_s"]
    assert a["delay_s"] < c["max-pressure"]["delay_s"]
