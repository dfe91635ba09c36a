"""Links chosen by URL: parsing, pyserial's loop:// and socket:// handlers, errors translated at the boundary."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from firmware_bridge.client import SnmpClient
from firmware_bridge.emulator.controller import VirtualController
from firmware_bridge.errors import BridgeLinkError, BridgeTimeout, BridgeUrlError
from firmware_bridge.ntcip import oid_of
from firmware_bridge.pmpp import Deframer, PmppFrame, encode_frame
from firmware_bridge.transport import PmppLink, UdpLink, open_link, split_serial_url, split_udp_url

COMMUNITY = b"s3cret"


@pytest.mark.parametrize(
    ("url", "target", "baud"),
    [
        ("/dev/ttyUSB0?baud=38400", "/dev/ttyUSB0", 38400),
        ("/dev/ttyS1", "/dev/ttyS1", 9600),
        ("serial:///dev/ttyS1?baud=19200", "/dev/ttyS1", 19200),
        ("socket://10.0.0.9:4001?baud=9600&logging=debug", "socket://10.0.0.9:4001?logging=debug", 9600),
        ("rfc2217://term:2217?baud=115200", "rfc2217://term:2217", 115200),
    ],
)
def test_split_serial_url(url: str, target: str, baud: int) -> None:
    assert split_serial_url(url) == (target, baud)


@pytest.mark.parametrize(
    ("call", "url", "match"),
    [
        (split_serial_url, "/dev/ttyS0?baud=fast", "baud: expected a positive integer, found 'fast'"),
        (split_udp_url, "udp://controller", "expected udp://HOST:PORT"),
        (split_udp_url, "udp://10.0.0.5:99999", "expected udp://HOST:PORT"),
        (open_link, "ftp://x", "expected a device path"),
    ],
)
def test_bad_urls(call: object, url: str, match: str) -> None:
    with pytest.raises(BridgeUrlError, match=match):
        call(url)  # type: ignore[operator]


def test_missing_device_is_a_link_error() -> None:
    with pytest.raises(
        BridgeLinkError,
        match=r"/dev/does-not-exist\?baud=9600: expected an openable serial port, found: .*No such file",
    ):
        open_link("/dev/does-not-exist?baud=9600")


def test_loop_url_carries_frames_through_pyserial() -> None:
    link = open_link("loop://?baud=9600", address=5)
    assert isinstance(link, PmppLink)
    link.send(b"\x30\x00")
    assert link.receive(0.5) == b"\x30\x00"  # loop:// echoes: our own frame comes back, framed and checked
    assert link.bytes_out == link.bytes_in == len(encode_frame(PmppFrame(5, b"\x30\x00")))
    link.close()


def test_frames_for_other_stations_are_ignored() -> None:
    link = open_link("loop://", address=5)
    link.port.write(encode_frame(PmppFrame(6, b"other")) + encode_frame(PmppFrame(5, b"mine")))  # type: ignore[attr-defined]
    assert link.receive(0.5) == b"mine"
    assert link.ignored_frames == 1  # type: ignore[attr-defined]


@pytest.fixture
def terminal_server() -> Iterator[tuple[int, VirtualController]]:
    """A TCP terminal server with the virtual controller behind it (what socket:// reaches in the field)."""
    vc = VirtualController(community=COMMUNITY)
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        conn, _ = server.accept()
        conn.settimeout(0.05)
        deframer = Deframer()
        now = 0.0
        while not stop.is_set():
            try:
                data = conn.recv(4096)
            except TimeoutError:
                continue
            if not data:
                break
            for frame in deframer.feed(data):
                now += 0.1
                reply = vc.handle(frame.payload, now)
                if reply is not None:
                    conn.sendall(encode_frame(PmppFrame(frame.address, reply)))
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield port, vc
    stop.set()
    thread.join(2)
    server.close()


def test_socket_url_reaches_a_controller_behind_a_terminal_server(
    terminal_server: tuple[int, VirtualController],
) -> None:
    port, vc = terminal_server
    link = open_link(f"socket://127.0.0.1:{port}?baud=9600", address=1)
    client = SnmpClient(link, COMMUNITY, timeout_s=1.0)
    client.set([(oid_of("phaseControlGroupHold", 1), 0x02)])
    assert client.get([oid_of("phaseControlGroupHold", 1)]) == [0x02]
    assert vc.status.held == {2}
    link.close()


def test_udp_to_nobody_times_out() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound but never answers
        client = SnmpClient(UdpLink("127.0.0.1", port), COMMUNITY, timeout_s=0.05, retries=1, backoff_s=0.0)
        with pytest.raises(BridgeTimeout, match=f"udp://127.0.0.1:{port}: expected a response"):
            client.get([oid_of("unitBackupTime")])


def _pty_port_class() -> type:
    import serial

    class PtyPort(serial.Serial):
        """A pty has no modem lines: report them idle and ignore RTS/DTR changes."""

        cts = dsr = ri = cd = property(lambda self: False)

        def _update_rts_state(self) -> None:
            pass

        def _update_dtr_state(self) -> None:
            pass

    return PtyPort


class _SocketWriter:
    """What pyserial's PortManager writes its telnet negotiation to (see pyserial's rfc2217_server example)."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn

    def write(self, data: bytes) -> None:
        self.conn.sendall(data)


def test_rfc2217_url_reaches_a_controller_behind_an_rfc2217_port_server() -> None:
    """pyserial's own RFC 2217 PortManager serves one end of a pty cable; the emulator sits on the other."""
    import time

    import serial.rfc2217

    from firmware_bridge.emulator.server import serve_serial
    from firmware_bridge.ptywire import PtyWire

    _PtyPort = _pty_port_class()
    with PtyWire() as wire:
        vc = VirtualController(community=COMMUNITY, now_s=time.monotonic())
        stop, ready = threading.Event(), threading.Event()
        emu = threading.Thread(target=serve_serial, args=(vc, wire.a_path), kwargs={"stop": stop, "on_ready": ready.set},
                               daemon=True)  # fmt: skip
        emu.start()
        assert ready.wait(5)
        server = socket.create_server(("127.0.0.1", 0))
        port = server.getsockname()[1]

        def serve() -> None:
            conn, _ = server.accept()
            conn.settimeout(0.02)
            tty = _PtyPort(wire.b_path, timeout=0.02)
            manager = serial.rfc2217.PortManager(tty, _SocketWriter(conn))
            while not stop.is_set():
                try:
                    data = conn.recv(4096)
                    if not data:
                        break
                    tty.write(b"".join(manager.filter(data)))
                except TimeoutError:
                    pass
                out = tty.read(tty.in_waiting or 1)
                if out:
                    conn.sendall(b"".join(manager.escape(out)))
            tty.close()
            conn.close()

        relay = threading.Thread(target=serve, daemon=True)
        relay.start()
        try:
            link = open_link(f"rfc2217://127.0.0.1:{port}?baud=9600", address=1)
            client = SnmpClient(link, COMMUNITY, timeout_s=1.0)
            client.set([(oid_of("phaseControlGroupForceOff", 1), 0x20)])
            assert vc.db.get("phaseControlGroupForceOff", 1) == 0x20
            link.close()
        finally:
            stop.set()
            relay.join(2)
            emu.join(2)
            server.close()


def test_adapter_unplugged_between_write_and_drain_is_a_link_error() -> None:
    """pyserial's flush() (tcdrain) raises termios.error, not an OSError, on a tty that hangs up."""
    import os

    import serial

    master, slave = os.openpty()
    port = serial.serial_for_url(os.ttyname(slave), baudrate=9600, timeout=0.02)

    class _UnpluggedAfterWrite:
        def __init__(self) -> None:
            self.port = port

        def write(self, data: bytes) -> int:
            n = port.write(data)
            os.close(master)  # the adapter goes away while the bytes drain
            return n

        def __getattr__(self, name: str) -> object:
            return getattr(port, name)

    link = PmppLink(_UnpluggedAfterWrite(), 1, description="/dev/ttyUSB0")
    try:
        with pytest.raises(BridgeLinkError, match="/dev/ttyUSB0: write failed"):
            link.send(b"\x30\x00")
    finally:
        port.close()
        os.close(slave)
