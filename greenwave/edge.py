"""The edge runtime: one process runs one intersection, from its cameras to its field controller.

    cameras (one reader thread each, latest frame wins)
      -> one batched detector call over the cameras with a new frame -> per-camera lane counters
      -> every `decision_interval_s`: input watchdog -> policy -> SafetyGuard -> NTCIP hold/force-off/call/omit
      -> bridge thread (real-time path, keep-alives inside unitBackupTime)

Failing safe: a lane whose camera is dead, frozen or stale, or whose counts stopped because the detector fails,
is shown to the policy as a standing call (`edge_health`). When too few lanes are fresh, or the bridge cannot
reach the controller, control is released to the controller's own plan; it is taken back (the guard restarted
on the stage the controller is showing) once inputs have been healthy for `recover_s`. `stop()` - on SIGTERM or
SIGINT through `greenwave edge run` - releases before the process exits; a killed process leaves the controller
to its backup timer.

Frames live in memory only, one per camera: nothing here writes or sends an image. Logs are JSON lines
(`edge_log`); metrics are Prometheus text on `metrics_bind` (`edge_metrics`).

Deliberately not here: counting (vision/), timing rules (controller/), SNMP/PMPP (firmware_bridge/).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from configs.edge import EdgeConfig
from controller.base import PhaseController
from controller.guard import SafetyGuard
from controller.intersection_model import model_from_intersection
from controller.measurement import IntersectionMeasurement, LaneMeasurement
from controller.registry import get_factory
from firmware_bridge.bridge import FieldBridge
from greenwave.edge_bridge import BridgeWorker, Decision, phase_command
from greenwave.edge_cameras import CameraReader, CameraState, Frame, ReaderSettings
from greenwave.edge_health import InputHealth, InputWatchdog, WatchdogSettings
from greenwave.edge_log import log_event
from greenwave.edge_metrics import EDGE_METRICS, Metrics, MetricsServer
from greenwave.edge_preflight import check_edge_config
from vision.counting import LaneCounter
from vision.detector import Detector
from vision.errors import VisionError

__all__ = ["EdgeRuntime", "EdgeSettings"]

_log = logging.getLogger("greenwave.edge")


@dataclass(frozen=True, slots=True)
class EdgeSettings:
    decision_interval_s: float = 1.0
    gather_s: float = (
        0.03  # after one camera's new frame, wait this long for the others to batch them together
    )
    watchdog: WatchdogSettings = field(default_factory=WatchdogSettings)
    reader: ReaderSettings = field(default_factory=ReaderSettings)
    command_ttl_s: float = 3.0
    bridge_status_interval_s: float = 1.0
    bridge_retry_s: float = 1.0


class EdgeRuntime:
    """One intersection's cameras, detector, policy and bridge. `run(stop)` until `stop` is set."""

    def __init__(
        self,
        config: EdgeConfig,
        *,
        settings: EdgeSettings | None = None,
        detector: Detector | None = None,
        bridge: FieldBridge | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Wire the parts (threads start in `start`).

        Args:
            detector, bridge: given instead of built from the config (other models, fault injection).
        Raises:
            ConfigError: see greenwave/edge_preflight.py; ModelError, BridgeError: model or link cannot be opened.
        """
        self.config = config
        self.settings = s = settings or EdgeSettings()
        self._clock = clock
        check_edge_config(config)
        self._factory = get_factory(config.policy)
        self.imodel = model_from_intersection(config.intersection)
        self.all_phases = self.imodel.phases
        self.metrics = Metrics()
        for name, (kind, help_) in EDGE_METRICS.items():
            self.metrics.describe(name, kind, help_)

        alias = {lane.id: lane.id for a in config.intersection.approaches for lane in a.lanes}
        alias |= {
            lane.sumo_lane: lane.id
            for a in config.intersection.approaches
            for lane in a.lanes
            if lane.sumo_lane
        }
        self._alias = alias
        self.lanes = tuple(dict.fromkeys(alias.values()))
        self._camera_lanes = [frozenset(alias[z.lane] for z in cam.lanes) for cam in config.cameras]
        self._zone_m = {alias[z.lane]: cam.zone_m for cam in config.cameras for z in cam.lanes}
        self.watchdog = InputWatchdog(self.lanes, frozenset().union(*self._camera_lanes), s.watchdog)

        if detector is None and config.cameras:
            from vision.detector import OnnxDetector  # onnxruntime is loaded only when cameras need it

            assert config.detector is not None  # EdgeConfig requires one with cameras
            detector = OnnxDetector(config.detector)
        self.detector = detector
        self.counters = [LaneCounter.from_config(cam) for cam in config.cameras]
        self._frame_event = threading.Event()
        self.readers = [CameraReader(cam, settings=s.reader, clock=clock, on_frame=self._frame_event.set)
                        for cam in config.cameras]  # fmt: skip
        self._done_seq = [0] * len(self.readers)
        self._processed_s: list[deque[float]] = [deque() for _ in self.readers]
        self._last_frame_s: list[float | None] = [None] * len(self.readers)
        # per camera: the frame size seen last and the lanes whose polygon lies mostly off such a frame (never
        # counted, so they go stale and show as a standing call rather than as an empty lane)
        self._frame_shape: list[tuple[int, ...] | None] = [None] * len(self.readers)
        self._off_frame: list[frozenset[str]] = [frozenset()] * len(self.readers)
        self._counted: dict[str, LaneMeasurement] = {}
        self._lane_frame_s: dict[str, float] = {}

        if bridge is None and config.bridge is not None:
            bridge = FieldBridge.open(config.bridge)
        self.worker = (
            BridgeWorker(bridge, self.metrics, command_ttl_s=s.command_ttl_s,
                         status_interval_s=s.bridge_status_interval_s, retry_s=s.bridge_retry_s, clock=clock)
            if bridge is not None else None
        )  # fmt: skip
        self.server: MetricsServer | None = None
        self.guard: SafetyGuard | None = None
        self.policy: PhaseController | None = None
        self.controlling = False
        self.health: InputHealth | None = None
        self._next_tick_s = self._last_tick_s = float("-inf")
        self._detector_error: str | None = None
        self._detector_error_logged_s = float("-inf")
        self._stopped = False
        self._released_for: str | None = None  # why control was last released (for /healthz)

    # -- lifecycle ------------------------------------------------------------------------------------------
    def start(self) -> None:
        self.server = MetricsServer(self.metrics, self.config.metrics_bind, self.healthz)
        self.server.start()
        if self.metrics_address[0] not in ("127.0.0.1", "::1", "localhost"):
            log_event(_log, "metrics_exposed", bind=self.config.metrics_bind, level=logging.WARNING)
        for reader in self.readers:
            reader.start()
        if self.worker is not None:
            self.worker.start()
        log_event(_log, "started", intersection=self.config.intersection.name, cameras=len(self.readers),
                  policy=self.config.policy, metrics=f"http://{self.metrics_address[0]}:{self.metrics_address[1]}/metrics",
                  bridge=self.config.bridge.url if self.config.bridge else None)  # fmt: skip

    @property
    def metrics_address(self) -> tuple[str, int]:
        return self.server.address if self.server is not None else ("", 0)

    def stop(self) -> None:
        """Release control, stop every thread and close the link. Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        was = self.controlling
        self.controlling, self.guard = False, None
        try:
            if self.worker is not None:
                self.worker.stop()  # releases phase control if it may be in force
        finally:
            for reader in self.readers:  # all at once: a reader stuck opening a dead stream must not delay the rest
                reader.request_stop()
            deadline = time.monotonic() + 2.0
            for reader in self.readers:
                reader.stop(timeout_s=max(0.0, deadline - time.monotonic()))
            self._counted.clear()
            if self.server is not None:
                self.server.stop()
            log_event(_log, "stopped", was_controlling=was)

    def run(self, stop: threading.Event) -> None:
        """Start, loop until `stop` is set, then stop (releasing control) whatever happened."""
        self.start()
        try:
            while not stop.is_set():
                self.step()
        finally:
            self.stop()

    def healthz(self) -> tuple[bool, str]:
        """(ok, text) for GET /healthz: ok only while controlling and the decision loop keeps ticking."""
        stalled_s = self._clock() - self._last_tick_s
        if self._last_tick_s > float("-inf") and stalled_s > 3 * self.settings.decision_interval_s:
            return False, f"decision loop stalled for {stalled_s:.1f} s (the bridge releases a stale command)"
        if self.controlling:
            return True, "controlling"
        if self.health is not None and not self.health.healthy:
            reason = self.health.reason
        elif self.worker is not None and not self.worker.up:
            reason = f"bridge down: {self.worker.error or 'no reply yet'}"
        else:  # inputs and link fine: what released control last, or control not taken yet
            reason = self._released_for or "waiting for the controller to show a green of ours"
        return False, f"released to the controller's own plan: {reason}"

    # -- one pass -------------------------------------------------------------------------------------------
    def step(self) -> None:
        """Process the cameras' new frames (waiting up to 0.1 s for some), then decide if a decision is due."""
        self.process_frames(wait_s=0.1)
        now = self._clock()
        if now >= self._next_tick_s:
            self._next_tick_s = max(self._next_tick_s + self.settings.decision_interval_s, now)
            self._last_tick_s = now
            self.tick(now)

    def _new_frames(self) -> list[tuple[int, Frame]]:
        """The newest unprocessed frame of each camera that is OK: a frozen camera still delivers frames, and its
        old picture must not pass for fresh counts (another camera may cover the same lane)."""
        out = []
        now = self._clock()
        for i, reader in enumerate(self.readers):
            f = reader.latest()
            if f is not None and f.seq != self._done_seq[i] and reader.health(now).state is CameraState.OK:
                out.append((i, f))
        return out

    def process_frames(self, wait_s: float) -> int:
        """One batched detector call over the cameras with a new frame. Returns how many frames it took."""
        if not self.readers or self.detector is None:
            time.sleep(wait_s)
            return 0
        self._frame_event.wait(wait_s)
        self._frame_event.clear()
        pick = self._new_frames()
        if not pick:
            return 0
        now = self._clock()
        live = sum(r.health(now).state is CameraState.OK for r in self.readers)
        if len(pick) < live and self.settings.gather_s > 0:
            time.sleep(self.settings.gather_s)  # let the other cameras' frames of this instant arrive
            pick = self._new_frames()
        frames = [f for _, f in pick]
        t0 = time.perf_counter()
        try:
            dets = self.detector.detect([f.image for f in frames])
            if len(dets) != len(frames):
                raise VisionError(
                    f"detector: expected {len(frames)} results (one per frame), found {len(dets)}"
                )
        except Exception as exc:  # any detector failure degrades the lanes; it must not end the runtime
            for i, f in pick:
                self._done_seq[i] = f.seq
            self.metrics.inc("greenwave_detector_errors_total")
            error = f"{type(exc).__name__}: {exc}"
            if error != self._detector_error or now - self._detector_error_logged_s >= 10.0:
                log_event(_log, "detector_error", error=error, level=logging.WARNING)  # once, then every 10 s
                self._detector_error, self._detector_error_logged_s = error, now
            return 0
        if self._detector_error is not None:
            log_event(_log, "detector_ok", after=self._detector_error)
            self._detector_error = None
        self.metrics.observe("greenwave_inference_seconds", time.perf_counter() - t0)
        for (i, f), det in zip(pick, dets, strict=True):
            t_s = f.t_s
            self._done_seq[i] = f.seq
            self._last_frame_s[i] = t_s
            if f.image.shape != self._frame_shape[i]:
                self._check_zones(i, f.image.shape)
            for lane, m in self.counters[i].update(det, t_s).items():
                if lane in self._off_frame[i]:
                    continue
                canon = self._alias.get(lane, lane)
                self._counted[canon] = replace(m, lane_id=canon)
                self._lane_frame_s[canon] = t_s
            window = self._processed_s[i]
            window.append(t_s)
            while window and window[0] < t_s - 5.0:
                window.popleft()
            self.metrics.inc("greenwave_camera_frames_total", labels={"camera": self.readers[i].name})
        return len(pick)

    def _check_zones(self, i: int, shape: tuple[int, ...]) -> None:
        self._frame_shape[i] = shape
        h, w = shape[:2]
        self._off_frame[i] = frozenset(self.counters[i].zones_off_frame(w, h))
        if self._off_frame[i]:
            log_event(_log, "lanes_off_frame", camera=self.readers[i].name, frame=f"{w}x{h}",
                      lanes=sorted(self._off_frame[i]), level=logging.WARNING)  # fmt: skip
        cut = self.counters[i].stop_lines_at_edge(w, h)
        if cut:
            log_event(_log, "stop_line_at_frame_edge", camera=self.readers[i].name, frame=f"{w}x{h}", lanes=cut,
                      hint="the vehicle at the stop line is cut by the frame and often missed: re-aim the camera",
                      level=logging.WARNING)  # fmt: skip

    def camera_fps(self, now_s: float) -> dict[str, float]:
        """Frames per second through the detector per camera, over the last 5 s."""
        out = {}
        for reader, window in zip(self.readers, self._processed_s, strict=True):
            recent = [t for t in window if t >= now_s - 5.0]
            span = max(now_s - recent[0], 1e-6) if len(recent) > 1 else 0.0
            out[reader.name] = (len(recent) - 1) / span if span else 0.0
        return out

    def tick(self, now: float) -> None:
        """One decision: watchdog, then control (policy -> guard -> bridge) or release."""
        usable: set[str] = set()
        for reader, lanes in zip(self.readers, self._camera_lanes, strict=True):
            h = reader.health(now)
            up = h.state is CameraState.OK
            if up:
                usable |= lanes
            self.metrics.set("greenwave_camera_up", int(up), {"camera": reader.name})
            self.metrics.set("greenwave_camera_reconnects_total", h.reconnects, {"camera": reader.name})
        for name, fps in self.camera_fps(now).items():
            self.metrics.set("greenwave_camera_fps", round(fps, 2), {"camera": name})
        health = self.watchdog.assess(now, self._lane_frame_s, usable)
        if (
            self.health is None
            or health.healthy != self.health.healthy
            or health.degraded != self.health.degraded
        ):
            log_event(_log, "inputs", healthy=health.healthy, degraded=sorted(health.degraded),
                      reason=health.reason or None)  # fmt: skip
        self.health = health
        incoming = self.watchdog.measurements(health, self._counted, self._zone_m)
        self.metrics.set("greenwave_inputs_healthy", int(health.healthy))
        for lane, m in incoming.items():
            self.metrics.set("greenwave_lane_degraded", int(lane in health.degraded), {"lane": lane})
            self.metrics.set("greenwave_lane_vehicles", m.vehicles, {"lane": lane})
            self.metrics.set("greenwave_lane_queued", m.queued, {"lane": lane})
        measurement = IntersectionMeasurement(
            self.config.intersection.name, now, incoming, healthy=health.healthy
        )

        bridge_ok = self.worker is None or self.worker.up
        if health.healthy and bridge_ok and not self.controlling:
            self._take_control(now)  # waits while the controller shows no green of ours
        elif self.controlling and not (health.healthy and bridge_ok):
            self._release(now, health.reason or f"bridge down: {self.worker.error if self.worker else ''}")
        if not self.controlling or self.guard is None or self.policy is None:
            if self.worker is not None:
                self.worker.submit(Decision(None, now, None))
            self.metrics.set("greenwave_stage", -1)
            return
        t0 = time.perf_counter()
        try:
            requested = self.policy.decide(measurement, self.guard.status)
            demand = self.policy.demand(measurement)
        except Exception as exc:  # a policy bug must release, not hold
            log_event(_log, "policy_error", error=f"{type(exc).__name__}: {exc}", level=logging.ERROR)
            self._release(now, "policy error")
            if self.worker is not None:
                self.worker.submit(Decision(None, now, None))
            return
        before = dict(self.guard.overrides)
        previous = self.guard.status.target
        command = self.guard.step(now, requested, demand)
        self.metrics.observe("greenwave_decide_seconds", time.perf_counter() - t0)
        for reason, n in self.guard.overrides.items():
            if n > before.get(reason, 0):
                self.metrics.inc(
                    "greenwave_guard_overrides_total", n - before.get(reason, 0), {"reason": reason}
                )
        target = command.status.target
        self.metrics.inc("greenwave_decisions_total")
        self.metrics.set("greenwave_stage", target)
        if target != previous or command.changed:
            log_event(_log, "decision", stage=target, phases=sorted(self.imodel.stage_phases[target]),
                      signal_stage=command.status.stage.value, requested=requested)  # fmt: skip
        fresh = [t for t, lanes in zip(self._last_frame_s, self._camera_lanes, strict=True)
                 if t is not None and lanes & health.fresh]  # fmt: skip
        if self.worker is not None:
            pc = phase_command(self.imodel.stage_phases[target], self.all_phases)
            self.worker.submit(Decision(pc, now, min(fresh) if fresh else None))
            shown = self.worker.status.greens if self.worker.status is not None else None
            # the controller times its own clearances: it follows the guard with a lag, watch that it does follow
            self.metrics.set(
                "greenwave_controller_shows_stage", int(shown == self.imodel.stage_phases[target])
            )

    def _take_control(self, now: float) -> None:
        """Start the guard on the stage the controller shows green. With a bridge, control is taken only while it
        shows one: mid-clearance (no green) the guard would start a green the controller has not begun, and time
        that green's minimum from too early."""
        start, greens = 0, frozenset[int]()
        if self.worker is not None:
            status = self.worker.status
            if status is None or (shown := self.imodel.stage_of(status.greens)) is None:
                return
            start, greens = shown, status.greens
        self.guard = SafetyGuard(self.imodel.model, start_phase=start, now_s=now)
        self.policy = self._factory(self.imodel.model, self.config.controller)
        self.controlling, self._released_for = True, None
        self.metrics.set("greenwave_control_active", 1)
        log_event(_log, "take_control", stage=start, controller_greens=sorted(greens))

    def _release(self, now: float, reason: str) -> None:
        self._released_for = reason
        self.controlling, self.guard, self.policy = False, None, None
        self.metrics.set("greenwave_control_active", 0)
        self.metrics.inc("greenwave_releases_total")
        log_event(_log, "release", reason=reason, level=logging.WARNING)
