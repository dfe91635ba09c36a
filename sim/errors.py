"""Errors of the SUMO adapters."""

from __future__ import annotations

from configs.errors import GreenwaveError

__all__ = ["ScenarioError", "SimError", "SumoNotFoundError"]


class SimError(GreenwaveError):
    """Base of sim/ errors."""


class SumoNotFoundError(SimError):
    """The SUMO binaries (eclipse-sumo wheel) cannot be found."""


class ScenarioError(SimError):
    """A scenario name or file that cannot be used."""
