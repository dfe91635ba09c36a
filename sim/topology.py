"""What the harness needs to know about a SUMO network, read once with sumolib: signals, their links and programs,
the detection zone of each controlled lane, and which signals feed which (for corridor coordination).

The zone of a controlled lane reaches `range_m` upstream, following lanes back through unsignalised junctions (some
controlled lanes in real nets are under 1 m long: counting only that lane starves an approach). Adapter code: it
reads SUMO files and hands plain values to controller/.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import sumolib

from controller.coordination import UpstreamLink
from controller.signal_model import Link, ProgramPhase
from sim.errors import ScenarioError

__all__ = ["NetTopology", "SignalInfo", "ZoneSegment", "read_topology"]


@dataclass(frozen=True, slots=True)
class ZoneSegment:
    """Part of a detection zone: vehicles on `lane` are `offset_m + (length_m - lane_pos)` from the stop line."""

    lane: str
    offset_m: float
    length_m: float
    shared: bool  # the lane feeds more than one controlled lane of the same signal


@dataclass(frozen=True, slots=True)
class SignalInfo:
    tls_id: str
    links: tuple[Link, ...]
    programs: dict[str, tuple[ProgramPhase, ...]]
    program_types: dict[str, str]
    zones: dict[str, tuple[ZoneSegment, ...]]  # controlled incoming lane -> segments, its own lane first
    lane_edges: dict[str, str]  # controlled incoming lane -> edge (the approach)
    lane_lengths: dict[str, float]  # incoming and outgoing lanes


@dataclass(frozen=True, slots=True)
class NetTopology:
    net_file: Path
    signals: dict[str, SignalInfo]
    # downstream signal -> its controlled incoming lane -> the upstream signals' lanes that feed it (an upstream
    # lane's departures split over its links, straight ones weighted double; over the downstream lanes reached,
    # those with a straight link take it all: turn bays get none)
    feeds: dict[str, dict[str, tuple[UpstreamLink, ...]]] = field(default_factory=dict)


def read_topology(net_file: Path, *, range_m: float) -> NetTopology:
    """Read signals, links, programs and detection zones.

    Raises:
        ScenarioError: the file is not a SUMO network.
    """
    try:
        net = sumolib.net.readNet(str(net_file), withPrograms=True, withInternal=False)
    except Exception as exc:  # sumolib raises bare parser errors
        raise ScenarioError(f"{net_file}: expected a SUMO .net.xml, found unreadable network ({exc})") from exc
    nema = _phase_change_attributes(net_file)
    controlled_in: set[str] = set()
    for tls in net.getTrafficLights():
        for in_lane, _out, _idx in tls.getConnections():
            controlled_in.add(in_lane.getID())
    signals = {}
    for tls in net.getTrafficLights():
        conns = sorted(tls.getConnections(), key=lambda c: c[2])
        links = tuple(Link(index=idx, in_lane=i.getID(), out_lane=o.getID()) for i, o, idx in conns)
        programs, types = {}, {}
        for pid, prog in tls.getPrograms().items():
            change = nema.get((tls.getID(), pid), [])
            programs[pid] = tuple(
                ProgramPhase(
                    state=ph.state,
                    duration_s=float(ph.duration),
                    min_dur_s=None if ph.minDur is None or ph.minDur < 0 else float(ph.minDur),
                    max_dur_s=None if ph.maxDur is None or ph.maxDur < 0 else float(ph.maxDur),
                    yellow_s=change[k][0] if k < len(change) else None,
                    red_s=change[k][1] if k < len(change) else None,
                )
                for k, ph in enumerate(prog.getPhases())
            )
            types[pid] = prog.getType()
        in_lanes = list(dict.fromkeys(i.getID() for i, _o, _x in conns))
        zones = _zones(net, in_lanes, controlled_in, range_m)
        lengths = {i.getID(): i.getLength() for i, _o, _x in conns} | {o.getID(): o.getLength() for _i, o, _x in conns}
        signals[tls.getID()] = SignalInfo(
            tls_id=tls.getID(),
            links=links,
            programs=programs,
            program_types=types,
            zones=zones,
            lane_edges={lane: net.getLane(lane).getEdge().getID() for lane in in_lanes},
            lane_lengths=lengths,
        )
    return NetTopology(net_file=net_file, signals=signals, feeds=_feeds(net, controlled_in))


def _phase_change_attributes(net_file: Path) -> dict[tuple[str, str], list[tuple[float | None, float | None]]]:
    """Per (tls, program), each phase's `yellow` and `red` attributes (NEMA programs), which sumolib drops."""
    out: dict[tuple[str, str], list[tuple[float | None, float | None]]] = {}
    for _event, el in ET.iterparse(str(net_file)):
        if el.tag != "tlLogic":
            if el.tag not in ("phase", "param"):
                el.clear()
            continue
        phases = [(_opt_float(ph.get("yellow")), _opt_float(ph.get("red"))) for ph in el.iter("phase")]
        if any(y is not None or r is not None for y, r in phases):
            out[(el.get("id", ""), el.get("programID", ""))] = phases
        el.clear()
    return out


def _opt_float(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


# a lane's departures split over its links in proportion to these (turn counts are unknown: straight movements
# are assumed to carry twice a turn's share; turnarounds carry none)
_TURN_WEIGHT = 0.5
_DIRECTION_WEIGHT = {"s": 1.0, "t": 0.0}
_FEED_REACH_M = 600.0  # neighbours farther apart than this are not coordinated (platoons disperse)


def _feeds(net, controlled_in: set[str]) -> dict[str, dict[str, tuple[UpstreamLink, ...]]]:
    """For every pair of signals linked within `_FEED_REACH_M` through unsignalised junctions, which upstream
    controlled lanes feed which downstream controlled lanes, with the expected share and the stop-line distance.

    Shares are guesses from the geometry alone (turn counts are unknown): see `_DIRECTION_WEIGHT`."""
    lane_tls: dict[str, str] = {}
    for tls in net.getTrafficLights():
        for in_lane, _o, _x in tls.getConnections():
            lane_tls[in_lane.getID()] = tls.getID()
    out: dict[str, dict[str, dict[tuple[str, str], tuple[float, float]]]] = {}
    for tls in net.getTrafficLights():
        up_id = tls.getID()
        by_lane: dict[str, list[tuple[object, str]]] = {}
        for in_lane, out_lane, _x in tls.getConnections():
            conn = next((c for c in in_lane.getOutgoing() if c.getToLane() is out_lane), None)
            direction = conn.getDirection() if conn is not None else "s"
            by_lane.setdefault(in_lane.getID(), []).append((out_lane, direction))
        for up_lane, exits in by_lane.items():
            weights: dict[object, float] = {}
            for o, d in exits:
                w = _DIRECTION_WEIGHT.get(d, _TURN_WEIGHT)
                if w > 0:
                    weights[o] = weights.get(o, 0.0) + w
            total_w = sum(weights.values())
            for out_lane, w in weights.items():
                share = w / total_w
                for lane_id, down_share, dist in _reach(net, out_lane, lane_tls, up_id):
                    key = (up_id, up_lane)
                    links = out.setdefault(lane_tls[lane_id], {}).setdefault(lane_id, {})
                    before = links.get(key, (0.0, dist))
                    links[key] = (before[0] + share * down_share, min(before[1], dist))
    return {
        tls: {
            lane: tuple(
                UpstreamLink(j, up_lane, share, dist) for (j, up_lane), (share, dist) in links.items()
            )
            for lane, links in lanes.items()
        }
        for tls, lanes in out.items()
    }


def _reach(net, out_lane, lane_tls: dict[str, str], up_id: str) -> list[tuple[str, float, float]]:
    """Controlled lanes of other signals reached from `out_lane`: (lane, share, distance from the upstream stop
    line to their stop line). Branches split evenly, and over the lanes of the approach reached (lane changes);
    among those, the ones with a straight link take it all when there are any (bays for turns get none)."""
    found: list[tuple[str, float, float]] = []
    stack = [(out_lane, 1.0, out_lane.getLength(), 0)]
    while stack:
        lane, share, dist, depth = stack.pop()
        lid = lane.getID()
        if lid in lane_tls:
            if lane_tls[lid] != up_id:
                found.append((lid, share, dist))
            continue
        if dist > _FEED_REACH_M or depth > 20:
            continue
        nxt = [
            c.getToLane()
            for c in lane.getOutgoing()
            if c.getToLane().getEdge().getFunction() in ("", "normal")
            and c.getToLane().getEdge().getToNode() is not lane.getEdge().getFromNode()
        ]
        for n in nxt:
            stack.append((n, share / len(nxt), dist + n.getLength(), depth + 1))
    if not found:
        return []
    # vehicles change lanes along the approach: a share reaching one of its lanes spreads over all of them
    spread: list[tuple[str, float, float]] = []
    for lid, share, dist in found:
        lanes = [ln.getID() for ln in net.getLane(lid).getEdge().getLanes() if ln.getID() in lane_tls]
        spread.extend((other, share / len(lanes), dist) for other in lanes)
    found = spread
    straight = [f for f in found if any(c.getDirection() == "s" for c in net.getLane(f[0]).getOutgoing())]
    if straight and len(straight) < len(found):
        total = sum(s for _l, s, _d in found)
        kept = sum(s for _l, s, _d in straight)
        found = [(lid, s * total / kept, d) for lid, s, d in straight]
    return found


def _zones(net, in_lanes: list[str], controlled_in: set[str], range_m: float) -> dict[str, tuple[ZoneSegment, ...]]:
    raw: dict[str, list[tuple[str, float, float]]] = {}
    for lane_id in in_lanes:
        lane = net.getLane(lane_id)
        segs = [(lane_id, 0.0, lane.getLength())]
        frontier = [(lane, lane.getLength())]
        seen = {lane_id}
        while frontier:
            cur, reach = frontier.pop()
            if reach >= range_m:
                continue
            for pred in cur.getIncoming():
                pid = pred.getID()
                if pid in seen or pid in controlled_in or pred.getEdge().getFunction() not in ("", "normal"):
                    continue
                if pred.getEdge().getFromNode() is cur.getEdge().getToNode():
                    continue  # a turnaround is not the approach
                seen.add(pid)
                # the junction's internal lane between them (a lane split or merge, a few metres) is part of the
                # zone too: a vehicle crossing it would otherwise vanish for a step, and those upstream would be
                # that much nearer than they are
                gap = 0.0
                for conn in pred.getOutgoing():
                    if conn.getToLane() is cur and conn.getViaLaneID():
                        gap = math.dist(pred.getShape()[-1], cur.getShape()[0])
                        if gap > 0.0:
                            segs.append((conn.getViaLaneID(), reach, gap))
                        break
                segs.append((pid, reach + gap, pred.getLength()))
                frontier.append((pred, reach + gap + pred.getLength()))
        raw[lane_id] = segs
    feeders: dict[str, int] = {}
    for segs in raw.values():
        for lane, _off, _len in segs[1:]:
            feeders[lane] = feeders.get(lane, 0) + 1
    return {
        lane_id: tuple(ZoneSegment(lane, off, length, feeders.get(lane, 0) > 1 and off > 0) for lane, off, length in segs)
        for lane_id, segs in raw.items()
    }
