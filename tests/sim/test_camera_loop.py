"""Camera in the loop: SUMO -> rendered frames -> the shipped detector -> lane counts -> adaptive -> SUMO.

The regression run is `single` from 900 s to 1140 s, seed 1: the second 15-minute slice, where north-south through
traffic is still at its peak (620 veh/h a lane pair) and east-west is light, so the fixed plan (Webster on the hour's
average) runs NS near saturation while wasting green on EW. Measured at 14:20 (adaptive as of then, checkpoint
model): fixed 18.3 s, oracle-fed adaptive 12.3 s, camera-fed 11.3 s. 240 simulated seconds keep the whole file to
~35-70 s on a loaded 2-core machine (4 cameras rendered and detected each second).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import replace

import cv2
import numpy as np
import pytest

from configs.controller import ControllerParams
from sim.backend import load_api
from sim.camera_scene import load_road_scene
from sim.camera_source import CameraLoopConfig, CameraSource, _best_pose, _share_in_frame, _stop_line_vehicles
from sim.compare import resolve_scenario
from sim.oracle import OracleSource
from sim.runner import RunSpec, run_one
from sim.sumo_bin import sumo_binary
from sim.sumocfg import read_sumocfg
from sim.topology import read_topology
from vision.detections import Detections
from vision.detector import FakeDetector, default_detector_config

pytestmark = pytest.mark.slow
needs_model = pytest.mark.skipif(not default_detector_config().model.is_file(),
                                 reason="the shipped detector model (vision/models) is not there yet")

WINDOW_S = (900.0, 1140.0)
SEED = 1


def _no_writes(*_args, **_kwargs):
    raise AssertionError("the camera loop must keep frames in memory: cv2.imwrite was called")


@needs_model
def test_camera_fed_adaptive_beats_fixed_on_single(monkeypatch):
    monkeypatch.setattr(cv2, "imwrite", _no_writes)
    _, cfg = resolve_scenario("single")
    begin, end = WINDOW_S
    fixed = run_one(RunSpec(cfg, "fixed", SEED, begin, end, backend="libsumo"))
    camera = run_one(RunSpec(cfg, "adaptive", SEED, begin, end, backend="libsumo", measure="camera"))
    assert camera["teleports"] == 0 and camera["collisions"] == 0
    assert not any(camera["safety_violations"].values()), camera["safety_violations"]
    assert camera["arrived"] >= 0.9 * fixed["arrived"]
    assert camera["stop_time_s"] < 0.85 * fixed["stop_time_s"], (camera["stop_time_s"], fixed["stop_time_s"])


@contextmanager
def _single_with_ghost_lane(begin_s: float, end_s: float):
    """SUMO on `single` and its signals plus a controlled lane that no approach has (no camera can see it)."""
    params = ControllerParams()
    _, cfg = resolve_scenario("single")
    topo = read_topology(read_sumocfg(cfg).net_file, range_m=params.detection_range_m)
    (tls_id,) = topo.signals
    info = topo.signals[tls_id]
    signals = {tls_id: replace(info, zones={**info.zones, GHOST: info.zones[next(iter(info.zones))]})}
    api, _ = load_api("libsumo")
    api.start([sumo_binary("sumo"), "-c", str(cfg), "--no-step-log", "true", "--no-warnings", "true",
               "--begin", str(begin_s), "--end", str(end_s)])
    try:
        yield api, tls_id, signals, topo.signals, params
    finally:
        api.close()


GHOST = "ghost_0"


def test_camera_source_keys_are_the_oracles_and_an_unseen_lane_is_a_standing_call():
    """Runs without the shipped model: the detector is a fake that never sees anything."""
    with _single_with_ghost_lane(900, 960) as (api, tls_id, signals, oracle_signals, params):
        fake = FakeDetector([Detections.empty()])
        camera = CameraSource(api, signals, params, seed=SEED, detector=fake)
        oracle = OracleSource(api, oracle_signals, range_m=params.detection_range_m)
        assert len(camera.cameras(tls_id)) == 4  # one per approach
        assert camera.unseen_lanes(tls_id) == (GHOST,)
        for _ in range(5):
            api.simulationStep()
            now = api.simulation.getTime()
            m = camera.measure(tls_id, now)
            assert m.junction_id == tls_id and m.now_s == now and m.healthy and not m.outgoing
            assert set(m.incoming) == set(oracle.measure(tls_id, now).incoming) | {GHOST}
            assert m.incoming[GHOST].queued == 1 and m.incoming[GHOST].vehicles == 1
            assert all(lm.vehicles == 0 for lane, lm in m.incoming.items() if lane != GHOST)
        # one batched call for commissioning (every camera's empty road), then one per junction step, not per camera
        assert fake.calls == 1 + 5


@needs_model
def test_camera_counts_follow_the_oracle_near_the_stop_line():
    with _single_with_ghost_lane(900, 1000) as (api, tls_id, signals, oracle_signals, params):
        camera = CameraSource(api, signals, params, seed=SEED)
        oracle = OracleSource(api, oracle_signals, range_m=params.detection_range_m)
        seen_total = truth_total = beyond = 0
        for _ in range(60):
            api.simulationStep()
            now = api.simulation.getTime()
            m, o = camera.measure(tls_id, now), oracle.measure(tls_id, now)
            seen_total += sum(lm.vehicles for lane, lm in m.incoming.items() if lane != GHOST)
            # nothing is reported past the zone the camera claims: there the controller plans with upstream predictions
            beyond += sum(1 for lane, lm in m.incoming.items() if lane != GHOST
                          for v in lm.approaching if v.distance_m > lm.zone_m)
            assert all(lm.zone_m <= CameraLoopConfig().max_zone_m for lm in m.incoming.values())
            # the camera sees ~55-70 m of each approach, the oracle 150 m: compare with what is near the stop line
            truth_total += sum(sum(1 for v in lm.approaching if v.distance_m <= 50) + lm.queued
                               for lm in o.incoming.values())
    assert truth_total > 100 and beyond == 0
    # the oracle's queued count also holds queues past the camera's <= 80 m zone: the lower bound leaves room for that
    # (shipped model: 128 seen of 189, checkpoint: ~0.8)
    assert 0.6 * truth_total <= seen_total <= 1.6 * truth_total, (seen_total, truth_total)


@needs_model
@pytest.mark.parametrize("commission_frames", [5, 0])
def test_an_empty_road_shows_no_queue_once_commissioned(commission_frames):
    """Corridor seed 5: the shipped detector reads the lane marking at J3's north stop bar as a motorcycle.

    Uncommissioned, that phantom stands at the stop line in every frame: a queued vehicle calling the side street's
    phase each cycle (and, flickering on green, 6x the real crossings published downstream). Commissioning masks it.
    Sensor noise still gives the odd tiny box far up the road, at a new place each time: never a queue.
    """
    _, cfg = resolve_scenario("corridor")
    params = ControllerParams()
    signals = read_topology(read_sumocfg(cfg).net_file, range_m=params.detection_range_m).signals
    api, _ = load_api("libsumo")
    api.start([sumo_binary("sumo"), "-c", str(cfg), "--no-step-log", "true", "--no-warnings", "true",
               "--begin", "0", "--end", "10"])
    try:
        config = CameraLoopConfig(commission_frames=commission_frames)
        camera = CameraSource(api, signals, params, seed=5, config=config)
        queued: dict[str, int] = {}
        for j in camera._junctions.values():
            for step in range(6):  # a queued vehicle needs 2 s of track history
                counted = j.pipeline.process([cam.render([], j.rng).image for cam in j.cameras], float(step))
                for lane, m in counted.items():
                    queued[lane] = max(queued.get(lane, 0), m.queued)
    finally:
        api.close()
    standing = {lane: n for lane, n in queued.items() if n}
    if commission_frames:
        assert standing == {}
    else:
        assert standing.get("J3_N_in_0", 0) >= 1, standing  # the test's premise: the phantom is there unmasked


@pytest.mark.parametrize("scenario", ["single", "corridor"])
def test_loop_cameras_see_every_stop_bar_whole(scenario):
    """The mounting the loop picks never cuts a stop-line vehicle with the frame edge.

    Picking by far-end scale alone, the cameras of corridor seeds 1-3 and single seed 1 cut five approaches' stop-line
    vehicles (8-17% of their box corners out of frame); camera-fed corridor seed 3 stopped 24.16 s a vehicle with
    them and 22.15 s without.
    """
    _, cfg = resolve_scenario(scenario)
    scene = load_road_scene(read_sumocfg(cfg).net_file)
    for seed in (1, 2, 3):
        rng = np.random.default_rng(seed)
        for _node, approach in scene.approaches:
            cam = _best_pose(approach, rng, CameraLoopConfig())
            assert _share_in_frame(cam, _stop_line_vehicles(approach)) == 1.0, (seed, approach.edge_id)
