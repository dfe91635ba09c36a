"""Stop signals for the long-running commands (edge run, bridge hold/emulate, detect)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["interrupt", "on_stop_signals"]


@contextmanager
def on_stop_signals(action: Callable[[], None]) -> Iterator[None]:
    """While the block runs, SIGTERM, SIGINT and SIGHUP call `action`; the previous handlers come back after.

    `action` either sets an event the work polls (no exception lands in the middle of an SNMP exchange) or raises
    (`interrupt`), so `finally` blocks run as for Ctrl-C. Off the main thread, where Python takes no signals, it
    does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(_signum: int, _frame: FrameType | None) -> None:
        action()

    sigs = [signal.SIGTERM, signal.SIGINT] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    old = {s: signal.signal(s, handler) for s in sigs}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def interrupt() -> None:
    """An `action` that ends the work as Ctrl-C does."""
    raise KeyboardInterrupt
