"""The project's exception base and the configuration error.

Every package derives its own base from `GreenwaveError` (`ControllerError`, `VisionError`, `SimError`,
`BridgeError`) so callers can catch the project's errors apart from bugs; the CLI turns them into a one-line
message and exit code 2.
"""

from __future__ import annotations

__all__ = ["ConfigError", "GreenwaveError"]


class GreenwaveError(Exception):
    """Base of every error Greenwave raises on purpose."""


class ConfigError(GreenwaveError):
    """A configuration file or value is missing or invalid; the message names file, field, expected and found."""
