"""What the harness needs to know about a SUMO network, read once with sumolib: signals, their links and programs,
and the detection zone of each controlled lane.

The zone of a controlled lane reaches `range_m` upstream, following lanes back through unsignalised junctions (some
controlled lanes in real nets are under 1 m long: counting only that lane starves an approach). Adapter code: it
reads SUMO files and hands plain values to controller/.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sumolib

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


def read_topology(net_file: Path, *, range_m: float) -> NetTopology:
    """Read signals, links, programs and detection zones.

    Raises:
        ScenarioError: the file is not a SUMO network.
    """
    try:
        net = sumolib.net.readNet(str(net_file), withPrograms=True, withInternal=False)
    except Exception as exc:  # sumolib raises bare parser errors
        raise ScenarioError(f"{net_file}: expected a SUMO .net.xml, found unreadable network ({exc})") from exc
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
            programs[pid] = tuple(
                ProgramPhase(
                    state=ph.state,
                    duration_s=float(ph.duration),
                    min_dur_s=None if ph.minDur is None or ph.minDur < 0 else float(ph.minDur),
                    max_dur_s=None if ph.maxDur is None or ph.maxDur < 0 else float(ph.maxDur),
                )
                for ph in prog.getPhases()
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
    return NetTopology(net_file=net_file, signals=signals)


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
                segs.append((pid, reach, pred.getLength()))
                frontier.append((pred, reach + pred.getLength()))
        raw[lane_id] = segs
    feeders: dict[str, int] = {}
    for segs in raw.values():
        for lane, _off, _len in segs[1:]:
            feeders[lane] = feeders.get(lane, 0) + 1
    return {
        lane_id: tuple(ZoneSegment(lane, off, length, feeders.get(lane, 0) > 1 and off > 0) for lane, off, length in segs)
        for lane_id, segs in raw.items()
    }
