"""Corridor coordination: neighbours' published plans become predicted arrivals, and the adaptive policy uses them."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from configs.controller import ControllerParams
from controller.coordination import PublishedPlan, UpstreamLink, UpstreamPredictor
from controller.guard import SafetyGuard
from controller.measurement import ApproachingVehicle
from controller.monitor import SafetyMonitor
from controller.policies.adaptive import AdaptiveController
from tests.controller.builders import green_for, lane, make_model, measure

PARAMS = ControllerParams()
NS_LEFT, NS_THROUGH, EW_LEFT, EW_THROUGH = range(4)
SPEED = 10.0


def _predictor(share: float = 1.0, horizon_s: float = 60.0) -> UpstreamPredictor:
    links = {"n_in_0": (UpstreamLink("U", "u_in_0", share, 300.0),)}
    return UpstreamPredictor(links, speed_mps=SPEED, horizon_s=horizon_s)


def _plan(now_s: float, crossed: int = 0, departures: tuple[float, ...] = ()) -> dict[str, PublishedPlan]:
    return {
        "U": PublishedPlan(
            "U", now_s, crossed={"u_in_0": crossed} if crossed else {}, departures_s={"u_in_0": departures}
        )
    }


def _upstream_m(pred: UpstreamPredictor, now_s: float, plans: dict[str, PublishedPlan]) -> list[float]:
    model = make_model()
    m = pred.attach(measure(model, now_s), plans)  # zones are 150 m
    return [v.distance_m for v in m.upstream.get("n_in_0", ())]


def test_crossed_vehicles_travel_unseen_until_they_enter_the_zone():
    pred = _predictor()
    assert _upstream_m(pred, 100.0, _plan(100.0, crossed=2)) == [300.0, 300.0]
    assert _upstream_m(pred, 110.0, _plan(110.0)) == [200.0, 200.0]
    assert _upstream_m(pred, 116.0, _plan(116.0)) == []  # 140 m out: inside the zone, measured there


def test_the_same_plan_counts_its_crossings_once():
    pred = _predictor()
    plans = _plan(100.0, crossed=1)
    _upstream_m(pred, 100.0, plans)
    assert _upstream_m(pred, 101.0, plans) == [290.0]


@pytest.mark.parametrize(
    ("share", "crossings", "expected"),
    [(1.0, (1, 1, 1), 3), (0.5, (1, 1, 1), 1), (0.5, (1, 1, 1, 1), 2), (0.0, (3, 3), 0)],
)
def test_shares_become_whole_vehicles(share, crossings, expected):
    pred = _predictor(share)
    seen: list[float] = []
    for k, n in enumerate(crossings):
        seen = _upstream_m(pred, 100.0 + k, _plan(100.0 + k, crossed=n))
    assert len(seen) == expected


def test_planned_departures_arrive_after_the_link_within_the_horizon():
    pred = _predictor(horizon_s=60.0)
    # 600 m reach: departures due in 5 and 20 s are 350 and 500 m out; one due in 40 s (700 m) is beyond it
    assert _upstream_m(pred, 100.0, _plan(100.0, departures=(99.0, 105.0, 120.0, 140.0))) == [350.0, 500.0]
    assert _upstream_m(_predictor(horizon_s=0.0), 100.0, _plan(100.0, departures=(105.0,))) == []


def test_adaptive_holds_the_green_for_a_platoon_only_a_neighbour_sees():
    model = make_model()
    guard = green_for(model, NS_THROUGH, 10)
    base = measure(model, 11.0, {"e_in_0": lane("e_in_0", queued=1)})
    # beyond the 150 m zone at 15.5 m/s, due in 10-14 s: switching now would stop all of them
    platoon = tuple(ApproachingVehicle(distance_m=15.5 * t, speed_mps=15.5) for t in (10, 11, 12, 13, 14))
    coordinated = replace(base, upstream={"n_in_0": platoon, "s_in_0": platoon})
    assert AdaptiveController(model, PARAMS).decide(base, guard.status) == EW_THROUGH
    assert AdaptiveController(model, PARAMS).decide(coordinated, guard.status) == NS_THROUGH
    off = PARAMS.model_copy(update={"coordination_horizon_s": 0.0})
    assert AdaptiveController(model, off).decide(coordinated, guard.status) == EW_THROUGH


def test_adaptive_publishes_its_planned_crossings():
    model = make_model()
    guard = green_for(model, NS_THROUGH, 10)
    ctrl = AdaptiveController(model, PARAMS)
    ctrl.decide(measure(model, 11.0, {"n_in_0": lane("n_in_0", queued=3)}), guard.status)
    plan = ctrl.published
    assert plan is not None and plan.junction_id == model.junction_id and plan.now_s == 11.0
    deps = plan.departures_s["n_in_0"]
    assert len(deps) == 3 and deps[0] >= 11.0
    assert all(
        b - a >= 3600.0 / PARAMS.saturation_flow_veh_h - 1e-9 for a, b in zip(deps, deps[1:], strict=False)
    )
    off = AdaptiveController(model, PARAMS.model_copy(update={"coordination_horizon_s": 0.0}))
    off.decide(measure(model, 11.0, {"n_in_0": lane("n_in_0", queued=3)}), guard.status)
    assert off.published is None


platoons = st.dictionaries(
    st.sampled_from(["n_in_0", "e_in_0", "s_in_1", "w_in_0"]),
    st.lists(st.floats(150.5, 900.0), max_size=12),
    max_size=4,
)


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(st.tuples(platoons, st.integers(0, 6)), min_size=1, max_size=60),
)
def test_any_upstream_prediction_keeps_the_signals_safe_and_the_plan_ordered(steps):
    model = make_model()
    ctrl = AdaptiveController(model, PARAMS)
    guard = SafetyGuard(model, start_phase=0, now_s=0.0)
    mon = SafetyMonitor(model)
    mon.observe(0.0, guard.state)
    for k, (ups, queued) in enumerate(steps):
        now = float(k + 1)
        base = measure(model, now, {"e_in_0": lane("e_in_0", queued=queued)})
        upstream = {
            lid: tuple(ApproachingVehicle(distance_m=d, speed_mps=13.9) for d in sorted(ds))
            for lid, ds in ups.items()
        }
        m = replace(base, upstream=upstream)
        phase = ctrl.decide(m, guard.status)
        assert 0 <= phase < model.n_phases
        demand = ctrl.demand(m)
        mon.observe(now, guard.step(now, phase, demand).state, demand)
        plan = ctrl.published
        assert plan is not None
        for deps in plan.departures_s.values():
            assert all(d >= now - 1e-9 for d in deps) and list(deps) == sorted(deps)
    assert mon.total == 0, mon.examples
