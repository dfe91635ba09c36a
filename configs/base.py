"""Shared pydantic base for every config model: frozen, unknown keys rejected, whitespace stripped."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["StrictModel"]


class StrictModel(BaseModel):
    """Frozen model that forbids unknown keys, so a typo in YAML is an error, not a silent default."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)
