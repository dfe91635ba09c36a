"""Camera in the loop: SUMO -> rendered frames -> the shipped detector -> lane counts -> adaptive -> SUMO.

The regression run is `single` from 900 s to 1140 s, seed 1: the second 15-minute slice, where north-south through
traffic is still at its peak (620 veh/h a lane pair) and east-west is light, so the fixed plan (Webster on the hour's
average) runs NS near saturation while wasting green on EW. The oracle-fed adaptive cuts stop time there from 18.3 s
to 12.9 s (x 0.71); the camera-fed loop measured 12.4 s (x 0.68). 240 simulated seconds keep the run to ~45 s on a
loaded 2-core machine (4 cameras rendered and detected each second).
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import pytest

from configs.controller import ControllerParams
from controller.measurement import IntersectionMeasurement
from sim.backend import load_api
from sim.compare import resolve_scenario
from sim.oracle import OracleSource
from sim.runner import RunSpec, run_one
from sim.sumo_bin import sumo_binary
from sim.sumocfg import read_sumocfg
from sim.topology import read_topology
from vision.detector import default_detector_config

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not default_detector_config().model.is_file(),
                       reason="the shipped detector model (vision/models) is not there yet"),
]

WINDOW_S = (900.0, 1140.0)
SEED = 1


def _no_writes(*_args, **_kwargs):
    raise AssertionError("the camera loop must keep frames in memory: cv2.imwrite was called")


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


def test_camera_source_answers_for_the_oracles_lanes_and_calls_unseen_ones():
    """Same lane keys as the oracle, vehicles seen once traffic is there, and a lane no camera sees is a call."""
    from sim.camera_source import CameraSource

    params = ControllerParams()
    _, cfg = resolve_scenario("single")
    topo = read_topology(read_sumocfg(cfg).net_file, range_m=params.detection_range_m)
    (tls_id,) = topo.signals
    info = topo.signals[tls_id]
    ghost = "ghost_0"  # a controlled lane that no approach of the network has: no camera can see it
    signals = {tls_id: replace(info, zones={**info.zones, ghost: info.zones[next(iter(info.zones))]})}
    api, _ = load_api("libsumo")
    api.start([sumo_binary("sumo"), "-c", str(cfg), "--no-step-log", "true", "--no-warnings", "true",
               "--begin", "900", "--end", "1000"])
    try:
        camera = CameraSource(api, signals, params, seed=SEED)
        oracle = OracleSource(api, topo.signals, range_m=params.detection_range_m)
        assert len(camera.cameras(tls_id)) == 4
        assert camera.unseen_lanes(tls_id) == (ghost,)
        seen_total = truth_total = 0
        for _ in range(60):
            api.simulationStep()
            now = api.simulation.getTime()
            m = camera.measure(tls_id, now)
            o = oracle.measure(tls_id, now)
            assert isinstance(m, IntersectionMeasurement) and m.healthy
            assert set(m.incoming) == set(o.incoming) | {ghost}
            assert m.incoming[ghost].queued == 1  # standing call
            seen_total += sum(lm.vehicles for lane, lm in m.incoming.items() if lane != ghost)
            # the camera sees ~55-70 m of each approach, the oracle 150 m: compare with what is near the stop line
            truth_total += sum(sum(1 for v in lm.approaching if v.distance_m <= 50) + lm.queued
                               for lm in o.incoming.values())
    finally:
        api.close()
    assert truth_total > 100
    assert seen_total >= 0.7 * truth_total
