"""The harness on a real (short) SUMO run: both backends agree, external controllers go through the guard."""

import multiprocessing as mp
from pathlib import Path

import pytest

from configs.controller import ControllerParams
from controller.registry import register
from sim.runner import RunSpec, run_one

COLOGNE = Path(__file__).resolve().parents[3] / "shared" / "scenarios" / "resco" / "cologne1" / "cologne1.sumocfg"
pytestmark = pytest.mark.skipif(not COLOGNE.is_file(), reason="shared RESCO scenarios not present")

WINDOW = {"begin_s": 25200.0, "end_s": 25800.0}


class _Impatient:
    """Asks for the next phase every second: the guard alone must keep it safe."""

    name = "test-impatient"

    def __init__(self, model, params):
        self.model = model

    def decide(self, measurement, status):
        return self.model.next_in_sequence(status.phase)

    def demand(self, measurement):
        return None


register("test-impatient", _Impatient)


def test_libsumo_and_traci_give_identical_metrics():
    # Each in a fresh process, as the harness runs seeds: libsumo keeps global state between simulations in one
    # process (an earlier in-process run in the same pytest worker shifted delay by 0.2 s).
    with mp.get_context("spawn").Pool(1, maxtasksperchild=1) as pool:
        a = pool.apply(run_one, (RunSpec(COLOGNE, "fixed", 7, backend="libsumo", **WINDOW),))
        b = pool.apply(run_one, (RunSpec(COLOGNE, "fixed", 7, backend="traci", **WINDOW),))
    assert a["backend"] == "libsumo" and b["backend"] == "traci"
    for key in ("delay_s", "stop_time_s", "stops", "travel_time_s", "arrived", "trips"):
        assert a[key] == b[key], key


def test_fixed_run_has_queue_series_per_approach():
    r = run_one(RunSpec(COLOGNE, "fixed", 1, **WINDOW))
    assert r["sim_s"] == pytest.approx(600.0)
    assert len(r["queue_m"]) == 4  # cologne1's four approaches
    assert all(len(series) >= 50 for series in r["queue_m"].values())
    assert max(q for series in r["queue_m"].values() for _t, q in series) > 0


def test_guard_keeps_an_impatient_controller_safe():
    params = ControllerParams(min_green_s=7.0)
    r = run_one(RunSpec(COLOGNE, "test-impatient", 1, params=params, **WINDOW))
    assert r["guard_overrides"]["min_green"] > 0  # it asked to cut greens short and was refused
    assert r["collisions"] == 0
    assert r["decision_ms"] is not None
    assert r["trips"] > 100


def _single_variant(tmp: Path, *, netconvert: list[str] | None = None, additional: str | None = None) -> Path:
    """The built-in `single` scenario copied to `tmp`, its net rebuilt with `netconvert` options when given."""
    import shutil
    import subprocess

    from sim.compare import resolve_scenario
    from sim.sumo_bin import sumo_binary

    _, cfg = resolve_scenario("single")
    for name in ("single.nod.xml", "single.edg.xml", "single.con.xml", "single.rou.xml", "single.sumocfg",
                 "single.net.xml"):  # fmt: skip
        shutil.copy(cfg.parent / name, tmp / name)
    if netconvert is not None:
        subprocess.run([sumo_binary("netconvert"), "--node-files", "single.nod.xml", "--edge-files", "single.edg.xml",
                        "--connection-files", "single.con.xml", "--no-turnarounds", "true", "-o", "single.net.xml",
                        *netconvert], cwd=tmp, check=True, capture_output=True)  # fmt: skip
    if additional is not None:
        (tmp / "site.add.xml").write_text(additional)
        text = (tmp / "single.sumocfg").read_text()
        (tmp / "single.sumocfg").write_text(
            text.replace("</input>", '    <additional-files value="site.add.xml" />\n    </input>')
        )
    return tmp / "single.sumocfg"


def _clearance_runs(sumocfg: Path) -> set[tuple[str, int]]:
    """(Y or R, seconds) of every yellow and all-red interval the adaptive controller showed in 300 s.

    An interval still showing when the run ends is cut short by the end, not by the controller: left out.
    """
    states: list[str] = []
    r = run_one(RunSpec(sumocfg, "adaptive", 1, end_s=300.0),
                on_step=lambda api, t: states.append(api.trafficlight.getRedYellowGreenState("C")))  # fmt: skip
    assert r["safety_violations"] == {}
    runs, kind, n = set(), None, 0
    for s in states:
        k = "Y" if "y" in s else "R" if "G" not in s and "g" not in s else "G"
        if k == kind:
            n += 1
            continue
        if kind in ("Y", "R"):
            runs.add((kind, n))
        kind, n = k, 1
    return runs


def test_nema_program_keeps_its_yellow_and_red_attributes(tmp_path: Path) -> None:
    # NEMA programs list greens only: the change interval is in each phase's yellow= and red= attributes
    cfg = _single_variant(tmp_path, netconvert=["--tls.default-type", "NEMA"])
    net = tmp_path / "single.net.xml"
    text = net.read_text()
    assert text.count('yellow="3" red="2"') == 8  # netconvert's NEMA defaults, whatever --tls.yellow.time says
    net.write_text(text.replace('yellow="3" red="2"', 'yellow="5" red="3"'))  # the site's change intervals
    runs = _clearance_runs(cfg)
    assert runs and {n for k, n in runs if k == "Y"} == {5} and {n for k, n in runs if k == "R"} == {3}


def test_the_running_program_from_an_additional_file_is_the_one_modelled(tmp_path: Path) -> None:
    base = _single_variant(tmp_path)
    net = (tmp_path / "single.net.xml").read_text()
    start = net.index("<tlLogic")
    logic = net[start : net.index("</tlLogic>", start) + len("</tlLogic>")]
    site = logic.replace('programID="0"', 'programID="site"')
    site = site.replace('duration="4"', 'duration="5"').replace('duration="2"', 'duration="3"')  # yellow, all-red
    _single_variant(tmp_path, additional=f"<additional>\n{site}\n</additional>\n")
    runs = _clearance_runs(base)
    assert runs and {n for k, n in runs if k == "Y"} == {5} and {n for k, n in runs if k == "R"} == {3}
