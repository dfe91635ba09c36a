"""bench/closed_loop.py: the share of the oracle's stop-time reduction the cameras keep, per seed and pooled, and the
seed spread that says whether a difference is the camera draw's."""

import pytest

from bench.closed_loop import summarise


def _run(seed: int, controller: str, measure: str, stop_s: float) -> dict:
    return {"seed": seed, "controller": controller, "measure": measure, "stop_time_s": stop_s, "delay_s": 0.0,
            "travel_time_s": 0.0, "arrived": 100, "teleports": 0, "safety_violations": {}, "camera": None,
            "wall_s": 1.0, "sim_s": 1.0}  # fmt: skip


def _runs(per_seed: list[tuple[float, float, float]]) -> list[dict]:
    out = []
    for seed, (fixed, oracle, camera) in enumerate(per_seed, start=1):
        out += [_run(seed, "fixed", "oracle", fixed), _run(seed, "adaptive", "oracle", oracle),
                _run(seed, "adaptive", "camera", camera)]  # fmt: skip
    return out


def test_shares_per_seed_pooled_and_their_standard_error():
    s = summarise("x", _runs([(30.0, 10.0, 12.0), (30.0, 20.0, 21.0), (40.0, 20.0, 24.0)]))
    assert s["share_per_seed"] == pytest.approx([0.9, 0.9, 0.8])
    # pooled over the seeds' means: (33.33 - 19) / (33.33 - 16.67)
    assert s["share_kept"] == pytest.approx((100 / 3 - 19) / (100 / 3 - 50 / 3))
    assert s["share_se"] == pytest.approx(0.0577350 / 3**0.5, rel=1e-4)  # stdev 0.0577 over 3 seeds
    assert not s["meets_target"]


def test_one_seed_has_no_spread_and_no_reduction_has_no_share():
    s = summarise("x", _runs([(30.0, 30.0, 25.0)]))
    assert s["share_per_seed"] == [None] and s["share_kept"] is None and s["share_se"] is None
    assert not s["meets_target"]


def test_the_report_names_the_versions_that_shape_the_frames_and_boxes():
    from bench.closed_loop import VERSIONED, versions

    got = versions()
    assert set(got) == set(VERSIONED)
    assert got["onnxruntime"] and got["opencv-python-headless"]  # installed with the project: never unknown here
