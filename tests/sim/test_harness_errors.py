"""The harness on bad input and failing runs: one line, exit 2, nothing half-written, no hang."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from pathlib import Path

import pytest

from greenwave.cli import main
from sim.compare import resolve_scenario, run_isolated
from sim.errors import SimError
from sim.runner import RunSpec


def _die(spec: RunSpec) -> dict:
    os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer would
    return {}


def test_a_killed_worker_is_an_error_not_a_hang() -> None:
    _, cfg = resolve_scenario("single")
    with pytest.raises(SimError, match="worker process died"):
        list(run_isolated([RunSpec(cfg, "fixed", 1)], workers=1, target=_die))


def _one_line(capsys: pytest.CaptureFixture[str], *fragments: str) -> None:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and all(f in err for f in fragments), err


def test_a_window_ending_before_it_begins_is_refused(capsys) -> None:
    assert main(["sim", "compare", "single", "--controllers", "fixed", "--seeds", "1", "--end", "0"]) == 2
    _one_line(capsys, "expected an end after the begin (0 s), found end 0 s")


def test_a_seed_sumo_cannot_take_is_refused(capsys) -> None:
    assert main(["sim", "compare", "single", "--controllers", "fixed", "--seeds", "4294967296", "--end", "30"]) == 2
    _one_line(capsys, "seed: expected 0 <= seed < 2147483648")


def test_a_sumocfg_naming_a_missing_route_file_is_refused(tmp_path: Path, capsys) -> None:
    _, cfg = resolve_scenario("single")
    shutil.copy(cfg.parent / "single.net.xml", tmp_path)
    (tmp_path / "s.sumocfg").write_text(cfg.read_text())  # names single.rou.xml, not copied
    assert main(["sim", "compare", str(tmp_path / "s.sumocfg"), "--controllers", "fixed", "--seeds", "1"]) == 2
    _one_line(capsys, "route-files: expected existing files, found no", "single.rou.xml")


def test_sumo_refusing_to_run_is_one_line(tmp_path: Path, capsys) -> None:
    _, cfg = resolve_scenario("single")
    for name in ("single.net.xml", "single.rou.xml"):
        shutil.copy(cfg.parent / name, tmp_path)
    # a program phase of length 0: SUMO refuses the network at start
    (tmp_path / "bad.add.xml").write_text(
        '<additional><tlLogic id="C" programID="x" offset="0" type="static">'
        '<phase duration="0" state="rrrGrrrrrrrGrrrr"/></tlLogic></additional>\n'
    )
    text = cfg.read_text().replace("</input>", '<additional-files value="bad.add.xml"/></input>')
    (tmp_path / "s.sumocfg").write_text(text)
    assert main(["sim", "compare", str(tmp_path / "s.sumocfg"), "--controllers", "adaptive", "--seeds", "1",
                 "--end", "30"]) == 2  # fmt: skip
    _one_line(capsys, "SUMO stopped:")


def test_outputs_are_checked_before_simulating(tmp_path: Path, capsys) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("x")
    base = ["sim", "compare", "single", "--controllers", "fixed", "--seeds", "1", "--end", "30"]
    assert main([*base, "--json", str(tmp_path / "folder")]) == 2
    _one_line(capsys, "expected a file path, found a folder")
    assert main([*base, "--json", str(tmp_path / "file" / "x.json")]) == 2
    _one_line(capsys, f"expected a folder at {tmp_path / 'file'}, found a file")
    assert main([*base, "--json", str(tmp_path / "ok.json"), "--report", str(tmp_path / "file")]) == 2
    _one_line(capsys, "--report")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "folder"]  # nothing written, nothing left


def test_a_window_without_trips_writes_valid_json(tmp_path: Path) -> None:
    assert main(["sim", "compare", "single", "--controllers", "fixed", "--seeds", "1", "--end", "1",
                 "--json", str(tmp_path / "o.json")]) == 0  # fmt: skip
    data = json.loads((tmp_path / "o.json").read_text(), parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    assert data["controllers"]["fixed"]["delay_s"] is None


GRID = Path(__file__).resolve().parents[3] / "shared" / "scenarios" / "resco" / "grid4x4"


@pytest.mark.skipif(not GRID.is_dir(), reason="shared RESCO scenarios not present")
def test_a_config_that_asks_for_random_seeds_still_follows_the_seed(tmp_path: Path) -> None:
    (tmp_path / "g.sumocfg").write_text(
        f'<configuration><input><net-file value="{GRID / "grid4x4.net.xml"}"/>'
        f'<route-files value="{GRID / "grid4x4_1.rou.xml"}"/></input>'
        '<time><begin value="0"/><end value="3600"/></time>'
        '<random_number><random value="true"/></random_number></configuration>\n'
    )
    spec = RunSpec(tmp_path / "g.sumocfg", "fixed", 1, end_s=300.0)
    first = next(run_isolated([spec]))
    time.sleep(1.1)  # SUMO seeds a random run from the clock's seconds
    second = next(run_isolated([spec]))
    assert first["delay_s"] == second["delay_s"] and first["trips"] > 0


def test_config_check_refuses_a_kind_that_is_not_a_name(tmp_path: Path, capsys) -> None:
    (tmp_path / "k.yaml").write_text("kind: [x]\n")
    assert main(["config", "check", str(tmp_path / "k.yaml")]) == 2
    assert "kind: expected one of" in capsys.readouterr().err
