"""Pinhole camera geometry for the synthetic camera: pose from an approach's lane geometry, projection, homography.

Pure numpy: no SUMO, no drawing. World coordinates are SUMO's (x east, y north, metres) with z up; camera
coordinates are OpenCV's (x right, y down, z forward). Bearings follow SUMO's angle convention (degrees, 0 = north,
clockwise).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

__all__ = ["Approach", "CameraPose", "PinholeCamera", "clip_polygon_near", "pose_for_approach"]

FAR_VIEW_M = 55.0  # a generated camera sees at least this far upstream of the stop line
NEAR_M = 0.5  # near plane: geometry closer than this (under or behind the pole) is clipped


@dataclass(frozen=True, slots=True)
class Approach:
    """The incoming lanes of one junction approach, as ground polylines ending at the stop line.

    `lane_shapes[i]` is an (n, 2) array in world metres from upstream to the stop line; lanes are ordered right to
    left as SUMO numbers them (index 0 = rightmost). A lane that starts a short way before the stop line (a turn
    bay, a lane split) continues upstream through the lane that runs straight into it: `zone_shapes[i]` is that
    longer polyline (the lane's own shape where nothing continues it), and `upstream` maps each upstream lane
    (junction-internal ones included) to (the controlled lane it feeds, its end's distance to the stop line, m).
    """

    edge_id: str
    lane_ids: tuple[str, ...]
    lane_shapes: tuple[np.ndarray, ...]
    lane_widths_m: tuple[float, ...]
    zone_shapes: tuple[np.ndarray, ...] = ()
    upstream: dict[str, tuple[str, float]] = field(default_factory=dict)

    def zone_shape(self, i: int) -> np.ndarray:
        return self.zone_shapes[i] if self.zone_shapes else self.lane_shapes[i]

    @property
    def stop_centre(self) -> np.ndarray:
        return np.mean([s[-1] for s in self.lane_shapes], axis=0)

    @property
    def travel_dir(self) -> np.ndarray:
        """Unit vector of travel at the stop line (averaged over the lanes' last segments)."""
        d = np.zeros(2)
        for s in self.lane_shapes:
            seg = s[-1] - s[max(0, len(s) - 2)]
            n = np.linalg.norm(seg)
            if n > 1e-6:
                d += seg / n
        n = np.linalg.norm(d)
        return d / n if n > 1e-9 else np.array([0.0, 1.0])

    @property
    def width_m(self) -> float:
        return float(sum(self.lane_widths_m))


@dataclass(frozen=True, slots=True)
class CameraPose:
    x_m: float
    y_m: float
    height_m: float
    bearing_deg: float  # where the optical axis points, SUMO convention
    pitch_deg: float  # downwards positive
    roll_deg: float = 0.0


@dataclass(frozen=True)
class PinholeCamera:
    pose: CameraPose
    focal_px: float
    width_px: int
    height_px: int
    rotation: np.ndarray = field(init=False, repr=False)  # world -> camera rows (right, down, forward)
    centre: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        b, p, r = (math.radians(v) for v in (self.pose.bearing_deg, self.pose.pitch_deg, self.pose.roll_deg))
        fwd = np.array([math.cos(p) * math.sin(b), math.cos(p) * math.cos(b), -math.sin(p)])
        right = np.array([math.cos(b), -math.sin(b), 0.0])
        down = np.cross(fwd, right)
        if r:
            right, down = right * math.cos(r) + down * math.sin(r), down * math.cos(r) - right * math.sin(r)
        object.__setattr__(self, "rotation", np.stack([right, down, fwd]))
        object.__setattr__(self, "centre", np.array([self.pose.x_m, self.pose.y_m, self.pose.height_m]))

    @property
    def intrinsics(self) -> np.ndarray:
        return np.array(
            [[self.focal_px, 0, self.width_px / 2], [0, self.focal_px, self.height_px / 2], [0, 0, 1.0]]
        )

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """(n, 3) world points -> (n, 3) camera coordinates."""
        return (np.asarray(points, float) - self.centre) @ self.rotation.T

    def project_camera(self, cam: np.ndarray) -> np.ndarray:
        """(n, 3) camera coordinates (z > 0) -> (n, 2) pixels."""
        z = np.maximum(cam[:, 2], 1e-6)
        return np.stack(
            [self.focal_px * cam[:, 0] / z + self.width_px / 2, self.focal_px * cam[:, 1] / z + self.height_px / 2],
            axis=1,
        )

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(n, 3) world points -> ((n, 2) pixels, (n,) depth along the optical axis)."""
        cam = self.to_camera(points)
        return self.project_camera(cam), cam[:, 2]

    def ground_to_image(self) -> np.ndarray:
        """3x3 homography from world ground (x, y, z=0) to pixels."""
        t = -self.rotation @ self.centre
        return self.intrinsics @ np.column_stack([self.rotation[:, 0], self.rotation[:, 1], t])

    def image_to_ground(self) -> np.ndarray:
        h = np.linalg.inv(self.ground_to_image())
        return h / h[2, 2]

    def horizon_v(self) -> float:
        """Image row of the horizon (may lie outside the frame)."""
        p = math.radians(self.pose.pitch_deg)
        return self.height_px / 2 - self.focal_px * math.tan(p)


def clip_polygon_near(cam: np.ndarray, near: float = NEAR_M) -> np.ndarray:
    """Clip a convex or simple polygon in camera coordinates to z >= near (Sutherland-Hodgman, one plane)."""
    out: list[np.ndarray] = []
    n = len(cam)
    for i in range(n):
        a, b = cam[i], cam[(i + 1) % n]
        ina, inb = a[2] >= near, b[2] >= near
        if ina:
            out.append(a)
        if ina != inb:
            t = (near - a[2]) / (b[2] - a[2])
            out.append(a + t * (b - a))
    return np.array(out) if out else np.zeros((0, 3))


def pose_for_approach(
    approach: Approach,
    rng: np.random.Generator,
    *,
    width_px: int = 640,
    height_px: int = 360,
) -> PinholeCamera:
    """A plausible pole-mounted camera for an approach: 8-12 m up, at or past the stop line, looking upstream.

    The stop line lands in the lower part of the frame and the queue recedes towards the top, the usual traffic
    camera view. Height, setback, lateral offset, field of view, bearing and roll are randomised.
    """
    t = approach.travel_dir
    right_of_travel = np.array([t[1], -t[0]])
    half_w = approach.width_m / 2
    setback = rng.uniform(2.0, 22.0)  # past the stop line, into or across the junction
    lateral = rng.uniform(-half_w - 2.0, half_w + 2.0)
    height = rng.uniform(8.0, 12.0)
    pos = approach.stop_centre + t * setback + right_of_travel * lateral
    bearing_vec = -t
    bearing = math.degrees(math.atan2(bearing_vec[0], bearing_vec[1])) + rng.uniform(-6.0, 6.0)
    # aim a little towards the approach centre when offset sideways
    bearing += math.degrees(math.atan2(lateral, setback + 30.0)) * rng.uniform(0.3, 0.9)
    hfov = math.radians(rng.uniform(48.0, 72.0))
    focal = width_px / 2 / math.tan(hfov / 2)
    dist_to_stop = math.hypot(setback, lateral)
    angle_to_stop = math.atan2(height, dist_to_stop)
    angle_to_far = math.atan2(height, dist_to_stop + FAR_VIEW_M)
    stop_f, far_f = rng.uniform(0.74, 0.92), rng.uniform(0.06, 0.16)
    # widen the view when needed so that both the stop line and FAR_VIEW_M upstream of it are in frame
    need = 2 * math.tan((angle_to_stop - angle_to_far) / (2 * (stop_f - far_f)))
    focal = min(focal, height_px / need)
    stop_v = stop_f * height_px
    pitch = math.degrees(angle_to_stop - math.atan((stop_v - height_px / 2) / focal))
    pose = CameraPose(
        x_m=float(pos[0]),
        y_m=float(pos[1]),
        height_m=height,
        bearing_deg=bearing % 360.0,
        pitch_deg=float(np.clip(pitch, 4.0, 60.0)),
        roll_deg=rng.uniform(-2.0, 2.0),
    )
    cam = PinholeCamera(pose=pose, focal_px=focal, width_px=width_px, height_px=height_px)
    # the closed form above ignores yaw and roll: nudge the pitch until the stop line sits where it was aimed,
    # and widen the view while FAR_VIEW_M upstream is still above the frame
    stop = np.array([[*approach.stop_centre, 0.0]])
    far = np.array([[*(approach.stop_centre - t * FAR_VIEW_M), 0.0]])
    for _ in range(12):
        v = float(cam.project(stop)[0][0, 1])
        if abs(v - stop_v) >= 2.0:
            pose = replace(pose, pitch_deg=pose.pitch_deg + math.degrees(math.atan((v - stop_v) / focal)))
        elif float(cam.project(far)[0][0, 1]) < 0.03 * height_px:
            focal *= 0.92
        else:
            break
        cam = PinholeCamera(pose=pose, focal_px=focal, width_px=width_px, height_px=height_px)
    return cam
