"""NTCIP 2101 PMPP framing: pure functions over bytes, and a streaming deframer.

    7E | ADDR (1-2) | CTRL 0x13 | IPI 0xC1 | SNMP message | FCS lo | FCS hi | 7E

Everything between the flags is byte-stuffed (7E -> 7D 5E, 7D -> 7D 5D); the FCS is CRC-16/X.25 over ADDR up to
the end of the message, sent least significant byte first. No I/O here: transports move bytes, this module only
builds and recognises frames. It does not interpret the SNMP message (see `firmware_bridge.snmp`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from firmware_bridge.errors import BridgeProtocolError

__all__ = [
    "CTRL_UI",
    "CTRL_UP",
    "FLAG",
    "IPI_SNMP",
    "MAX_ADDRESS",
    "Deframer",
    "DeframerStats",
    "PmppFrame",
    "crc16_x25",
    "decode_address",
    "encode_address",
    "encode_frame",
    "parse_frame_body",
    "stuff",
    "unstuff",
]

FLAG = 0x7E
ESC = 0x7D
CTRL_UI = 0x13  # unnumbered information, poll/final set: requests and responses
CTRL_UP = 0x33  # unnumbered poll
IPI_SNMP = 0xC1  # SNMP over the null transport
MAX_ADDRESS = 0x1FFF
_GOOD_RESIDUE = 0xF0B8  # CRC-16/X.25 register after running over a good body + FCS (before the final xor)
_FLAG_B = b"\x7e"
_ESC_B = b"\x7d"


def _make_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_TABLE = _make_table()


def _crc_register(data: bytes, crc: int = 0xFFFF) -> int:
    table = _TABLE
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


def crc16_x25(data: bytes) -> int:
    """CRC-16/X.25 (reflected poly 0x1021, init 0xFFFF, final xor 0xFFFF); "123456789" gives 0x906E."""
    return _crc_register(data) ^ 0xFFFF


def encode_address(address: int, *, group: bool = False) -> bytes:
    """HDLC address field: one byte below 64, two bytes up to 0x1FFF; bit 0 marks the last byte, bit 1 a group.

    Raises:
        BridgeProtocolError: address outside 0..0x1FFF.
    """
    if not 0 <= address <= MAX_ADDRESS:
        raise BridgeProtocolError(f"PMPP address: expected 0..{MAX_ADDRESS}, found {address}")
    g = 0x02 if group else 0x00
    if address < 64:
        return bytes([((address << 2) & 0xFF) | g | 0x01])
    return bytes([((address << 2) & 0xFF) | g, ((address >> 5) & 0xFF) | 0x01])


def decode_address(body: bytes) -> tuple[int, bool, int]:
    """Read the address field at the start of an unstuffed body.

    Returns:
        (address, group flag, number of address bytes).
    Raises:
        BridgeProtocolError: no last-address bit within two bytes.
    """
    if not body:
        raise BridgeProtocolError("PMPP address: expected 1-2 bytes, found none")
    first = body[0]
    if first & 0x01:
        return first >> 2, bool(first & 0x02), 1
    if len(body) < 2 or not body[1] & 0x01:
        raise BridgeProtocolError(
            f"PMPP address: expected the last-byte bit within 2 bytes, found {body[:2].hex()}"
        )
    return (first >> 2) | ((body[1] >> 1) << 6), bool(first & 0x02), 2


def stuff(data: bytes) -> bytes:
    """Escape flag and escape bytes: 7D -> 7D 5D, 7E -> 7D 5E (7D first, so new escapes are not re-escaped)."""
    return data.replace(_ESC_B, b"\x7d\x5d").replace(_FLAG_B, b"\x7d\x5e")


def unstuff(data: bytes) -> bytes:
    """Undo `stuff`.

    Raises:
        BridgeProtocolError: an escape not followed by 5D/5E (including a trailing escape or an abort 7D 7E).
    """
    if ESC not in data:
        return data
    parts = data.split(_ESC_B)
    out = bytearray(parts[0])
    for part in parts[1:]:
        if not part or part[0] not in (0x5D, 0x5E):
            raise BridgeProtocolError(
                f"PMPP stuffing: expected 7D 5D or 7D 5E, found 7D {part[:1].hex() or 'end'}"
            )
        out.append(part[0] ^ 0x20)
        out += part[1:]
    return bytes(out)


@dataclass(frozen=True, slots=True)
class PmppFrame:
    """One PMPP frame, unstuffed and FCS-checked."""

    address: int
    payload: bytes
    control: int = CTRL_UI
    ipi: int = IPI_SNMP
    group: bool = False


def encode_frame(frame: PmppFrame) -> bytes:
    """The bytes on the wire for `frame`, flags included."""
    body = (
        encode_address(frame.address, group=frame.group)
        + bytes([frame.control & 0xFF, frame.ipi & 0xFF])
        + frame.payload
    )
    fcs = crc16_x25(body)
    return _FLAG_B + stuff(body + bytes([fcs & 0xFF, fcs >> 8])) + _FLAG_B


def parse_frame_body(body: bytes) -> PmppFrame:
    """Parse the unstuffed bytes between two flags.

    Raises:
        BridgeProtocolError: too short, bad FCS or bad address field.
    """
    if len(body) < 5:
        raise BridgeProtocolError(f"PMPP frame: expected at least 5 bytes between flags, found {len(body)}")
    if _crc_register(body) != _GOOD_RESIDUE:
        got = body[-2] | (body[-1] << 8)
        raise BridgeProtocolError(
            f"PMPP frame: FCS mismatch, expected {crc16_x25(body[:-2]):#06x}, found {got:#06x}"
        )
    address, group, n = decode_address(body)
    if len(body) < n + 4:
        raise BridgeProtocolError(
            f"PMPP frame: expected control and IPI after the address, found {body.hex()}"
        )
    return PmppFrame(
        address=address, payload=bytes(body[n + 2 : -2]), control=body[n], ipi=body[n + 1], group=group
    )


@dataclass
class DeframerStats:
    frames: int = 0  # good frames delivered
    bad_fcs: int = 0
    bad_format: int = 0  # bad stuffing, too short, bad address
    oversize: int = 0  # more than max_body bytes without a flag
    discarded_bytes: int = 0  # bytes before the first flag and inside rejected frames

    @property
    def rejected(self) -> int:
        return self.bad_fcs + self.bad_format + self.oversize


@dataclass
class Deframer:
    """Streaming deframer: feed it any chunks, it returns the good frames completed so far.

    Every flag both closes the current frame and opens the next, so a bad, truncated or garbage frame costs only
    itself: the good frame after it is still delivered. Memory is bounded by `max_body` (a longer run without a
    flag is dropped and hunting restarts at the next flag).
    """

    max_body: int = 2048
    stats: DeframerStats = field(default_factory=DeframerStats)
    _buf: bytearray = field(default_factory=bytearray)
    _synced: bool = False
    _overflowed: bool = False

    def feed(self, data: bytes) -> list[PmppFrame]:
        frames: list[PmppFrame] = []
        start = 0
        n = len(data)
        while start < n:
            flag = data.find(FLAG, start)
            chunk_end = n if flag < 0 else flag
            if self._synced:
                self._append(data[start:chunk_end])
            else:
                self.stats.discarded_bytes += chunk_end - start
            if flag < 0:
                break
            if self._synced:
                frame = self._close()
                if frame is not None:
                    frames.append(frame)
            self._synced = True
            self._buf.clear()
            self._overflowed = False
            start = flag + 1
        return frames

    def _append(self, chunk: bytes) -> None:
        if self._overflowed:
            self.stats.discarded_bytes += len(chunk)
            return
        self._buf += chunk
        if len(self._buf) > 2 * self.max_body + 4:  # stuffed length can double
            self.stats.oversize += 1
            self.stats.discarded_bytes += len(self._buf)
            self._buf.clear()
            self._overflowed = True

    def _close(self) -> PmppFrame | None:
        if self._overflowed or not self._buf:
            return None  # back-to-back flags are inter-frame fill
        raw = bytes(self._buf)
        try:
            body = unstuff(raw)
            if len(body) > self.max_body + 4:
                self.stats.oversize += 1
                self.stats.discarded_bytes += len(raw)
                return None
            if len(body) >= 5 and _crc_register(body) != _GOOD_RESIDUE:
                self.stats.bad_fcs += 1
                self.stats.discarded_bytes += len(raw)
                return None
            frame = parse_frame_body(body)
        except BridgeProtocolError:
            self.stats.bad_format += 1
            self.stats.discarded_bytes += len(raw)
            return None
        self.stats.frames += 1
        return frame
