from pathlib import Path

import pytest

from sim.errors import SimError
from sim.metrics import aggregate, parse_tripinfo, trip_metrics

DATA = Path(__file__).parent.parent / "data"


def test_metrics_match_hand_computation():
    m = trip_metrics(parse_tripinfo(DATA / "tripinfo_small.xml"), teleports=3)
    # delay over all four loaded trips, the never-inserted one with its departDelay = end - scheduled depart
    assert m.delay_s == pytest.approx(((30 + 2) + (4 + 0) + (8 + 1) + (0 + 15)) / 4)
    # stop time, stops and travel time over the three that departed
    assert m.stop_time_s == pytest.approx((20 + 0 + 7) / 3)
    assert m.stops == pytest.approx(3 / 3)
    assert m.travel_time_s == pytest.approx((60 + 30 + 10) / 3)
    assert (m.arrived, m.teleports, m.trips, m.undeparted) == (2, 3, 4, 1)


def test_unreadable_tripinfo_names_the_file(tmp_path):
    bad = tmp_path / "broken.xml"
    bad.write_text("<tripinfos><tripinfo", encoding="utf-8")
    with pytest.raises(SimError, match="broken.xml"):
        parse_tripinfo(bad)


def test_aggregate_mean_and_spread():
    runs = [
        {"delay_s": 10.0, "stop_time_s": 4.0, "stops": 1.0, "travel_time_s": 50.0, "arrived": 100, "teleports": 0},
        {"delay_s": 14.0, "stop_time_s": 6.0, "stops": 2.0, "travel_time_s": 54.0, "arrived": 103, "teleports": 1},
    ]
    agg = aggregate(runs)
    assert agg["delay_s"] == pytest.approx(12.0)
    assert agg["delay_s_sd"] == pytest.approx(2.8284, rel=1e-3)
    assert agg["arrived"] == 102 and isinstance(agg["arrived"], int)
