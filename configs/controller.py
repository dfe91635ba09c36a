"""Tunable parameters of the signal-control policies.

Defaults are meant to work on networks the controller has never seen: nothing here is tuned per scenario.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from configs.base import StrictModel

__all__ = ["ControllerParams"]


class ControllerParams(StrictModel):
    detection_range_m: float = Field(
        default=150.0, gt=10, le=500, description="How far upstream a camera sees."
    )
    min_green_s: float = Field(default=5.0, ge=1, description="Used where the signal program gives none.")
    max_green_s: float = Field(default=60.0, gt=0, description="Used where the signal program gives none.")
    max_red_s: float = Field(
        default=120.0, gt=0, description="Bound on any movement's red wait while it has demand."
    )
    yellow_s: float = Field(
        default=3.0, ge=3.0, description="Used where the program has no yellow of its own."
    )
    horizon_s: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description=(
            "Adaptive look-ahead for predicted arrivals: vehicles seen in the zone always count; vehicles expected"
            " from the measured flow are added only up to this many seconds ahead (the default adds none with a"
            " 150 m zone: flows inferred from counts are inflated by lane changes, and plans did best without)."
        ),
    )
    saturation_flow_veh_h: float = Field(
        default=1800.0,
        gt=0,
        description=(
            "Per lane: the discharge rate plans assume, and (x1.25) the most stop-line crossings a lane's"
            " measurements may count, so a sensor that loses and finds vehicles at the line reads no phantom platoon."
        ),
    )
    webster_update_cycles: int = Field(default=3, ge=1)
    min_cycle_s: float = Field(default=40.0, gt=0)
    max_cycle_s: float = Field(default=150.0, gt=0)
    # -- shared by the measured-demand policies ------------------------------------------------------------------
    startup_lost_s: float = Field(default=2.0, ge=0, le=10, description="Lost time at the start of a green.")
    permissive_rate: float = Field(
        default=0.5, gt=0, le=1, description="Share of saturation flow a permissive ('g') link discharges at."
    )
    free_speed_mps: float = Field(
        default=13.9,
        gt=1,
        le=40,
        description="Speed assumed for vehicles whose speed the sensor cannot tell.",
    )
    flow_window_s: float = Field(
        default=300.0, gt=0, description="Time constant of the arrival-flow smoothing."
    )
    # 0 (it was 2 s): holding a lost moving vehicle neither helped nor hurt measurably in the closed loop, and it is
    # machinery whose predictions rest on the camera's lagging speeds. Corridor 900-2700 s, mean stop time s/vehicle:
    # camera-fed, seeds 1-6: 20.11 with a 2 s hold, 20.29 without (seed by seed -1.61..+1.87); oracle-fed, seeds
    # 1-12: 19.25 and 19.39 (-1.45..+1.25). On the oracle with camera-like errors (half the vehicles 80 m out
    # missed, speeds a 3 s mean, a phantom in 1 lane of 20 each second), seeds 1-12: 20.57 with the hold, 19.99
    # without. The queue on red, the crossings and the lane-change test do not use it.
    measurement_hold_s: float = Field(
        default=0.0,
        ge=0,
        le=10,
        description=(
            "How long a moving vehicle the sensor lost stays counted where it would be (controller/lane_filter.py);"
            " 0: it is gone. A queue on red is held until its lane is served whatever this is."
        ),
    )
    spillback_occupancy: float = Field(
        default=0.8, gt=0, le=1, description="Exit-lane occupancy at which a halting exit counts as blocked."
    )
    # -- max-pressure ----------------------------------------------------------------------------------------------
    pressure_interval_s: float = Field(
        default=10.0,
        ge=1,
        description="Max-pressure slot: it decides every this many seconds of green (never before min green).",
    )
    # -- adaptive (schedule-driven) --------------------------------------------------------------------------------
    gap_s: float = Field(
        default=3.0,
        gt=0,
        le=10,
        description="In planned greens, a lane gaps out when its next vehicle is this late.",
    )
    extension_probe_s: tuple[float, ...] = Field(
        default=(1.0, 2.0, 4.0, 8.0, 16.0),
        min_length=1,
        description="Green extensions compared against switching now.",
    )
    switch_margin_veh_s: float = Field(
        default=10.0, ge=0, description="Delay (veh-s) a switch must save over extending, against dithering."
    )
    wait_weight_s: float = Field(
        default=60.0,
        ge=0,
        description=(
            "Adaptive: a queued vehicle's further delay counts 1 + w / this, w being how long its lane has waited"
            " (red with demand); a vehicle waiting a minute counts double by default (0: plain delay)."
        ),
    )

    coordination_horizon_s: float = Field(
        default=30.0,
        ge=0,
        le=120,
        description=(
            "Adaptive corridor coordination: vehicles that upstream signals have released or plan to release"
            " toward a junction are planned for when they are due within this many seconds (0: off)."
        ),
    )

    @model_validator(mode="after")
    def _ordered(self) -> ControllerParams:
        if self.max_green_s < self.min_green_s:
            raise ValueError(f"max_green_s ({self.max_green_s}) must be >= min_green_s ({self.min_green_s})")
        if self.max_cycle_s < self.min_cycle_s:
            raise ValueError(f"max_cycle_s ({self.max_cycle_s}) must be >= min_cycle_s ({self.min_cycle_s})")
        if self.max_red_s <= self.max_green_s:
            raise ValueError(f"max_red_s ({self.max_red_s}) must exceed max_green_s ({self.max_green_s})")
        return self
