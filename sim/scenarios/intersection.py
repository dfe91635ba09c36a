"""Parametric 4-arm intersections, for varied training and test scenarios (e.g. the vision stack's synthetic
camera): geometry, lanes, bays, speed, demand level, time variation and vehicle mix are all in one spec.

    spec = random_intersection_spec(seed=7)          # deterministic for a seed
    cfg = build_intersection(spec, out_dir)          # netconvert'ed, cached like the built-ins

Arms are named N, E, S, W in bearing order (whatever their actual bearings). The junction (signal id "C") is at
(0, 0). Demand: every approach gets `demand_veh_h_lane` x its lanes, times the slice's factor, split into
left/right/through by the turn shares; the fixed plan is Webster's on the average, as for the built-ins.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from sim.errors import ScenarioError
from sim.scenarios.build import write_scenario
from sim.scenarios.definition import ScenarioDefinition, compile_scenario
from sim.scenarios.demand import Demand, OdFlow
from sim.scenarios.layout import Arm, ArmRef, Junction, Layout, Turn, turn_between
from sim.scenarios.vehicles import BUS, CAR, DEFAULT_MIX, MOTORCYCLE, TRUCK, VehicleMix

__all__ = ["IntersectionSpec", "build_intersection", "intersection_definition", "random_intersection_spec"]

ARM_NAMES = ("N", "E", "S", "W")
JUNCTION_ID = "C"


@dataclass(frozen=True, slots=True)
class IntersectionSpec:
    name: str = "intersection"
    arm_bearings_deg: tuple[float, float, float, float] = (0.0, 90.0, 180.0, 270.0)
    arm_lengths_m: tuple[float, float, float, float] = (400.0, 400.0, 400.0, 400.0)
    lanes: tuple[int, int, int, int] = (2, 2, 2, 2)  # through lanes per arm, each direction
    left_bay_m: tuple[float, float, float, float] = (60.0, 60.0, 60.0, 60.0)  # 0: no bay
    speed_m_s: float = 13.89
    demand_veh_h_lane: float = 350.0  # mean arrivals per approach lane
    slice_factors: tuple[float, ...] = (0.9, 1.2, 1.0, 0.9)  # per 15-min slice; duration = len * 15 min
    left_share: float = 0.15
    right_share: float = 0.12
    mix: VehicleMix = field(default=DEFAULT_MIX)

    def validate(self) -> None:
        """Raises ScenarioError naming the field, what was expected and what was found."""
        b = self.arm_bearings_deg
        gaps = [(b[(i + 1) % 4] - b[i]) % 360.0 for i in range(4)]
        if any(g < 30.0 for g in gaps) or abs(sum(gaps) - 360.0) > 1e-6:
            raise ScenarioError(
                f"intersection {self.name}: arm_bearings_deg expected clockwise order, >= 30 deg apart, found {b}"
            )
        for i in range(4):
            if not 1 <= self.lanes[i] <= 4:
                raise ScenarioError(
                    f"intersection {self.name}: lanes[{i}] expected 1..4, found {self.lanes[i]}"
                )
            if not 0 <= self.left_bay_m[i] < self.arm_lengths_m[i] - 20.0:
                raise ScenarioError(
                    f"intersection {self.name}: left_bay_m[{i}] expected 0 .. arm length - 20 m, "
                    f"found {self.left_bay_m[i]} (arm {self.arm_lengths_m[i]} m)"
                )
        if not self.slice_factors or min(self.slice_factors) < 0:
            raise ScenarioError(
                f"intersection {self.name}: slice_factors expected >= 0, found {self.slice_factors}"
            )
        if not 0 <= self.left_share + self.right_share < 1:
            raise ScenarioError(
                f"intersection {self.name}: left_share + right_share expected in [0, 1), "
                f"found {self.left_share} + {self.right_share}"
            )


def intersection_definition(spec: IntersectionSpec) -> ScenarioDefinition:
    spec.validate()
    arms = tuple(
        Arm(
            ARM_NAMES[i],
            spec.arm_bearings_deg[i] % 360.0,
            lanes=spec.lanes[i],
            left_bay_m=spec.left_bay_m[i],
            length_m=spec.arm_lengths_m[i],
            speed_m_s=spec.speed_m_s,
        )
        for i in range(4)
    )
    junction = Junction(JUNCTION_ID, 0.0, 0.0, arms)
    shares = {Turn.LEFT: spec.left_share, Turn.RIGHT: spec.right_share}
    shares[Turn.THROUGH] = 1.0 - spec.left_share - spec.right_share
    flows = []
    for src in arms:
        for dst in arms:
            if dst.name == src.name:
                continue
            share = shares[turn_between(junction, src.name, dst.name)]
            veh_h = tuple(
                round(spec.demand_veh_h_lane * src.lanes * f * share, 1) for f in spec.slice_factors
            )
            flows.append(OdFlow(ArmRef(JUNCTION_ID, src.name), ArmRef(JUNCTION_ID, dst.name), veh_h))
    demand = Demand(flows=tuple(flows), mix=spec.mix)
    return ScenarioDefinition(
        name=spec.name, layout=Layout((junction,)), demand=demand, end_s=demand.duration_s
    )


def build_intersection(spec: IntersectionSpec, out_dir: Path) -> Path:
    """Write the intersection's files into `out_dir` (cached) and return the .sumocfg path.

    Raises:
        ScenarioError: invalid spec, unwritable folder or netconvert failure.
    """
    return write_scenario(compile_scenario(intersection_definition(spec)), Path(out_dir))


def random_intersection_spec(seed: int) -> IntersectionSpec:
    """A plausible, varied intersection, the same for the same seed: rotated and skewed arms, 1-3 lanes,
    bays on some axes, 40-60 km/h, light to heavy demand, varied vehicle mix."""
    rng = random.Random(seed)
    rotation = rng.uniform(-45.0, 45.0)
    bearings = tuple(round((rotation + 90.0 * i + rng.uniform(-15.0, 15.0)) % 360.0, 1) for i in range(4))
    axis_lanes = (rng.choice((1, 2, 2, 3)), rng.choice((1, 1, 2)))
    axis_bay = tuple(rng.choice((0.0, 40.0, 60.0, 80.0)) if axis_lanes[k] > 1 else 0.0 for k in range(2))
    car = rng.uniform(0.7, 0.92)
    rest = [rng.random() + 0.2 for _ in range(3)]
    scale = (1.0 - car) / sum(rest)
    mix = VehicleMix(
        ((CAR, round(car, 3)), (TRUCK, round(rest[0] * scale, 3)), (BUS, round(rest[1] * scale, 3)),
         (MOTORCYCLE, round(rest[2] * scale, 3)))
    )  # fmt: skip
    return IntersectionSpec(
        name=f"intersection_{seed}",
        arm_bearings_deg=bearings,  # type: ignore[arg-type]
        arm_lengths_m=tuple(float(rng.randrange(250, 501, 10)) for _ in range(4)),  # type: ignore[arg-type]
        lanes=(axis_lanes[0], axis_lanes[1], axis_lanes[0], axis_lanes[1]),
        left_bay_m=(axis_bay[0], axis_bay[1], axis_bay[0], axis_bay[1]),
        speed_m_s=rng.choice((11.11, 13.89, 16.67)),
        demand_veh_h_lane=round(rng.uniform(150.0, 420.0), 0),
        slice_factors=tuple(round(rng.uniform(0.6, 1.3), 2) for _ in range(4)),
        left_share=round(rng.uniform(0.08, 0.22), 2),
        right_share=round(rng.uniform(0.08, 0.2), 2),
        mix=mix,
    )
