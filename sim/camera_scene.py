"""Static road geometry of a SUMO network for the synthetic camera: asphalt, markings, stop lines, approaches.

Reads the network once through sumolib and keeps plain numpy polygons in world metres (x east, y north). Knows
nothing about cameras or drawing; see sim/camera.py for that.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim.camera_model import Approach
from sim.errors import ScenarioError

__all__ = ["RoadScene", "load_road_scene", "offset_polyline"]

DASH_M, GAP_M, LINE_W_M, STOP_W_M = 3.0, 6.0, 0.15, 0.4
ZONE_REACH_M = 150.0  # how far upstream an approach's lanes are followed (a camera's longest detection zone)


@dataclass(frozen=True)
class RoadScene:
    """World-space ground polygons of a network, and the signalised approaches a camera can watch."""

    asphalt: tuple[np.ndarray, ...]  # (n, 2) polygons
    markings: tuple[np.ndarray, ...]  # white paint, (n, 2) polygons
    approaches: tuple[tuple[str, Approach], ...]  # (junction id, approach) for every TLS-controlled incoming edge
    lane_lengths_m: dict[str, float]

    def near(self, xy: np.ndarray, radius_m: float) -> RoadScene:
        """Only the polygons with a vertex within `radius_m` of `xy` (keeps per-camera drawing cheap)."""

        def keep(polys: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
            return tuple(p for p in polys if np.min(np.sum((p - xy) ** 2, axis=1)) <= radius_m**2)

        return RoadScene(keep(self.asphalt), keep(self.markings), self.approaches, self.lane_lengths_m)


def offset_polyline(shape: np.ndarray, offset_m: float) -> np.ndarray:
    """Shift a polyline sideways by `offset_m` (positive = left of travel), mitring the joints."""
    pts = np.asarray(shape, float)
    seg = np.diff(pts, axis=0)
    norm = np.linalg.norm(seg, axis=1, keepdims=True)
    seg = seg / np.maximum(norm, 1e-9)
    left = np.stack([-seg[:, 1], seg[:, 0]], axis=1)
    normals = np.empty_like(pts)
    normals[0], normals[-1] = left[0], left[-1]
    if len(pts) > 2:
        mid = left[:-1] + left[1:]
        mid /= np.maximum(np.linalg.norm(mid, axis=1, keepdims=True), 1e-9)
        cos = np.sum(mid * left[1:], axis=1, keepdims=True)
        normals[1:-1] = mid / np.maximum(cos, 0.3)
    return pts + normals * offset_m


def _cut(shape: np.ndarray, start_m: float, end_m: float) -> np.ndarray:
    """The part of a polyline between two distances along it."""
    pts = np.asarray(shape, float)
    d = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
    start_m, end_m = max(0.0, start_m), min(d[-1], end_m)
    if end_m <= start_m:
        return np.zeros((0, 2))
    inner = pts[(d > start_m) & (d < end_m)]
    return np.vstack([[np.interp(start_m, d, pts[:, 0]), np.interp(start_m, d, pts[:, 1])], inner,
                      [np.interp(end_m, d, pts[:, 0]), np.interp(end_m, d, pts[:, 1])]])


def _strip(shape: np.ndarray, half_w: float, left_m: float = 0.0) -> list[np.ndarray]:
    """Convex quads covering a band of width 2*half_w centred `left_m` left of the polyline."""
    a, b = offset_polyline(shape, left_m + half_w), offset_polyline(shape, left_m - half_w)
    return [np.array([a[i], a[i + 1], b[i + 1], b[i]]) for i in range(len(shape) - 1)]


def _dashes(shape: np.ndarray, left_m: float) -> list[np.ndarray]:
    length = float(np.sum(np.linalg.norm(np.diff(shape, axis=0), axis=1)))
    out: list[np.ndarray] = []
    s = GAP_M / 2
    while s < length - 1.0:
        piece = _cut(shape, s, s + DASH_M)
        if len(piece) >= 2:
            out.extend(_strip(piece, LINE_W_M / 2, left_m))
        s += DASH_M + GAP_M
    return out


def lane_zone_polygon(shape: np.ndarray, width_m: float, zone_m: float) -> np.ndarray:
    """Ground polygon of the last `zone_m` metres of a lane (the detection zone before its stop line)."""
    length = float(np.sum(np.linalg.norm(np.diff(shape, axis=0), axis=1)))
    piece = _cut(shape, length - zone_m, length)
    left, right = offset_polyline(piece, width_m / 2), offset_polyline(piece, -width_m / 2)
    return np.vstack([left, right[::-1]])


def _upstream_chain(net: Any, lane: Any, shape: np.ndarray) -> tuple[np.ndarray, list[tuple[str, float]]]:
    """`lane`'s shape continued upstream, through unsignalised junctions, up to `ZONE_REACH_M` before its end.

    A camera sees the road, not SUMO's edges: a 50 m bay is the end of a longer road on the ground. Each step back
    takes the predecessor lane that runs on into the current one (of the lanes it feeds here, one with a straight-on
    connection ahead, then the nearest), so an upstream lane belongs to exactly one controlled lane's zone
    and its vehicles count where most of them go. Returns (the polyline, [(upstream lane id, its end's distance to the
    stop line)]), internal lanes included.
    """
    pts = [shape]
    members: list[tuple[str, float]] = []
    cur, reach = lane, float(lane.getLength())
    seen = {lane.getID()}
    while reach < ZONE_REACH_M:
        best = None
        for pred in cur.getIncoming():
            if pred.getID() in seen or pred.getEdge().getFunction() not in ("", "normal"):
                continue
            if pred.getEdge().getToNode().getType().startswith("traffic_light"):
                continue  # another signal's approach: its own camera's
            end = np.asarray(pred.getShape(), float)[-1, :2]
            fed = [c.getToLane() for c in pred.getOutgoing() if c.getToLane().getEdge() is cur.getEdge()]
            # the lane it runs on into: one going straight on ahead (through traffic outnumbers the turns a bay is
            # opened for), then the nearest
            ahead = min(fed, key=lambda t: (not any(c.getDirection() == "s" for c in t.getOutgoing()),
                                            float(np.linalg.norm(np.asarray(t.getShape(), float)[0, :2] - end))))
            if ahead is cur:
                conn = next(c for c in pred.getOutgoing() if c.getToLane() is cur)
                best = (pred, conn)
                break
        if best is None:
            break
        pred, conn = best
        via = conn.getViaLaneID()
        if via:
            via_lane = net.getLane(via)
            pts.insert(0, np.asarray(via_lane.getShape(), float)[:, :2])
            members.append((via, reach))
            reach += float(via_lane.getLength())
        pts.insert(0, np.asarray(pred.getShape(), float)[:, :2])
        members.append((pred.getID(), reach))
        reach += float(pred.getLength())
        seen.add(pred.getID())
        cur = pred
    joined = np.vstack(pts)
    keep = np.concatenate([[True], np.linalg.norm(np.diff(joined, axis=0), axis=1) > 1e-6])  # no zero-length joints
    return joined[keep], members


def load_road_scene(net_file: str | Path) -> RoadScene:
    """Read a .net.xml into a RoadScene.

    Raises:
        ScenarioError: the file cannot be read as a SUMO network.
    """
    import sumolib  # the adapter boundary: only this function touches sumolib

    try:
        net = sumolib.net.readNet(str(net_file), withInternal=True)
    except Exception as exc:  # sumolib raises bare exceptions from its SAX handler
        raise ScenarioError(f"{net_file}: expected a readable SUMO network, found {type(exc).__name__}: {exc}") from exc
    asphalt: list[np.ndarray] = []
    markings: list[np.ndarray] = []
    approaches: list[tuple[str, Approach]] = []
    lengths: dict[str, float] = {}
    for node in net.getNodes():
        shape = np.asarray(node.getShape(), float)
        if len(shape) >= 3:
            asphalt.append(shape[:, :2])
    for edge in net.getEdges(withInternal=True):
        lanes = [ln for ln in edge.getLanes() if ln.allows("passenger") or ln.allows("bus")]
        for ln in lanes:
            shp = np.asarray(ln.getShape(), float)[:, :2]
            lengths[ln.getID()] = float(ln.getLength())
            if len(shp) >= 2:
                asphalt.extend(_strip(shp, ln.getWidth() / 2 + 0.05))
        if edge.isSpecial() or edge.getFunction() == "internal" or not lanes:
            continue
        for i, ln in enumerate(lanes):
            shp = np.asarray(ln.getShape(), float)[:, :2]
            if len(shp) < 2:
                continue
            w = ln.getWidth()
            if i == 0:
                markings.extend(_strip(shp, LINE_W_M / 2, -w / 2 + 0.3))
            if i < len(lanes) - 1:
                markings.extend(_dashes(shp, w / 2))
            elif edge.getBidi() is None:
                markings.extend(_strip(shp, LINE_W_M / 2, w / 2 - 0.1))
        to_node = edge.getToNode()
        if to_node.getType().startswith("traffic_light"):
            shapes = tuple(np.asarray(ln.getShape(), float)[:, :2] for ln in lanes)
            if any(len(s) < 2 for s in shapes):
                continue
            for ln, shp in zip(lanes, shapes, strict=True):
                end = _cut(shp, lengths[ln.getID()] - STOP_W_M - 0.2, lengths[ln.getID()] - 0.2)
                if len(end) >= 2:
                    markings.extend(_strip(end, ln.getWidth() / 2 - 0.05))
            zone_shapes = []
            upstream: dict[str, tuple[str, float]] = {}
            for ln, shp in zip(lanes, shapes, strict=True):
                chain_shape, members = _upstream_chain(net, ln, shp)
                zone_shapes.append(chain_shape)
                upstream.update({lane_id: (ln.getID(), off) for lane_id, off in members})
            approaches.append(
                (
                    to_node.getID(),
                    Approach(
                        edge_id=edge.getID(),
                        lane_ids=tuple(ln.getID() for ln in lanes),
                        lane_shapes=shapes,
                        lane_widths_m=tuple(float(ln.getWidth()) for ln in lanes),
                        zone_shapes=tuple(zone_shapes),
                        upstream=upstream,
                    ),
                )
            )
    if not approaches:
        raise ScenarioError(f"{net_file}: expected at least one traffic-light junction, found none")
    return RoadScene(tuple(asphalt), tuple(markings), tuple(approaches), lengths)
