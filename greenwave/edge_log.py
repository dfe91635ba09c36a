"""Structured logs of the edge runtime: one JSON object per line (`ts`, `event`, then the event's fields).

`log_event` formats the line; where it goes is the handler's business (`configure_json_logging` sets stderr up for
`greenwave edge run`). Nothing is configured at import.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, TextIO

__all__ = ["configure_json_logging", "log_event"]


def log_event(logger: logging.Logger, event: str, *, level: int = logging.INFO, **fields: Any) -> None:
    """Log `{"ts": ..., "level": ..., "event": event, **fields}` as one JSON line."""
    if not logger.isEnabledFor(level):
        return
    record = {
        "ts": round(time.time(), 3),
        "level": logging.getLevelName(level).lower(),
        "event": event,
        **fields,
    }
    logger.log(level, json.dumps(record, default=str, separators=(",", ":")))


def configure_json_logging(stream: TextIO | None = None, level: int = logging.INFO) -> logging.Handler:
    """Send the runtime's JSON lines to `stream` (stderr by default), unchanged."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("greenwave.edge")
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return handler
