"""Edge runtime benchmark: 4 camera streams of the `single` junction, sustained frame rate, latency, fault recovery.

    python -m bench.edge [--model FILE] [--fps 15] [--steady-s 30] [--json PATH]

1. Renders one video per approach of the built-in `single` scenario with the synthetic camera (sim/camera.py over
   a SUMO run, day conditions), MJPG at `--fps`, `--clip-s` long (files loop, as a replayed camera).
2. Starts the virtual controller (`greenwave bridge emulate --udp`, its own process) behind a UDP relay that the
   bench can cut (a silent controller), and runs the edge runtime in this process on the 4 files with the detector
   (the shipped model unless --model) and the adaptive policy.
3. Steady phase: frames through the detector per camera per second (counter deltas) and frame-to-command latency
   p50/p95 (capture of the oldest newest-frame behind a command to the command's send).
4. Faults, one after another, each cleared after it took effect: one camera unplugged (its lanes degrade, control
   kept), all cameras unplugged, detector raising, controller silent; for each, what the controller did during the
   fault (own plan or still under control, never held with the runtime gone) and how long after the fault cleared it
   was back under control (target <= 10 s). Then a stop, which must release.

The controller's state is read with SNMP straight from the emulator, not through the relay. The machine is shared:
the load average is printed with the figures, and so is the CPU time this process
spent per 4-camera batch (decode + preprocess + inference + counting + control), which does not depend on what else
runs: 1000 / cpu_ms_per_batch is the batch rate one free core would sustain. (Linux autogroup scheduling splits the
CPU between sessions, so `nice` does not buy this process a bigger share of a box other jobs are using.)
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from configs.bridge import BridgeConfig
from configs.edge import EdgeConfig
from firmware_bridge.bridge import FieldBridge
from firmware_bridge.ntcip import UnitControlStatus
from greenwave.edge import EdgeRuntime, EdgeSettings
from greenwave.edge_log import configure_json_logging
from vision.detector import FaultyDetector, OnnxDetector, default_detector_config

__all__ = ["main"]

COMMUNITY = "bench-edge"
JUNCTION = "C"
# NEMA numbers for the single junction's movements (approach, turn), as in configs/intersection.example.yaml
PHASES = {1: [("S", "left")], 2: [("N", "through"), ("N", "right")], 5: [("N", "left")],
          6: [("S", "through"), ("S", "right")], 3: [("W", "left")], 4: [("E", "through"), ("E", "right")],
          7: [("E", "left")], 8: [("W", "through"), ("W", "right")]}  # fmt: skip
_MJPG = cv2.VideoWriter.fourcc(*"MJPG")
_TURNS = {"s": "through", "l": "left", "r": "right", "t": "uturn"}


def render_videos(
    out: Path, *, fps: float, clip_s: float, seed: int = 1
) -> tuple[list[dict[str, Any]], Path]:
    """One MJPG file per approach of `single`; returns their camera config bodies and the net file."""
    from sim.camera import SyntheticCamera
    from sim.camera_effects import random_conditions
    from sim.camera_model import pose_for_approach
    from sim.dataset import SumoFilm
    from sim.scenarios import build_scenario

    cfg = build_scenario("single", out / "scenario")
    net = next((out / "scenario").glob("*.net.xml"))
    rng = np.random.default_rng(seed)
    cams: list[dict[str, Any]] = []
    with SumoFilm(["-c", str(cfg)], net, step_length_s=1.0 / fps, seed=seed) as film:
        film.step(int(420 * fps))  # into the first slice's NS peak: queues on every approach
        rigs = []
        for jid, approach in film.scene.approaches:
            if jid == JUNCTION:
                pose = pose_for_approach(approach, rng)
                rigs.append(SyntheticCamera(film.scene, approach, pose, random_conditions(rng, "day"),
                                            zone_m=60.0, seed=int(rng.integers(1 << 31))))  # fmt: skip
        writers = []
        for rig in rigs:
            path = out / f"{rig.approach.edge_id}.avi"
            size = (rig.camera.width_px, rig.camera.height_px)
            w = cv2.VideoWriter(str(path), _MJPG, fps, size)
            writers.append(w)
            cams.append({**rig.camera_config(rig.approach.edge_id, str(path)), "fps": fps})
        assert film.reader is not None
        for _ in range(int(clip_s * fps)):
            film.step()
            states = film.reader.read()
            for rig, w in zip(rigs, writers, strict=True):
                w.write(rig.render(states, rng).image)
        for w in writers:
            w.release()
    return cams, net


def intersection_for(net_file: Path) -> dict[str, Any]:
    """The `single` junction as an engineer's intersection config (lane ids = SUMO lane ids)."""
    import sumolib

    net = sumolib.net.readNet(str(net_file))
    cx, cy = net.getNode(JUNCTION).getCoord()
    approaches: dict[str, dict[str, Any]] = {}
    for edge in net.getNode(JUNCTION).getIncoming():
        x, y = edge.getFromNode().getCoord()
        name = ("N" if y > cy else "S") if abs(y - cy) > abs(x - cx) else ("E" if x > cx else "W")
        lanes = []
        for lane in edge.getLanes():
            turns = sorted({_TURNS[c.getDirection().lower()] for c in lane.getOutgoing()} - {"uturn"})
            if turns:
                lanes.append({"id": lane.getID(), "turns": turns, "sumo_lane": lane.getID()})
        approaches[name] = {"name": name, "lanes": lanes}
    movements = [
        {"id": f"{a}{t[0].upper()}", "approach": a, "turn": t} for ps in PHASES.values() for a, t in ps
    ]
    return {
        "name": "single",
        "approaches": list(approaches.values()),
        "movements": movements,
        "phases": [
            {
                "id": p,
                "movements": [f"{a}{t[0].upper()}" for a, t in ms],
                "min_green_s": 5 if p % 2 else 10,
                "max_green_s": 25 if p % 2 else 50,
                "yellow_s": 3.0 if p % 2 else 4.0,
                "all_red_s": 1.0 if p % 2 else 2.0,
            }
            for p, ms in PHASES.items()
        ],  # fmt: skip
        "rings": [[1, 2, 3, 4], [5, 6, 7, 8]],
        "barriers": [2, 4],
    }


class UdpRelay:
    """Forwards SNMP datagrams edge <-> controller; `cut` drops everything (a silent controller)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.up.settimeout(0.1)
        self.cut = threading.Event()
        self._stop = threading.Event()
        self._peer: tuple[str, int] | None = None
        threading.Thread(target=self._down_loop, daemon=True).start()
        threading.Thread(target=self._up_loop, daemon=True).start()

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def _down_loop(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            self._peer = peer
            if not self.cut.is_set():
                self.up.sendto(data, self.target)

    def _up_loop(self) -> None:
        while not self._stop.is_set():
            try:
                data, _ = self.up.recvfrom(65535)
            except (TimeoutError, OSError):
                continue
            if not self.cut.is_set() and self._peer is not None:
                self.sock.sendto(data, self._peer)

    def close(self) -> None:
        self._stop.set()


class Monitor:
    """Reads the controller's state straight from the emulator twice a second."""

    def __init__(self, url: str) -> None:
        self.bridge = FieldBridge.open(BridgeConfig(url=url, community=COMMUNITY, timeout_s=0.5, retries=2))
        self.samples: list[tuple[float, bool, bool]] = []  # (t, under control, held)

    def read(self) -> tuple[bool, bool]:
        st = self.bridge.status()
        under = st.unit_control_status == UnitControlStatus.SYSTEM_CONTROL and bool(st.held)
        return under, bool(st.held)

    def wait(self, cond: Callable[[bool, bool], bool], timeout_s: float) -> float | None:
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout_s:
            under, held = self.read()
            if cond(under, held):
                return time.monotonic() - t0
            time.sleep(0.25)
        return None


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(values: list[float], q: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, int(q * len(v)))] if v else float("nan")


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="greenwave-edge-bench-"))
    t0 = time.monotonic()
    cams, net = render_videos(work, fps=args.fps, clip_s=args.clip_s)
    print(
        f"rendered {len(cams)} camera files ({args.clip_s:g} s at {args.fps:g} fps) in {time.monotonic() - t0:.0f} s"
    )
    port = _free_udp_port()
    emu = subprocess.Popen([sys.executable, "-m", "greenwave.cli", "bridge", "emulate", "--udp", f"127.0.0.1:{port}",
                            "--community", COMMUNITY], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    relay = UdpRelay(("127.0.0.1", port))
    log_path = work / "edge.log"
    configure_json_logging(log_path.open("w", encoding="utf-8"))
    print(f"runtime log (JSON lines): {log_path}")
    model = Path(args.model) if args.model else default_detector_config().model
    config = EdgeConfig.model_validate({
        "intersection": intersection_for(net), "cameras": cams,
        "detector": {"model": str(model), "threads": args.threads},
        "bridge": {"url": f"udp://127.0.0.1:{relay.port}", "community": COMMUNITY, "backup_time_s": 4,
                   "timeout_s": 0.3, "retries": 1},
        "policy": "adaptive", "metrics_bind": "127.0.0.1:0",
    })  # fmt: skip
    assert config.detector is not None
    detector = FaultyDetector(OnnxDetector(config.detector))
    runtime = EdgeRuntime(config, detector=detector, settings=EdgeSettings())
    stop = threading.Event()
    thread = threading.Thread(target=runtime.run, args=(stop,), daemon=True)
    time.sleep(1.0)  # the emulator process starts
    monitor = Monitor(f"udp://127.0.0.1:{port}")
    thread.start()
    out: dict[str, Any] = {"model": str(model), "cameras": len(cams), "source_fps": args.fps}
    try:
        took = monitor.wait(lambda under, held: under, 30)
        print(f"under control {took:.1f} s after start" if took is not None else "never took control")
        time.sleep(3.0)
        names = [c["name"] for c in cams]
        m = runtime.metrics

        def frames() -> dict[str, float]:
            return {n: m.value("greenwave_camera_frames_total", {"camera": n}) or 0.0 for n in names}

        n_lat0 = len(m.samples("greenwave_frame_to_command_seconds"))
        f0, s0, load0, cpu0 = frames(), time.monotonic(), os.getloadavg()[0], time.process_time()
        inf0 = len(m.samples("greenwave_inference_seconds"))
        follows = []
        while time.monotonic() - s0 < args.steady_s:
            time.sleep(0.5)
            follows.append(m.value("greenwave_controller_shows_stage") == 1)
        f1, s1, cpu1 = frames(), time.monotonic(), time.process_time()
        lat = m.samples("greenwave_frame_to_command_seconds")[n_lat0:]
        inf = m.samples("greenwave_inference_seconds")[inf0:]
        dec = m.samples("greenwave_decide_seconds")
        fps = {n: (f1[n] - f0[n]) / (s1 - s0) for n in names}
        out["steady"] = {
            "seconds": round(s1 - s0, 1), "fps_per_camera": {n: round(v, 2) for n, v in fps.items()},
            "fps_min": round(min(fps.values()), 2), "latency_p50_ms": round(1000 * _pct(lat, 0.5), 1),
            "latency_p95_ms": round(1000 * _pct(lat, 0.95), 1), "latency_samples": len(lat),
            "inference_ms_median": round(1000 * statistics.median(inf), 1) if inf else None,
            "controller_shows_stage_share": round(sum(follows) / max(len(follows), 1), 2),
            "cpu_cores_used": round((cpu1 - cpu0) / (s1 - s0), 2),
            "cpu_ms_per_batch": round(1000 * (cpu1 - cpu0) / max(len(inf), 1), 1),
            "one_free_core_batches_per_s": round(len(inf) / max(cpu1 - cpu0, 1e-9), 1),  # a projection, not a measurement
            "decide_ms_median": round(1000 * statistics.median(dec), 1) if dec else None,
            "batches_per_s": round(len(inf) / (s1 - s0), 2), "load_avg_1m": [round(load0, 2), round(os.getloadavg()[0], 2)],
        }  # fmt: skip
        lanes = runtime.lanes
        out["steady"]["lanes_end"] = {
            lane: [
                m.value("greenwave_lane_vehicles", {"lane": lane}),
                m.value("greenwave_lane_queued", {"lane": lane}),
            ]
            for lane in lanes
        }  # vehicles, queued per lane at the end of the steady phase (a sanity check of the counts)
        print(json.dumps(out["steady"]))
        out["faults"] = [] if args.no_faults else faults(runtime, detector, relay, monitor, cams, work)
    finally:
        stop.set()
        thread.join(15)
        rel = monitor.wait(lambda under, held: not held, 5)
        out["stop_released_s"] = rel
        print(
            f"stop: controller released {rel:.2f} s after stop" if rel is not None else "stop: NOT released"
        )
        monitor.bridge.close()
        relay.close()
        emu.terminate()
        emu.wait(5)
    return out


def faults(runtime: EdgeRuntime, detector: FaultyDetector, relay: UdpRelay, monitor: Monitor,
           cams: list[dict[str, Any]], work: Path) -> list[dict[str, Any]]:  # fmt: skip
    files = [Path(c["source"]) for c in cams]

    def unplug(paths: list[Path]) -> Callable[[], None]:
        for p in paths:
            p.rename(p.with_suffix(".unplugged"))

        def plug() -> None:
            for p in paths:
                p.with_suffix(".unplugged").rename(p)

        return plug

    def fail_detector() -> Callable[[], None]:
        detector.failing.set()
        return detector.failing.clear

    def silence_controller() -> Callable[[], None]:
        relay.cut.set()
        return relay.cut.clear

    cam0 = cams[0]["name"]
    cams_lanes = [
        [z["lane"] for z in c["lanes"]] for c in cams
    ]  # SUMO lane ids are the config's lane ids here

    def camera_back() -> bool:
        return runtime.metrics.value("greenwave_camera_up", {"camera": cam0}) == 1

    cases: list[tuple[str, Callable[[], Callable[[], None]], bool, float, Callable[[], bool]]] = [
        ("one camera unplugged", lambda: unplug(files[:1]), True, 15.0, camera_back),
        ("all cameras unplugged", lambda: unplug(files), False, 20.0, lambda: True),
        ("detector raising", fail_detector, False, 10.0, lambda: True),
        ("controller silent", silence_controller, False, 15.0, lambda: True),
    ]
    results = []
    for name, inject, keep_control, settle_s, recovered in cases:
        clear = inject()
        if keep_control:  # wait until the camera's lanes degrade; control must stay
            time.sleep(settle_s)
            under, _ = monitor.read()
            degraded = bool(runtime.health and runtime.health.degraded & set(cams_lanes[0]))
            during = (
                ("under control, its lanes degraded" if degraded else "under control")
                if under
                else "own plan"
            )
            effect_s = None
        else:
            effect_s = monitor.wait(lambda under, held: not held and not under, settle_s)
            during = "own plan" if effect_s is not None else "STILL HELD"
        clear()

        def back(under: bool, held: bool, ok: Callable[[], bool] = recovered) -> bool:
            return under and ok()

        back_s = monitor.wait(back, 30)
        row = {"fault": name, "during": during, "effect_s": None if effect_s is None else round(effect_s, 2),
               "back_under_control_s": None if back_s is None else round(back_s, 2),
               "ok": during != "STILL HELD" and back_s is not None and back_s <= 10.0}  # fmt: skip
        print(json.dumps(row))
        results.append(row)
        time.sleep(3.0)
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.edge", description=__doc__.splitlines()[0])
    p.add_argument("--model", help="ONNX detector (default: the shipped model)")
    p.add_argument("--fps", type=float, default=15.0, help="camera frame rate of the rendered files")
    p.add_argument("--clip-s", type=float, default=8.0, help="length of each rendered file (it loops)")
    p.add_argument("--steady-s", type=float, default=30.0)
    p.add_argument("--threads", type=int, default=2,
                   help="onnxruntime intra-op threads (default 2: on a 2-core AVX2 box without VNNI, 1 thread gave 8.0 "
                        "frames/s per camera and 2 gave 13.1; a VNNI box, where int8 runs 2x faster, kept up with 1)")  # fmt: skip
    p.add_argument("--no-faults", action="store_true", help="steady phase only")
    p.add_argument("--json", help="write the figures here")
    args = p.parse_args(argv)
    out = run(args)
    st = out.get("steady", {})
    ok = (st.get("fps_min", 0) >= 10 and st.get("latency_p95_ms", 1e9) <= 200
          and all(r["ok"] for r in out.get("faults", [])) and out.get("stop_released_s") is not None)  # fmt: skip
    out["targets_met"] = ok
    print(f"targets (>= 10 fps per camera, p95 <= 200 ms, every fault recovered <= 10 s, stop releases): "
          f"{'met' if ok else 'NOT met'}")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
