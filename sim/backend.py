"""The libsumo/TraCI switch: one code path, two transports.

libsumo runs SUMO in-process (much faster, one simulation per process); TraCI talks to a `sumo` subprocess over a
socket. `GREENWAVE_SUMO_BACKEND=traci` forces TraCI (e.g. to watch a run in sumo-gui).
"""

from __future__ import annotations

import os
from types import ModuleType

from sim.errors import SimError

__all__ = ["load_api"]


def load_api(prefer: str | None = None) -> tuple[ModuleType, str]:
    """Return (api module, backend name); libsumo when available unless TraCI is asked for."""
    name = (prefer or os.environ.get("GREENWAVE_SUMO_BACKEND") or "libsumo").lower()
    if name not in ("libsumo", "traci"):
        raise SimError(f"GREENWAVE_SUMO_BACKEND: expected 'libsumo' or 'traci', found {name!r}")
    if name == "libsumo":
        try:
            import libsumo

            return libsumo, "libsumo"
        except ImportError:
            pass
    import traci

    return traci, "traci"
