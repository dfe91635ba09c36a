"""Which signals feed which, read from the built-in corridor's network (sim/topology.py)."""

from __future__ import annotations

import pytest

from sim.scenarios import build_scenario
from sim.sumocfg import read_sumocfg
from sim.topology import read_topology


@pytest.fixture(scope="module")
def corridor(tmp_path_factory):
    cfg = read_sumocfg(build_scenario("corridor", tmp_path_factory.mktemp("corridor") / "corridor"))
    return read_topology(cfg.net_file, range_m=150.0)


def test_arterial_through_lanes_are_fed_by_the_neighbour_one_link_away(corridor):
    feeds = corridor.feeds
    assert set(feeds) == {"J1", "J2", "J3"}
    # J2 from both sides, J1 and J3 from J2 only; side streets and the network ends have no signal upstream
    assert {link.up_junction for lanes in feeds["J2"].values() for link in lanes} == {"J1", "J3"}
    assert {link.up_junction for lanes in feeds["J1"].values() for link in lanes} == {"J2"}
    assert all(lane.startswith(("J2_W", "J2_E")) for lane in feeds["J2"])
    for lane in ("J2_W_bay_0", "J2_W_bay_1"):
        links = feeds["J2"][lane]
        assert {f.up_junction for f in links} == {"J1"}
        arterial = sum(f.share for f in links if f.up_lane.startswith("J1_W"))
        turning_in = sum(f.share for f in links if not f.up_lane.startswith("J1_W"))
        assert arterial > 2 * turning_in > 0  # J1's side streets turn in, the arterial carries the platoon
        # 300 m between the junctions, less their inner lengths
        assert all(250.0 < f.distance_m < 300.0 for f in links)


def test_turn_bays_get_no_platoon(corridor):
    # the left bay (lane 2) has no straight link: the through platoon is not predicted into it
    assert "J2_W_bay_2" not in corridor.feeds["J2"]


def test_shares_out_of_a_lane_never_exceed_its_vehicles(corridor):
    out: dict[tuple[str, str], float] = {}
    for lanes in corridor.feeds.values():
        for links in lanes.values():
            for link in links:
                key = (link.up_junction, link.up_lane)
                out[key] = out.get(key, 0.0) + link.share
    assert out and all(0.0 < total <= 1.0 + 1e-9 for total in out.values())
