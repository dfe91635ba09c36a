"""Links that move SNMP messages to a controller, chosen by URL; they only move bytes.

    /dev/ttyUSB0?baud=9600, serial:///dev/ttyS1?baud=38400   PMPP over a serial port (pyserial)
    loop://, socket://host:port, rfc2217://host:port          PMPP over pyserial's URL handlers (tests, terminal servers)
    udp://host:port                                           SNMP over UDP (Ethernet controllers)

A link sends one SNMP payload and returns the next SNMP payload from the controller; framing is
`firmware_bridge.pmpp`, request/response matching and retries are `firmware_bridge.client`. pyserial and socket
errors are translated to `BridgeLinkError` here, at the boundary.
"""

from __future__ import annotations

import contextlib
import socket
import time
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode

import serial

from firmware_bridge.errors import BridgeLinkError, BridgeUrlError
from firmware_bridge.pmpp import CTRL_UI, IPI_SNMP, Deframer, PmppFrame, encode_frame

try:
    from termios import error as _TermiosError
except ImportError:  # not POSIX
    _TermiosError = OSError  # type: ignore[assignment,misc]

# pyserial raises termios.error (not an OSError) from flush()/tcdrain on a hung-up or unplugged tty
_SERIAL_ERRORS: tuple[type[BaseException], ...] = (serial.SerialException, OSError, _TermiosError)

__all__ = [
    "Link",
    "PmppLink",
    "UdpLink",
    "check_url",
    "open_link",
    "open_serial_port",
    "split_serial_url",
    "split_udp_url",
]

_SERIAL_SCHEMES = ("loop", "socket", "rfc2217", "spy")
_READ_SLICE_S = 0.02  # read(1) blocks at most this long, so deadlines are kept without reconfiguring the port


class Link(Protocol):
    description: str
    bytes_out: int
    bytes_in: int

    def send(self, payload: bytes) -> None: ...

    def receive(self, timeout_s: float) -> bytes | None:
        """The next SNMP payload from the controller, or None when none arrives within `timeout_s`."""
        ...

    def close(self) -> None: ...


def split_serial_url(url: str) -> tuple[str, int]:
    """'/dev/ttyUSB0?baud=9600' -> ('/dev/ttyUSB0', 9600); other query keys stay for pyserial's handlers.

    Raises:
        BridgeUrlError: a baud that is not a positive integer.
    """
    if url.startswith("serial://"):
        url = url[len("serial://") :]
    base, _, query = url.partition("?")
    params = parse_qsl(query, keep_blank_values=True)
    baud = 9600
    rest = []
    for key, value in params:
        if key == "baud":
            if not value.isdigit() or int(value) <= 0:
                raise BridgeUrlError(f"{url}: baud: expected a positive integer, found {value!r}")
            baud = int(value)
        else:
            rest.append((key, value))
    return (f"{base}?{urlencode(rest)}" if rest else base), baud


def split_udp_url(url: str) -> tuple[str, int]:
    """'udp://10.0.0.5:161' -> ('10.0.0.5', 161).

    Raises:
        BridgeUrlError: missing host or port.
    """
    hostport = url[len("udp://") :] if url.startswith("udp://") else url
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise BridgeUrlError(f"{url}: expected udp://HOST:PORT, found host {host!r} port {port!r}")
    return host.strip("[]"), int(port)


def open_serial_port(url: str) -> Any:
    """A pyserial port for a device path or pyserial URL (with `?baud=`), raw 8N1.

    Raises:
        BridgeLinkError: the port cannot be opened.
    """
    target, baud = split_serial_url(url)
    try:
        # rfc2217:// refuses a write timeout (NotImplementedError); the others get one so a stuck line raises
        extra = {} if target.startswith("rfc2217://") else {"write_timeout": 5.0}
        return serial.serial_for_url(target, baudrate=baud, timeout=_READ_SLICE_S, **extra)
    except (serial.SerialException, OSError, ValueError, NotImplementedError) as exc:
        raise BridgeLinkError(f"{url}: expected an openable serial port, found: {exc}") from exc


class PmppLink:
    """SNMP payloads in PMPP frames over a pyserial port, to and from one station address."""

    def __init__(self, port: Any, address: int, *, description: str = "serial") -> None:
        self.port = port
        self.address = address
        self.description = description
        self.deframer = Deframer()
        self._queue: list[PmppFrame] = []
        self.bytes_out = 0
        self.bytes_in = 0
        self.ignored_frames = 0  # good frames for other stations or protocols

    def send(self, payload: bytes) -> None:
        data = encode_frame(PmppFrame(self.address, payload, CTRL_UI, IPI_SNMP))
        try:
            self.port.write(data)
            self.port.flush()
        except _SERIAL_ERRORS as exc:
            raise BridgeLinkError(f"{self.description}: write failed: {exc}") from exc
        self.bytes_out += len(data)

    def receive(self, timeout_s: float) -> bytes | None:
        deadline = time.monotonic() + timeout_s
        while True:
            while self._queue:
                frame = self._queue.pop(0)
                if frame.address == self.address and frame.ipi == IPI_SNMP:
                    return frame.payload
                self.ignored_frames += 1
            if time.monotonic() >= deadline:
                return None
            try:
                data = self.port.read(1)
                if data:
                    waiting = self.port.in_waiting
                    if waiting:
                        data += self.port.read(waiting)
            except _SERIAL_ERRORS as exc:
                raise BridgeLinkError(f"{self.description}: read failed: {exc}") from exc
            self.bytes_in += len(data)
            self._queue.extend(self.deframer.feed(data))

    def close(self) -> None:
        with contextlib.suppress(
            serial.SerialException, OSError
        ):  # a port that already failed has nothing to add
            self.port.close()


class UdpLink:
    """SNMP over UDP to one agent."""

    def __init__(self, host: str, port: int) -> None:
        self.description = f"udp://{host}:{port}"
        self.bytes_out = 0
        self.bytes_in = 0
        try:
            self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.connect((host, port))
        except OSError as exc:
            raise BridgeLinkError(f"{self.description}: cannot open socket: {exc}") from exc

    def send(self, payload: bytes) -> None:
        try:
            self.sock.send(payload)
        except OSError as exc:
            raise BridgeLinkError(f"{self.description}: send failed: {exc}") from exc
        self.bytes_out += len(payload)

    def receive(self, timeout_s: float) -> bytes | None:
        deadline = time.monotonic() + timeout_s
        while (remaining := deadline - time.monotonic()) > 0:
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(65535)
            except TimeoutError:
                return None
            except ConnectionRefusedError:
                time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))  # no agent yet: an ICMP error
                continue
            except OSError as exc:
                raise BridgeLinkError(f"{self.description}: receive failed: {exc}") from exc
            self.bytes_in += len(data)
            return data
        return None

    def close(self) -> None:
        self.sock.close()


def open_link(url: str, *, address: int = 1) -> Link:
    """Open the link a URL names.

    Raises:
        BridgeUrlError: unknown scheme or malformed URL.
        BridgeLinkError: the port or socket cannot be opened.
    """
    check_url(url)
    if url.startswith("udp://"):
        return UdpLink(*split_udp_url(url))
    return PmppLink(open_serial_port(url), address, description=url)


def check_url(url: str) -> None:
    """Everything `open_link` checks in a URL before it opens anything (for `greenwave config check`).

    Raises:
        BridgeUrlError: unknown scheme or malformed URL.
    """
    if url.startswith("udp://"):
        split_udp_url(url)
        return
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme and scheme not in (*_SERIAL_SCHEMES, "serial"):
        raise BridgeUrlError(
            f"{url}: expected a device path, serial://, loop://, socket://, rfc2217:// or udp://"
        )
    split_serial_url(url)
