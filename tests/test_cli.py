"""CLI error paths: exit 2 and one line naming what was expected and what was found, no traceback."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from greenwave.cli import main

COLOGNE = Path(__file__).resolve().parents[2] / "shared" / "scenarios" / "resco" / "cologne1" / "cologne1.sumocfg"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sim", "compare", "atlantis"], "unknown scenario 'atlantis': expected a built-in name"),
        (["sim", "compare", "/nonexistent/x.sumocfg"], "x.sumocfg: expected a .sumocfg file, found nothing"),
        (["sim", "compare", "single", "--controllers", "fixed,warp"], "unknown controller 'warp': expected one of"),
        (["sim", "compare", "single", "--begin", "100", "--end", "50"], "--end: expected a time after --begin"),
        (["sim", "compare", "single", "--params", "/nonexistent/p.yaml"], "p.yaml: expected a YAML config file"),
        (["config", "check", "/nonexistent/c.yaml"], "c.yaml: expected a YAML config file"),
        (["train", "--render-only", "--dataset", "ds"], "--render-only and --dataset: expected one of them, found both"),
        (["train", "--dataset", "/nonexistent/ds"], "expected a rendered dataset in /nonexistent/ds"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err
    assert "Traceback" not in err


def test_bad_argument_syntax_exits_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["sim", "compare", "single", "--seeds", "1,x"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --seeds: expected comma-separated integers, found '1,x'" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["bridge", "hold", "2", "--url", "udp://127.0.0.1:1", "--seconds", "-1"],
         "--seconds: expected seconds > 0, found '-1'"),
        (["bridge", "emulate", "--udp", "127.0.0.1:1", "--duration", "-1"], "--duration: expected seconds >= 0"),
        (["bridge", "emulate", "--udp", "127.0.0.1:1", "--backup-time", "-5"],
         "--backup-time: expected a whole number from 0 to 65535, found '-5'"),
        (["sim", "compare", "single", "--workers", "0"], "--workers: expected a whole number >= 1, found '0'"),
        (["detect", "x.mp4", "--config", "c.yaml", "--max-frames", "-3"], "--max-frames: expected a whole number >= 0"),
    ],
)
def test_numbers_that_make_no_sense_are_refused_before_anything_runs(capsys, argv, message):
    """They used to run: `bridge hold --seconds -1` printed "holding [2] for -1.0 s" and exited 0."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1


def test_invalid_params_file_names_field(tmp_path, capsys):
    p = tmp_path / "p.yaml"
    p.write_text("min_green_s: 0\n")
    assert main(["sim", "compare", "single", "--params", str(p)]) == 2
    err = capsys.readouterr().err
    assert "p.yaml: min_green_s: Input should be greater than or equal to 1" in err


def test_console_script_reports_without_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "greenwave.cli", "sim", "compare", "nowhere.sumocfg"],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_config_schema_is_json_schema(capsys):
    assert main(["config", "schema", "intersection"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["additionalProperties"] is False
    assert {"phases", "rings", "approaches"} <= set(schema["properties"])


@pytest.mark.skipif(not COLOGNE.is_file(), reason="shared RESCO scenarios not present")
def test_compare_json_shape_on_a_real_scenario(tmp_path, capsys):
    out = tmp_path / "o.json"
    code = main(["sim", "compare", str(COLOGNE), "--controllers", "fixed", "--seeds", "42",
                 "--end", "25500", "--json", str(out)])
    assert code == 0
    data = json.loads(out.read_text())
    assert data["scenario"] == "cologne1"
    fixed = data["controllers"]["fixed"]
    keys = {"delay_s", "stop_time_s", "stops", "travel_time_s", "arrived", "teleports"}
    assert keys <= set(fixed)
    assert isinstance(fixed["arrived"], int) and isinstance(fixed["teleports"], int)
    assert [s["seed"] for s in fixed["per_seed"]] == [42]
    assert keys <= set(fixed["per_seed"][0])
    assert fixed["arrived"] > 0


def test_train_without_its_extra_is_refused_before_rendering_anything(tmp_path, monkeypatch, capsys):
    """It used to render the whole dataset (an hour of SUMO and drawing) before finding ultralytics missing."""
    import importlib.util

    import sim.dataset

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ultralytics" else
                        real_find_spec(name, *a))  # fmt: skip

    def no_rendering(*_a, **_k):
        raise AssertionError("rendered before checking the extra")

    monkeypatch.setattr(sim.dataset, "render_yolo_dataset", no_rendering)
    assert main(["train", "--out", str(tmp_path / "run")]) == 2
    assert "expected the optional 'train' extra" in capsys.readouterr().err


def test_a_reader_that_goes_away_is_no_traceback(monkeypatch, capsys):
    """`greenwave config schema edge | head -2` used to end in a BrokenPipeError traceback."""

    class _Closed:  # the pipe's reader has exited
        def write(self, _text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self) -> None:
            raise BrokenPipeError(32, "Broken pipe")

        def fileno(self) -> int:
            raise ValueError("no file")

    monkeypatch.setattr(sys, "stdout", _Closed())
    assert main(["config", "schema", "edge"]) == 141
    assert "Traceback" not in capsys.readouterr().err
