"""PMPP framing: golden frames, FCS, addresses, stuffing, and the streaming deframer under garbage and faults."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge.errors import BridgeProtocolError
from firmware_bridge.ntcip import ControlCol, control_oid
from firmware_bridge.pmpp import (
    Deframer,
    PmppFrame,
    crc16_x25,
    decode_address,
    encode_address,
    encode_frame,
    parse_frame_body,
    stuff,
    unstuff,
)
from firmware_bridge.snmp import PduType, SnmpMessage, VarBind, decode_message, encode_message

GOLDEN = dict(
    line.split()
    for line in (Path(__file__).parent / "data" / "pmpp_golden.txt").read_text().splitlines()
    if line and not line.startswith("#")
)


def crc_bitwise(data: bytes) -> int:
    """Reference CRC-16/X.25, bit by bit, independent of the table-driven one under test."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc ^ 0xFFFF


def hold_message(pdu_type: PduType) -> SnmpMessage:
    return SnmpMessage(pdu_type, b"public", 1, (VarBind(control_oid(ControlCol.HOLD, 1), 2),))


def make_frame(i: int, address: int = 1) -> bytes:
    msg = SnmpMessage(PduType.GET, b"s3cret", i, (VarBind(control_oid(ControlCol.HOLD, 1 + i % 3)),))
    return encode_frame(PmppFrame(address, encode_message(msg)))


def test_crc_check_value() -> None:
    assert crc16_x25(b"123456789") == 0x906E
    assert crc_bitwise(b"123456789") == 0x906E


@pytest.mark.parametrize(("name", "pdu_type"), [("request", PduType.SET), ("reply", PduType.RESPONSE)])
def test_golden_frames(name: str, pdu_type: PduType) -> None:
    golden = bytes.fromhex(GOLDEN[name])
    assert encode_frame(PmppFrame(1, encode_message(hold_message(pdu_type)))) == golden
    body = golden[1:-1]  # no 7E/7D inside these frames, so no unstuffing needed
    assert (body[0], body[1], body[2]) == (0x05, 0x13, 0xC1)
    fcs = body[-2] | body[-1] << 8
    assert fcs == crc_bitwise(body[:-2])
    frames = Deframer().feed(golden)
    assert [decode_message(f.payload) for f in frames] == [hold_message(pdu_type)]


@pytest.mark.parametrize(
    ("address", "encoded"),
    [(0, "01"), (1, "05"), (63, "fd"), (64, "0003"), (100, "9003"), (0x1FFF, "fcff")],
)
def test_address_field(address: int, encoded: str) -> None:
    assert encode_address(address).hex() == encoded
    assert decode_address(bytes.fromhex(encoded)) == (address, False, len(encoded) // 2)


@pytest.mark.parametrize("bad", [-1, 0x2000])
def test_address_out_of_range(bad: int) -> None:
    with pytest.raises(BridgeProtocolError, match="0..8191"):
        encode_address(bad)


@pytest.mark.parametrize(
    ("raw", "stuffed"),
    [(b"\x7e", b"\x7d\x5e"), (b"\x7d", b"\x7d\x5d"), (b"\x7d\x5e", b"\x7d\x5d\x5e"), (b"ab", b"ab")],
)
def test_stuffing_table(raw: bytes, stuffed: bytes) -> None:
    assert stuff(raw) == stuffed
    assert unstuff(stuffed) == raw


@pytest.mark.parametrize("bad", [b"\x7d", b"a\x7d\x00", b"\x7d\x7d\x5e"])
def test_bad_escape_rejected(bad: bytes) -> None:
    with pytest.raises(BridgeProtocolError, match="stuffing"):
        unstuff(bad)


@given(st.binary(max_size=300))
def test_stuff_round_trip(data: bytes) -> None:
    stuffed = stuff(data)
    assert b"\x7e" not in stuffed
    assert unstuff(stuffed) == data


def test_frame_with_flag_bytes_inside_round_trips() -> None:
    frame = PmppFrame(70, b"\x7e\x7d\x7e\x00")
    wire = encode_frame(frame)
    assert wire.count(b"\x7e") == 2
    assert Deframer().feed(wire) == [frame]


def test_parse_rejects_bad_fcs() -> None:
    body = bytes.fromhex(GOLDEN["request"])[1:-1]
    with pytest.raises(BridgeProtocolError, match="FCS"):
        parse_frame_body(body[:-1] + bytes([body[-1] ^ 1]))


def test_deframer_resyncs_after_garbage_and_keeps_good_frame_after_bad() -> None:
    good1, good2 = make_frame(1), make_frame(2)
    bad = bytearray(make_frame(3))
    bad[10] ^= 0x40
    d = Deframer()
    frames = d.feed(b"\x00\xff noise" + good1 + bytes(bad) + good2)
    assert [decode_message(f.payload).request_id for f in frames] == [1, 2]
    assert d.stats.bad_fcs == 1
    assert d.stats.discarded_bytes >= 8


def test_deframer_truncated_frame_costs_only_itself() -> None:
    good = make_frame(5)
    truncated = make_frame(6)[:-6]  # closing flag and tail lost
    frames = Deframer().feed(truncated + good + good)
    assert [decode_message(f.payload).request_id for f in frames] == [5, 5]


def test_deframer_byte_by_byte_equals_one_chunk() -> None:
    stream = make_frame(1) + b"\x7e\x7e" + make_frame(2, address=100)
    d1, d2 = Deframer(), Deframer()
    one = d1.feed(stream)
    split = [f for i in range(len(stream)) for f in d2.feed(stream[i : i + 1])]
    assert one == split
    assert [f.address for f in one] == [1, 100]


def test_deframer_bounds_memory_on_flagless_garbage() -> None:
    d = Deframer(max_body=64)
    assert d.feed(b"\x7e" + b"\x00" * 10_000) == []
    assert d.stats.oversize == 1
    assert d.feed(make_frame(9)) != []  # the next flag resynchronises


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=80), min_size=1, max_size=6), st.integers(0, 50))
def test_fuzz_good_frames_survive_any_garbage_between(garbage: list[bytes], seed: int) -> None:
    stream = b""
    for i, junk in enumerate(garbage):
        stream += junk + make_frame(seed + i)
    chunk = 1 + seed % 17
    d = Deframer()
    frames = [f for i in range(0, len(stream), chunk) for f in d.feed(stream[i : i + chunk])]
    assert [decode_message(f.payload).request_id for f in frames] == [seed + i for i in range(len(garbage))]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_fuzz_deframer_never_crashes_and_only_emits_consistent_frames(data: bytes) -> None:
    for frame in Deframer().feed(data):
        assert encode_frame(frame)[1:-1] in data  # only what was really on the line, FCS included


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 10**6), st.sampled_from(["flip", "substitute", "drop", "duplicate", "insert"]), st.data()
)
def test_fuzz_corrupted_frame_is_never_accepted_as_something_else(
    seed: int, kind: str, data: st.DataObject
) -> None:
    original = Deframer().feed(make_frame(seed % 1000))[0]
    wire = bytearray(make_frame(seed % 1000))
    pos = data.draw(st.integers(1, len(wire) - 2))  # inside the flags
    if kind == "flip":
        wire[pos] ^= 1 << data.draw(st.integers(0, 7))
    elif kind == "substitute":
        wire[pos] = (wire[pos] + data.draw(st.integers(1, 255))) % 256
    elif kind == "drop":
        del wire[pos]
    elif kind == "duplicate":
        wire.insert(pos, wire[pos])
    else:
        wire.insert(pos, data.draw(st.integers(0, 255)))
    good = make_frame(7)
    d = Deframer()
    frames = d.feed(bytes(wire) + good)
    assert frames[-1:] == Deframer().feed(good)  # the good frame after the bad one is kept
    # the corrupted frame is rejected, never delivered altered (a flag inserted next to a flag leaves it intact)
    assert all(f == original for f in frames[:-1])
    if kind in ("flip", "substitute"):
        assert d.stats.rejected >= 1
