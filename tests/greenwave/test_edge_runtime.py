"""Edge runtime fault injection with the real parts: video files, onnxruntime, the virtual controller over UDP.

Every fault must end with the controller on its own plan (no phase held), and control must come back once the
fault clears. Timings are shortened through EdgeSettings and the bridge config, so each case takes seconds.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from configs.edge import EdgeConfig
from configs.loader import load_yaml_model
from firmware_bridge.emulator.controller import ControlSource, VirtualController
from firmware_bridge.emulator.server import serve_udp
from greenwave.edge import EdgeRuntime, EdgeSettings
from greenwave.edge_cameras import ReaderSettings
from greenwave.edge_health import WatchdogSettings
from tests.vision.builders import make_onnx_detector, raw_output
from vision.detections import Detections
from vision.detector import FaultyDetector, OnnxDetector

ROOT = Path(__file__).resolve().parents[2]
COMMUNITY = "edge-test"
W, H = 320, 192
ZONES = {"N_right": (0, 107), "N_thru": (107, 213), "N_left": (213, 320)}
FAST = EdgeSettings(
    watchdog=WatchdogSettings(stale_s=1.0, recover_s=1.0),
    reader=ReaderSettings(retry_s=0.2, retry_max_s=0.4, stale_s=1.0, freeze_s=3.0),
    command_ttl_s=3.0,
    bridge_status_interval_s=0.3,
    bridge_retry_s=0.3,
)


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_video(path: Path, n_frames: int, *, fps: float = 10.0, frozen: bool = False) -> Path:
    """Noisy frames (a real sensor never repeats a picture exactly) unless `frozen`."""
    rng = np.random.default_rng(0)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (W, H))
    assert writer.isOpened()
    still = rng.integers(0, 255, (H, W, 3), np.uint8)
    for _ in range(n_frames):
        writer.write(still if frozen else rng.integers(0, 255, (H, W, 3), np.uint8))
    writer.release()
    return path


class Emulator:
    """The virtual controller serving SNMP on 127.0.0.1 UDP in a thread; `silence()` stops answering."""

    def __init__(self, port: int) -> None:
        self.url = f"udp://127.0.0.1:{port}"
        self.vc = VirtualController(community=COMMUNITY.encode(), now_s=time.monotonic())
        self._stop: threading.Event | None = None
        self._thread: threading.Thread | None = None

    def serve(self) -> None:
        stop, ready = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=serve_udp, args=(self.vc, self.url),
                                        kwargs={"stop": stop, "on_ready": ready.set}, daemon=True)  # fmt: skip
        self._thread.start()
        assert ready.wait(5)
        self._stop = stop

    def silence(self) -> None:
        assert self._stop is not None and self._thread is not None
        self._stop.set()
        self._thread.join(2)
        self._stop = None

    def status(self):  # the controller keeps timing while silent (its own clock)
        if self._stop is None:
            self.vc.step(time.monotonic())
        return self.vc.status


@dataclass
class Rig:
    dir: Path
    emulator: Emulator
    config: EdgeConfig

    def held(self) -> bool:
        st = self.emulator.status()
        return st.source is ControlSource.SYSTEM and bool(st.held)

    def released(self) -> bool:
        st = self.emulator.status()
        return st.source is not ControlSource.SYSTEM and not st.held


def wait_until(cond: Callable[[], bool], timeout_s: float, what: str) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        if cond():
            return time.monotonic() - t0
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s} s waiting for: {what}")


def edge_config_dict(d: Path, bridge_url: str, *, backup_time_s: int = 3, metrics_port: int = 0) -> dict:
    inter = yaml.safe_load((ROOT / "configs" / "intersection.example.yaml").read_text())
    inter.pop("kind")
    lanes = [
        {"lane": k, "polygon": [[x0, 60], [x1, 60], [x1, H - 1], [x0, H - 1]]}
        for k, (x0, x1) in ZONES.items()
    ]
    return {
        "kind": "edge",
        "intersection": inter,
        "cameras": [
            {"name": "north", "source": str(d / "north.avi"), "fps": 10, "lanes": lanes, "zone_m": 40}
        ],
        "detector": {"model": str(d / "model.onnx"), "threads": 1},
        "bridge": {
            "url": bridge_url,
            "community": COMMUNITY,
            "timeout_s": 0.2,
            "retries": 1,
            "backoff_s": 0.05,
            "backup_time_s": backup_time_s,
        },
        "policy": "adaptive",
        "metrics_bind": f"127.0.0.1:{metrics_port}",
    }


@pytest.fixture()
def rig(tmp_path: Path) -> Iterator[Rig]:
    # the model sees one car with its bottom-centre at (160, 160): lane N_thru
    make_onnx_detector(tmp_path / "model.onnx", raw_output([(160, 150, 40, 20)], [{0: 0.9}], nc=4), hw=(H, W))
    write_video(tmp_path / "north.avi", 20)
    emulator = Emulator(free_port())
    emulator.serve()
    cfg_path = tmp_path / "edge.yaml"
    cfg_path.write_text(yaml.safe_dump(edge_config_dict(tmp_path, emulator.url)))
    yield Rig(tmp_path, emulator, load_yaml_model(cfg_path, EdgeConfig))
    if emulator._stop is not None:
        emulator.silence()


class Running:
    def __init__(self, runtime: EdgeRuntime) -> None:
        self.runtime = runtime
        self.stop = threading.Event()
        self.thread = threading.Thread(target=runtime.run, args=(self.stop,), daemon=True)

    def __enter__(self) -> EdgeRuntime:
        self.thread.start()
        return self.runtime

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(10)
        assert not self.thread.is_alive()


def test_takes_control_serves_metrics_and_never_writes_a_frame(rig: Rig, monkeypatch) -> None:
    def forbidden(*a, **k):
        raise AssertionError("a frame was written")

    monkeypatch.setattr(cv2, "imwrite", forbidden)
    monkeypatch.setattr(cv2, "VideoWriter", forbidden)
    before = {p: p.stat().st_mtime for p in rig.dir.iterdir()}
    runtime = EdgeRuntime(rig.config, settings=FAST)
    with Running(runtime):
        wait_until(rig.held, 8, "the controller held by the edge runtime")
        st = rig.emulator.status()
        assert st.held <= runtime.all_phases and runtime.controlling
        # the controller shows what the guard holds: a whole stage of the config, both rings
        wait_until(
            lambda: rig.emulator.status().signal.greens == rig.emulator.status().held, 15, "greens = held"
        )
        assert rig.emulator.status().held in runtime.imodel.stage_phases
        wait_until(
            lambda: runtime.metrics.samples("greenwave_frame_to_command_seconds"), 5, "a latency sample"
        )
        host, port = runtime.metrics_address
        with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=5) as resp:
            ctype, text = resp.headers["Content-Type"], resp.read().decode()
        with urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=5) as resp:
            assert resp.status == 200 and resp.read().decode().strip() == "controlling"
    assert ctype.startswith("text/plain; version=0.0.4")
    assert "untyped" not in text  # every series the runtime exports is described (TYPE and HELP)
    lines = text.splitlines()
    assert "# TYPE greenwave_camera_fps gauge" in lines
    assert 'greenwave_camera_up{camera="north"} 1' in lines
    assert "greenwave_bridge_up 1" in lines and "greenwave_control_active 1" in lines
    assert (
        'greenwave_lane_vehicles{lane="N_thru"} 1' in lines
        and 'greenwave_lane_degraded{lane="N_thru"} 0' in lines
    )
    assert 'greenwave_lane_degraded{lane="E_thru"} 1' in lines  # no camera over it: a standing call
    assert any(line.startswith('greenwave_inference_seconds{quantile="0.95"}') for line in lines)
    assert any(line.startswith("greenwave_decisions_total ") for line in lines)
    for line in lines:  # every sample line is NAME{labels} VALUE with a float value
        if not line.startswith("#"):
            float(line.rsplit(" ", 1)[1])
    # stopping released at once (not through the 3 s backup timer) and nothing was written
    assert rig.released()
    assert {p: p.stat().st_mtime for p in rig.dir.iterdir()} == before


def test_camera_unplugged_releases_then_control_returns(rig: Rig) -> None:
    runtime = EdgeRuntime(rig.config, settings=FAST)
    video = rig.dir / "north.avi"
    with Running(runtime):
        wait_until(rig.held, 8, "control taken")
        video.rename(rig.dir / "unplugged.avi")  # the 2 s file ends and cannot be reopened: camera gone
        wait_until(rig.released, 10, "control released after the camera went away")
        assert not runtime.controlling and runtime.health is not None and not runtime.health.healthy
        (rig.dir / "unplugged.avi").rename(video)
        back_s = wait_until(rig.held, 10, "control back after the camera returned")
    assert back_s < 10 and rig.released()


def test_detector_raising_releases_then_control_returns(rig: Rig) -> None:
    assert rig.config.detector is not None
    detector = FaultyDetector(OnnxDetector(rig.config.detector))
    runtime = EdgeRuntime(rig.config, settings=FAST, detector=detector)
    with Running(runtime):
        wait_until(rig.held, 8, "control taken")
        detector.failing.set()
        wait_until(rig.released, 8, "control released while the detector raises")
        assert runtime.metrics.value("greenwave_detector_errors_total")
        host, port = runtime.metrics_address
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=5)
        assert err.value.code == 503 and b"released" in err.value.read()
        detector.failing.clear()
        wait_until(rig.held, 10, "control back after the detector recovered")


def test_policy_raising_releases_then_control_returns(rig: Rig) -> None:
    runtime = EdgeRuntime(rig.config, settings=FAST)
    failing, raised = threading.Event(), []
    build = runtime._factory

    class FailingPolicy:
        """The configured policy, with a bug that fires while `failing` is set."""

        def __init__(self, inner) -> None:
            self.inner, self.name = inner, inner.name

        def decide(self, measurement, status) -> int:
            if failing.is_set():
                raised.append(status)
                raise RuntimeError("policy bug")
            return self.inner.decide(measurement, status)

        def demand(self, measurement):
            return self.inner.demand(measurement)

    runtime._factory = lambda model, params: FailingPolicy(build(model, params))
    with Running(runtime):
        wait_until(rig.held, 8, "control taken")
        assert runtime.metrics.value("greenwave_releases_total") in (None, 0)
        failing.set()
        wait_until(rig.released, 8, "control released while the policy raises")
        wait_until(lambda: len(raised) >= 2, 5, "a second decision with the failing policy")
        # each failing decision released: the runtime does not count itself in control, and says so
        assert not runtime.controlling and runtime.metrics.value("greenwave_control_active") == 0
        assert runtime.metrics.value("greenwave_releases_total") >= 1
        ok, text = runtime.healthz()
        assert not ok and "released to the controller's own plan: policy error" in text
        assert rig.released()  # the controller stayed on its own plan, not held by a stale command
        failing.clear()
        wait_until(rig.held, 10, "control back once the policy decided again")


def test_silent_bridge_leaves_the_controller_on_its_own_plan_then_recovers(rig: Rig) -> None:
    runtime = EdgeRuntime(rig.config, settings=FAST)
    with Running(runtime):
        wait_until(rig.held, 8, "control taken")
        rig.emulator.silence()
        # nothing reaches the controller now: its backup timer (3 s) must hand control back to its own plan
        wait_until(rig.released, 8, "the controller back on its own plan")
        assert rig.emulator.status().source is ControlSource.BACKUP
        wait_until(lambda: not runtime.controlling, 5, "the runtime noticing the silent bridge")
        assert runtime.metrics.value("greenwave_bridge_up") == 0
        rig.emulator.serve()
        wait_until(rig.held, 10, "control back after the controller answered again")


def test_frozen_camera_degrades_its_lanes_and_releases(rig: Rig) -> None:
    write_video(rig.dir / "north.avi", 60, frozen=True)
    runtime = EdgeRuntime(rig.config, settings=FAST)
    with Running(runtime):
        wait_until(lambda: runtime.metrics.value("greenwave_camera_up", {"camera": "north"}) == 0 and
                   runtime.readers[0].health(time.monotonic()).state.value == "frozen", 8, "frozen camera")  # fmt: skip
        # the release goes out through the bridge, a moment after the runtime saw the camera freeze
        wait_until(lambda: rig.released() and not runtime.controlling, 8, "control released for the frozen camera")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_releases_before_exit(rig: Rig, signum: int) -> None:
    cfg = edge_config_dict(
        rig.dir, rig.emulator.url, backup_time_s=30, metrics_port=free_port(socket.SOCK_STREAM)
    )
    path = rig.dir / "edge30.yaml"
    path.write_text(yaml.safe_dump(cfg))
    proc = subprocess.Popen([sys.executable, "-m", "greenwave.cli", "edge", "run", "--config", str(path)],
                            cwd=ROOT, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})  # fmt: skip
    try:
        wait_until(rig.held, 20, "the edge process holding the controller")
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    # released by the process itself: the backup timer (30 s) is far from expiring
    st = rig.emulator.status()
    assert st.source is ControlSource.OWN_PLAN and not st.held
    assert st.backup_remaining_s is not None and st.backup_remaining_s > 20
    events = [yaml.safe_load(line)["event"] for line in err.splitlines() if line.startswith("{")]
    assert "take_control" in events and events[-1] == "stopped" and "bridge_closed" in events
    assert events.index("bridge_closed") < events.index("stopped")


def test_reader_keeps_only_the_newest_frame_at_the_file_rate(tmp_path: Path) -> None:
    from configs.vision import CameraConfig
    from greenwave.edge_cameras import CameraReader, CameraState

    video = write_video(tmp_path / "cam.avi", 40, fps=20.0)
    cam = CameraConfig(
        name="c", source=str(video), fps=20, lanes=[{"lane": "x", "polygon": [[0, 0], [9, 0], [9, 9]]}]
    )
    reader = CameraReader(cam)
    reader.start()
    try:
        wait_until(lambda: reader.latest() is not None, 5, "a first frame")
        first = reader.latest()
        time.sleep(1.0)  # nobody consumes: frames are replaced, not queued
        last = reader.latest()
        assert first is not None and last is not None
        assert 12 <= last.seq - first.seq <= 28  # played at about 20 frames/s, not as fast as it decodes
        assert last.t_s > first.t_s and reader.health(time.monotonic()).state is CameraState.OK
    finally:
        reader.stop()
    assert reader.latest() is None  # the last picture does not outlive the reader


def test_bridge_worker_releases_a_command_nobody_renews(rig: Rig) -> None:
    from configs.bridge import BridgeConfig
    from firmware_bridge.bridge import FieldBridge
    from greenwave.edge_bridge import BridgeWorker, Decision, phase_command
    from greenwave.edge_metrics import Metrics

    cfg = BridgeConfig(url=rig.emulator.url, community=COMMUNITY, timeout_s=0.2, retries=1, backup_time_s=30)
    worker = BridgeWorker(FieldBridge.open(cfg), Metrics(), command_ttl_s=1.0, status_interval_s=0.2)
    worker.start()
    try:
        worker.submit(
            Decision(phase_command(frozenset({2, 6}), frozenset(range(1, 9))), time.monotonic(), None)
        )
        wait_until(rig.held, 3, "the command in force")
        assert rig.emulator.status().held == {2, 6}
        # the runtime stops deciding (hung): the worker must not keep the old command alive for 30 s
        released_s = wait_until(rig.released, 4, "the stale command released")
        assert released_s < 3 and rig.emulator.status().backup_remaining_s > 20
    finally:
        worker.stop()


def test_hung_detector_stalls_the_loop_and_the_stale_command_is_released(rig: Rig) -> None:
    path = rig.dir / "edge30.yaml"
    path.write_text(yaml.safe_dump(edge_config_dict(rig.dir, rig.emulator.url, backup_time_s=30)))
    config = load_yaml_model(path, EdgeConfig)
    assert config.detector is not None
    inner, hang, resume = OnnxDetector(config.detector), threading.Event(), threading.Event()

    class HangingDetector:
        def detect(self, frames: Sequence[np.ndarray]) -> list[Detections]:
            if hang.is_set():
                resume.wait(20)  # a driver that never returns, until the test lets it
            return inner.detect(frames)

    runtime = EdgeRuntime(config, settings=FAST, detector=HangingDetector())
    with Running(runtime):
        wait_until(rig.held, 8, "control taken")
        hang.set()
        released_s = wait_until(rig.released, 8, "the stale command released by the bridge thread")
        assert released_s < 6 and rig.emulator.status().backup_remaining_s > 20  # not the 30 s backup timer
        ok, text = runtime.healthz()
        assert not ok and "stalled" in text
        hang.clear()
        resume.set()
        wait_until(rig.held, 10, "control back after the detector returned")


def test_lane_drawn_off_the_frame_is_a_standing_call_not_an_empty_lane(rig: Rig, caplog) -> None:
    cfg = edge_config_dict(rig.dir, rig.emulator.url)
    cfg["cameras"][0]["lanes"][2]["polygon"] = [[900, 500], [1900, 500], [1900, 1080], [900, 1080]]  # N_left
    (rig.dir / "edge.yaml").write_text(yaml.safe_dump(cfg))
    runtime = EdgeRuntime(load_yaml_model(rig.dir / "edge.yaml", EdgeConfig), settings=FAST)
    with caplog.at_level("WARNING", logger="greenwave.edge"), Running(runtime):
        # every lane starts degraded (no frame yet): wait for the camera's counts to reach its good lanes first
        wait_until(lambda: runtime.metrics.value("greenwave_lane_degraded", {"lane": "N_thru"}) == 0, 8,
                   "frames counted on N_thru")  # fmt: skip
        for _ in range(5):  # and N_left stays a standing call while they flow
            assert runtime.metrics.value("greenwave_lane_degraded", {"lane": "N_left"}) == 1
            time.sleep(0.1)
    assert any("lanes_off_frame" in r.getMessage() and "N_left" in r.getMessage() for r in caplog.records)


def test_a_stop_line_at_the_frame_edge_is_logged_for_the_installer(rig: Rig, caplog) -> None:
    cfg = edge_config_dict(rig.dir, rig.emulator.url)
    lane = cfg["cameras"][0]["lanes"][0]
    x0, x1 = lane["polygon"][0][0], lane["polygon"][1][0]
    lane["stop_line"] = [[x0, H - 1], [x1, H - 1]]  # on the frame's bottom row
    (rig.dir / "edge.yaml").write_text(yaml.safe_dump(cfg))
    runtime = EdgeRuntime(load_yaml_model(rig.dir / "edge.yaml", EdgeConfig), settings=FAST)

    def logged() -> bool:
        return any("stop_line_at_frame_edge" in r.getMessage() and lane["lane"] in r.getMessage()
                   for r in caplog.records)

    with caplog.at_level("WARNING", logger="greenwave.edge"), Running(runtime):
        wait_until(logged, 8, "the stop-line warning")


def test_stop_is_not_delayed_by_each_camera_stuck_opening_a_dead_stream(rig: Rig, monkeypatch) -> None:
    """Readers used to be stopped one after the other, each waited up to 2 s: with four cameras stuck in FFmpeg's
    connect, `edge run --duration 8` took about 12 s to exit (found by a new-user walkthrough)."""
    import greenwave.edge_cameras as cams

    class _Stuck:  # a stream that takes 5 s to refuse the connection
        def __init__(self, *_a: object, **_k: object) -> None:
            time.sleep(5.0)
            raise OSError("connection refused")

    monkeypatch.setattr(cams, "VideoSource", _Stuck)
    cfg = edge_config_dict(rig.dir, rig.emulator.url)
    cfg["cameras"] = [dict(cfg["cameras"][0], name=f"cam{k}") for k in range(4)]
    (rig.dir / "edge.yaml").write_text(yaml.safe_dump(cfg))
    runtime = EdgeRuntime(load_yaml_model(rig.dir / "edge.yaml", EdgeConfig), settings=FAST)
    runtime.start()
    time.sleep(0.3)  # all four readers are inside the stuck open
    t0 = time.monotonic()
    runtime.stop()
    assert time.monotonic() - t0 < 5.0  # one shared 2 s wait, not 4 x 2 s (8 s)
    assert rig.released()
