"""SNMP messages as plain values, encoded and decoded with pysnmp's protocol API and pyasn1 BER.

`SnmpMessage` is what the rest of the bridge (and the virtual controller) handles; this module is the only place
that touches pysnmp/pyasn1 objects. No BER is written by hand. It does not move bytes (see `transport`) and does
not know NTCIP object names (see `ntcip`). Every failure to decode becomes `BridgeProtocolError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum, IntEnum
from typing import Any

from pyasn1.codec.ber import decoder, encoder
from pyasn1.type import univ
from pysnmp.proto import api

from firmware_bridge.errors import BridgeProtocolError

__all__ = [
    "ErrorStatus",
    "Oid",
    "PduType",
    "SnmpMessage",
    "Value",
    "VarBind",
    "decode_message",
    "encode_message",
    "format_oid",
    "parse_oid",
]

Oid = tuple[int, ...]
Value = int | bytes | Oid | None  # INTEGER/Counter/Gauge/TimeTicks, OCTET STRING, OBJECT IDENTIFIER, NULL


class PduType(str, Enum):
    GET = "get"
    GET_NEXT = "get_next"
    SET = "set"
    RESPONSE = "response"


class ErrorStatus(IntEnum):
    """SNMPv1 error-status values (RFC 1157)."""

    NO_ERROR = 0
    TOO_BIG = 1
    NO_SUCH_NAME = 2
    BAD_VALUE = 3
    READ_ONLY = 4
    GEN_ERR = 5


@dataclass(frozen=True, slots=True)
class VarBind:
    oid: Oid
    value: Value = None


@dataclass(frozen=True, slots=True)
class SnmpMessage:
    pdu_type: PduType
    community: bytes
    request_id: int
    varbinds: tuple[VarBind, ...]
    error_status: int = 0
    error_index: int = 0
    version: int = api.SNMP_VERSION_1  # 0 = v1, 1 = v2c


def parse_oid(text: str) -> Oid:
    """'1.3.6.1.2' (a leading dot allowed) -> (1, 3, 6, 1, 2).

    Raises:
        BridgeProtocolError: not dotted non-negative integers.
    """
    try:
        oid = tuple(int(p) for p in text.strip().lstrip(".").split("."))
    except ValueError as exc:
        raise BridgeProtocolError(f"OID: expected dotted integers, found {text!r}") from exc
    if len(oid) < 2 or any(p < 0 for p in oid):
        raise BridgeProtocolError(f"OID: expected at least two non-negative arcs, found {text!r}")
    return oid


def format_oid(oid: Oid) -> str:
    return ".".join(str(p) for p in oid)


_PDU_CLASSES = {
    PduType.GET: "GetRequestPDU",
    PduType.GET_NEXT: "GetNextRequestPDU",
    PduType.SET: "SetRequestPDU",
    PduType.RESPONSE: "GetResponsePDU",
}


def _module(version: int) -> Any:
    try:
        return api.PROTOCOL_MODULES[version]
    except KeyError as exc:
        raise BridgeProtocolError(f"SNMP version: expected 0 (v1) or 1 (v2c), found {version}") from exc


def _to_asn1(p_mod: Any, value: Value) -> Any:
    if value is None:
        return p_mod.Null("")
    if isinstance(value, bool):
        raise BridgeProtocolError(f"SNMP value: expected int, bytes, OID tuple or None, found {value!r}")
    if isinstance(value, int):
        # Counters, gauges and time ticks decode to plain ints; give large ones back an unsigned type
        if value > 0x7FFFFFFF:
            if value > 0xFFFFFFFF and hasattr(p_mod, "Counter64"):
                return p_mod.Counter64(value)
            return (p_mod.Gauge32 if hasattr(p_mod, "Gauge32") else p_mod.Gauge)(value)
        return p_mod.Integer(value)
    if isinstance(value, bytes):
        return p_mod.OctetString(value)
    if isinstance(value, tuple):
        return p_mod.ObjectIdentifier(value)
    raise BridgeProtocolError(
        f"SNMP value: expected int, bytes, OID tuple or None, found {type(value).__name__}"
    )


def encode_message(msg: SnmpMessage) -> bytes:
    """BER bytes of `msg` (v1 or v2c).

    Raises:
        BridgeProtocolError: a value that cannot be encoded (e.g. INTEGER out of 32-bit range).
    """
    p_mod = _module(msg.version)
    try:
        pdu = getattr(p_mod, _PDU_CLASSES[msg.pdu_type])()
        p_mod.apiPDU.set_defaults(pdu)
        p_mod.apiPDU.set_request_id(pdu, msg.request_id)
        p_mod.apiPDU.set_error_status(pdu, msg.error_status)
        p_mod.apiPDU.set_error_index(pdu, msg.error_index)
        p_mod.apiPDU.set_varbinds(pdu, [(vb.oid, _to_asn1(p_mod, vb.value)) for vb in msg.varbinds])
        message = p_mod.Message()
        p_mod.apiMessage.set_defaults(message)
        p_mod.apiMessage.set_community(message, msg.community)
        p_mod.apiMessage.set_pdu(message, pdu)
        return bytes(encoder.encode(message))
    except BridgeProtocolError:
        raise
    except Exception as exc:  # pyasn1 raises several types for out-of-range values
        raise BridgeProtocolError(f"SNMP encode: cannot encode {msg!r}: {exc}") from exc


def _from_asn1(value: Any) -> Value:
    if isinstance(value, univ.Null):  # also v2c noSuchObject / noSuchInstance / endOfMibView
        return None
    if isinstance(value, univ.Integer):
        return int(value)
    if isinstance(value, univ.OctetString):
        return bytes(value)
    if isinstance(value, univ.ObjectIdentifier):
        return tuple(value)
    raise BridgeProtocolError(f"SNMP value: unsupported type {type(value).__name__}")


def _pdu_type(pdu: Any) -> PduType:
    name = type(pdu).__name__
    for kind, cls in _PDU_CLASSES.items():
        if name == cls or (cls == "GetResponsePDU" and name == "ResponsePDU"):
            return kind
    raise BridgeProtocolError(f"SNMP PDU: expected get/get-next/set/response, found {name}")


def decode_message(data: bytes) -> SnmpMessage:
    """Decode one BER SNMP v1/v2c message that must fill `data` exactly.

    Raises:
        BridgeProtocolError: anything that is not exactly one well-formed message.
    """
    try:
        version = int(api.decodeMessageVersion(data))
        p_mod = _module(version)
        message, rest = decoder.decode(data, asn1Spec=p_mod.Message())
        if rest:
            raise BridgeProtocolError(f"SNMP decode: expected one message, found {len(rest)} trailing bytes")
        pdu = p_mod.apiMessage.get_pdu(message)
        kind = _pdu_type(pdu)
        varbinds = tuple(
            VarBind(oid=tuple(int(p) for p in name), value=_from_asn1(val))
            for name, val in p_mod.apiPDU.get_varbinds(pdu)
        )
        return SnmpMessage(
            pdu_type=kind,
            community=bytes(p_mod.apiMessage.get_community(message)),
            request_id=int(p_mod.apiPDU.get_request_id(pdu)),
            varbinds=varbinds,
            error_status=int(p_mod.apiPDU.get_error_status(pdu)),
            error_index=int(p_mod.apiPDU.get_error_index(pdu)),
            version=version,
        )
    except BridgeProtocolError:
        raise
    except Exception as exc:  # hostile bytes make pyasn1 raise many types; all mean "not a message"
        raise BridgeProtocolError(
            f"SNMP decode: expected a BER SNMP message, found {data[:16].hex()}...: {exc}"
        ) from exc


def request(
    pdu_type: PduType, community: bytes, request_id: int, varbinds: Sequence[VarBind], *, version: int = 0
) -> SnmpMessage:
    """Shorthand for a request message."""
    return SnmpMessage(pdu_type, community, request_id, tuple(varbinds), version=version)
