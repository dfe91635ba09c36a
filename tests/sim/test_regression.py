"""Regression: the adaptive optimizer against fixed, actuated and max-pressure on the built-in scenarios, 3 seeds.

A full simulated hour: the built-in scenarios are small (one run takes seconds with libsumo), seeds and controllers
run in two processes, about a minute and a half in all. Two layers:
- what holds today and must keep holding: no teleports, no safety violations, delay strictly below fixed, actuated
  and max-pressure, stop time below 0.9 x fixed and travel time below fixed;
- the issue-3 stop/travel targets (stop time <= 0.75 x fixed, travel time <= 0.85 x fixed). On `corridor` the
  travel target holds with little room (0.849, 0.2 s per vehicle): a change that costs a fraction of a second of
  delay there shows up here. NOT_YET marks a target not met yet as a strict xfail, so the day it is met the suite
  says so.
"""

from __future__ import annotations

import functools

import pytest

from sim.compare import compare

pytestmark = pytest.mark.slow

SEEDS = (1, 2, 3)
CONTROLLERS = ("fixed", "actuated", "max-pressure", "adaptive")
SCENARIOS = ("single", "corridor")
# measured (3 seeds): single stop 0.50 / travel 0.84 x fixed; corridor stop 0.53 / travel 0.849 x fixed (0.86
# before the waiting weight, 0.89 before neighbour coordination)
NOT_YET: dict[str, str] = {}


@functools.cache
def _result(scenario: str) -> dict:
    return compare(scenario, CONTROLLERS, SEEDS, workers=2).to_json()["controllers"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_adaptive_beats_every_baseline_on_delay(scenario):
    c = _result(scenario)
    a, fixed = c["adaptive"], c["fixed"]
    assert a["teleports"] == 0
    assert not any(a["safety_violations"].values()), a["safety_violations"]
    assert a["delay_s"] < c["actuated"]["delay_s"]
    assert a["delay_s"] < c["max-pressure"]["delay_s"]
    assert a["delay_s"] < fixed["delay_s"]
    assert a["stop_time_s"] < 0.9 * fixed["stop_time_s"]
    assert a["travel_time_s"] < fixed["travel_time_s"]


@pytest.mark.parametrize(
    "scenario",
    [
        pytest.param(s, marks=pytest.mark.xfail(strict=True, reason=NOT_YET[s])) if s in NOT_YET else s
        for s in SCENARIOS
    ],
)
def test_adaptive_meets_stop_and_travel_targets(scenario):
    c = _result(scenario)
    a, fixed = c["adaptive"], c["fixed"]
    assert a["stop_time_s"] <= 0.75 * fixed["stop_time_s"]
    assert a["travel_time_s"] <= 0.85 * fixed["travel_time_s"]
