"""Bridge in the loop: the guard's decisions through the firmware bridge (SNMP, PMPP, pty) to a virtual controller.

Same signal timeline as the direct path for the same decisions, no safety violations, control released at the end,
and a bridge that goes silent mid-run ends with a clear error and the controller off system control, never held.
"""

from __future__ import annotations

import json
import os
import random
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import sim.runner
from controller.guard import SafetyGuard, SignalCommand
from controller.monitor import SafetyMonitor
from controller.signal_model import ProgramPhase, SignalModel
from firmware_bridge.emulator.controller import ControlSource
from firmware_bridge.emulator.timing import Light, SignalState
from firmware_bridge.ntcip import ControlCol, control_oid
from greenwave.cli import main
from sim.actuation import ACTUATIONS, make_actuator
from sim.bridge_loop import (
    BridgeLoopConfig,
    BridgeLoopError,
    PmppActuator,
    cabinet_settings,
    phase_command,
    shown_state,
)
from sim.compare import compare, resolve_scenario
from sim.errors import SimError
from sim.runner import RunSpec, run_one
from tests.controller.builders import FOUR_PHASE, PERMISSIVE, make_model

# FOUR_PHASE with change intervals that are not whole seconds
FRACTIONAL = tuple(
    ProgramPhase(p.state, 3.5 if "y" in p.state else 1.5 if "G" not in p.state else p.duration_s)
    for p in FOUR_PHASE
)

pytestmark = pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs POSIX ptys")

# Short backup time (more keep-alives); the fault tests also give up on a silent line quickly.
KEEP_ALIVE = BridgeLoopConfig(backup_time_s=4)
FAST = BridgeLoopConfig(timeout_s=0.3, retries=1, backoff_s=0.05, backup_time_s=4)


# -- builders -------------------------------------------------------------------------------------------------------


class FakeApi:
    """The two TraCI calls the actuators use."""

    def __init__(self, now_s: float = 0.0) -> None:
        self.now_s = now_s
        self.shown: list[tuple[str, str]] = []
        self.trafficlight = self
        self.simulation = self

    def getTime(self) -> float:  # noqa: N802 - TraCI's name
        return self.now_s

    def setRedYellowGreenState(self, tls_id: str, state: str) -> None:  # noqa: N802 - TraCI's name
        self.shown.append((tls_id, state))


def signal(model: SignalModel, green: int | None = None, yellow: int | None = None) -> SignalState:
    lights = tuple(
        (p, Light.GREEN if p == green else Light.YELLOW if p == yellow else Light.RED)
        for p in range(1, model.n_phases + 1)
    )
    return SignalState(0.0, lights, frozenset(), frozenset())


class Recorder:
    """Wraps an actuator: the (time, state) changes it showed, and the guard's."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.shown: list[tuple[float, str]] = []
        self.guard: list[tuple[float, str]] = []

    def apply(self, now_s: float, command: SignalCommand) -> str:
        state = self.inner.apply(now_s, command)
        for timeline, s in ((self.shown, state), (self.guard, command.state)):
            if not timeline or timeline[-1][1] != s:
                timeline.append((now_s, s))
        return state

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Recorder]]:
    """Every actuator the runner makes (in this process), recorded."""
    made: list[Recorder] = []

    def make(kind: str, api: Any, tls_id: str, model: SignalModel, initial_state: str) -> Recorder:
        rec = Recorder(make_actuator(kind, api, tls_id, model, initial_state))
        made.append(rec)
        return rec

    monkeypatch.setattr(sim.runner, "make_actuator", make)
    yield made


# -- pure mapping ---------------------------------------------------------------------------------------------------


def test_cabinet_times_the_models_phases_in_one_ring_from_the_start_phase() -> None:
    model = make_model(FOUR_PHASE)
    settings = cabinet_settings(model, 2, backup_time_s=7)
    assert settings.layout.rings == ((3, 4, 1, 2),)
    assert settings.backup_time_s == 7
    assert settings.timings is not None and settings.timebase_splits_s is not None
    for g in model.phases:
        t = settings.timings[g.index + 1]
        assert (t.min_green_s, t.max1_s, t.yellow_s, t.red_clear_s) == (
            g.min_green_s, g.max_green_s, g.yellow_s, g.all_red_s,
        )  # fmt: skip
        assert settings.timebase_splits_s[g.index + 1] == g.program_green_s + g.yellow_s + g.all_red_s


def test_change_intervals_are_whole_steps_as_the_guard_shows_them() -> None:
    model = make_model(FRACTIONAL)
    assert {(g.yellow_s, g.all_red_s) for g in model.phases} == {(3.5, 1.5)}
    settings = cabinet_settings(model, 0, backup_time_s=10)
    assert settings.timings is not None
    assert {(t.yellow_s, t.red_clear_s) for t in settings.timings.values()} == {(4.0, 2.0)}


def test_more_phases_than_a_control_group_is_refused() -> None:
    program = [ProgramPhase("".join("G" if k == i else "r" for k in range(12)), 10) for i in range(9)]
    model = make_model(program)
    with pytest.raises(SimError, match="at most 8 green phases, found 9"):
        cabinet_settings(model, 0, backup_time_s=10)


def test_phase_command_holds_and_calls_the_target_forces_off_and_omits_the_rest() -> None:
    cmd = phase_command(make_model(FOUR_PHASE), 2)
    assert cmd.hold == cmd.veh_call == {3}
    assert cmd.force_off == cmd.omit == {1, 2, 4}


@pytest.mark.parametrize(
    ("green", "yellow", "leaving", "target", "expected", "now_leaving"),
    [
        (2, None, 0, 0, lambda m: m.phases[1].state, 1),
        (None, 1, 0, 3, lambda m: m.yellow_state(0, 3), 0),
        (None, 1, 0, 0, lambda m: m.yellow_state(0, 1), 0),  # no other target known: the next in sequence
        (None, None, 2, 0, lambda m: m.all_red_state(2, 0), 2),
        (None, None, 2, 2, lambda m: m.all_red_state(2, 3), 2),
    ],
)
def test_shown_state_maps_lights_to_the_models_strings(
    green: int | None,
    yellow: int | None,
    leaving: int,
    target: int,
    expected: Callable[[SignalModel], str],
    now_leaving: int,
) -> None:
    model = make_model(FOUR_PHASE)
    assert shown_state(model, signal(model, green, yellow), leaving, target) == (expected(model), now_leaving)


# -- actuator against a guard, no SUMO ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("program", "seed"), [(FOUR_PHASE, 1), (FOUR_PHASE, 2), (PERMISSIVE, 3), (FRACTIONAL, 4)]
)
def test_random_decisions_show_exactly_the_guards_strings(program: Any, seed: int) -> None:
    """Targets anywhere in the ring (not only the next), at any time: the controller follows the guard step by step."""
    model = make_model(program)
    rng = random.Random(seed)
    api = FakeApi()
    guard = SafetyGuard(model, start_phase=1, now_s=0.0)
    monitor = SafetyMonitor(model, tolerance_s=1.0)
    monitor.observe(0.0, guard.state)
    act = PmppActuator(api, "J", model, guard.state, config=KEEP_ALIVE)
    try:
        want = guard.status.phase
        changes = 0
        for t in range(1, 241):
            if rng.random() < 0.15:
                want = rng.randrange(model.n_phases)
            cmd = guard.step(float(t), want)
            changes += cmd.changed
            shown = act.apply(float(t), cmd)
            assert shown == cmd.state, f"t={t}"
            monitor.observe(float(t), shown)
            assert act.cabinet.status.source is ControlSource.SYSTEM  # kept alive on simulation time
        sends = act.bridge.realtime.sends
    finally:
        act.close()
    assert changes > 20 and monitor.total == 0
    # keep-alives every half backup time of simulation time
    assert sends >= 240 / (KEEP_ALIVE.backup_time_s / 2)
    assert api.shown[-1][1] == guard.state
    assert act.released_by == "release" and act.final_status is not None
    assert act.final_status.source is ControlSource.OWN_PLAN and act.final_status.held == frozenset()


# -- SUMO, bridge in the loop ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def single() -> Any:
    return resolve_scenario("single")[1]


def test_bridge_in_the_loop_shows_the_direct_timeline_and_releases(
    single: Any, recorded: list[Recorder]
) -> None:
    direct = run_one(RunSpec(single, "adaptive", 1, end_s=600.0, actuation="direct"))
    pmpp = run_one(RunSpec(single, "adaptive", 1, end_s=600.0, actuation="pmpp"))
    a, b = recorded
    assert isinstance(b.inner, PmppActuator)
    assert len(a.shown) > 50  # a real timeline: many phase changes
    assert b.shown == a.shown == a.guard == b.guard
    assert b.inner.mismatches == 0
    for key in ("delay_s", "stop_time_s", "stops", "arrived", "trips"):
        assert pmpp[key] == direct[key], key
    assert pmpp["safety_violations"] == {} and pmpp["collisions"] == 0
    # control handed back: nothing held, system pattern standby, the controller on its own stored plan
    final = b.inner.final_status
    assert b.inner.released_by == "release" and final is not None
    assert final.source is ControlSource.OWN_PLAN and final.held == frozenset() and final.pattern == 1
    assert not b.inner.cabinet.thread.is_alive()  # the emulator stopped with the run
    vc = b.inner.cabinet.controller
    assert vc.db.int_of("systemPatternControl") == 0
    greens = {g for t in range(601, 601 + 200) for g in vc.step(float(t)).greens}
    assert greens == {1, 2, 3, 4}  # and it cycles through every phase by itself


def test_compare_accepts_the_pmpp_bridge(single: Any) -> None:
    assert "pmpp" in ACTUATIONS
    kw: dict[str, Any] = {"end_s": 300.0, "workers": 1}
    direct = compare("single", ["max-pressure"], [1], actuation="direct", **kw).controllers["max-pressure"]
    pmpp = compare("single", ["max-pressure"], [1], actuation="pmpp", **kw).controllers["max-pressure"]
    for key in ("delay_s", "stop_time_s", "stops", "arrived"):
        assert pmpp[key] == direct[key], key
    assert pmpp["safety_violations"] == {}


def test_cli_sim_compare_with_the_pmpp_bridge_writes_the_harness_json(tmp_path: Path) -> None:
    out = tmp_path / "pmpp.json"
    argv = ["sim", "compare", "single", "--controllers", "max-pressure", "--seeds", "1", "--end", "120"]
    assert main([*argv, "--bridge", "pmpp", "--json", str(out)]) == 0
    summary = json.loads(out.read_text())["controllers"]["max-pressure"]
    assert summary["arrived"] > 0 and summary["per_seed"][0]["seed"] == 1


def _silent(direction: str) -> Callable[[Any], None]:
    def cut(wire: Any) -> None:
        if direction in ("both", "replies"):
            wire.set_filter(0, lambda data: b"")  # controller -> bridge
        if direction == "both":
            wire.set_filter(1, lambda data: b"")  # bridge -> controller

    return cut


@pytest.mark.parametrize(("direction", "released_by"), [("both", "backup timer"), ("replies", "release")])
def test_bridge_silent_mid_run_ends_released_with_a_clear_error(
    single: Any, monkeypatch: pytest.MonkeyPatch, direction: str, released_by: str
) -> None:
    made: list[PmppActuator] = []
    cut = _silent(direction)

    class CutAt100(PmppActuator):
        def apply(self, now_s: float, command: SignalCommand) -> str:
            if now_s == 100.0:
                cut(self.cabinet.wire)
            return super().apply(now_s, command)

    def make(kind: str, api: Any, tls_id: str, model: SignalModel, initial_state: str) -> PmppActuator:
        act = CutAt100(api, tls_id, model, initial_state, config=FAST)
        made.append(act)
        return act

    monkeypatch.setattr(sim.runner, "make_actuator", make)
    with pytest.raises(
        BridgeLoopError, match=r"junction \S+ at t=10[0-2] s: bridge failed: .*expected a response"
    ):
        run_one(RunSpec(single, "adaptive", 1, end_s=300.0, actuation="pmpp"))
    (act,) = made
    final = act.final_status
    assert act.released_by == released_by and final is not None
    assert final.source in (ControlSource.OWN_PLAN, ControlSource.BACKUP) and final.held == frozenset()
    assert act.cabinet.controller.db.int_of("systemPatternControl") == 0
    assert act.cabinet.controller.db.values[control_oid(ControlCol.FORCE_OFF)] == 0
    assert not any(t.name == "greenwave-virtual-cabinet" for t in threading.enumerate())
