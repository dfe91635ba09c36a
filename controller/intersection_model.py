"""A `SignalModel` from an engineer's intersection config (approaches, movements, NEMA phases, rings, barriers).

The guard and the policies work on a sequence of green stages; a field controller works on NEMA phases timed in
rings. A stage here is the set of phases green together: inside each barrier group the rings are walked in
lockstep (the k-th phase of each ring's part of the group form stage k; a ring with fewer phases there keeps its
last one). Each lane of the config becomes one signal link per turn it may make that a movement serves; the link
is green ('G' protected, 'g' permissive) in the stages whose phases serve that movement, and its incoming lane is
the lane id, so lane measurements keyed by lane id reach the policies.

Barriers: `barriers` lists phases after which the rings cross together. A ring that names none of them is cut at
the same positions as the first ring that does (NEMA's usual 1-2|3-4 over 5-6|7-8).

Pure data and functions: no I/O, no NTCIP. Which NTCIP phases each stage is (`IntersectionModel.stage_phases`) is
what a runtime needs to turn the guard's stage into hold / force-off / call / omit bits.
"""

from __future__ import annotations

from dataclasses import dataclass

from configs.intersection import IntersectionConfig
from controller.errors import SignalModelError
from controller.signal_model import GreenPhase, Link, SignalModel

__all__ = ["IntersectionModel", "barrier_groups", "model_from_intersection"]


@dataclass(frozen=True, slots=True)
class IntersectionModel:
    model: SignalModel
    stage_phases: tuple[
        frozenset[int], ...
    ]  # per stage (green phase of `model`), the NEMA phases green in it

    @property
    def phases(self) -> frozenset[int]:
        return frozenset(p for s in self.stage_phases for p in s)

    def stage_of(self, greens: frozenset[int]) -> int | None:
        """The stage that shares the most phases with `greens` (None when none shares any)."""
        best, best_n = None, 0
        for k, phases in enumerate(self.stage_phases):
            n = len(phases & greens)
            if n > best_n:
                best, best_n = k, n
        return best


def barrier_groups(cfg: IntersectionConfig) -> list[list[list[int]]]:
    """Per barrier group, per ring, the ring's phases in that group (in ring order)."""
    cuts_by_ring: list[list[int] | None] = []
    for ring in cfg.rings:
        cuts = [i + 1 for i, p in enumerate(ring) if p in cfg.barriers and i + 1 < len(ring)]
        cuts_by_ring.append(cuts if cuts else None)
    template = next((c for c in cuts_by_ring if c), [])
    parts: list[list[list[int]]] = []
    for ring, own in zip(cfg.rings, cuts_by_ring, strict=True):
        use = own if own is not None else [c for c in template if c < len(ring)]
        bounds = [0, *use, len(ring)]
        parts.append([list(ring[a:b]) for a, b in zip(bounds, bounds[1:], strict=False) if b > a])
    n_groups = max(len(p) for p in parts)
    return [[p[g] for p in parts if g < len(p)] for g in range(n_groups)]


def _stages(cfg: IntersectionConfig) -> list[frozenset[int]]:
    stages: list[frozenset[int]] = []
    for group in barrier_groups(cfg):
        depth = max(len(r) for r in group)
        for k in range(depth):
            stages.append(frozenset(r[min(k, len(r) - 1)] for r in group if r))
    return stages


def model_from_intersection(cfg: IntersectionConfig) -> IntersectionModel:
    """Stages, links and timing of `cfg` as a SignalModel (green stages in service order).

    Stage timing is the strictest of its phases: the longest min green (a pedestrian phase's walk plus clearance
    included), yellow and red clearance; max green is the shortest max of its phases but never below that min.

    Raises:
        SignalModelError: no lane is served by any phase (nothing to control).
    """
    stages = _stages(cfg)
    phase_of = {p.id: p for p in cfg.phases}
    movement_phases: dict[str, set[int]] = {}
    for p in cfg.phases:
        for mv in p.movements:
            movement_phases.setdefault(mv, set()).add(p.id)
    by_turn = {(m.approach, m.turn): m for m in cfg.movements}

    links: list[Link] = []
    chars: list[list[str]] = [[] for _ in stages]
    for approach in cfg.approaches:
        for lane in approach.lanes:
            for turn in lane.turns:
                movement = by_turn.get((approach.name, turn))
                if movement is None:
                    continue
                links.append(Link(len(links), lane.id, movement.id))
                for k, stage in enumerate(stages):
                    green = bool(movement_phases.get(movement.id, set()) & stage)
                    chars[k].append(("G" if movement.protected else "g") if green else "r")
    if not links:
        raise SignalModelError(
            f"intersection {cfg.name}: expected lanes whose turns a movement serves, found none"
        )
    greens: list[GreenPhase] = []
    for k, stage in enumerate(stages):
        ph = [phase_of[p] for p in sorted(stage)]
        state = "".join(chars[k])
        gl = frozenset(i for i, c in enumerate(state) if c in "Gg")
        # a phase serving pedestrians holds its green for the walk and the flashing don't walk
        min_g = max(max(p.min_green_s, p.ped_walk_s + p.ped_clear_s) for p in ph)
        greens.append(
            GreenPhase(
                index=k,
                program_index=-1,
                state=state,
                min_green_s=min_g,
                max_green_s=max(min_g, min(p.max_green_s for p in ph)),
                yellow_s=max(p.yellow_s for p in ph),
                all_red_s=max(p.all_red_s for p in ph),
                program_green_s=min_g,
                green_links=gl,
                in_lanes=tuple(dict.fromkeys(links[i].in_lane for i in sorted(gl))),
                out_lanes=tuple(dict.fromkeys(links[i].out_lane for i in sorted(gl))),
            )
        )
    model = SignalModel(
        junction_id=cfg.name, links=tuple(links), phases=tuple(greens), max_red_s=cfg.max_red_s
    )
    return IntersectionModel(model=model, stage_phases=tuple(stages))
