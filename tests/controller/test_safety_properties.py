"""Property tests: whatever a controller asks and whatever the sensors say, the shown signals stay safe.

The SafetyMonitor (independent of the guard) checks every emitted state: no shortened or skipped yellow/all-red,
no green shorter than min or longer than max, no phase red past max_red while it has demand, no state that is not
a phase green or a transition built for the switch (so never conflicting greens).
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from configs.controller import ControllerParams
from controller.guard import SafetyGuard
from controller.monitor import SafetyMonitor
from controller.registry import get_factory
from tests.controller.builders import (
    FOUR_PHASE,
    OVERLAPPING,
    PARTIAL_YELLOW,
    PERMISSIVE,
    REPEATED,
    lane,
    make_model,
    measure,
)

PROGRAMS = {
    "four_phase": FOUR_PHASE,
    "permissive": PERMISSIVE,
    "overlapping": OVERLAPPING,
    "repeated": REPEATED,
    "partial_yellow": PARTIAL_YELLOW,
}
PARAMS = ControllerParams(max_red_s=90.0, max_green_s=40.0)

# (phase asked for, demand per phase or None, for how many 1 s steps): a request held for up to a minute reaches
# max green and max red, which a fresh random request every step almost never does
requests = st.lists(
    st.tuples(
        st.integers(-1, 9), st.lists(st.booleans(), min_size=8, max_size=8) | st.none(), st.integers(1, 60)
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(program=st.sampled_from(sorted(PROGRAMS)), seq=requests, start=st.integers(0, 7))
def test_guard_keeps_every_invariant_for_any_requests(program, seq, start):
    model = make_model(PROGRAMS[program], PARAMS)
    guard = SafetyGuard(model, start_phase=start, now_s=0.0)
    mon = SafetyMonitor(model)
    mon.observe(0.0, guard.state)
    t = 0.0
    for requested, wanted, steps in seq:
        demand = None if wanted is None else wanted[: model.n_phases]
        for _ in range(steps):
            t += 1.0
            cmd = guard.step(t, requested, demand)
            mon.observe(t, cmd.state, demand)
    assert mon.total == 0, mon.examples


lane_state = st.tuples(
    st.integers(0, 12),  # queued
    st.lists(st.tuples(st.floats(0.0, 150.0), st.one_of(st.none(), st.floats(0.0, 20.0))), max_size=6),
)
snapshots = st.lists(
    st.tuples(
        st.dictionaries(
            st.sampled_from(["n_in_0", "n_in_1", "e_in_0", "e_in_1", "s_in_0", "s_in_1", "w_in_0", "w_in_1"]),
            lane_state,
            max_size=8,
        ),
        st.floats(0.0, 1.0),  # exit occupancy (spillback)
        st.integers(1, 25),  # how many seconds this snapshot holds
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(["adaptive", "max-pressure", "webster"]),
    program=st.sampled_from(sorted(PROGRAMS)),
    seq=snapshots,
)
def test_controllers_through_guard_keep_every_invariant(name, program, seq):
    from controller.measurement import OutgoingMeasurement

    model = make_model(PROGRAMS[program], PARAMS)
    ctrl = get_factory(name)(model, PARAMS)
    guard = SafetyGuard(model, now_s=0.0)
    mon = SafetyMonitor(model)
    mon.observe(0.0, guard.state)
    t = 0.0
    for lanes, occ, hold in seq:
        incoming = {lid: lane(lid, queued=q, approaching=a) for lid, (q, a) in lanes.items()}
        outgoing = {
            lid: OutgoingMeasurement(lid, int(occ * 25), occ, 200.0, halting=int(occ * 25))
            for lid in model.outgoing_lanes()
        }
        for _ in range(hold):
            t += 1.0
            m = measure(model, t, incoming, outgoing)
            requested = ctrl.decide(m, guard.status)
            assert 0 <= requested < model.n_phases
            demand = ctrl.demand(m)
            cmd = guard.step(t, requested, demand)
            mon.observe(t, cmd.state, demand)
    assert mon.total == 0, mon.examples
    # the controllers ask for what the guard allows: they never need a max-red or max-green override
    assert guard.overrides["max_red"] == 0
    assert guard.overrides["max_green"] == 0


def test_switching_between_identical_greens_does_not_restart_the_max_green_clock():
    """The main street twice per cycle: a policy bouncing between the twins must still be cut at max green."""
    model = make_model(REPEATED, PARAMS)
    twins = [p.index for p in model.phases if p.state == "GGrrrrGGrrrr"]
    guard = SafetyGuard(model, start_phase=twins[0], now_s=0.0)
    mon = SafetyMonitor(model)
    mon.observe(0.0, guard.state)
    for t in range(1, 200):
        other = twins[1] if guard.status.phase == twins[0] else twins[0]
        mon.observe(float(t), guard.step(float(t), other).state)
    assert mon.total == 0, mon.examples
    assert guard.overrides["max_green"] >= 1
