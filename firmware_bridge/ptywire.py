"""A null-modem cable made of two pty pairs, for tests and benchmarks without hardware (POSIX only).

Each end is a real tty (`a_path`, `b_path`) that a process opens like a serial port. A relay thread per direction
copies bytes between the two pty masters; it can pace them at a baud rate (a pty itself delivers instantly, so
without pacing there is no wire time to measure) and pass them through a fault filter (noise, drops, duplicates,
or silence). Not used by the bridge at run time.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
import tty
from collections.abc import Callable
from types import TracebackType

__all__ = ["PtyWire", "wire_time_s"]

Filter = Callable[[bytes], bytes]


def wire_time_s(n_bytes: int, baud: int, bits_per_byte: int = 10) -> float:
    """Time to clock `n_bytes` out of a UART at `baud` (8N1: start + 8 data + stop = 10 bits)."""
    return n_bytes * bits_per_byte / baud


class PtyWire:
    def __init__(
        self, *, baud: int | None = None, a_to_b: Filter | None = None, b_to_a: Filter | None = None
    ) -> None:
        self.baud = baud
        self._filters = (a_to_b, b_to_a)
        self._stop = threading.Event()
        self._fds: list[int] = []
        pairs = [os.openpty(), os.openpty()]
        for master, slave in pairs:
            tty.setraw(slave)  # no echo or line editing before the far end's pyserial configures it
            self._fds += [master, slave]
        self._masters = (pairs[0][0], pairs[1][0])
        self.a_path = os.ttyname(pairs[0][1])
        self.b_path = os.ttyname(pairs[1][1])
        self._threads = [
            threading.Thread(target=self._relay, args=(self._masters[0], self._masters[1], 0), daemon=True),
            threading.Thread(target=self._relay, args=(self._masters[1], self._masters[0], 1), daemon=True),
        ]
        self.bytes_relayed = [0, 0]

    def set_filter(self, direction: int, fn: Filter | None) -> None:
        """Replace the fault filter of direction 0 (a -> b) or 1 (b -> a) while running."""
        filters = list(self._filters)
        filters[direction] = fn
        self._filters = (filters[0], filters[1])

    def __enter__(self) -> PtyWire:
        for t in self._threads:
            t.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        for t in self._threads:
            if t.is_alive():
                t.join(timeout=1.0)
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds = []

    def _relay(self, src: int, dst: int, direction: int) -> None:
        wire_free = 0.0
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([src], [], [], 0.05)
                if not ready:
                    continue
                data = os.read(src, 4096)
            except OSError:
                continue  # the far side is not open (yet); a pty master reports EIO until it is
            fn = self._filters[direction]
            if fn is not None:
                data = fn(data)
            if not data:
                continue
            if self.baud:
                now = time.monotonic()
                wire_free = max(wire_free, now) + wire_time_s(len(data), self.baud)
                delay = wire_free - now
                if delay > 0:
                    time.sleep(delay)
            self.bytes_relayed[direction] += len(data)
            with contextlib.suppress(OSError):
                os.write(dst, data)
