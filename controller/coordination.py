"""Corridor coordination: a junction plans with the vehicles its upstream neighbours will send it.

Each coordinated controller publishes, every second, a `PublishedPlan`: how many vehicles just crossed each of
its stop lines and when its current schedule expects the next ones to cross. `UpstreamPredictor` turns the
neighbours' plans into predicted arrivals on a junction's own incoming lanes, beyond its detection zone:

- vehicles that already crossed upstream and are between the two junctions (no camera sees them) arrive
  `distance_m / speed` after they crossed; they are dropped once they would be inside the zone (the zone's own
  measurement takes over);
- vehicles the neighbour plans to release arrive that long after their planned crossing.

Only a share of an upstream lane's vehicles takes a given link (`UpstreamLink.share`, from the net's topology);
shares are turned into whole vehicles by carrying the fraction over (deterministic thinning). In the field the plan
is the neighbour box's published schedule; here it is the same object, passed by the harness. Pure computation:
the mapping of lanes comes from the adapter (sim/topology.py), time comes in as `now_s`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from controller.measurement import ApproachingVehicle, IntersectionMeasurement

__all__ = ["PublishedPlan", "UpstreamLink", "UpstreamPredictor"]


@dataclass(frozen=True, slots=True)
class UpstreamLink:
    """Vehicles crossing `up_lane`'s stop line at `up_junction` reach one of our lanes `distance_m` later."""

    up_junction: str
    up_lane: str
    share: float  # expected fraction of `up_lane`'s vehicles that take this link
    distance_m: float  # stop line to stop line


@dataclass(frozen=True, slots=True)
class PublishedPlan:
    """What a coordinated junction tells its neighbours each second."""

    junction_id: str
    now_s: float
    crossed: Mapping[str, int] = field(default_factory=dict)  # per incoming lane, crossings in the last step
    departures_s: Mapping[str, tuple[float, ...]] = field(default_factory=dict)  # planned crossings, absolute


class UpstreamPredictor:
    """Predicted arrivals from upstream neighbours for one junction (see the module docstring)."""

    def __init__(
        self, links: Mapping[str, Sequence[UpstreamLink]], *, speed_mps: float, horizon_s: float
    ) -> None:
        self.links = {lane: tuple(ls) for lane, ls in links.items() if ls}
        self.speed_mps = speed_mps
        self.horizon_s = horizon_s
        self._acc: dict[tuple[str, int], float] = {}
        self._in_transit: dict[tuple[str, int], list[float]] = {}  # crossing times of vehicles between us
        # per neighbour, the time of the last plan whose crossings counted
        self._seen_s: dict[str, float] = {}

    def attach(
        self, measurement: IntersectionMeasurement, plans: Mapping[str, PublishedPlan]
    ) -> IntersectionMeasurement:
        """`measurement` with `upstream` filled from the neighbours' latest plans."""
        if not self.links or self.horizon_s <= 0:
            return measurement
        now = measurement.now_s
        fresh = {j: p for j, p in plans.items() if p.now_s > self._seen_s.get(j, float("-inf"))}
        upstream: dict[str, tuple[ApproachingVehicle, ...]] = {}
        v = self.speed_mps
        reach_m = self.horizon_s * v
        for lane, links in self.links.items():
            lm = measurement.incoming.get(lane)
            zone = lm.zone_m if lm is not None else 0.0
            dists: list[float] = []
            for k, link in enumerate(links):
                key = (lane, k)
                transit = self._in_transit.setdefault(key, [])
                acc = self._acc.get(key, 0.0)
                plan = fresh.get(link.up_junction)
                if plan is not None:
                    acc += plan.crossed.get(link.up_lane, 0) * link.share
                    while acc >= 1.0 - 1e-9:
                        transit.append(plan.now_s)
                        acc -= 1.0
                    self._acc[key] = acc
                # still short of the zone: nobody sees these vehicles but us
                transit[:] = [c for c in transit if link.distance_m - v * (now - c) > zone]
                dists.extend(link.distance_m - v * (now - c) for c in transit)
                plan = plans.get(link.up_junction)
                if plan is None:
                    continue
                planned = acc
                for d in plan.departures_s.get(link.up_lane, ()):
                    if d < now:
                        continue  # a planned crossing already due: it shows up as crossed
                    dist = link.distance_m + v * (d - now)
                    if dist > reach_m:
                        break
                    planned += link.share
                    if planned >= 1.0 - 1e-9:
                        planned -= 1.0
                        dists.append(dist)
            if dists:
                dists.sort()
                upstream[lane] = tuple(ApproachingVehicle(distance_m=d, speed_mps=v) for d in dists)
        for j, p in fresh.items():
            self._seen_s[j] = p.now_s
        return replace(measurement, upstream=upstream)
