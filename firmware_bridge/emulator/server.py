"""The virtual controller's I/O loop: PMPP over a serial port (or pyserial URL) or SNMP over UDP.

It only moves bytes and reads the clock: each pass steps the controller's timer and answers whatever requests
arrived. Framing is `pmpp`, SNMP and timing are `controller`. Runs until `stop` is set.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import serial

from firmware_bridge.emulator.controller import VirtualController
from firmware_bridge.errors import BridgeLinkError
from firmware_bridge.pmpp import CTRL_UI, IPI_SNMP, Deframer, PmppFrame, encode_frame
from firmware_bridge.transport import open_serial_port, split_udp_url

__all__ = ["serve_serial", "serve_udp"]

_TICK_S = 0.02


def serve_serial(
    controller: VirtualController,
    url: str,
    *,
    address: int = 1,
    stop: threading.Event,
    clock: Callable[[], float] = time.monotonic,
    on_ready: Callable[[], None] | None = None,
    deframer: Deframer | None = None,
) -> Deframer:
    """Answer PMPP frames addressed to `address` until `stop` is set. Returns the deframer (its stats; pass one to watch them live).

    Raises:
        BridgeLinkError: the port cannot be opened or fails.
    """
    port = open_serial_port(url)
    deframer = deframer if deframer is not None else Deframer()
    if on_ready:
        on_ready()
    try:
        while not stop.is_set():
            data = port.read(1)
            if data and port.in_waiting:
                data += port.read(port.in_waiting)
            now = clock()
            controller.step(now)
            for frame in deframer.feed(data):
                if frame.address != address or frame.ipi != IPI_SNMP or frame.group:
                    continue
                reply = controller.handle(frame.payload, now)
                if reply is not None:
                    port.write(encode_frame(PmppFrame(address, reply, CTRL_UI, IPI_SNMP)))
                    port.flush()
    except (serial.SerialException, OSError) as exc:
        raise BridgeLinkError(f"{url}: emulator I/O failed: {exc}") from exc
    finally:
        port.close()
    return deframer


def serve_udp(controller: VirtualController, url: str, *, stop: threading.Event,
              clock: Callable[[], float] = time.monotonic, on_ready: Callable[[], None] | None = None) -> None:  # fmt: skip
    """Answer SNMP datagrams on udp://HOST:PORT until `stop` is set.

    Raises:
        BridgeLinkError: the socket cannot be bound.
    """
    host, port = split_udp_url(url)
    try:
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((host, port))
    except OSError as exc:
        raise BridgeLinkError(f"{url}: cannot bind: {exc}") from exc
    sock.settimeout(_TICK_S)
    if on_ready:
        on_ready()
    try:
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(65535)
            except TimeoutError:
                controller.step(clock())
                continue
            now = clock()
            reply = controller.handle(data, now)
            if reply is not None:
                sock.sendto(reply, peer)
    finally:
        sock.close()
