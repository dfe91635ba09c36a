"""Phase-control policies. Each module registers its controller with `controller.registry.register` when imported.

- `webster`: Webster plans recomputed every few cycles from measured flows.
- `max-pressure`: Varaiya's max-pressure with min green and the max-red bound.
- `adaptive`: schedule-driven rolling-horizon control (the main policy).
"""

from controller.policies import adaptive, max_pressure, webster

__all__ = ["adaptive", "max_pressure", "webster"]
