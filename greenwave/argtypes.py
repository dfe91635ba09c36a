"""argparse types for numbers an operator types: each refuses a bad value as one line naming what it expected.

argparse's own `type=int`/`type=float` accept negative, zero and non-finite values that make no sense for a
duration, a count or a worker pool (`--seconds -1` used to print "holding for -1.0 s" and exit 0).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

__all__ = ["bounded_int", "seconds"]


def seconds(*, positive: bool = False) -> Callable[[str], float]:
    """A finite number of seconds, >= 0 (or > 0 with `positive`)."""
    bound = "> 0" if positive else ">= 0"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < 0 or (positive and value == 0):
            raise argparse.ArgumentTypeError(f"expected seconds {bound}, found {text!r}")
        return value

    return parse


def bounded_int(low: int, high: int | None = None) -> Callable[[str], int]:
    """A whole number in [low, high] (no upper bound when `high` is None)."""
    span = f">= {low}" if high is None else f"from {low} to {high}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number {span}, found {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected a whole number {span}, found {text!r}")
        return value

    return parse
