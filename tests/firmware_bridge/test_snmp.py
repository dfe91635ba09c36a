"""SNMP encode/decode through pysnmp + pyasn1, and the decoder under hostile bytes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge.errors import BridgeProtocolError
from firmware_bridge.snmp import (
    PduType,
    SnmpMessage,
    VarBind,
    decode_message,
    encode_message,
    format_oid,
    parse_oid,
)

ASC = (1, 3, 6, 1, 4, 1, 1206, 4, 2, 1)


def make_message(**kw: object) -> SnmpMessage:
    base = dict(
        pdu_type=PduType.GET, community=b"s3cret", request_id=42, varbinds=(VarBind(ASC + (3, 3, 0)),)
    )
    base.update(kw)
    return SnmpMessage(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "msg",
    [
        make_message(),
        make_message(pdu_type=PduType.SET, varbinds=(VarBind(ASC + (1, 5, 1, 4, 1), 34),)),
        make_message(pdu_type=PduType.GET_NEXT, version=1),
        make_message(pdu_type=PduType.RESPONSE, error_status=3, error_index=1,
                     varbinds=(VarBind(ASC + (1, 2, 1, 23, 2), b"\x05\x06"), VarBind((1, 3, 6, 1, 2, 1), (1, 3, 6)))),
        make_message(pdu_type=PduType.SET, request_id=0x7FFFFFFF, varbinds=(VarBind(ASC, -5),)),
    ],
)  # fmt: skip
def test_round_trip(msg: SnmpMessage) -> None:
    assert decode_message(encode_message(msg)) == msg


def test_encoding_is_plain_ber_sequence() -> None:
    data = encode_message(make_message())
    assert data[0] == 0x30 and data[1] == len(data) - 2


@pytest.mark.parametrize(
    "bad",
    [b"", b"\x30", b"\x30\x00", b"\x02\x01\x00", bytes(30), b"\x30\x03\x02\x01\x05"],
)
def test_garbage_is_a_protocol_error(bad: bytes) -> None:
    with pytest.raises(BridgeProtocolError, match="SNMP (decode|version)"):
        decode_message(bad)


def test_trailing_bytes_rejected() -> None:
    with pytest.raises(BridgeProtocolError):
        decode_message(encode_message(make_message()) + b"\x00")


def test_truncation_rejected_at_every_length() -> None:
    data = encode_message(make_message(pdu_type=PduType.SET, varbinds=(VarBind(ASC + (4, 14, 0), 2),)))
    for n in range(len(data)):
        with pytest.raises(BridgeProtocolError):
            decode_message(data[:n])


@pytest.mark.parametrize(("text", "oid"), [("1.3.6.1", (1, 3, 6, 1)), (".1.3.6", (1, 3, 6))])
def test_parse_oid(text: str, oid: tuple[int, ...]) -> None:
    assert parse_oid(text) == oid
    assert format_oid(oid) == text.lstrip(".")


@pytest.mark.parametrize("bad", ["", "1", "1.x.3", "1.-3"])
def test_parse_oid_rejects(bad: str) -> None:
    with pytest.raises(BridgeProtocolError, match="OID"):
        parse_oid(bad)


values = st.one_of(st.none(), st.integers(-(2**31), 2**32 - 1), st.binary(max_size=20))
oids = st.lists(st.integers(0, 2**20), min_size=1, max_size=12).map(lambda t: (1, 3, *t))
messages = st.builds(
    SnmpMessage,
    pdu_type=st.sampled_from(list(PduType)),
    community=st.binary(min_size=1, max_size=16),
    request_id=st.integers(0, 2**31 - 1),
    varbinds=st.lists(st.builds(VarBind, oid=oids, value=values), max_size=5).map(tuple),
    error_status=st.integers(0, 5),
    error_index=st.integers(0, 5),
    version=st.sampled_from([0, 1]),
).filter(
    lambda m: m.error_index <= len(m.varbinds)
)  # pysnmp refuses an index past the varbinds, as it should


@settings(max_examples=150, deadline=None)
@given(messages)
def test_fuzz_round_trip(msg: SnmpMessage) -> None:
    assert decode_message(encode_message(msg)) == msg


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_arbitrary_bytes_decode_or_raise(data: bytes) -> None:
    try:
        msg = decode_message(data)
    except BridgeProtocolError:
        return
    assert decode_message(encode_message(msg)) == msg  # anything accepted is a real, re-encodable message


@settings(max_examples=400, deadline=None)
@given(messages, st.data())
def test_fuzz_mutated_messages_never_decode_to_a_different_valid_request(
    msg: SnmpMessage, data: st.DataObject
) -> None:
    wire = bytearray(encode_message(msg))
    pos = data.draw(st.integers(0, len(wire) - 1))
    action = data.draw(st.sampled_from(["flip", "drop", "dup"]))
    if action == "flip":
        wire[pos] ^= 1 << data.draw(st.integers(0, 7))
    elif action == "drop":
        del wire[pos]
    else:
        wire.insert(pos, wire[pos])
    try:
        decoded = decode_message(bytes(wire))
    except BridgeProtocolError:
        return
    # BER has no checksum: a flipped value byte can decode (that is what the PMPP FCS is for). What must hold is
    # that the decoder reports exactly what the bytes say, so re-encoding reproduces a decodable twin.
    assert decode_message(encode_message(decoded)) == decoded
