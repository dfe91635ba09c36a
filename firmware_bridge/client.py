"""SNMP requests to one controller over a `Link`: request ids, timeouts, retries with backoff, error statuses.

A reply is matched by request id, so a late answer to an earlier try is dropped instead of being taken for the
current one. An SNMP error status becomes `BridgeRejected` naming the object and value; silence after every try
becomes `BridgeTimeout`. Values are raw MIB integers here; `ntcip.ObjectDef` converts units.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from firmware_bridge.errors import BridgeProtocolError, BridgeRejected, BridgeTimeout
from firmware_bridge.ntcip import lookup
from firmware_bridge.snmp import (
    ErrorStatus,
    Oid,
    PduType,
    SnmpMessage,
    Value,
    VarBind,
    decode_message,
    encode_message,
    format_oid,
)
from firmware_bridge.transport import Link

__all__ = ["ClientStats", "SnmpClient", "describe_oid"]


def describe_oid(oid: Oid) -> str:
    """'phaseControlGroupHold.1' for a known NTCIP object, the dotted OID otherwise."""
    found = lookup(oid)
    if found is None:
        return format_oid(oid)
    definition, index = found
    return ".".join([definition.name, *map(str, index)])


@dataclass
class ClientStats:
    requests: int = 0
    retries: int = 0
    timeouts: int = 0
    stale_replies: int = 0
    undecodable: int = 0


@dataclass
class SnmpClient:
    link: Link
    community: bytes
    timeout_s: float = 0.5
    retries: int = 2
    backoff_s: float = 0.1  # wait before retry k: backoff_s * 2**k
    sleep: Callable[[float], None] = time.sleep
    stats: ClientStats = field(default_factory=ClientStats)
    _request_id: int = 0
    # one exchange at a time: a release sent from the main thread at shutdown waits for the bridge thread's
    # request in flight instead of interleaving with it on the link (and swallowing its reply)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def worst_case_s(self, retries: int | None = None) -> float:
        """The longest one request can take: every try timed out, with the backoffs between them."""
        tries = 1 + (self.retries if retries is None else retries)
        return tries * self.timeout_s + sum(self.backoff_s * 2**k for k in range(tries - 1))

    def get(self, oids: Sequence[Oid]) -> list[Value]:
        reply = self.request(PduType.GET, [VarBind(o) for o in oids])
        return [vb.value for vb in reply.varbinds]

    def set(self, values: Sequence[tuple[Oid, Value]], *, retries: int | None = None) -> None:
        self.request(PduType.SET, [VarBind(o, v) for o, v in values], retries=retries)

    def request(
        self, pdu_type: PduType, varbinds: Sequence[VarBind], *, retries: int | None = None
    ) -> SnmpMessage:
        """Send one request and wait for its response, retrying on silence.

        Raises:
            BridgeTimeout: no matching response after every try.
            BridgeRejected: the response carries an SNMP error status.
            BridgeLinkError: the link failed.
        """
        with self._lock:
            return self._exchange(pdu_type, varbinds, retries)

    def _exchange(self, pdu_type: PduType, varbinds: Sequence[VarBind], retries: int | None) -> SnmpMessage:
        self._request_id = self._request_id % 0x7FFFFFFF + 1
        msg = SnmpMessage(pdu_type, self.community, self._request_id, tuple(varbinds))
        payload = encode_message(msg)
        tries = 1 + (self.retries if retries is None else retries)
        self.stats.requests += 1
        for attempt in range(tries):
            if attempt:
                self.stats.retries += 1
                self.sleep(self.backoff_s * 2 ** (attempt - 1))
            self.link.send(payload)
            reply = self._await(msg.request_id)
            if reply is not None:
                self._raise_on_error(msg, reply)
                return reply
        self.stats.timeouts += 1
        names = ", ".join(describe_oid(vb.oid) for vb in varbinds[:3]) + (" ..." if len(varbinds) > 3 else "")
        raise BridgeTimeout(
            f"{self.link.description}: expected a response to {pdu_type.value} {names}, "
            f"found none after {tries} tries of {self.timeout_s} s"
        )

    def _await(self, request_id: int) -> SnmpMessage | None:
        deadline = time.monotonic() + self.timeout_s
        while (remaining := deadline - time.monotonic()) > 0:
            payload = self.link.receive(remaining)
            if payload is None:
                return None
            try:
                reply = decode_message(payload)
            except BridgeProtocolError:
                self.stats.undecodable += 1
                continue
            if reply.pdu_type is PduType.RESPONSE and reply.request_id == request_id:
                return reply
            self.stats.stale_replies += 1
        return None

    @staticmethod
    def _raise_on_error(msg: SnmpMessage, reply: SnmpMessage) -> None:
        if reply.error_status == ErrorStatus.NO_ERROR:
            if len(reply.varbinds) != len(msg.varbinds):
                raise BridgeProtocolError(
                    f"SNMP response: expected {len(msg.varbinds)} varbinds, found {len(reply.varbinds)}"
                )
            return
        try:
            status = ErrorStatus(reply.error_status).name.lower()
        except ValueError:
            status = str(reply.error_status)
        i = reply.error_index
        if 1 <= i <= len(msg.varbinds):
            vb = msg.varbinds[i - 1]
            what = describe_oid(vb.oid) + (f" = {vb.value!r}" if msg.pdu_type is PduType.SET else "")
        else:
            what = f"varbind {i} of {len(msg.varbinds)}"
        raise BridgeRejected(
            f"controller rejected {msg.pdu_type.value} {what}: {status}",
            error_status=reply.error_status,
            error_index=i,
        )
