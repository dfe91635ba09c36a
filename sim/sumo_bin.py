"""Locate SUMO's binaries and data through the `sumo` wheel package (eclipse-sumo): no SUMO_HOME, no system SUMO."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from sim.errors import SumoNotFoundError

__all__ = ["sumo_binary", "sumo_home", "sumo_tool"]


@lru_cache(maxsize=1)
def sumo_home() -> Path:
    """The SUMO installation of the eclipse-sumo wheel.

    Raises:
        SumoNotFoundError: the wheel is not installed.
    """
    try:
        import sumo  # the eclipse-sumo wheel's package
    except ImportError as exc:
        raise SumoNotFoundError(
            "SUMO not found: expected the 'eclipse-sumo' Python package (pip install eclipse-sumo), found none"
        ) from exc
    home = Path(sumo.SUMO_HOME)
    if not (home / "bin").is_dir():
        raise SumoNotFoundError(f"SUMO not found: expected binaries in {home / 'bin'}, found no such folder")
    return home


def sumo_binary(name: str = "sumo") -> str:
    """Absolute path of a SUMO executable such as 'sumo' or 'netconvert'."""
    exe = sumo_home() / "bin" / (name + (".exe" if os.name == "nt" else ""))
    if not exe.is_file():
        raise SumoNotFoundError(f"SUMO not found: expected the executable {exe}, found none")
    return str(exe)


def sumo_tool(relative: str) -> Path:
    """A script under SUMO's tools/ folder, e.g. 'randomTrips.py'."""
    path = sumo_home() / "tools" / relative
    if not path.is_file():
        raise SumoNotFoundError(f"SUMO tool not found: expected {path}, found none")
    return path
