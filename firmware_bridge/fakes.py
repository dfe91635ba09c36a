"""In-memory `Link` to an in-process virtual controller, with an injected clock: for tests and simulators.

No ports, no threads: `send` hands the payload to `VirtualController.handle` at the clock's time and queues the
reply; `drop` decides per message whether the controller "hears" it (a silent or lossy line).
"""

from __future__ import annotations

from collections.abc import Callable

from firmware_bridge.emulator.controller import VirtualController

__all__ = ["EmulatorLink", "ManualClock"]


class ManualClock:
    """A clock tests move by hand; also usable as a `sleep` that advances it."""

    def __init__(self, now_s: float = 0.0) -> None:
        self.now_s = now_s

    def __call__(self) -> float:
        return self.now_s

    def advance(self, dt_s: float) -> None:
        self.now_s += dt_s


class EmulatorLink:
    def __init__(
        self,
        controller: VirtualController,
        clock: Callable[[], float],
        *,
        drop: Callable[[bytes], bool] | None = None,
    ) -> None:
        self.controller = controller
        self.clock = clock
        self.drop = drop
        self.description = "emulator://in-process"
        self.bytes_out = 0
        self.bytes_in = 0
        self.sent: list[bytes] = []
        self._replies: list[bytes] = []

    def send(self, payload: bytes) -> None:
        self.bytes_out += len(payload)
        self.sent.append(payload)
        if self.drop is not None and self.drop(payload):
            return
        reply = self.controller.handle(payload, self.clock())
        if reply is not None:
            self._replies.append(reply)

    def inject(self, payload: bytes) -> None:
        """Queue bytes as if the controller had sent them (stale or garbage replies)."""
        self._replies.append(payload)

    def receive(self, timeout_s: float) -> bytes | None:
        if self._replies:
            reply = self._replies.pop(0)
            self.bytes_in += len(reply)
            return reply
        return None

    def close(self) -> None:
        self._replies.clear()
