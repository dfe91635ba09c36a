"""Synthetic traffic camera: renders a frame of one junction approach from SUMO vehicle states, with exact truth.

What it draws: sky and ground, asphalt and markings from the network, roadside buildings and poles, vehicles as
shaded 3D boxes by type (car, van, truck, bus, motorcycle) in painter's order, shadows, and the viewing conditions
of sim/camera_effects.py (night with headlights and street lamps, dusk, rain). What it returns with each frame:
visible boxes and classes (heavily occluded vehicles dropped), per-lane vehicle and queued counts and queue length,
and, once per camera, lane polygons in pixels and the image -> approach-ground homography.

It does not talk to SUMO: vehicle states come in as `VehicleState` values (see sim/camera_sumo.py for libsumo).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from sim.camera_effects import Conditions, apply_sensor
from sim.camera_model import Approach, PinholeCamera, clip_polygon_near
from sim.camera_scene import RoadScene, lane_zone_polygon
from sim.camera_vehicles import CLASS_IDS, KIND_CLASS, VehicleState, vehicle_parts

__all__ = ["QUEUE_SPEED_MPS", "CameraFrame", "LaneTruth", "SyntheticCamera"]

QUEUE_SPEED_MPS = 0.5  # a vehicle slower than this counts as queued (stopped)
MIN_VISIBLE = 0.3  # boxes of vehicles with less of their area visible are dropped from the labels
MIN_BOX_PX = 6  # shorter box side, pixels; longer side at least 10
MAX_RANGE_M = 200.0  # vehicles farther from the camera are not drawn (a few pixels at most)


@dataclass(frozen=True, slots=True)
class LaneTruth:
    lane_id: str
    vehicles: int
    queued: int
    queue_m: float


@dataclass(frozen=True)
class CameraFrame:
    image: np.ndarray  # HxWx3 BGR uint8
    boxes_xyxy: np.ndarray  # (n, 4) float32 pixels, visible extent
    classes: np.ndarray  # (n,) int, indices into CLASSES
    vehicle_ids: tuple[str, ...]
    lanes: dict[str, LaneTruth]
    conditions: Conditions


def _colour(vid: str, palette: Sequence[tuple[int, int, int]]) -> tuple[int, int, int]:
    return palette[zlib.crc32(vid.encode()) % len(palette)]


class SyntheticCamera:
    """One pole camera over one approach. Static layers are drawn once; `render` adds the vehicles."""

    def __init__(
        self,
        scene: RoadScene,
        approach: Approach,
        camera: PinholeCamera,
        conditions: Conditions,
        *,
        zone_m: float = 60.0,
        seed: int = 0,
    ) -> None:
        self.approach = approach
        self.camera = camera
        self.conditions = conditions
        self.zone_m = zone_m
        self._rng = np.random.default_rng(seed)
        self._scene = scene.near(camera.centre[:2], 260.0)
        w, h = camera.width_px, camera.height_px
        self._size = (w, h)
        self.zone_m = min(zone_m, self._visible_upstream_m(zone_m))
        # each lane's zone runs upstream along the road (approach.zone_shape: a bay continues into the lane before it)
        self.lane_polygons = {
            lid: poly
            for i, (lid, wd) in enumerate(zip(approach.lane_ids, approach.lane_widths_m, strict=True))
            if (poly := self._image_polygon(lane_zone_polygon(approach.zone_shape(i), wd, self.zone_m),
                                            clip_to_frame=True)) is not None
        }
        self.homography = self._approach_homography()
        self._frame_rect = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
        self._static = self._draw_static()
        self._lamps = self._lamp_light() if conditions.headlights else None

    # ---- geometry -------------------------------------------------------------------------------------------
    def _image_polygon(self, ground: np.ndarray, *, clip_to_frame: bool = False) -> np.ndarray | None:
        pts = np.column_stack([ground, np.zeros(len(ground))]) if ground.shape[1] == 2 else ground
        cam = clip_polygon_near(self.camera.to_camera(pts))
        if len(cam) < 3:
            return None
        uv = self.camera.project_camera(cam)
        if clip_to_frame:
            w, h = self._size
            uv = _clip_rect(uv, w - 1, h - 1)
            if len(uv) < 3 or cv2.contourArea(uv.astype(np.float32)) < 20:
                return None
        return uv

    def _visible_upstream_m(self, zone_m: float) -> float:
        """How far upstream of the stop line the approach centre stays in frame (with room for a car's body)."""
        t, c = self.approach.travel_dir, self.approach.stop_centre
        w, h = self._size
        best = 0.0
        for d in np.arange(2.0, zone_m + 0.1, 1.0):
            p = np.array([[*(c - t * d), 0.0]])
            uv, depth = self.camera.project(p)
            if depth[0] <= 0.5 or not (0 <= uv[0, 0] < w and 0.08 * h <= uv[0, 1] < h):
                break
            best = float(d)
        return max(best, 5.0)

    def _approach_homography(self) -> np.ndarray:
        """image -> approach ground: x metres right of travel, y metres upstream of the stop line."""
        t = self.approach.travel_dir
        r, u, c = np.array([t[1], -t[0]]), -t, self.approach.stop_centre
        a = np.array([[r[0], r[1], -r @ c], [u[0], u[1], -u @ c], [0, 0, 1.0]])
        hm = a @ self.camera.image_to_ground()
        return hm / hm[2, 2]

    def stop_line_px(self) -> dict[str, tuple[tuple[float, float], tuple[float, float]]]:
        out = {}
        for lid, shp, wd in zip(self.approach.lane_ids, self.approach.lane_shapes, self.approach.lane_widths_m,
                                strict=True):
            d = shp[-1] - shp[-2]
            n = np.array([-d[1], d[0]]) / max(float(np.linalg.norm(d)), 1e-9)
            ends = np.array([[*(shp[-1] + n * wd / 2), 0.0], [*(shp[-1] - n * wd / 2), 0.0]])
            uv, depth = self.camera.project(ends)
            if np.all(depth > 0.5):
                out[lid] = ((float(uv[0, 0]), float(uv[0, 1])), (float(uv[1, 0]), float(uv[1, 1])))
        return out

    def camera_config(self, name: str, source: str = "synthetic") -> dict[str, Any]:
        """A `kind: camera` config body for this view (lane zones, stop lines, homography)."""
        stops = self.stop_line_px()
        lanes = []
        for lid, poly in self.lane_polygons.items():
            zone: dict[str, Any] = {"lane": lid, "polygon": [[round(float(x), 1), round(float(y), 1)] for x, y in poly]}
            if lid in stops:
                zone["stop_line"] = [[round(v, 1) for v in p] for p in stops[lid]]
            lanes.append(zone)
        return {
            "name": name,
            "source": source,
            "lanes": lanes,
            "homography": [[float(v) for v in row] for row in self.homography],
            "zone_m": self.zone_m,
        }

    # ---- static layers --------------------------------------------------------------------------------------
    def _fill(self, img: np.ndarray, ground: np.ndarray, colour: Any, z: float = 0.0) -> None:
        pts = np.column_stack([ground, np.full(len(ground), z)])
        poly = self._image_polygon(pts)
        if poly is not None:
            cv2.fillPoly(img, [np.round(poly * 16).astype(np.int32)], colour, cv2.LINE_AA, shift=4)

    def _draw_static(self) -> np.ndarray:
        rng, (w, h) = self._rng, self._size
        img = np.zeros((h, w, 3), np.uint8)
        hv = int(np.clip(self.camera.horizon_v(), -1, h))
        sky_top, sky_low = np.array(rng.uniform([150, 110, 80], [235, 200, 170])), np.array([225, 215, 205.0])
        if hv > 0:
            grad = np.linspace(0, 1, hv)[:, None]
            img[:hv] = (sky_top * (1 - grad) + sky_low * grad)[:, None, :].astype(np.uint8)
        grass = rng.choice([(60, 110, 80), (90, 120, 110), (120, 130, 135), (80, 95, 100)])
        img[max(hv, 0):] = grass
        tex = cv2.resize(rng.normal(0, 12, (h // 8 + 1, w // 8 + 1)).astype(np.float32), (w, h))
        img[max(hv, 0):] = np.clip(img[max(hv, 0):] + tex[max(hv, 0):, :, None], 0, 255).astype(np.uint8)
        grey = int(rng.integers(60, 115)) if self.conditions.rain == 0 else int(rng.integers(45, 80))
        for poly in self._scene.asphalt:
            self._fill(img, poly, (grey, grey, grey + 3))
        road_mask = np.all(img == (grey, grey, grey + 3), axis=2)
        noise = rng.normal(0, 6, (h, w)).astype(np.float32)
        img[road_mask] = np.clip(img[road_mask] + noise[road_mask, None], 0, 255).astype(np.uint8)
        paint = int(rng.integers(170, 235))
        for poly in self._scene.markings:
            self._fill(img, poly, (paint, paint, paint), 0.01)
        self._draw_roadside(img)
        return img

    def _draw_roadside(self, img: np.ndarray) -> None:
        """Buildings and poles off the road: things that are not vehicles, for the detector to learn to ignore."""
        rng = self._rng
        t = self.approach.travel_dir
        r = np.array([t[1], -t[0]])
        quads = [p.astype(np.float32) for p in self._scene.asphalt]
        boxes = []
        for _ in range(int(rng.integers(2, 9))):
            side = rng.choice([-1.0, 1.0])
            size = rng.uniform(6, 20, 2)
            pole = rng.random() < 0.35
            if pole:
                size = np.array([0.3, 0.3])
            gap = rng.uniform(1.5, 4) if pole else rng.uniform(4, 25)
            centre = (self.approach.stop_centre - t * rng.uniform(-10, 140)
                      + r * side * (self.approach.width_m / 2 + gap + size[0] / 2))
            radius = float(np.hypot(*size) / 2)
            if any(cv2.pointPolygonTest(q, (float(centre[0]), float(centre[1])), True) > -radius - 1.0
                   for q in quads):
                continue
            height = rng.uniform(6, 9) if pole else rng.uniform(4, 25)
            colour = tuple(int(c) for c in rng.integers(60, 200, 3))
            boxes.append((centre, size, height, colour))
        boxes.sort(key=lambda b: -float(np.linalg.norm(b[0] - self.camera.centre[:2])))
        for centre, size, height, colour in boxes:
            u, v = t * size[1] / 2, r * size[0] / 2
            foot = np.array([centre - u - v, centre + u - v, centre + u + v, centre - u + v])
            for face, shade in self._box_faces(foot, 0.0, height):
                poly = self._image_polygon(face)
                if poly is not None:
                    cv2.fillPoly(img, [np.round(poly * 16).astype(np.int32)],
                                 tuple(int(c * shade) for c in colour), cv2.LINE_AA, shift=4)

    def _box_faces(self, foot: np.ndarray, z0: float, z1: float, top_face: bool = True
                   ) -> list[tuple[np.ndarray, float]]:
        """Visible faces of an upright box over footprint `foot` (4x2, counter-clockwise), with a shade factor."""
        cond, cam = self.conditions, self.camera.centre
        sun = _sun_vector(cond)
        faces = []
        lo = np.column_stack([foot, np.full(4, z0)])
        hi = np.column_stack([foot, np.full(4, z1)])
        top = hi
        if top_face and cam[2] > z1:
            faces.append((top, 0.55 + 0.45 * max(0.0, sun[2]) if sun is not None else 0.95))
        centre = foot.mean(axis=0)
        for i in range(4):
            j = (i + 1) % 4
            mid = (foot[i] + foot[j]) / 2
            normal = mid - centre
            normal /= max(float(np.linalg.norm(normal)), 1e-9)
            if float(normal @ (cam[:2] - mid)) <= 0:
                continue
            shade = 0.5 + 0.45 * max(0.0, float(normal @ sun[:2])) if sun is not None else 0.7 + 0.1 * (i % 2)
            faces.append((np.array([lo[i], lo[j], hi[j], hi[i]]), shade))
        return faces

    def _lamp_light(self) -> np.ndarray:
        """Street-lamp pools on the road along the approach, as a light map (H, W) float32."""
        w, h = self._size
        light = np.zeros((h, w), np.float32)
        t = self.approach.travel_dir
        r = np.array([t[1], -t[0]])
        spacing = self._rng.uniform(25, 40)
        ang = np.linspace(0, 2 * np.pi, 16, endpoint=False)
        for k in range(6):
            c = self.approach.stop_centre - t * (k * spacing + 5) + r * self.approach.width_m * 0.3
            circle = c + 7.0 * np.column_stack([np.cos(ang), np.sin(ang)])
            poly = self._image_polygon(np.column_stack([circle, np.zeros(16)]))
            if poly is not None:
                cv2.fillPoly(light, [np.round(poly).astype(np.int32)], 0.9)
        return cv2.GaussianBlur(light, (0, 0), 12)

    # ---- vehicles -------------------------------------------------------------------------------------------
    def render(self, vehicles: Sequence[VehicleState], rng: np.random.Generator | None = None) -> CameraFrame:
        rng = rng or self._rng
        cond, cam = self.conditions, self.camera
        w, h = self._size
        img = self._static.copy()
        ids = np.zeros((h, w), np.uint16)
        drawn: list[tuple[VehicleState, int, float, tuple[int, int, int, int]]] = []
        near = [v for v in vehicles if (v.x_m - cam.centre[0]) ** 2 + (v.y_m - cam.centre[1]) ** 2 < MAX_RANGE_M**2]
        near.sort(key=lambda v: -((v.x_m - cam.centre[0]) ** 2 + (v.y_m - cam.centre[1]) ** 2))
        shadow = np.zeros((h, w), np.uint8) if cond.shadows else None
        beams = np.zeros((h // 2, w // 2), np.float32) if cond.headlights else None
        lights: list[tuple[np.ndarray, float, bool, int]] = []
        for v in near:
            parts = vehicle_parts(v)
            corners = np.concatenate([p.corners for p in parts])
            cc = cam.to_camera(corners)
            if np.any(cc[:, 2] < 0.6):
                continue
            uv = cam.project_camera(cc)
            x0, y0 = np.floor(uv.min(axis=0)).astype(int)
            x1, y1 = np.ceil(uv.max(axis=0)).astype(int)
            if x1 < 0 or y1 < 0 or x0 >= w or y0 >= h:
                continue
            idx = len(drawn) + 1
            hull = cv2.convexHull(uv.astype(np.float32))
            area, _ = cv2.intersectConvexConvex(hull, self._frame_rect)  # in-frame part only: cut-off is not hidden
            if shadow is not None:
                self._shadow(shadow, v)
            if beams is not None:
                self._beam(beams, v)
            self._draw_vehicle(img, ids, idx, v, parts)
            drawn.append((v, idx, area, (max(x0, 0), max(y0, 0), min(x1, w - 1), min(y1, h - 1))))
            lights.append((uv, float(cc[:, 2].min()), self._faces_camera(v), idx))
        if shadow is not None:
            # shadows go under the vehicles: darken only ground pixels (id 0) after all vehicles are drawn
            k = (shadow > 0) & (ids == 0)
            img[k] = (img[k] * (0.55 if cond.name == "day" else 0.75)).astype(np.uint8)
        img_f = self._light(img, ids, lights, beams, near_vehicles=[d[0] for d in drawn])
        out, (dx, dy) = apply_sensor(img_f, cond, rng)
        boxes, classes, vids = [], [], []
        for v, idx, area, (x0, y0, x1, y1) in drawn:
            roi = ids[y0 : y1 + 1, x0 : x1 + 1] == idx
            vis = int(roi.sum())
            if vis == 0 or vis < MIN_VISIBLE * area:
                continue
            rows, cols = np.flatnonzero(roi.any(axis=1)), np.flatnonzero(roi.any(axis=0))
            bx0, by0 = x0 + cols[0] + dx, y0 + rows[0] + dy
            bx1, by1 = x0 + cols[-1] + 1 + dx, y0 + rows[-1] + 1 + dy
            bx0, by0, bx1, by1 = max(bx0, 0), max(by0, 0), min(bx1, w), min(by1, h)
            if min(bx1 - bx0, by1 - by0) < MIN_BOX_PX or max(bx1 - bx0, by1 - by0) < 10:
                continue
            boxes.append((bx0, by0, bx1, by1))
            classes.append(CLASS_IDS[KIND_CLASS[v.kind]])
            vids.append(v.vehicle_id)
        return CameraFrame(
            image=out,
            boxes_xyxy=np.array(boxes, np.float32).reshape(-1, 4),
            classes=np.array(classes, np.int64),
            vehicle_ids=tuple(vids),
            lanes=self.lane_truth(vehicles),
            conditions=cond,
        )

    def lane_truth(self, vehicles: Sequence[VehicleState]) -> dict[str, LaneTruth]:
        """Exact per-lane counts in the zone (front bumper within zone_m of the stop line)."""
        acc: dict[str, list[tuple[float, VehicleState]]] = {lid: [] for lid in self.approach.lane_ids}
        upstream = self.approach.upstream
        for v in vehicles:
            lane, dist = v.lane_id, v.dist_to_stop_m
            if lane in upstream:  # on the road before a bay: in the zone of the lane it runs on into
                lane, offset_m = upstream[lane]
                dist += offset_m
            if lane in acc and 0.0 <= dist <= self.zone_m:
                acc[lane].append((dist, v))
        out = {}
        for lid, dvs in acc.items():
            vs = [v for _d, v in dvs]
            queued = [(d, v) for d, v in dvs if v.speed_mps < QUEUE_SPEED_MPS]
            queue_m = max((d + v.length_m for d, v in queued), default=0.0)
            out[lid] = LaneTruth(lid, len(vs), len(queued), min(queue_m, self.zone_m))
        return out

    def _faces_camera(self, v: VehicleState) -> bool:
        a = math.radians(v.angle_deg)
        return float(np.array([math.sin(a), math.cos(a)]) @ (self.camera.centre[:2] - [v.x_m, v.y_m])) > 0

    def _draw_vehicle(self, img: np.ndarray, ids: np.ndarray, idx: int, v: VehicleState, parts: list[Any]) -> None:
        cam = self.camera.centre
        order = sorted(parts, key=lambda p: (p.overlay, -float(np.linalg.norm(p.corners.mean(axis=0) - cam))))
        for part in order:
            foot = part.corners[:4, :2]
            for face, shade in self._box_faces(foot, part.z0, part.z1, top_face=not part.overlay):
                colour = part.colour_top if face[0, 2] == face[2, 2] else part.colour_side
                poly = self._image_polygon(face)
                if poly is None:
                    continue
                pts = np.round(poly * 16).astype(np.int32)
                cv2.fillPoly(img, [pts], tuple(int(min(255, c * shade)) for c in colour), cv2.LINE_AA, shift=4)
                cv2.fillPoly(ids, [pts], idx, cv2.LINE_8, shift=4)

    def _shadow(self, mask: np.ndarray, v: VehicleState) -> None:
        sun = _sun_vector(self.conditions)
        if sun is None:
            return
        foot = vehicle_parts(v)[0].corners[:4, :2]
        reach = min(v.height_m / max(math.tan(math.radians(self.conditions.sun_elevation_deg)), 0.1), 15.0)
        pts = np.vstack([foot, foot - sun[:2] / max(float(np.linalg.norm(sun[:2])), 1e-9) * reach])
        hull = cv2.convexHull(pts.astype(np.float32)).reshape(-1, 2)
        poly = self._image_polygon(hull.astype(float))
        if poly is not None:
            cv2.fillPoly(mask, [np.round(poly * 16).astype(np.int32)], 255, cv2.LINE_8, shift=4)

    def _beam(self, beams: np.ndarray, v: VehicleState) -> None:
        a = math.radians(v.angle_deg)
        hd, rt = np.array([math.sin(a), math.cos(a)]), np.array([math.cos(a), -math.sin(a)])
        f = np.array([v.x_m, v.y_m])
        tri = np.array([f - rt * v.width_m / 2, f + rt * v.width_m / 2, f + hd * 22 + rt * 4, f + hd * 22 - rt * 4])
        poly = self._image_polygon(tri)
        if poly is not None:
            cv2.fillPoly(beams, [np.round(poly / 2).astype(np.int32)], 0.7)

    def _light(self, img: np.ndarray, ids: np.ndarray, lights: list[Any], beams: np.ndarray | None,
               near_vehicles: list[VehicleState]) -> np.ndarray:
        cond = self.conditions
        tint = np.array(cond.tint_bgr, np.float32)
        img_f = img.astype(np.float32)
        if not cond.headlights:
            return img_f * (cond.ambient * tint)
        w, h = self._size
        light = np.full((h, w), cond.ambient, np.float32)
        if self._lamps is not None and cond.name == "night":
            light += self._lamps
        if beams is not None:
            light += cv2.resize(cv2.GaussianBlur(beams, (0, 0), 4), (w, h)) * (1.0 if cond.name == "night" else 0.4)
        img_f *= light[:, :, None] * tint
        glow = np.zeros((h, w, 3), np.float32)
        for (uv, depth, front, idx), v in zip(lights, near_vehicles, strict=True):
            rad = max(1.2, self.camera.focal_px * (0.12 if v.kind != "motorcycle" else 0.09) / depth)
            spots = _light_spots(uv, v, front)
            colour = (230.0, 245.0, 255.0) if front else (30.0, 30.0, 230.0)
            for sx, sy in spots:
                xi, yi = int(sx), int(sy)
                if 0 <= xi < w and 0 <= yi < h and ids[yi, xi] == idx:
                    cv2.circle(glow, (xi, yi), int(math.ceil(rad)), colour, -1, cv2.LINE_AA)
        img_f += glow + cv2.GaussianBlur(glow, (0, 0), 3.0) * 1.5
        return img_f


def _light_spots(uv: np.ndarray, v: VehicleState, front: bool) -> list[tuple[float, float]]:
    """Pixel positions of the head or tail lights from the first part's corners (box corner order, see vehicles)."""
    c = uv[:8]  # body part: 0-3 bottom (rear-left, front-left, front-right, rear-right), 4-7 top
    pick = (1, 2) if front else (0, 3)
    lo, hi = c[list(pick)], c[[p + 4 for p in pick]]
    pts = lo * 0.45 + hi * 0.55
    if v.kind == "motorcycle":
        return [tuple(pts.mean(axis=0))]
    inset = (pts[1] - pts[0]) * 0.12
    return [tuple(pts[0] + inset), tuple(pts[1] - inset)]


def _sun_vector(cond: Conditions) -> np.ndarray | None:
    if cond.sun_elevation_deg <= 0:
        return None
    az, el = math.radians(cond.sun_azimuth_deg), math.radians(cond.sun_elevation_deg)
    return np.array([math.cos(el) * math.sin(az), math.cos(el) * math.cos(az), math.sin(el)])


def _clip_rect(poly: np.ndarray, xmax: float, ymax: float) -> np.ndarray:
    """Sutherland-Hodgman clip of a pixel polygon to [0, xmax] x [0, ymax]."""
    pts = [tuple(p) for p in poly]
    for axis, bound, keep_less in ((0, 0.0, False), (0, xmax, True), (1, 0.0, False), (1, ymax, True)):
        out: list[tuple[float, float]] = []
        for i in range(len(pts)):
            a, b = pts[i], pts[(i + 1) % len(pts)]
            ina = a[axis] <= bound if keep_less else a[axis] >= bound
            inb = b[axis] <= bound if keep_less else b[axis] >= bound
            if ina:
                out.append(a)
            if ina != inb:
                t = (bound - a[axis]) / (b[axis] - a[axis])
                out.append((a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])))
        pts = out
        if not pts:
            break
    return np.array(pts, float).reshape(-1, 2)
