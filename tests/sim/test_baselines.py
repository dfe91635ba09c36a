"""A short run of each baseline controller on each built-in scenario, through the CLI's compare path."""

import pytest

from sim.compare import compare
from sim.report import write_report


@pytest.fixture(scope="module", params=["single", "corridor"])
def result(request):
    return compare(request.param, ["fixed", "actuated"], [1, 2], end_s=600, workers=2)


def test_baselines_run_clean(result):
    for name in ("fixed", "actuated"):
        c = result.controllers[name]
        assert c["arrived"] > 100, name
        assert c["teleports"] == 0 and c["collisions"] == 0, name
        assert [s["seed"] for s in c["per_seed"]] == [1, 2]
        assert 0 < c["stop_time_s"] < c["delay_s"] < c["travel_time_s"]


def test_actuated_really_runs_a_different_program(result):
    fixed, actuated = result.controllers["fixed"], result.controllers["actuated"]
    assert fixed["per_seed"][0]["delay_s"] != actuated["per_seed"][0]["delay_s"]


def test_seeds_differ(result):
    per_seed = result.controllers["fixed"]["per_seed"]
    assert per_seed[0]["delay_s"] != per_seed[1]["delay_s"]
    assert result.controllers["fixed"]["delay_s_sd"] > 0


def test_report_files(result, tmp_path):
    written = write_report(result, tmp_path)
    names = sorted(p.name for p in written)
    assert names == ["metrics.png", "queues.png", "summary.md"]
    assert all(p.stat().st_size > 1000 for p in written if p.suffix == ".png")
    summary = (tmp_path / "summary.md").read_text()
    assert "| fixed |" in summary and "| actuated |" in summary
    assert not list(tmp_path.glob("*.tmp*"))
