"""Errors of the vision pipeline (detector, frame sources, counting); one base, VisionError."""

from __future__ import annotations

from configs.errors import GreenwaveError

__all__ = ["FrameSourceError", "ModelError", "VisionError"]


class VisionError(GreenwaveError):
    """Base of vision/ errors."""


class ModelError(VisionError):
    """A detector model that cannot be loaded or whose outputs have an unexpected layout."""


class FrameSourceError(VisionError):
    """A video file, stream or camera that cannot be opened or read."""
