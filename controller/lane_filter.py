"""Persistence for flickering lane measurements: a vehicle a sensor loses for a second is still there.

A camera at the edge misses a vehicle for a frame or two (small and far, behind another, glare) and finds it
again. To a planner each miss is a vehicle that vanished: its green gaps out early, and to the flow and
crossing estimates (controller/policies/lanes.py) a miss followed by a find is a phantom departure and a phantom
arrival, which a coordinated junction then publishes downstream as a platoon member nobody released. The filter
keeps what the sensor saw where physics says it cannot have gone:

- Moving vehicles are tracked along the lane (1-D, distance to the stop line): each is predicted forward at its
  measured speed and matched greedily to the nearest measured vehicle within a tolerance (half a step's travel
  plus 4 m); one whose speed is unknown (just seen) may have stood or run at the free speed, and matches anywhere
  in between. With `hold_s` > 0, one the sensor lost is kept at its predicted distance for up to `hold_s`, unless
  it would have crossed the stop line (it left) or reached the back of the queue on red (it waits there, below).
  The controller's default is no hold (`measurement_hold_s` 0): in the closed camera loop a 2 s hold neither
  helped nor hurt measurably, and on the oracle with camera-like errors (misses, lagging speeds, phantoms) it cost
  about 0.6 s of corridor stop time (figures at `ControllerParams.measurement_hold_s`). The tracking still runs:
  the crossings and the red queue below need it.
- Queued vehicles cannot leave at red: while a lane is not served, its queued count is the highest seen since
  it was last served (a queue the sensor sees partly is not a queue that shrank). This is a field controller's
  locking detector memory: a call placed on red stands until the phase is served. A moving vehicle the sensor
  loses on red where it would have reached the back of the queue stopped there; if the sensor shows no queue, it
  is the one waiting at the stop line (at least one queued vehicle is locked in), since nothing leaves on red. A
  small dark vehicle at the stop line is the one a detector misses longest: in the closed camera loop a motorcycle
  waiting on corridor's J1 side street went unseen for 13 s running while its phase was never called.
- Crossings: a moving vehicle seen a step ago, due over the stop line of a served lane now and not seen again,
  crossed (`crossed`, per lane and step). The same vehicle still seen short of the line is matched, so it is not
  counted twice; a count without identities cannot tell (controller/policies/lanes.py's `FlowEstimator` uses these).

It only ever adds vehicles the sensor saw: moving ones within `hold_s`, queued ones (and a lost one that reached the
queue) since their lane was last served. So it cannot invent demand that never was, and with a perfect sensor it
changes nothing but the odd vehicle that changed lanes out of a queue. Pure computation: no SUMO, no clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from controller.measurement import STANDING_QUEUE_M, ApproachingVehicle, LaneMeasurement

__all__ = ["LaneFilter"]

TOL_M = 4.0  # matching tolerance on top of half a step's travel: sensor distance noise at the far end
ACCEL_MPS2 = 2.6  # a car pulling away from the stop line (SUMO's and a typical driver's): it may be ahead of its
# constant-speed prediction by half a*dt^2


@dataclass(slots=True)
class _Seen:
    distance_m: float
    speed_mps: float | None
    seen_s: float


def _over_line(p: _Seen, dt: float) -> bool:
    """Whether a vehicle predicted at `p` may be over the stop line: pulling away, it can be ahead of its
    constant-speed prediction by half a*dt^2. Both the crossing count and the hold use this one test."""
    return p.distance_m <= 0.5 * ACCEL_MPS2 * dt * dt


class LaneFilter:
    """Per-lane hold of recently seen vehicles. Feed it every measurement with which lanes were served."""

    def __init__(self, n_lanes: int, *, hold_s: float, free_speed_mps: float) -> None:
        self.hold_s = hold_s
        self.free_speed_mps = free_speed_mps
        self._moving: list[list[_Seen]] = [[] for _ in range(n_lanes)]
        # per lane, since it was last served: the most queued vehicles seen, and the longest queue
        self._queued: list[tuple[int, float] | None] = [None] * n_lanes
        # per lane, whether a moving vehicle the sensor lost reached the queue since the lane was last served
        self._joined: list[bool] = [False] * n_lanes
        self._last_s: float | None = None
        self.held = 0  # vehicles added to the current step's measurements, for inspection
        self.crossed: list[int] = [0] * n_lanes  # per lane, vehicles seen to go over the stop line this step

    def update(
        self, now_s: float, lanes: Sequence[LaneMeasurement | None], served: Sequence[bool]
    ) -> list[LaneMeasurement | None]:
        """The measurements with recently seen vehicles held.

        Args:
            lanes: per lane, this step's measurement (None: the lane is not measured; nothing is held for it).
            served: per lane, whether it could discharge since the last update (green or yellow shown).
        """
        dt = 0.0 if self._last_s is None else max(0.0, now_s - self._last_s)
        self._last_s = now_s
        self.held = 0
        self.crossed = [0] * len(lanes)
        lost: list[list[_Seen]] = []
        fresh: list[tuple[int, float]] = []  # (lane, distance) of measured vehicles nothing predicted
        for i, lm in enumerate(lanes):
            if lm is None:
                self._moving[i] = []
                self._queued[i] = None
                self._joined[i] = False
                lost.append([])
                continue
            gone, new = self._match(i, dt, lm)
            lost.append(gone)
            fresh.extend((i, lm.approaching[k].distance_m) for k in new)
        # a vehicle lost in one lane that appears, new, at the same distance in another changed lanes (or the
        # sensor put it in the next lane): it is not held twice. Lanes are not grouped by approach here, so a
        # coincidence on another approach also cancels a hold: the error is on the side of holding less.
        taken = [False] * len(fresh)
        out: list[LaneMeasurement | None] = []
        for i, lm in enumerate(lanes):
            if lm is None:
                out.append(None)
                continue
            queued, queue_m = self._hold_queue(i, lm, served[i])
            kept = []
            for p in lost[i]:
                if served[i] and _over_line(p, dt) and now_s - p.seen_s <= dt + 1e-9:
                    self.crossed[i] += 1  # seen a step ago, due over the line now, and gone: it crossed
                    continue
                moved = False
                for k, (j, dist) in enumerate(fresh):
                    if j != i and not taken[k] and abs(dist - p.distance_m) <= TOL_M + 0.5 * self._speed(p) * dt:
                        taken[k] = moved = True
                        break
                if moved or now_s - p.seen_s > max(self.hold_s, dt) + 1e-9 or p.distance_m > lm.zone_m:
                    continue  # it changed lanes, or it is lost too long (or too far) to say where it is
                if not served[i] and p.distance_m <= queue_m + TOL_M:
                    self._joined[i] = True  # on red it stopped at the back of the queue: it waits there
                elif now_s - p.seen_s <= self.hold_s + 1e-9 and not (served[i] and _over_line(p, dt)):
                    kept.append(p)  # still where it was predicted (on green, unless it may have crossed)
            if self._joined[i] and queued == 0:
                queued, queue_m = 1, max(queue_m, STANDING_QUEUE_M)  # the lane reads empty, but nothing left it
            self._moving[i] = [_Seen(v.distance_m, v.speed_mps, now_s) for v in lm.approaching] + kept
            added = (queued - lm.queued) + len(kept)
            if added == 0:
                out.append(lm)
                continue
            self.held += added
            approaching = tuple(
                sorted(lm.approaching + tuple(ApproachingVehicle(s.distance_m, s.speed_mps) for s in kept),
                       key=lambda v: v.distance_m)
            )
            vehicles = lm.vehicles + added
            out.append(
                replace(
                    lm,
                    vehicles=vehicles,
                    queued=queued,
                    approaching=approaching,
                    queue_m=queue_m,
                    occupancy=min(1.0, lm.occupancy * vehicles / lm.vehicles) if lm.vehicles else lm.occupancy,
                )
            )
        return out

    def _speed(self, s: _Seen) -> float:
        return s.speed_mps if s.speed_mps is not None else self.free_speed_mps

    def _hold_queue(self, i: int, lm: LaneMeasurement, served: bool) -> tuple[int, float]:
        """Lane i's queued count and queue length, the most seen since it was last served (nothing leaves on red)."""
        if served:
            self._queued[i] = None  # a served queue does shrink: believe the sensor
            self._joined[i] = False
            return lm.queued, lm.queue_m
        held_q, queue_m = self._queued[i] or (0, 0.0)
        held_q, queue_m = max(held_q, lm.queued), max(queue_m, lm.queue_m)
        self._queued[i] = (held_q, queue_m)
        if held_q <= lm.queued:
            return lm.queued, lm.queue_m
        # a queued vehicle creeping up the queue is measured as moving now: it is not lost
        creeping = sum(1 for v in lm.approaching if v.distance_m <= queue_m + TOL_M)
        queued = max(lm.queued, held_q - creeping)
        return queued, queue_m if queued > lm.queued else lm.queue_m

    def _match(self, i: int, dt: float, lm: LaneMeasurement) -> tuple[list[_Seen], list[int]]:
        """Predict lane i's tracked vehicles forward and match them, nearest first, to the measured ones.

        Returns (the predicted vehicles nobody matched, the indices of measured vehicles nothing predicted).
        """
        predicted = [_Seen(s.distance_m - self._speed(s) * dt, s.speed_mps, s.seen_s) for s in self._moving[i]]
        # a vehicle whose speed was unknown (just seen) may have stood still or run at the free speed: anywhere
        # from where it was to the free-speed prediction, not only near the latter
        reach = [self.free_speed_mps * dt if s.speed_mps is None else 0.0 for s in self._moving[i]]
        used = [False] * len(predicted)
        fresh = []
        for k, v in enumerate(lm.approaching):
            best, best_err = -1, 0.0
            for m, p in enumerate(predicted):
                if used[m]:
                    continue
                off = v.distance_m - p.distance_m  # > 0: behind the prediction
                err = max(0.0, off - reach[m]) if off > 0 else -off
                if err <= TOL_M + 0.5 * self._speed(p) * dt and (best < 0 or err < best_err):
                    best, best_err = m, err
            if best >= 0:
                used[best] = True
            else:
                fresh.append(k)
        return [p for m, p in enumerate(predicted) if not used[m]], fresh
