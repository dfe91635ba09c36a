"""Edge runtime parts without threads: stages from rings, phase-control mapping, watchdog, metrics text, CLI errors."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from configs.errors import ConfigError
from configs.intersection import IntersectionConfig
from configs.loader import load_config
from controller.guard import SafetyGuard
from controller.intersection_model import barrier_groups, model_from_intersection
from controller.measurement import standing_call
from greenwave.cli import main
from greenwave.edge_bridge import phase_command
from greenwave.edge_health import InputWatchdog, WatchdogSettings
from greenwave.edge_metrics import Metrics, parse_bind

ROOT = Path(__file__).resolve().parents[2]


def example_intersection() -> IntersectionConfig:
    kind, cfg = load_config(ROOT / "configs" / "intersection.example.yaml")
    assert kind == "intersection"
    return cfg


def make_intersection(rings: list[list[int]], barriers: list[int]) -> IntersectionConfig:
    body = example_intersection().model_dump(mode="json")
    return IntersectionConfig.model_validate({**body, "rings": rings, "barriers": barriers})


@pytest.mark.parametrize(
    ("rings", "barriers", "groups"),
    [
        ([[1, 2, 3, 4], [5, 6, 7, 8]], [2, 4], [[[1, 2], [5, 6]], [[3, 4], [7, 8]]]),
        ([[1, 2, 3, 4], [5, 6, 7, 8]], [2, 6, 4, 8], [[[1, 2], [5, 6]], [[3, 4], [7, 8]]]),
        ([[1, 2, 3, 4], [5, 6, 7, 8]], [], [[[1, 2, 3, 4], [5, 6, 7, 8]]]),
        ([[1, 2, 3, 4, 5, 6, 7, 8]], [], [[[1, 2, 3, 4, 5, 6, 7, 8]]]),
    ],
)
def test_barrier_groups(rings: list[list[int]], barriers: list[int], groups: list) -> None:
    assert barrier_groups(make_intersection(rings, barriers)) == groups


def test_dual_ring_stages_pair_the_rings_inside_each_barrier() -> None:
    im = model_from_intersection(example_intersection())
    assert im.stage_phases == (frozenset({1, 5}), frozenset({2, 6}), frozenset({3, 7}), frozenset({4, 8}))
    through_ns = im.model.phases[1]
    assert set(through_ns.in_lanes) == {"N_right", "N_thru", "S_right", "S_thru"}
    # min green 10 s, but its crosswalks' walk (7 s) and flashing don't walk (12 s) need 19 s
    assert through_ns.min_green_s == 19 and through_ns.yellow_s == 4.0 and through_ns.all_red_s == 2.0
    assert (
        im.stage_of(frozenset({2, 6})) == 1
        and im.stage_of(frozenset({6})) == 1
        and im.stage_of(frozenset()) is None
    )
    # no two stages give green to the same link: every change has a clearance through the guard
    for i in range(im.model.n_phases):
        for j in range(im.model.n_phases):
            if i != j:
                assert im.model.losing_links(i, j)


def test_single_ring_stages_are_the_phases_in_order() -> None:
    im = model_from_intersection(make_intersection([[1, 2, 5, 6, 3, 4, 7, 8]], []))
    assert [sorted(s) for s in im.stage_phases] == [[1], [2], [5], [6], [3], [4], [7], [8]]


def test_guard_on_the_config_model_keeps_min_green_then_clears() -> None:
    im = model_from_intersection(example_intersection())
    guard = SafetyGuard(im.model, start_phase=1, now_s=0.0)
    assert guard.step(1.0, 2).status.target == 1  # NS through is inside its 19 s minimum (walk + clearance)
    assert guard.step(18.0, 2).status.target == 1
    cmd = guard.step(19.0, 2)
    assert cmd.status.target == 2 and cmd.status.stage.value == "yellow"


@pytest.mark.parametrize(
    ("target", "hold", "off"),
    [
        ({2, 6}, {2, 6}, {1, 3, 4, 5, 7, 8}),
        ({1, 5}, {1, 5}, {2, 3, 4, 6, 7, 8}),
        ({4}, {4}, {1, 2, 3, 5, 6, 7, 8}),
    ],
)
def test_phase_command_holds_target_and_omits_the_rest(
    target: set[int], hold: set[int], off: set[int]
) -> None:
    cmd = phase_command(frozenset(target), frozenset(range(1, 9)))
    assert cmd.hold == hold and cmd.veh_call == hold and cmd.force_off == off and cmd.omit == off
    assert not (cmd.hold & cmd.omit)


def test_watchdog_degrades_stale_lanes_and_waits_before_recovering() -> None:
    wd = InputWatchdog(
        ["a", "b", "c", "d"], ["a", "b", "c"], WatchdogSettings(stale_s=2, min_fresh_share=0.5, recover_s=3)
    )
    frames = {"a": 10.0, "b": 10.0, "c": 7.0}
    h = wd.assess(10.0, frames, ["a", "b", "c"])
    assert not h.healthy and h.fresh == {"a", "b"} and h.degraded == {"c", "d"} and "of 3 s" in h.reason
    assert wd.assess(13.0, {"a": 13, "b": 13}, ["a", "b"]).healthy  # 3 s of healthy inputs
    m = wd.measurements(h, {"a": standing_call("a", 60.0), "c": standing_call("c", 60.0)}, {"c": 40.0})
    assert set(m) == {"a", "b", "c", "d"} and m["d"].queued == 1 and m["c"].zone_m == 40.0
    h = wd.assess(14.0, {"a": 14}, ["a", "b"])  # b's camera up but no fresh counts: 1 of 3 fresh
    assert not h.healthy and "1 of 3" in h.reason
    assert not wd.assess(15.0, {"a": 15, "b": 15}, ["a", "b"]).healthy  # recovery starts over


def test_watchdog_without_cameras_is_never_healthy() -> None:
    wd = InputWatchdog(["a"], [], WatchdogSettings(recover_s=0))
    h = wd.assess(100.0, {}, [])
    assert not h.healthy and h.reason == "no camera covers any lane"


def test_metrics_render_prometheus_text() -> None:
    m = Metrics(window=4)
    m.describe("x_total", "counter", "things")
    m.inc("x_total", labels={"camera": 'we"st'})
    m.inc("x_total", 2, labels={"camera": 'we"st'})
    m.set("up", 1)
    for v in (0.1, 0.2, 0.3, 0.4, 0.5):
        m.observe("lat_seconds", v)
    text = m.render()
    assert "# HELP x_total things\n# TYPE x_total counter\n" in text
    assert 'x_total{camera="we\\"st"} 3\n' in text and "\nup 1\n" in text
    assert 'lat_seconds{quantile="0.5"} 0.4\n' in text  # the window keeps the last 4 samples
    assert "lat_seconds_count 5\n" in text and "lat_seconds_sum 1.5" in text


@pytest.mark.parametrize(
    ("bind", "parsed"),
    [
        ("127.0.0.1:9108", ("127.0.0.1", 9108)),
        ("[::1]:80", ("::1", 80)),
        ("9108", None),
        ("h:99999", None),
        (":1", None),
    ],
)
def test_parse_bind(bind: str, parsed: tuple[str, int] | None) -> None:
    if parsed is None:
        with pytest.raises(ConfigError, match="expected HOST:PORT"):
            parse_bind(bind)
    else:
        assert parse_bind(bind) == parsed


def test_edge_example_config_checks() -> None:
    assert main(["config", "check", str(ROOT / "configs" / "edge.example.yaml")]) == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"metrics_bind": "nonsense"}, "metrics_bind: expected HOST:PORT such as 127.0.0.1:9108, found 'nonsense'"),
        ({"policy": "fixed"}, "policy: expected an edge policy (not the controller's own 'fixed')"),
        ({"policy": "greedy"}, "policy: unknown controller 'greedy': expected one of"),
        ({"bridge": {"url": "/dev/ttyUSB0?baud=fast"}}, "bridge.url: /dev/ttyUSB0?baud=fast: baud: expected"),
        ({"bridge": {"url": "udp://192.0.2.20"}}, "bridge.url: "),
    ],
)
def test_config_check_catches_what_edge_run_would_refuse(tmp_path: Path, capsys, change: dict, message: str) -> None:
    body = yaml.safe_load((ROOT / "configs" / "edge.example.yaml").read_text())
    for key, value in change.items():
        body[key] = {**body[key], **value} if isinstance(value, dict) else value
    path = tmp_path / "e.yaml"
    path.write_text(yaml.safe_dump(body))
    assert main(["config", "check", str(path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"FAIL {path}: ") and message in err[0]


def test_phases_past_8_are_refused_with_a_bridge(tmp_path: Path) -> None:
    body = yaml.safe_load((ROOT / "configs" / "edge.example.yaml").read_text())
    ids = {8: 12}
    for phase in body["intersection"]["phases"]:
        phase["id"] = ids.get(phase["id"], phase["id"])
    for ring in body["intersection"]["rings"]:
        ring[:] = [ids.get(p, p) for p in ring]
    body["intersection"]["barriers"] = [ids.get(p, p) for p in body["intersection"].get("barriers", [])]
    (tmp_path / "e.yaml").write_text(yaml.safe_dump(body))
    with pytest.raises(ConfigError, match=r"expected 1-8 with a bridge .*found \[12\]"):
        load_config(tmp_path / "e.yaml")
    del body["bridge"]  # a simulated or bridge-less intersection may number its phases up to 32
    (tmp_path / "e.yaml").write_text(yaml.safe_dump(body))
    assert load_config(tmp_path / "e.yaml")[0] == "edge"


def test_phase_command_refuses_phases_it_cannot_send() -> None:
    from firmware_bridge.realtime import PhaseCommand

    with pytest.raises(ValueError, match=r"expected phases 1-8, found \[0, 9\]"):
        PhaseCommand(hold=frozenset({2, 9}), omit=frozenset({0}))


def test_edge_run_with_a_bad_config_is_one_line_exit_2(tmp_path: Path, capsys) -> None:
    body = yaml.safe_load((ROOT / "configs" / "edge.example.yaml").read_text())
    body["policy"] = "fixed"
    body["detector"]["model"] = str(tmp_path / "none.onnx")
    (tmp_path / "e.yaml").write_text(yaml.safe_dump(body))
    assert main(["edge", "run", "--config", str(tmp_path / "e.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "policy" in err and "'fixed'" in err
    body["policy"] = "adaptive"
    (tmp_path / "e.yaml").write_text(yaml.safe_dump(body))
    assert main(["edge", "run", "--config", str(tmp_path / "e.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "none.onnx" in err


@pytest.mark.parametrize(
    ("rings", "barriers"),
    [
        ([[1, 2, 3, 4], [5, 6, 7, 8]], [2, 4]),
        ([[1, 2, 3, 4], [5, 6, 7, 8]], [2, 6, 4, 8]),
        ([[2, 1, 4, 3], [6, 5, 8, 7]], [1, 3]),
    ],
)
def test_held_phases_are_always_compatible(rings: list[list[int]], barriers: list[int]) -> None:
    """The edge never holds two phases a NEMA controller could not show together: one per ring, one barrier group."""
    cfg = make_intersection(rings, barriers)
    im = model_from_intersection(cfg)
    groups = [set().union(*map(set, g)) for g in barrier_groups(cfg)]
    ring_of = {p: i for i, ring in enumerate(cfg.rings) for p in ring}
    for stage in im.stage_phases:
        cmd = phase_command(stage, im.phases)
        assert len({ring_of[p] for p in cmd.hold}) == len(cmd.hold)
        assert any(cmd.hold <= g for g in groups)
        assert cmd.hold | cmd.omit == im.phases and not cmd.hold & cmd.omit


def test_bridge_worker_lives_through_an_unexpected_link_fault_and_takes_control_back() -> None:
    """A fault the bridge does not translate (a driver bug) must not kill the worker thread while `up` reads True."""
    from firmware_bridge.bridge import FieldBridge
    from firmware_bridge.client import SnmpClient
    from firmware_bridge.emulator.controller import ControlSource, VirtualController
    from firmware_bridge.fakes import EmulatorLink, ManualClock
    from greenwave.edge_bridge import BridgeWorker, Decision
    from greenwave.edge_metrics import Metrics

    clock = ManualClock()
    vc = VirtualController(community=b"site", now_s=0.0)
    fault = {"on": False}

    class _Faulty(EmulatorLink):
        def send(self, payload: bytes) -> None:
            if fault["on"]:
                raise ValueError("driver bug")
            super().send(payload)

    link = _Faulty(vc, clock)
    bridge = FieldBridge(link, SnmpClient(link, b"site", timeout_s=0.01, retries=1, sleep=lambda s: None),
                         backup_time_s=10)  # fmt: skip
    worker = BridgeWorker(bridge, Metrics(), retry_s=0.05, retry_max_s=0.05)
    hold = phase_command(frozenset({2, 6}), frozenset(range(1, 9)))

    def until(what: Callable[[], bool]) -> bool:
        end = time.monotonic() + 5.0
        while time.monotonic() < end:
            worker.submit(Decision(hold, time.monotonic(), None))
            vc.step(clock.now_s)
            if what():
                return True
            time.sleep(0.02)
        return False

    worker.start()
    try:
        assert until(lambda: worker.up and vc.status.held == frozenset({2, 6}))
        fault["on"] = True
        assert until(lambda: not worker.up and "ValueError" in (worker.error or ""))
        assert worker._thread.is_alive()
        fault["on"] = False
        assert until(lambda: worker.up and vc.status.held == frozenset({2, 6}))  # back under control
    finally:
        worker.stop()
    vc.step(clock.now_s)
    assert vc.status.source is ControlSource.OWN_PLAN and not vc.status.held


def test_bridge_worker_releases_after_an_unexpected_fault_the_link_survives() -> None:
    """The status read raises a plain exception while the link is fine: the worker must release, not keep holding."""
    from firmware_bridge.bridge import FieldBridge
    from firmware_bridge.client import SnmpClient
    from firmware_bridge.emulator.controller import ControlSource, VirtualController
    from firmware_bridge.fakes import EmulatorLink, ManualClock
    from greenwave.edge_bridge import BridgeWorker, Decision
    from greenwave.edge_metrics import Metrics

    clock = ManualClock()
    vc = VirtualController(community=b"site", now_s=0.0)
    link = EmulatorLink(vc, clock)
    bridge = FieldBridge(link, SnmpClient(link, b"site", timeout_s=0.01, retries=1, sleep=lambda s: None),
                         backup_time_s=10)  # fmt: skip
    read_status, fault = bridge.status, {"on": False}

    def status():
        if fault["on"]:
            fault["on"] = False
            raise ValueError("status parser bug")
        return read_status()

    bridge.status = status  # type: ignore[method-assign]
    # a long retry wait: nothing is resent after the fault, so the controller shows what the fault path left
    worker = BridgeWorker(bridge, Metrics(), status_interval_s=0.05, retry_s=30.0, retry_max_s=30.0)

    def until(what: Callable[[], bool]) -> bool:
        end = time.monotonic() + 5.0
        while time.monotonic() < end and not what():
            time.sleep(0.02)
        return what()

    worker.start()
    try:
        hold = phase_command(frozenset({2, 6}), frozenset(range(1, 9)))
        worker.submit(Decision(hold, time.monotonic(), None))
        assert until(lambda: worker.up and vc.status.held == frozenset({2, 6}))
        fault["on"] = True
        assert until(lambda: "ValueError" in (worker.error or ""))
        assert until(lambda: bridge.realtime.releases == 1 and not worker.commanding)  # sent and confirmed
        assert vc.status.source is ControlSource.OWN_PLAN and not vc.status.held
    finally:
        worker.stop()


@pytest.mark.parametrize("duration", ["-5", "nan", "inf", "soon"])
def test_edge_run_refuses_a_duration_that_is_not_seconds(duration: str, capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["edge", "run", "--config", str(ROOT / "configs" / "edge.example.yaml"), "--duration", duration])
    assert stop.value.code == 2
    assert f"--duration: expected seconds >= 0, found {duration!r}" in capsys.readouterr().err


def test_a_pedestrian_phase_holds_its_green_for_walk_and_clearance() -> None:
    body = yaml.safe_load((ROOT / "configs" / "intersection.example.yaml").read_text())
    body.pop("kind")
    for phase in body["phases"]:
        if phase["id"] == 2:
            phase.update(min_green_s=10.0, ped_walk_s=7.0, ped_clear_s=12.0)
    im = model_from_intersection(IntersectionConfig.model_validate(body))
    stage = next(k for k, phases in enumerate(im.stage_phases) if 2 in phases)
    assert im.model.phases[stage].min_green_s == 19.0
    guard = SafetyGuard(im.model, start_phase=stage)
    for t in range(1, 19):
        assert guard.step(float(t), (stage + 1) % im.model.n_phases).status.stage.value == "green", t


def test_barriers_the_rings_do_not_cross_together_are_refused() -> None:
    body = yaml.safe_load((ROOT / "configs" / "intersection.example.yaml").read_text())
    body.pop("kind")
    body["barriers"] = [2, 5, 7]  # ring 1 in two groups, ring 2 in three
    with pytest.raises(ValueError, match="same number of barrier groups in every ring that names one"):
        IntersectionConfig.model_validate(body)


def test_metric_label_values_are_escaped_as_the_exposition_format_says() -> None:
    m = Metrics()
    m.describe("greenwave_lane_queued", "gauge", "Stopped vehicles.")
    m.set("greenwave_lane_queued", 3, {"lane": 'N\n1 "a" \\'})
    lines = [ln for ln in m.render().splitlines() if ln.startswith("greenwave_lane_queued")]
    assert lines == ['greenwave_lane_queued{lane="N\\n1 \\"a\\" \\\\"} 3']


def test_a_still_picture_in_a_short_looping_clip_is_a_frozen_camera(tmp_path: Path) -> None:
    import cv2
    import numpy as np

    from configs.vision import CameraConfig
    from greenwave.edge_cameras import CameraReader, ReaderSettings

    still = np.random.default_rng(0).integers(0, 255, (96, 160, 3), np.uint8)
    writer = cv2.VideoWriter(str(tmp_path / "still.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (160, 96))
    for _ in range(5):  # half a second, replayed in a loop, shorter than freeze_s
        writer.write(still)
    writer.release()
    cam = CameraConfig(name="c", source=str(tmp_path / "still.avi"),
                       lanes=[{"lane": "L", "polygon": [(0, 0), (160, 0), (160, 96)]}])  # fmt: skip
    reader = CameraReader(cam, settings=ReaderSettings(freeze_s=1.0, stale_s=1.0))
    reader.start()
    try:
        end = time.monotonic() + 6.0
        while time.monotonic() < end and reader.health(time.monotonic()).state.value != "frozen":
            time.sleep(0.1)
        assert reader.health(time.monotonic()).state.value == "frozen"
    finally:
        reader.stop()


def test_a_frozen_camera_s_old_picture_does_not_pass_for_fresh_counts() -> None:
    """Two cameras over one lane: the frozen one still delivers frames (5 cars), the live one sees it empty."""
    import numpy as np

    from configs.edge import EdgeConfig
    from greenwave.edge import EdgeRuntime, EdgeSettings
    from greenwave.edge_cameras import CameraHealth, CameraState, Frame
    from tests.vision.builders import make_detections
    from vision.detector import default_detector_config

    poly = [(0, 0), (320, 0), (320, 192), (0, 192)]
    cams = [{"name": n, "source": "0", "lanes": [{"lane": "N_thru", "polygon": poly}]} for n in ("frozen", "live")]
    cfg = EdgeConfig(intersection=example_intersection(), cameras=cams, detector=default_detector_config(),
                     policy="max-pressure")  # fmt: skip
    now = [100.0]

    class _Reader:
        def __init__(self, name: str, state: CameraState) -> None:
            self.name, self.state, self.frame = name, state, None

        def publish(self) -> None:
            seq = self.frame.seq + 1 if self.frame else 1
            self.frame = Frame(seq, now[0], np.zeros((192, 320, 3), np.uint8))

        def latest(self) -> Frame | None:
            return self.frame

        def health(self, now_s: float) -> CameraHealth:
            return CameraHealth(self.name, self.state, 0, 0, None, None)

        def start(self) -> None: ...

        def stop(self) -> None: ...

    frozen, live = _Reader("frozen", CameraState.FROZEN), _Reader("live", CameraState.OK)
    five = make_detections([(10 + 50 * i, 80, 50 + 50 * i, 120) for i in range(5)])

    class _Detector:
        def detect(self, frames):
            return [five if f is frozen.frame.image else make_detections([]) for f in frames]

    rt = EdgeRuntime(cfg, detector=_Detector(), clock=lambda: now[0], settings=EdgeSettings(gather_s=0))
    rt.readers = [frozen, live]
    for _ in range(3):
        live.publish()
        rt._frame_event.set()
        rt.process_frames(0)
        now[0] += 0.05
        frozen.publish()
        rt._frame_event.set()
        rt.process_frames(0)
        rt.tick(now[0])
        now[0] += 1.0
    assert rt._counted["N_thru"].vehicles == 0


def test_control_is_taken_only_while_the_controller_shows_one_of_our_stages() -> None:
    from configs.edge import EdgeConfig
    from firmware_bridge.bridge import BridgeStatus
    from greenwave.edge import EdgeRuntime

    rt = EdgeRuntime(EdgeConfig(intersection=example_intersection(), policy="max-pressure"))

    class _Worker:
        status: BridgeStatus | None = None

    rt.worker = _Worker()  # type: ignore[assignment]
    rt._take_control(0.0)
    assert not rt.controlling  # no status read yet
    none = frozenset()
    clearing = BridgeStatus(0, 0, 0, 10, none, frozenset({4, 8}), frozenset(range(1, 9)), none, none)
    rt.worker.status = clearing
    rt._take_control(1.0)
    assert not rt.controlling  # mid-clearance: no green to start the guard on
    rt.worker.status = BridgeStatus(0, 0, 0, 10, frozenset({2, 6}), frozenset(), frozenset({1, 3, 4, 5, 7, 8}),
                                    frozenset(), frozenset())  # fmt: skip
    rt._take_control(2.0)
    assert rt.controlling and rt.guard is not None
    assert rt.imodel.stage_phases[rt.guard.status.phase] == frozenset({2, 6})
