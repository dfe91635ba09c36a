"""Errors of the pure signal-timing logic."""

from __future__ import annotations

from configs.errors import GreenwaveError

__all__ = ["ControllerError", "SignalModelError", "UnknownControllerError"]


class ControllerError(GreenwaveError):
    """Base of controller/ errors."""


class SignalModelError(ControllerError):
    """A signal program cannot be turned into a safe phase model (no green phase, mismatched links...)."""


class UnknownControllerError(ControllerError):
    """A controller name that is not registered."""
