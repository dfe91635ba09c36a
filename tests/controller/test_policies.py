"""Behaviour of the policies on synthetic measurements (no SUMO): each test can fail if the policy misbehaves."""

from __future__ import annotations

from dataclasses import replace

import pytest

from configs.controller import ControllerParams
from controller.measurement import OutgoingMeasurement
from controller.policies.adaptive import AdaptiveController
from controller.policies.lanes import DemandTracker, FlowEstimator, LaneTable
from controller.policies.max_pressure import MaxPressureController
from controller.policies.webster import webster_plan
from controller.registry import controller_names, get_factory
from tests.controller.builders import PERMISSIVE, green_for, lane, make_model, measure

PARAMS = ControllerParams()
NS_LEFT, NS_THROUGH, EW_LEFT, EW_THROUGH = range(4)


def test_all_policies_registered():
    assert {"adaptive", "max-pressure", "webster"} <= set(controller_names())
    model = make_model()
    for name in ("adaptive", "max-pressure", "webster"):
        assert get_factory(name)(model, PARAMS).name == name


@pytest.mark.parametrize(
    ("ratios", "lost", "cycle"),
    [
        ((0.2, 0.3), 20.0, (1.5 * 20 + 5) / (1 - 0.5)),  # Webster's formula
        ((0.5, 0.45), 20.0, 150.0),  # Y >= 0.9: oversaturated, max cycle
        ((0.0, 0.0), 20.0, 40.0),  # no flow: min cycle
        ((0.01, 0.01), 20.0, 40.0),  # formula below the min cycle: clamped
    ],
)
def test_webster_plan_cycle(ratios, lost, cycle):
    c, greens = webster_plan(
        ratios, lost, min_cycle_s=40.0, max_cycle_s=150.0, min_green_s=[5.0, 5.0], max_green_s=[200.0, 200.0]
    )
    assert c == pytest.approx(cycle)
    if sum(ratios) > 0:
        assert greens[0] / greens[1] == pytest.approx(ratios[0] / ratios[1])
    assert sum(greens) == pytest.approx(c - lost)


def test_webster_greens_clamped():
    _c, greens = webster_plan(
        (0.6, 0.01),
        10.0,
        min_cycle_s=40.0,
        max_cycle_s=150.0,
        min_green_s=[5.0, 5.0],
        max_green_s=[30.0, 30.0],
    )
    assert greens == (30.0, 5.0)


def test_max_pressure_waits_for_min_green_then_serves_the_queue():
    model = make_model()
    ctrl = MaxPressureController(model, PARAMS)
    busy = {"e_in_0": lane("e_in_0", queued=8), "w_in_0": lane("w_in_0", queued=6)}
    early = green_for(model, NS_THROUGH, 2)
    assert ctrl.decide(measure(model, 3.0, busy), early.status) == NS_THROUGH
    later = green_for(model, NS_THROUGH, 10)
    assert MaxPressureController(model, PARAMS).decide(measure(model, 11.0, busy), later.status) == EW_THROUGH


def test_max_pressure_counts_the_exit():
    model = make_model()
    busy = {"e_in_0": lane("e_in_0", queued=4), "n_in_0": lane("n_in_0", queued=4)}
    guard = green_for(model, NS_LEFT, 10)
    # equal queues: the tie goes to the first phase found
    assert MaxPressureController(model, PARAMS).decide(measure(model, 11.0, busy), guard.status) == NS_THROUGH
    # NS-through's straight exit is jammed: its pressure drops, it is no longer the choice
    jam = {"s_out_0": OutgoingMeasurement("s_out_0", 30, 1.0, 200.0, halting=30)}
    assert (
        MaxPressureController(model, PARAMS).decide(measure(model, 11.0, busy, jam), guard.status)
        != NS_THROUGH
    )


def test_max_pressure_ignores_vehicles_driving_away_on_the_exit():
    """Varaiya's downstream term is the exit's queue. Counting the platoon the green just released (moving, not
    halting) cut a well-discharging phase's own pressure and ended arterial greens early: corridor travel 141 s."""
    model = make_model()
    busy = {"e_in_0": lane("e_in_0", queued=4), "n_in_0": lane("n_in_0", queued=4)}
    guard = green_for(model, NS_LEFT, 10)
    moving = {"s_out_0": OutgoingMeasurement("s_out_0", 30, 0.4, 200.0, halting=0)}
    assert (
        MaxPressureController(model, PARAMS).decide(measure(model, 11.0, busy, moving), guard.status)
        == NS_THROUGH
    )


def test_adaptive_skips_empty_phase_and_serves_the_queue():
    model = make_model()
    ctrl = AdaptiveController(model, PARAMS)
    guard = green_for(model, NS_THROUGH, 10)
    m = measure(model, 11.0, {"e_in_0": lane("e_in_0", queued=5), "w_in_0": lane("w_in_0", queued=3)})
    assert ctrl.decide(m, guard.status) == EW_THROUGH  # EW-left (next in sequence) has nobody: skipped


def test_adaptive_extends_for_an_arriving_platoon():
    model = make_model()
    ctrl = AdaptiveController(model, PARAMS)
    guard = green_for(model, NS_THROUGH, 10)
    platoon = [(d, 13.0) for d in (15.0, 25.0, 35.0, 45.0, 55.0)]
    m = measure(
        model,
        11.0,
        {"n_in_0": lane("n_in_0", approaching=platoon), "e_in_0": lane("e_in_0", queued=1)},
    )
    assert ctrl.decide(m, guard.status) == NS_THROUGH
    # with nobody coming on the green, the lone waiting vehicle gets served
    alone = measure(model, 11.0, {"e_in_0": lane("e_in_0", queued=1)})
    assert AdaptiveController(model, PARAMS).decide(alone, guard.status) == EW_THROUGH


def test_adaptive_weighs_a_long_wait_more():
    """One vehicle 5 s out keeps the green against two that just stopped on the cross street; after they have
    waited a minute (their delay counting double) it does not, unless the weight is off."""
    model = make_model()
    guard = green_for(model, NS_THROUGH, 10)
    m = measure(model, 11.0, {"e_in_0": lane("e_in_0", queued=2), "n_in_0": lane("n_in_0", approaching=[(70.0, 13.9)])})
    fresh = replace(guard.status, wait_s=(0.0, 0.0, 0.0, 0.0))
    long = replace(guard.status, wait_s=(60.0, 0.0, 60.0, 60.0))
    assert PARAMS.wait_weight_s == 60.0
    assert AdaptiveController(model, PARAMS).decide(m, fresh) == NS_THROUGH
    assert AdaptiveController(model, PARAMS).decide(m, long) == EW_THROUGH
    plain = PARAMS.model_copy(update={"wait_weight_s": 0.0})
    assert AdaptiveController(model, plain).decide(m, long) == NS_THROUGH


def test_adaptive_does_not_feed_a_blocked_exit():
    model = make_model()
    guard = green_for(model, NS_THROUGH, 10)
    lanes = {"e_in_0": lane("e_in_0", queued=6), "n_in_0": lane("n_in_0", queued=3)}
    assert AdaptiveController(model, PARAMS).decide(measure(model, 11.0, lanes), guard.status) == NS_THROUGH
    # EW-through's exits (w_out_0, s_out_0 from e_in_0) are jammed: the green stays with NS, which can move
    jam = {
        lid: OutgoingMeasurement(lid, 25, 0.95, 200.0, halting=25)
        for lid in ("w_out_0", "s_out_0", "n_out_0")
    }
    blocked_ctrl = AdaptiveController(model, PARAMS)
    lanes_more = {"e_in_0": lane("e_in_0", queued=6), "n_in_0": lane("n_in_0", queued=8)}
    assert blocked_ctrl.decide(measure(model, 11.0, lanes_more, jam), guard.status) == NS_THROUGH


def test_adaptive_decides_in_time_only_when_allowed():
    model = make_model()
    ctrl = AdaptiveController(model, PARAMS)
    guard = green_for(model, NS_THROUGH, 2)  # inside min green: no plan, keep the green
    m = measure(model, 3.0, {"e_in_0": lane("e_in_0", queued=9)})
    assert ctrl.decide(m, guard.status) == NS_THROUGH
    assert ctrl.last_plan == {}


def test_permissive_lanes_rates_and_losing_links():
    model = make_model(PERMISSIVE)
    table = LaneTable(model, PARAMS)
    left = table.lanes.index("n_in_1")
    assert table.rate[0][left] == PARAMS.permissive_rate
    assert table.rate[1][left] == 1.0
    assert model.losing_links(1, 0) == frozenset({2, 8})  # protected -> permissive loses right of way
    assert model.yellow_state(1, 0)[2] == "y"
    assert model.losing_links(0, 1) == frozenset({0, 1, 6, 7})  # the left keeps (and gains) right of way


def test_demand_tracker_ignores_lanes_another_phase_served():
    model = make_model(PERMISSIVE)
    table = LaneTable(model, PARAMS)
    tracker = DemandTracker(table)
    # phase 0 (through + permissive left) has just run: the left lane waiting for phase 1 was served by it
    guard = green_for(model, 0, 20)
    tracker.update(guard.status)
    counts = [1 if lane_id == "n_in_1" else 0 for lane_id in table.lanes]
    guard.step(21.0, 2, None)  # start the clearance towards phase 2
    for t in range(22, 40):
        guard.step(float(t), 2, None)
    status = guard.status
    demand = tracker.demand(status, counts)
    assert demand[1] is False  # phase 1's lanes were served (permissively) after phase 1's own green
    # a lane no green has served since the start counts for every phase that serves it
    fresh = DemandTracker(table)
    assert fresh.demand(status, counts)[1] is True


def test_flow_estimator_counts_a_steady_stream():
    est = FlowEstimator(1, window_s=60.0, free_speed_mps=10.0)
    # one vehicle enters every 4 s at 150 m and drives at 10 m/s: 0.25 veh/s
    for t in range(0, 600):
        cars = [150.0 - 10.0 * ((t - k) % 4 + 4 * j) for k in range(1) for j in range(4)]
        cars = sorted(d for d in cars if d > 0)
        est.update(float(t), [lane("x", approaching=[(d, 10.0) for d in cars])], [True])
    assert est.rate_veh_s[0] == pytest.approx(0.25, rel=0.2)


def test_flow_estimator_counts_each_crossing_once():
    est = FlowEstimator(1, window_s=60.0, free_speed_mps=10.0)
    crossings = 0
    for t in range(0, 600):
        cars = sorted(d for d in (150.0 - 10.0 * (t % 4 + 4 * j) for j in range(4)) if d > 0)
        est.update(float(t), [lane("x", approaching=[(d, 10.0) for d in cars])], [True])
        crossings += est.crossed[0]
    assert crossings == pytest.approx(600 / 4, abs=2)


def test_flow_estimator_a_left_creeping_to_the_line_is_no_crossing():
    """A permissive left inching up to the stop line while it waits for a gap looks, each second, as if it will
    cross. Counting it every second inflated side-street flows by 25-40 % and published phantom vehicles to the
    junction downstream."""
    est = FlowEstimator(1, window_s=60.0, free_speed_mps=10.0)
    crossings = 0
    for t in range(0, 30):
        est.update(float(t), [lane("x", approaching=[(1.5 - 0.04 * t, 2.0)])], [True])
        crossings += est.crossed[0]
    assert crossings == 0
    assert est.rate_veh_s[0] < 0.05  # it entered once, before the first update: no flow since
    est.update(30.0, [lane("x")], [True])  # the gap came: it left
    assert est.crossed[0] == 1
