"""NTCIP 1202 object model: OIDs, names, units, masks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_bridge.errors import BridgeError
from firmware_bridge.ntcip import OBJECTS, lookup, mask_to_phases, oid_of, parse_name, phases_to_mask

ASC = (1, 3, 6, 1, 4, 1, 1206, 4, 2, 1)


@pytest.mark.parametrize(
    ("name", "index", "oid"),
    [
        ("phaseControlGroupHold", (1,), ASC + (1, 5, 1, 4, 1)),
        ("phaseStatusGroupGreens", (1,), ASC + (1, 4, 1, 4, 1)),
        ("phaseYellowChange", (2,), ASC + (1, 2, 1, 8, 2)),
        ("unitBackupTime", (), ASC + (3, 3, 0)),
        ("systemPatternControl", (), ASC + (4, 14, 0)),
        ("splitTime", (3, 4), ASC + (4, 9, 1, 3, 3, 4)),
        ("patternCycleTime", (2,), ASC + (4, 7, 1, 2, 2)),
        ("dbCreateTransaction", (), (1, 3, 6, 1, 4, 1, 1206, 4, 2, 6, 2, 1, 0)),
    ],
)
def test_oids_and_lookup(name: str, index: tuple[int, ...], oid: tuple[int, ...]) -> None:
    assert oid_of(name, *index) == oid
    found = lookup(oid)
    assert found is not None and (found[0].name, found[1]) == (name, index)


@pytest.mark.parametrize(
    ("name", "user", "raw"),
    [
        ("phaseYellowChange", 3.5, 35),
        ("phasePassage", 2.0, 20),
        ("phaseMinimumGreen", 7, 7),
        ("unitBackupTime", 300, 300),
    ],
)
def test_units(name: str, user: float, raw: int) -> None:
    d = OBJECTS[name]
    assert d.to_raw(user) == raw
    assert d.from_raw(raw) == user


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [("phaseYellowChange", 3.55, "multiple of 0.1"), ("phaseMinimumGreen", 256, "expected 0..255"),
     ("phaseConcurrency", 5, "octets"), ("phaseRing", b"\x01", "number")],
)  # fmt: skip
def test_unit_errors(name: str, value: float | bytes, match: str) -> None:
    with pytest.raises(BridgeError, match=match):
        OBJECTS[name].to_raw(value)


@pytest.mark.parametrize(
    ("text", "match"),
    [("phaseYellow.2", "expected one of"), ("splitTime.1", "2 index"), ("phaseRing.x", "integer")],
)
def test_parse_name_errors(text: str, match: str) -> None:
    with pytest.raises(BridgeError, match=match):
        parse_name(text)


def test_masks_follow_the_mib_bit_order() -> None:
    assert phases_to_mask({1}) == 0x01 and phases_to_mask({8}) == 0x80
    assert phases_to_mask({9, 16}, group=2) == 0x81
    assert phases_to_mask({2, 9}, group=1) == 0x02  # phases of other groups are not this group's bits


@given(st.frozensets(st.integers(1, 8)))
def test_mask_round_trip(phases: frozenset[int]) -> None:
    assert mask_to_phases(phases_to_mask(phases)) == phases
