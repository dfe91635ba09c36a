"""Tunable parameters of the signal-control policies.

Defaults are meant to work on networks the controller has never seen: nothing here is tuned per scenario.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from configs.base import StrictModel

__all__ = ["ControllerParams"]


class ControllerParams(StrictModel):
    detection_range_m: float = Field(default=150.0, gt=10, le=500, description="How far upstream a camera sees.")
    min_green_s: float = Field(default=5.0, ge=1, description="Used where the signal program gives none.")
    max_green_s: float = Field(default=60.0, gt=0, description="Used where the signal program gives none.")
    max_red_s: float = Field(default=120.0, gt=0, description="Bound on any movement's red wait while it has demand.")
    yellow_s: float = Field(default=3.0, ge=3.0, description="Used where the program has no yellow of its own.")
    horizon_s: float = Field(default=60.0, gt=0, le=300, description="Adaptive planning horizon.")
    saturation_flow_veh_h: float = Field(default=1800.0, gt=0, description="Per lane.")
    webster_update_cycles: int = Field(default=3, ge=1)
    min_cycle_s: float = Field(default=40.0, gt=0)
    max_cycle_s: float = Field(default=150.0, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> ControllerParams:
        if self.max_green_s < self.min_green_s:
            raise ValueError(f"max_green_s ({self.max_green_s}) must be >= min_green_s ({self.min_green_s})")
        if self.max_cycle_s < self.min_cycle_s:
            raise ValueError(f"max_cycle_s ({self.max_cycle_s}) must be >= min_cycle_s ({self.min_cycle_s})")
        if self.max_red_s <= self.max_green_s:
            raise ValueError(f"max_red_s ({self.max_red_s}) must exceed max_green_s ({self.max_green_s})")
        return self
