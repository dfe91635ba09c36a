"""Road layouts of the generated scenarios: 4-arm junctions joined by two-way roads.

A `Layout` is readable input (junction positions, arm bearings, lanes, left-turn bays). `plain_network` turns
it into the records of SUMO's plain XML (nodes, edges, connections, signal links); `find_route` gives the edge
list and the junction movements of a trip between two boundary arms.

Conventions:
- An arm's bearing is a compass bearing from the junction centre (0 = north, clockwise), so arm "N" has
  bearing 0. Arms are ordered by bearing; from the arm at position i, position i+1 is a left turn, i+2 straight,
  i+3 a right turn (right-hand traffic).
- An approach with a left bay is two edges: `{j}_{arm}_in` (the arm's lanes) then `{j}_{arm}_bay`
  (lanes + 1, the extra leftmost lane for left turns only). Without a bay, left turns share the inner lane.
  The exit of a boundary arm is `{j}_{arm}_out`; an arm joined to another junction exits onto that junction's
  approach.
- Signal link indices are assigned here, not by netconvert: arms in bearing order, per arm right, through
  lanes (right to left), left.

No SUMO calls and no files here.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from enum import Enum

__all__ = [
    "Arm",
    "ArmRef",
    "Connection",
    "Edge",
    "Junction",
    "Layout",
    "Movement",
    "Node",
    "PlainNetwork",
    "Turn",
    "approach_edges",
    "find_route",
    "plain_network",
]


class Turn(Enum):
    RIGHT = "r"
    THROUGH = "s"
    LEFT = "l"


@dataclass(frozen=True, slots=True)
class Arm:
    """One arm of a junction: a two-way road with `lanes` lanes each way."""

    name: str
    bearing_deg: float
    lanes: int
    left_bay_m: float = 0.0  # 0: no bay, left turns share the inner lane (permissive)
    length_m: float = 400.0  # to the network boundary; unused when the arm joins another junction
    speed_m_s: float = 13.89

    @property
    def has_bay(self) -> bool:
        return self.left_bay_m > 0


@dataclass(frozen=True, slots=True)
class Junction:
    id: str
    x_m: float
    y_m: float
    arms: tuple[Arm, ...]  # exactly four

    def ordered_arms(self) -> tuple[Arm, ...]:
        return tuple(sorted(self.arms, key=lambda a: a.bearing_deg % 360.0))

    def arm(self, name: str) -> Arm:
        for a in self.arms:
            if a.name == name:
                return a
        raise KeyError(f"junction {self.id}: no arm {name!r}")


@dataclass(frozen=True, slots=True, order=True)
class ArmRef:
    junction: str
    arm: str


@dataclass(frozen=True, slots=True)
class Layout:
    junctions: tuple[Junction, ...]
    roads: tuple[tuple[ArmRef, ArmRef], ...] = ()  # arms joined by one two-way road

    def junction(self, jid: str) -> Junction:
        for j in self.junctions:
            if j.id == jid:
                return j
        raise KeyError(f"no junction {jid!r}")

    def partner(self, ref: ArmRef) -> ArmRef | None:
        for a, b in self.roads:
            if a == ref:
                return b
            if b == ref:
                return a
        return None

    def boundary_arms(self) -> tuple[ArmRef, ...]:
        return tuple(
            ArmRef(j.id, a.name)
            for j in self.junctions
            for a in j.ordered_arms()
            if self.partner(ArmRef(j.id, a.name)) is None
        )


@dataclass(frozen=True, slots=True)
class Node:
    id: str
    x_m: float
    y_m: float
    type: str  # traffic_light, priority, dead_end


@dataclass(frozen=True, slots=True)
class Edge:
    id: str
    from_node: str
    to_node: str
    lanes: int
    speed_m_s: float


@dataclass(frozen=True, slots=True)
class Connection:
    from_edge: str
    to_edge: str
    from_lane: int
    to_lane: int
    junction: str = ""  # set for signal-controlled connections
    link_index: int = -1
    turn: Turn | None = None
    from_arm: str = ""
    to_arm: str = ""


@dataclass(frozen=True, slots=True)
class PlainNetwork:
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    connections: tuple[Connection, ...]

    def signal_links(self, junction: str) -> tuple[Connection, ...]:
        links = [c for c in self.connections if c.junction == junction]
        return tuple(sorted(links, key=lambda c: c.link_index))


@dataclass(frozen=True, slots=True)
class Movement:
    """A turn at a signalised junction, from one arm to another."""

    junction: str
    from_arm: str
    to_arm: str
    turn: Turn


def _point(j: Junction, bearing_deg: float, dist_m: float) -> tuple[float, float]:
    rad = math.radians(bearing_deg)
    return round(j.x_m + dist_m * math.sin(rad), 2), round(j.y_m + dist_m * math.cos(rad), 2)


def turn_between(j: Junction, from_arm: str, to_arm: str) -> Turn:
    names = [a.name for a in j.ordered_arms()]
    d = (names.index(to_arm) - names.index(from_arm)) % len(names)
    if d == 0:
        raise ValueError(f"junction {j.id}: U-turn {from_arm}->{to_arm} is not a movement")
    return {1: Turn.LEFT, 2: Turn.THROUGH, 3: Turn.RIGHT}[d]


def approach_edges(layout: Layout, ref: ArmRef) -> tuple[str, ...]:
    """Edges of the approach into junction `ref.junction` along arm `ref.arm`, upstream first."""
    arm = layout.junction(ref.junction).arm(ref.arm)
    base = f"{ref.junction}_{ref.arm}"
    return (f"{base}_in", f"{base}_bay") if arm.has_bay else (f"{base}_in",)


def _exit_edge(layout: Layout, ref: ArmRef) -> str:
    partner = layout.partner(ref)
    if partner is None:
        return f"{ref.junction}_{ref.arm}_out"
    return approach_edges(layout, partner)[0]


def plain_network(layout: Layout) -> PlainNetwork:
    """Nodes, edges and connections (with signal link indices) of a layout."""
    _check(layout)
    nodes: list[Node] = []
    edges: list[Edge] = []
    conns: list[Connection] = []
    for j in layout.junctions:
        nodes.append(Node(j.id, j.x_m, j.y_m, "traffic_light"))
    for j in layout.junctions:
        for arm in j.ordered_arms():
            ref = ArmRef(j.id, arm.name)
            partner = layout.partner(ref)
            if partner is None:
                end = f"{j.id}_{arm.name}_end"
                nodes.append(Node(end, *_point(j, arm.bearing_deg, arm.length_m), "dead_end"))
                edges.append(Edge(f"{j.id}_{arm.name}_out", j.id, end, arm.lanes, arm.speed_m_s))
                origin = end
            else:
                origin = partner.junction
            names = approach_edges(layout, ref)
            if arm.has_bay:
                bay_node = f"{j.id}_{arm.name}_bay"
                at_m = arm.left_bay_m + _junction_clearance_m(j, arm)
                nodes.append(Node(bay_node, *_point(j, arm.bearing_deg, at_m), "priority"))
                edges.append(Edge(names[0], origin, bay_node, arm.lanes, arm.speed_m_s))
                edges.append(Edge(names[1], bay_node, j.id, arm.lanes + 1, arm.speed_m_s))
                conns.extend(Connection(names[0], names[1], k, k) for k in range(arm.lanes))
                conns.append(Connection(names[0], names[1], arm.lanes - 1, arm.lanes))
            else:
                edges.append(Edge(names[0], origin, j.id, arm.lanes, arm.speed_m_s))
        conns.extend(_junction_connections(layout, j))
    return PlainNetwork(tuple(nodes), tuple(edges), tuple(conns))


LANE_WIDTH_M = 3.2


def _junction_clearance_m(j: Junction, arm: Arm) -> float:
    """Roughly how far netconvert's junction area reaches along `arm` (half the widest crossing road plus the
    corner radius), so that the bay node placed this much beyond the bay length gives a bay of about that length."""
    arms = j.ordered_arms()
    i = arms.index(arm)
    widest = max(a.lanes * 2 + (1 if a.has_bay else 0) for a in (arms[(i + 1) % 4], arms[(i + 3) % 4]))
    return widest * LANE_WIDTH_M / 2 + 8.0


def _junction_connections(layout: Layout, j: Junction) -> list[Connection]:
    arms = j.ordered_arms()
    out: list[Connection] = []
    index = 0
    for i, arm in enumerate(arms):
        last = approach_edges(layout, ArmRef(j.id, arm.name))[-1]
        right, straight, left = arms[(i + 3) % 4], arms[(i + 2) % 4], arms[(i + 1) % 4]
        plan: list[tuple[Arm, int, int, Turn]] = [(right, 0, 0, Turn.RIGHT)]
        plan += [(straight, k, min(k, straight.lanes - 1), Turn.THROUGH) for k in range(arm.lanes)]
        left_lane = arm.lanes if arm.has_bay else arm.lanes - 1
        plan.append((left, left_lane, left.lanes - 1, Turn.LEFT))
        for to_arm, from_lane, to_lane, turn in plan:
            out.append(
                Connection(
                    from_edge=last,
                    to_edge=_exit_edge(layout, ArmRef(j.id, to_arm.name)),
                    from_lane=from_lane,
                    to_lane=to_lane,
                    junction=j.id,
                    link_index=index,
                    turn=turn,
                    from_arm=arm.name,
                    to_arm=to_arm.name,
                )
            )
            index += 1
    return out


def find_route(
    layout: Layout, origin: ArmRef, destination: ArmRef
) -> tuple[tuple[str, ...], tuple[Movement, ...]]:
    """Shortest (fewest junctions) route from a boundary arm into the network to a boundary arm out of it.

    Raises:
        ValueError: no route (or origin/destination not boundary arms).
    """
    boundary = set(layout.boundary_arms())
    if origin not in boundary or destination not in boundary:
        raise ValueError(f"route {origin}->{destination}: expected boundary arms {sorted(boundary)}")
    start = (origin.junction, origin.arm)
    prev: dict[tuple[str, str], tuple[tuple[str, str], Movement] | None] = {start: None}
    queue = deque([start])
    while queue:
        jid, entry = queue.popleft()
        j = layout.junction(jid)
        for arm in j.ordered_arms():
            if arm.name == entry:
                continue
            move = Movement(jid, entry, arm.name, turn_between(j, entry, arm.name))
            ref = ArmRef(jid, arm.name)
            if ref == destination:
                return _unwind(layout, origin, prev, (jid, entry), move)
            partner = layout.partner(ref)
            if partner is not None and (partner.junction, partner.arm) not in prev:
                state = (partner.junction, partner.arm)
                prev[state] = ((jid, entry), move)
                queue.append(state)
    raise ValueError(f"route {origin}->{destination}: no path through the layout")


def _unwind(
    layout: Layout,
    origin: ArmRef,
    prev: dict[tuple[str, str], tuple[tuple[str, str], Movement] | None],
    last_state: tuple[str, str],
    last_move: Movement,
) -> tuple[tuple[str, ...], tuple[Movement, ...]]:
    moves = [last_move]
    state = last_state
    while (step := prev[state]) is not None:
        state, move = step
        moves.append(move)
    moves.reverse()
    edges: list[str] = list(approach_edges(layout, origin))
    for move in moves:
        exit_ref = ArmRef(move.junction, move.to_arm)
        partner = layout.partner(exit_ref)
        edges.extend(approach_edges(layout, partner) if partner else (f"{move.junction}_{move.to_arm}_out",))
    return tuple(edges), tuple(moves)


def _check(layout: Layout) -> None:
    for j in layout.junctions:
        if len(j.arms) != 4:
            raise ValueError(f"junction {j.id}: expected 4 arms, found {len(j.arms)}")
        if len({a.name for a in j.arms}) != 4:
            raise ValueError(f"junction {j.id}: arm names must be unique, found {[a.name for a in j.arms]}")
        for a in j.arms:
            if a.lanes < 1:
                raise ValueError(f"junction {j.id} arm {a.name}: expected lanes >= 1, found {a.lanes}")
            if a.has_bay and a.left_bay_m >= a.length_m:
                raise ValueError(f"junction {j.id} arm {a.name}: bay {a.left_bay_m} m longer than the arm")
