"""Controller names -> factories. `fixed` and `actuated` are SUMO-native and handled by the sim harness."""

from __future__ import annotations

from controller.base import ControllerFactory
from controller.errors import UnknownControllerError

__all__ = ["NATIVE_CONTROLLERS", "controller_names", "get_factory", "register"]

NATIVE_CONTROLLERS = ("fixed", "actuated")
_FACTORIES: dict[str, ControllerFactory] = {}


def register(name: str, factory: ControllerFactory) -> None:
    _FACTORIES[name] = factory


def controller_names() -> tuple[str, ...]:
    _load_builtin()
    return NATIVE_CONTROLLERS + tuple(sorted(_FACTORIES))


def get_factory(name: str) -> ControllerFactory:
    """Raises UnknownControllerError naming the known controllers."""
    _load_builtin()
    try:
        return _FACTORIES[name]
    except KeyError:
        raise UnknownControllerError(
            f"unknown controller {name!r}: expected one of {', '.join(controller_names())}"
        ) from None


def _load_builtin() -> None:
    # Imported lazily so that importing the registry has no side effects beyond this module.
    from controller import policies  # noqa: F401
