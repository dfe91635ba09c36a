"""Intersection geometry and signal timing as an engineer writes it: approaches, lanes, movements, phases, rings.

Validation only; the timing logic that uses it lives in `controller/`.
"""

from __future__ import annotations

from enum import Enum

from pydantic import Field, model_validator

from configs.base import StrictModel

__all__ = [
    "ApproachConfig",
    "IntersectionConfig",
    "LaneConfig",
    "MovementConfig",
    "PhaseConfig",
    "Turn",
]

# Below this the conflict monitor of a real cabinet flashes the intersection (ITE: 3.0 s minimum yellow).
MIN_YELLOW_S = 3.0


class Turn(str, Enum):
    LEFT = "left"
    THROUGH = "through"
    RIGHT = "right"
    UTURN = "uturn"


class LaneConfig(StrictModel):
    id: str = Field(min_length=1, description="Lane name, unique in the intersection (e.g. 'N_1').")
    turns: list[Turn] = Field(min_length=1, description="Movements this lane may make.")
    sumo_lane: str | None = Field(default=None, description="SUMO lane id when the intersection is simulated.")
    length_m: float = Field(default=120.0, gt=0, description="Detection zone length before the stop line.")


class ApproachConfig(StrictModel):
    name: str = Field(min_length=1, description="Approach name, e.g. 'north'.")
    heading_deg: float | None = Field(default=None, ge=0, lt=360, description="Direction of travel, 0 = north.")
    lanes: list[LaneConfig] = Field(min_length=1)


class MovementConfig(StrictModel):
    id: str = Field(min_length=1)
    approach: str
    turn: Turn
    protected: bool = True


class PhaseConfig(StrictModel):
    id: int = Field(ge=1, le=32, description="NEMA-style phase number.")
    movements: list[str] = Field(min_length=1, description="Movement ids that have green in this phase.")
    min_green_s: float = Field(default=5.0, ge=1.0)
    max_green_s: float = Field(default=60.0, gt=0)
    yellow_s: float = Field(default=3.5, ge=MIN_YELLOW_S, description="Yellow change interval (>= 3.0 s).")
    all_red_s: float = Field(default=1.5, ge=0.0, description="Red clearance after the yellow.")
    ped_walk_s: float = Field(default=0.0, ge=0.0)
    ped_clear_s: float = Field(default=0.0, ge=0.0)

    @model_validator(mode="after")
    def _greens_ordered(self) -> PhaseConfig:
        if self.max_green_s < self.min_green_s:
            raise ValueError(
                f"max_green_s must be >= min_green_s, got max_green_s={self.max_green_s} < min_green_s={self.min_green_s}"
            )
        ped_s = self.ped_walk_s + self.ped_clear_s
        if ped_s > self.max_green_s:
            raise ValueError(
                f"ped_walk_s + ped_clear_s ({ped_s}) must fit in max_green_s ({self.max_green_s})"
            )
        return self


class IntersectionConfig(StrictModel):
    name: str = Field(min_length=1)
    sumo_tls: str | None = Field(default=None, description="SUMO traffic-light id when simulated.")
    approaches: list[ApproachConfig] = Field(min_length=1)
    movements: list[MovementConfig] = Field(min_length=1)
    phases: list[PhaseConfig] = Field(min_length=2)
    rings: list[list[int]] = Field(
        min_length=1,
        description="Phase order per ring; a single ring is a plain phase sequence.",
    )
    barriers: list[int] = Field(
        default_factory=list,
        description="Phase ids after which all rings cross a barrier together (dual-ring NEMA).",
    )
    max_red_s: float = Field(default=120.0, gt=0, description="No movement with demand waits longer than this.")

    @model_validator(mode="after")
    def _references_resolve(self) -> IntersectionConfig:
        approaches = [a.name for a in self.approaches]
        _unique("approaches[].name", approaches)
        _unique("approaches[].lanes[].id", [lane.id for a in self.approaches for lane in a.lanes])
        movement_ids = [m.id for m in self.movements]
        _unique("movements[].id", movement_ids)
        for i, m in enumerate(self.movements):
            if m.approach not in approaches:
                raise ValueError(f"movements[{i}].approach: expected one of {approaches}, found {m.approach!r}")
        phase_ids = [p.id for p in self.phases]
        _unique("phases[].id", phase_ids)
        for i, p in enumerate(self.phases):
            for mv in p.movements:
                if mv not in movement_ids:
                    raise ValueError(f"phases[{i}].movements: expected one of {movement_ids}, found {mv!r}")
        in_rings = [pid for ring in self.rings for pid in ring]
        for pid in in_rings:
            if pid not in phase_ids:
                raise ValueError(f"rings: expected phase ids from {sorted(phase_ids)}, found {pid}")
        _unique("rings (a phase may appear in one ring once)", in_rings)
        missing = sorted(set(phase_ids) - set(in_rings))
        if missing:
            raise ValueError(f"rings: every phase must be in a ring, phases {missing} are in none")
        for b in self.barriers:
            if b not in in_rings:
                raise ValueError(f"barriers: expected phase ids from the rings, found {b}")
        # every ring that names barriers must cross them together: as many barrier groups in each
        groups = {
            k: 1 + sum(1 for i, pid in enumerate(ring) if pid in self.barriers and i + 1 < len(ring))
            for k, ring in enumerate(self.rings)
            if any(pid in self.barriers for pid in ring)
        }
        if len(set(groups.values())) > 1:
            raise ValueError(
                "barriers: expected the same number of barrier groups in every ring that names one, found "
                + ", ".join(f"ring {k + 1}: {n}" for k, n in groups.items())
            )
        served = {mv for p in self.phases for mv in p.movements}
        unserved = sorted(set(movement_ids) - served)
        if unserved:
            raise ValueError(f"movements {unserved} are served by no phase (they would never get green)")
        if len(self.rings) == 1 and self.max_red_s < min(p.min_green_s + p.yellow_s + p.all_red_s for p in self.phases):
            raise ValueError(f"max_red_s ({self.max_red_s}) is shorter than one minimal phase")
        return self


def _unique(field: str, values: list) -> None:
    seen: set = set()
    for v in values:
        if v in seen:
            raise ValueError(f"{field}: expected unique values, found {v!r} twice")
        seen.add(v)
