"""Synthetic camera: projection and homography, pose from lane geometry, rendering truth (boxes, occlusion, lanes)."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from configs.vision import CameraConfig
from sim.camera import SyntheticCamera
from sim.camera_effects import random_conditions
from sim.camera_model import Approach, CameraPose, PinholeCamera, pose_for_approach
from sim.camera_scene import RoadScene, lane_zone_polygon
from sim.camera_vehicles import CLASS_IDS, VehicleState, kind_for

LANE_W = 3.2


def make_approach(n_lanes: int = 2) -> Approach:
    """A straight road heading north, stop line at y = 0, lanes right (index 0, east) to left."""
    xs = [LANE_W * (n_lanes - 1 - i) - LANE_W * (n_lanes - 1) / 2 for i in range(n_lanes)]
    shapes = tuple(np.array([[x, -200.0], [x, 0.0]]) for x in xs)
    return Approach("in", tuple(f"in_{i}" for i in range(n_lanes)), shapes, (LANE_W,) * n_lanes)


def make_scene(approach: Approach) -> RoadScene:
    road = np.array([[-8, -220], [8, -220], [8, 40], [-8, 40.0]])
    return RoadScene((road,), (), (("J", approach),), {lid: 200.0 for lid in approach.lane_ids})


def fixed_camera() -> PinholeCamera:
    return PinholeCamera(CameraPose(0.0, 10.0, 10.0, 180.0, 30.0), focal_px=500.0, width_px=640, height_px=360)


def car(vid: str, lane: int, dist: float, approach: Approach, kind: str = "car", speed: float = 0.0,
        length: float = 4.5) -> VehicleState:
    x = approach.lane_shapes[lane][0, 0]
    return VehicleState(vid, x, -dist, 0.0, length, 1.8 if kind == "car" else 2.5, kind, speed,
                        approach.lane_ids[lane], dist)


def test_projection_centre_and_homography_agree() -> None:
    cam = fixed_camera()
    fwd = cam.rotation[2]
    uv, depth = cam.project(cam.centre + 20 * fwd[None])
    assert uv[0] == pytest.approx([320, 180]) and depth[0] == pytest.approx(20)
    ground = np.array([[1.5, -30.0, 0.0], [-3.0, -12.0, 0.0]])
    uv, _ = cam.project(ground)
    h = cam.image_to_ground()
    back = (h @ np.column_stack([uv, np.ones(2)]).T).T
    assert back[:, :2] / back[:, 2:] == pytest.approx(ground[:, :2])


def test_generated_pose_sees_stop_line_and_far_upstream() -> None:
    ap = make_approach(3)
    for seed in range(20):
        cam = pose_for_approach(ap, np.random.default_rng(seed))
        assert 8 <= cam.pose.height_m <= 12
        uv, depth = cam.project(np.array([[0, 0, 0], [0, -50, 0.0]]))
        assert np.all(depth > 0)
        assert 0.6 * 360 < uv[0, 1] < 360 and 0 < uv[1, 1] < uv[0, 1]  # stop line low, upstream higher


def test_render_truth_boxes_classes_and_lane_counts() -> None:
    ap = make_approach()
    cam = SyntheticCamera(make_scene(ap), ap, fixed_camera(), random_conditions(np.random.default_rng(0), "day"))
    vehicles = [car("a", 0, 2.0, ap), car("b", 1, 10.0, ap, speed=8.0), car("bus", 1, 25.0, ap, "bus", length=12),
                car("far", 0, 90.0, ap)]
    fr = cam.render(vehicles, np.random.default_rng(1))
    assert fr.image.shape == (360, 640, 3)
    assert set(fr.vehicle_ids) >= {"a", "b", "bus"}
    assert fr.classes[fr.vehicle_ids.index("bus")] == CLASS_IDS["bus"]
    assert 26 <= cam.zone_m <= 60
    assert (fr.lanes["in_0"].vehicles, fr.lanes["in_0"].queued) == (1, 1)  # "far" is beyond the zone
    assert (fr.lanes["in_1"].vehicles, fr.lanes["in_1"].queued) == (2, 1)
    assert fr.lanes["in_1"].queue_m == pytest.approx(min(37.0, cam.zone_m))  # capped at the visible zone
    # each box's bottom-centre anchor falls in its own lane's polygon
    import cv2

    for vid, lane in (("a", "in_0"), ("b", "in_1")):
        x0, y0, x1, y1 = fr.boxes_xyxy[fr.vehicle_ids.index(vid)]
        poly = cam.lane_polygons[lane].astype(np.float32)
        assert cv2.pointPolygonTest(poly, (float((x0 + x1) / 2), float(y1) - 2), False) >= 0


def test_vehicle_hidden_behind_a_bus_is_dropped_from_labels() -> None:
    ap = make_approach(1)
    cam = SyntheticCamera(make_scene(ap), ap, fixed_camera(), random_conditions(np.random.default_rng(0), "day"))
    bus = car("bus", 0, 5.0, ap, "bus", length=12.0)
    hidden = car("hidden", 0, 18.5, ap)  # right behind the bus as seen from the pole
    fr = cam.render([bus, hidden], np.random.default_rng(0))
    assert "bus" in fr.vehicle_ids and "hidden" not in fr.vehicle_ids
    assert fr.lanes["in_0"].vehicles == 2  # the truth still counts it


def test_night_is_darker_than_day_and_config_validates() -> None:
    ap = make_approach()
    scene = make_scene(ap)
    vehicles = [car("a", 0, 8.0, ap)]
    day = SyntheticCamera(scene, ap, fixed_camera(), random_conditions(np.random.default_rng(3), "day"))
    night = SyntheticCamera(scene, ap, fixed_camera(), random_conditions(np.random.default_rng(3), "night"))
    assert night.render(vehicles).image.mean() < 0.6 * day.render(vehicles).image.mean()
    cfg = CameraConfig.model_validate(day.camera_config("north"))
    assert [z.lane for z in cfg.lanes] == ["in_0", "in_1"] and cfg.homography is not None
    # the homography takes the stop line centre to (0, 0) and a point 20 m upstream to y = 20
    cam = day.camera
    uv, _ = cam.project(np.array([[0.0, 0.0, 0.0], [0.0, -20.0, 0.0]]))
    g = np.array(cfg.homography) @ np.column_stack([uv, np.ones(2)]).T
    got = (g[:2] / g[2]).T
    assert got == pytest.approx(np.array([[0, 0], [0, 20.0]]), abs=1e-6)


def test_lane_zone_polygon_covers_the_last_metres() -> None:
    poly = lane_zone_polygon(np.array([[0.0, -100.0], [0.0, 0.0]]), 3.0, 30.0)
    assert poly[:, 1].min() == pytest.approx(-30) and poly[:, 1].max() == pytest.approx(0)
    assert np.ptp(poly[:, 0]) == pytest.approx(3.0)


@pytest.mark.parametrize(("type_id", "vclass", "kind"), [("bus", "bus", "bus"), ("pkw", "passenger", "car"),
                                                         ("DEFAULT_VEHTYPE", "delivery", "van"),
                                                         ("truck_long", "truck", "truck"), ("x", "moped", "motorcycle")])
def test_kind_for(type_id: str, vclass: str, kind: str) -> None:
    assert kind_for(type_id, vclass) == kind


def test_sumo_generated_scenario_renders(tmp_path) -> None:
    from sim.dataset import SumoFilm, generate_scenario

    scn = generate_scenario("grid", 3, tmp_path, end_s=120)
    rng = np.random.default_rng(0)
    with SumoFilm(scn.sumo_args(), scn.net_file, seed=0) as film:
        film.step(60)
        assert film.reader is not None
        states = film.reader.read()
        assert states and all(math.isfinite(v.x_m) for v in states)
        fr = film.camera(rng, "rain").render(states, rng)
    assert fr.image.shape == (360, 640, 3) and len(fr.boxes_xyxy) == len(fr.classes)


def test_bay_lane_zone_runs_on_upstream_into_the_road_before_it() -> None:
    """corridor's arterial lanes at J2 are 50 m bays: a camera sees the road before them, and counts a vehicle there
    in the zone of the lane it runs on into (the through lane, not the left bay that opens beside it)."""
    from sim.camera_scene import load_road_scene
    from sim.compare import resolve_scenario
    from sim.sumocfg import read_sumocfg

    _, cfg = resolve_scenario("corridor")
    scene = load_road_scene(read_sumocfg(cfg).net_file)
    ap = next(a for node, a in scene.approaches if node == "J2" and a.edge_id == "J2_E_bay")
    assert ap.upstream["J2_E_in_0"] == ("J2_E_bay_0", pytest.approx(58.5, abs=1.0))
    assert ap.upstream["J2_E_in_1"][0] == "J2_E_bay_1"  # through traffic: not the left bay J2_E_bay_2
    assert "J2_E_bay_2" not in {lane for lane, _off in ap.upstream.values()}
    lengths = [float(np.sum(np.linalg.norm(np.diff(ap.zone_shape(i), axis=0), axis=1))) for i in range(3)]
    assert lengths[0] > 200.0 and lengths[1] > 200.0 and lengths[2] == pytest.approx(50.0, abs=0.5)

    cam = SyntheticCamera(scene, ap, pose_for_approach(ap, np.random.default_rng(0)), random_conditions(
        np.random.default_rng(0), "day"), zone_m=80.0)
    # the zone polygon reaches past the bay's start: the lane centre 70 m before the stop line is inside it
    shape = ap.zone_shape(0)[::-1]  # from the stop line upstream
    seg = np.linalg.norm(np.diff(shape, axis=0), axis=1)
    along = np.concatenate([[0.0], np.cumsum(seg)])
    point = [np.interp(70.0, along, shape[:, 0]), np.interp(70.0, along, shape[:, 1]), 0.0]
    uv, _ = cam.camera.project(np.array([point]))
    poly = cam.lane_polygons["J2_E_bay_0"].astype(np.float32).reshape(-1, 1, 2)
    assert cv2.pointPolygonTest(poly, (float(uv[0, 0]), float(uv[0, 1])), False) >= 0
    upstream_car = VehicleState("u", 0.0, 0.0, 0.0, 4.5, 1.8, "car", 0.0, "J2_E_in_0", 10.0)
    truth = cam.lane_truth([upstream_car])
    assert truth["J2_E_bay_0"].vehicles == 1 and truth["J2_E_bay_0"].queued == 1
    assert truth["J2_E_bay_0"].queue_m == pytest.approx(58.5 + 10.0 + 4.5, abs=1.0)
