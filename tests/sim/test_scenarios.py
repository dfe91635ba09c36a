"""Built-in scenarios: generated networks, signal programs, Webster plans, demand, caching (netconvert, short SUMO)."""

from __future__ import annotations

import math
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import sumolib
from hypothesis import given
from hypothesis import strategies as st

import sim.scenarios.build as build_mod
from sim.errors import ScenarioError
from sim.scenarios import (
    BUILTIN_SCENARIOS,
    IntersectionSpec,
    build_intersection,
    build_scenario,
    compile_builtin,
    corridor,
    random_intersection_spec,
    single,
)
from sim.scenarios.layout import Turn
from sim.scenarios.signals import SATURATION
from sim.scenarios.webster import PhaseDemand, split_greens, webster_cycle_raw_s, webster_plan
from sim.sumo_bin import sumo_binary

GREEN = set("Gg")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("scenarios")
    return {name: build_scenario(name, root / name) for name in BUILTIN_SCENARIOS}


def read_net(cfg: Path) -> sumolib.net.Net:
    return sumolib.net.readNet(str(cfg.with_name(cfg.stem + ".net.xml")), withPrograms=True)


def program(net: sumolib.net.Net, tls_id: str):
    (prog,) = net.getTLS(tls_id).getPrograms().values()
    return prog


def flow_rates_veh_h(cfg: Path) -> list[tuple[str, int, float]]:
    """(route, begin, veh/h) of every flow in the route file."""
    root = ET.parse(cfg.with_name(cfg.stem + ".rou.xml")).getroot()
    out = []
    for f in root.iter("flow"):
        rate = float(re.fullmatch(r"exp\(([0-9.]+)\)", f.get("period", "")).group(1))  # type: ignore[union-attr]
        out.append((f.get("route", ""), int(f.get("begin", "-1")), rate * 3600.0))
    return out


# --- API -------------------------------------------------------------------------------------------------


def test_builtin_names():
    assert BUILTIN_SCENARIOS == ("single", "corridor")


@pytest.mark.parametrize("name", ["nope", "", "Single", "corridor.sumocfg"])
def test_unknown_name_raises_one_line_scenario_error(name, tmp_path):
    with pytest.raises(ScenarioError) as err:
        build_scenario(name, tmp_path)
    msg = str(err.value)
    assert "\n" not in msg and "single" in msg and "corridor" in msg and repr(name) in msg
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("name", BUILTIN_SCENARIOS)
def test_sumocfg_has_net_routes_and_hour(built, name):
    cfg = built[name]
    assert cfg.name == f"{name}.sumocfg" and cfg.is_file()
    root = ET.parse(cfg).getroot()
    values = {el.tag: el.get("value") for el in root.iter() if el.get("value") is not None}
    assert values == {
        "net-file": f"{name}.net.xml",
        "route-files": f"{name}.rou.xml",
        "begin": "0",
        "end": "3600",
        "step-length": "1",
    }
    for suffix in (".net.xml", ".rou.xml", ".nod.xml", ".edg.xml", ".con.xml", ".tll.xml"):
        assert cfg.with_name(name + suffix).is_file()


# --- networks ----------------------------------------------------------------------------------------------


def test_single_network_lanes_bays_and_arms(built):
    net = read_net(built["single"])
    assert [t.getID() for t in net.getTrafficLights()] == ["C"]
    for arm in "NESW":
        upstream, bay, exit_ = (net.getEdge(f"C_{arm}_{part}") for part in ("in", "bay", "out"))
        assert upstream.getLaneNumber() == 2 and bay.getLaneNumber() == 3 and exit_.getLaneNumber() == 2
        assert 55.0 <= bay.getLength() <= 65.0
        assert upstream.getLength() + bay.getLength() >= 400.0
        # the bay (leftmost lane) turns left only; the right lane also turns right; the middle goes straight
        turns = {k: sorted(c.getDirection() for c in bay.getLane(k).getOutgoing()) for k in range(3)}
        assert turns == {0: ["r", "s"], 1: ["s"], 2: ["l"]}
        # the upstream inner lane feeds both the inner through lane and the bay
        assert sorted(c.getToLane().getIndex() for c in upstream.getLane(1).getOutgoing()) == [1, 2]


def test_corridor_network_spacing_and_lanes(built):
    net = read_net(built["corridor"])
    ids = sorted(t.getID() for t in net.getTrafficLights())
    assert ids == ["J1", "J2", "J3"]
    xs = [net.getNode(j).getCoord()[0] for j in ids]
    assert all(200.0 <= b - a <= 400.0 for a, b in zip(xs, xs[1:], strict=False))
    for j in ids:
        for arm in "EW":
            bay = net.getEdge(f"{j}_{arm}_bay")
            assert bay.getLaneNumber() == 3 and net.getEdge(f"{j}_{arm}_in").getLaneNumber() == 2
            assert [c.getDirection() for c in bay.getLane(2).getOutgoing()] == ["l"]
        for arm in "NS":
            assert net.getEdge(f"{j}_{arm}_in").getLaneNumber() >= 1
    # the arterial is continuous: the edge leaving J1 eastwards is J2's western approach
    assert net.getEdge("J1_E_in").getFromNode().getID() == "J2"
    assert net.getEdge("J2_W_in").getFromNode().getID() == "J1"


# --- signal programs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "tls", "greens"),
    [
        ("single", "C", ["NS-left", "NS-through", "EW-left", "EW-through"]),
        ("corridor", "J1", ["NS", "EW-left", "EW-through"]),
        ("corridor", "J2", ["NS", "EW-left", "EW-through"]),
        ("corridor", "J3", ["NS", "EW-left", "EW-through"]),
    ],
)
def test_program_is_green_yellow_all_red_per_phase(built, name, tls, greens):
    prog = program(read_net(built[name]), tls)
    phases = prog.getPhases()
    assert prog._type == "static"
    assert len(phases) == 3 * len(greens)
    assert [p.name for p in phases[::3]] == greens
    for k in range(0, len(phases), 3):
        green, yellow, red = phases[k : k + 3]
        assert any(c in GREEN for c in green.state) and "y" not in green.state
        assert 3 <= yellow.duration <= 4 and 1 <= red.duration <= 2
        assert yellow.state == "".join("y" if c in GREEN else "r" for c in green.state)
        assert set(red.state) == {"r"}
    # every link is green in some phase
    assert all(any(p.state[i] in GREEN for p in phases) for i in range(len(phases[0].state)))


def _priority_conflicts(net: sumolib.net.Net, tls_id: str) -> list[tuple[str, int, int]]:
    """(phase, link, link) pairs that are both 'G' (no yielding) although SUMO's junction says they are foes."""
    tls = net.getTLS(tls_id)
    node = net.getNode(tls_id)
    jindex = {}
    for in_lane, out_lane, tl_index in tls.getConnections():
        (conn,) = [c for c in in_lane.getOutgoing() if c.getToLane() == out_lane]
        jindex[tl_index] = conn.getJunctionIndex()
    bad = []
    for phase in program(net, tls_id).getPhases():
        prio = [i for i, c in enumerate(phase.state) if c == "G"]
        bad += [
            (phase.name, a, b) for a in prio for b in prio if a < b and node.areFoes(jindex[a], jindex[b])
        ]
    return bad


@pytest.mark.parametrize(("name", "tls"), [("single", "C"), ("corridor", "J1"), ("corridor", "J2")])
def test_no_two_conflicting_links_have_priority_green(built, name, tls):
    assert _priority_conflicts(read_net(built[name]), tls) == []


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_intersections_build_and_are_conflict_free(tmp_path, seed):
    spec = random_intersection_spec(seed)
    cfg = build_intersection(spec, tmp_path)
    net = read_net(cfg)
    assert _priority_conflicts(net, "C") == []
    lanes_in = sorted(net.getEdge(f"C_{a}_in").getLaneNumber() for a in "NESW")
    assert lanes_in == sorted(spec.lanes)


# --- Webster plans -----------------------------------------------------------------------------------------


def _expected_single_cycle_s() -> tuple[int, list[float]]:
    """Webster straight from the documented table in `single` (hour averages) and the documented method."""
    avg = {key: sum(q) / len(q) for key, q in single.FLOWS_VEH_H.items()}
    s, s_left, e_r = (
        SATURATION.through_veh_h_lane,
        SATURATION.left_protected_veh_h,
        SATURATION.right_equivalent,
    )

    def through(a: str) -> float:
        return (avg[(a, Turn.THROUGH)] + e_r * avg[(a, Turn.RIGHT)]) / (2 * s)

    y = [
        max(avg[("N", Turn.LEFT)], avg[("S", Turn.LEFT)]) / s_left,
        max(through("N"), through("S")),
        max(avg[("E", Turn.LEFT)], avg[("W", Turn.LEFT)]) / s_left,
        max(through("E"), through("W")),
    ]
    lost = 4 * (4 + 2)
    c0 = (1.5 * lost + 5) / (1 - sum(y))
    return 5 * math.ceil(c0 / 5), y


def test_single_fixed_cycle_equals_webster_on_documented_average_flows(built):
    cycle, y = _expected_single_cycle_s()
    prog = program(read_net(built["single"]), "C")
    phases = prog.getPhases()
    assert sum(p.duration for p in phases) == cycle
    greens = [p.duration for p in phases[::3]]
    # greens follow the critical flow ratios (within rounding and the minimum green)
    effective = cycle - 24
    for g, yi in zip(greens, y, strict=True):
        assert g >= 6 and abs(g - max(effective * yi / sum(y), 6)) <= 1.5


def test_corridor_common_cycle_and_eastbound_progression(built):
    compiled = compile_builtin("corridor")
    raw = max(webster_cycle_raw_s(d) for d in compiled.demands.values())
    cycle = 5 * math.ceil(raw / 5)
    net = read_net(built["corridor"])
    starts = {}
    for j in corridor.JUNCTION_IDS:
        prog = program(net, j)
        phases = prog.getPhases()
        assert sum(p.duration for p in phases) == cycle
        k = [p.name for p in phases].index("EW-through")
        starts[j] = (float(prog._offset) + sum(p.duration for p in phases[:k])) % cycle
    speed = 0.9 * 13.89
    for a, b, dist in (("J1", "J2", 300.0), ("J2", "J3", 250.0)):
        lag = (starts[b] - starts[a]) % cycle
        assert abs(lag - dist / speed) <= 1.0, (a, b, lag)


@pytest.mark.parametrize(
    ("ys", "lost", "expected"),
    [
        ([0.1, 0.2, 0.1, 0.2], 24, 41 / 0.4),
        ([0.3, 0.3], 10, 20 / 0.4),
        ([0.5, 0.46], 10, math.inf),  # Y >= 0.95: out of the formula's range
    ],
)
def test_webster_cycle_formula(ys, lost, expected):
    per = lost // len(ys)
    demands = [PhaseDemand(f"p{i}", y, 5, per - 2, 2) for i, y in enumerate(ys)]
    assert webster_cycle_raw_s(demands) == pytest.approx(expected)


def test_oversaturated_plan_takes_max_cycle():
    demands = [PhaseDemand("a", 0.6, 10, 4, 2), PhaseDemand("b", 0.5, 10, 4, 2)]
    assert webster_plan(demands, min_cycle_s=40, max_cycle_s=150).cycle_s == 150


@given(
    st.lists(st.floats(0.0, 0.4), min_size=2, max_size=5),
    st.integers(60, 160),
    st.lists(st.integers(5, 12), min_size=5, max_size=5),
)
def test_split_greens_sums_to_cycle_and_respects_min_green(ys, cycle, mins):
    demands = [PhaseDemand(f"p{i}", y, mins[i], 4, 2) for i, y in enumerate(ys)]
    if cycle - 6 * len(ys) < sum(d.min_green_s for d in demands):
        with pytest.raises(ValueError):
            split_greens(demands, cycle)
        return
    greens = split_greens(demands, cycle)
    assert sum(greens) + 6 * len(ys) == cycle
    assert all(g >= d.min_green_s for g, d in zip(greens, demands, strict=True))


# --- demand ------------------------------------------------------------------------------------------------


def test_single_demand_totals_and_time_variation(built):
    flows = flow_rates_veh_h(built["single"])
    by_slice = [sum(q for _, b, q in flows if b == k * 900) for k in range(4)]
    table = [sum(q[k] for q in single.FLOWS_VEH_H.values()) for k in range(4)]
    assert by_slice == pytest.approx(table, abs=0.5)
    assert max(by_slice) == by_slice[1] and by_slice[1] > 1.3 * by_slice[3]  # a real peak
    assert {b for _, b, _ in flows} == {0, 900, 1800, 2700}

    def slice_flow(arms: str, turn: str, k: int) -> float:
        return sum(
            q for r, b, q in flows if b == 900 * k and r.split("__")[0][-1] in arms and _turn(r) == turn
        )

    # NS dominant early, EW (and its lefts) later
    assert slice_flow("NS", "s", 0) > 1.8 * slice_flow("EW", "s", 0)
    assert slice_flow("EW", "s", 2) > 1.8 * slice_flow("NS", "s", 2)
    assert slice_flow("EW", "l", 2) > 2.5 * slice_flow("EW", "l", 0)


def _turn(route_id: str) -> str:
    origin, dest = (part.split("_")[1] for part in route_id.split("__"))
    d = ("NESW".index(dest) - "NESW".index(origin)) % 4
    return {1: "l", 2: "s", 3: "r"}[d]


@pytest.mark.parametrize("name", BUILTIN_SCENARIOS)
def test_average_plan_is_wrong_somewhere_but_not_hopeless(name):
    compiled = compile_builtin(name)
    worst = []
    for j in compiled.plans:
        for k in range(4):
            dos = compiled.degree_of_saturation(j, k)
            worst.append((max(dos.values()), min(dos.values()), j, k))
    peak, spare, *_ = max(worst)
    assert 0.85 <= peak <= 1.02  # the worst-matched movement of the worst slice
    assert spare < 0.7  # ... while another phase of that slice has green to spare


def test_corridor_arterial_direction_swaps_over_the_hour():
    flows = compile_builtin("corridor").flows
    eb = flows[("J2", "W", Turn.THROUGH)]
    wb = flows[("J2", "E", Turn.THROUGH)]
    assert eb[0] > 1.5 * wb[0] and wb[3] > 1.5 * eb[3]
    # arterial traffic that stays on the arterial through J1: to the far end or to J2/J3 side streets
    west = corridor.ORIGIN_VEH_H[corridor.WEST]
    assert flows[("J1", "W", Turn.THROUGH)] == pytest.approx([q * (0.70 + 4 * 0.05) for q in west])


@pytest.mark.parametrize("name", BUILTIN_SCENARIOS)
def test_vehicle_types_are_meaningful(built, name):
    root = ET.parse(built[name].with_name(f"{name}.rou.xml")).getroot()
    types = {t.get("id"): t for t in root.iter("vType")}
    assert {k: t.get("vClass") for k, t in types.items()} == {
        "car": "passenger",
        "truck": "truck",
        "bus": "bus",
        "motorcycle": "motorcycle",
    }
    length = {k: float(t.get("length", "0")) for k, t in types.items()}
    assert length["motorcycle"] < length["car"] < length["truck"] < length["bus"]
    assert sum(float(t.get("probability", "0")) for t in types.values()) == pytest.approx(1.0, abs=1e-3)
    assert {f.get("type") for f in root.iter("flow")} == {"mix"}


# --- build: cache, determinism, atomicity ------------------------------------------------------------------


def test_rebuild_is_cached_and_version_or_missing_file_forces_it(tmp_path, monkeypatch):
    cfg = build_scenario("single", tmp_path)
    net = cfg.with_name("single.net.xml")
    before = net.stat().st_mtime_ns
    calls = []
    real = build_mod._netconvert
    monkeypatch.setattr(build_mod, "_netconvert", lambda *a: (calls.append(a), real(*a)))
    assert build_scenario("single", tmp_path) == cfg
    assert calls == [] and net.stat().st_mtime_ns == before
    net.unlink()
    build_scenario("single", tmp_path)
    assert len(calls) == 1 and net.is_file()
    monkeypatch.setattr(build_mod, "GENERATOR_VERSION", build_mod.GENERATOR_VERSION + 1)
    build_scenario("single", tmp_path)
    assert len(calls) == 2


def test_failed_build_leaves_nothing_half_written(tmp_path, monkeypatch):
    def broken(name, folder):
        (folder / f"{name}.net.xml").write_text("<half")
        raise ScenarioError("scenario single: netconvert failed: simulated")

    monkeypatch.setattr(build_mod, "_netconvert", broken)
    with pytest.raises(ScenarioError):
        build_scenario("single", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_build_is_deterministic(tmp_path):
    a = build_scenario("corridor", tmp_path / "a")
    b = build_scenario("corridor", tmp_path / "b")
    for suffix in (".nod.xml", ".edg.xml", ".con.xml", ".tll.xml", ".rou.xml", ".sumocfg"):
        assert a.with_name("corridor" + suffix).read_bytes() == b.with_name("corridor" + suffix).read_bytes()

    def body(p: Path) -> str:
        return re.sub(r"<!--.*?-->", "", p.with_name("corridor.net.xml").read_text(), flags=re.S)

    assert body(a) == body(b)


def test_intersection_spec_is_seeded_and_validated(tmp_path):
    assert random_intersection_spec(5) == random_intersection_spec(5)
    assert len({random_intersection_spec(s) for s in range(8)}) == 8
    with pytest.raises(ScenarioError, match="arm_bearings_deg"):
        build_intersection(IntersectionSpec(arm_bearings_deg=(0.0, 10.0, 180.0, 270.0)), tmp_path)
    with pytest.raises(ScenarioError, match=r"lanes\[2\]"):
        build_intersection(IntersectionSpec(lanes=(2, 2, 0, 2)), tmp_path)


# --- a short real SUMO run ---------------------------------------------------------------------------------


def test_single_runs_in_sumo_without_teleports_or_collisions(built, tmp_path):
    stats = tmp_path / "stats.xml"
    proc = subprocess.run(
        [sumo_binary("sumo"), "-c", str(built["single"]), "--end", "900", "--seed", "3",
         "--time-to-teleport", "-1", "--no-step-log", "--statistic-output", str(stats)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-500:]
    root = ET.parse(stats).getroot()
    veh = root.find("vehicles").attrib  # type: ignore[union-attr]
    assert int(veh["inserted"]) > 400 and int(veh["waiting"]) <= 5
    assert root.find("teleports").get("total") == "0"  # type: ignore[union-attr]
    assert root.find("safety").get("collisions") == "0"  # type: ignore[union-attr]
