"""int8 quantization: the head stays float, calibration input errors, and a quantized shipped detector that still
finds the vehicles the float one finds, with the same output layout."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from sim.camera import SyntheticCamera
from sim.camera_effects import random_conditions
from tests.sim.test_camera import car, fixed_camera, make_approach, make_scene
from vision.detector import SHIPPED_FP32_MODEL, OnnxDetector, default_detector_config
from vision.errors import VisionError
from vision.quantize import calibration_frames, head_nodes, quantize_detector
from vision.tracking import iou_matrix

FP32 = Path(__file__).resolve().parents[2] / "vision" / "models" / SHIPPED_FP32_MODEL


def test_head_nodes_are_the_last_modules_non_conv_nodes() -> None:
    nodes = [SimpleNamespace(name=n, op_type=op) for n, op in (
        ("/model.0/conv/Conv", "Conv"), ("/model.21/cv1/act/Mul", "Mul"), ("/model.22/cv2.0/cv2.0.2/Conv", "Conv"),
        ("/model.22/dfl/Softmax", "Softmax"), ("/model.22/Concat_3", "Concat"), ("output_Sigmoid", "Sigmoid"))]
    assert head_nodes(nodes) == ["/model.22/dfl/Softmax", "/model.22/Concat_3"]
    assert head_nodes([SimpleNamespace(name="conv1", op_type="Conv")]) == []  # not an Ultralytics graph


def test_calibration_frames_errors_and_even_spread(tmp_path: Path) -> None:
    with pytest.raises(VisionError, match="expected a folder of images, found .*missing"):
        calibration_frames(tmp_path / "nope")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(VisionError, match="expected .jpg/.png images"):
        calibration_frames(tmp_path)
    for i in range(10):
        cv2.imwrite(str(tmp_path / f"f{i:02d}.jpg"), np.zeros((8, 8, 3), np.uint8))
    picked = calibration_frames(tmp_path, limit=4)
    assert [p.name for p in picked] == ["f00.jpg", "f03.jpg", "f06.jpg", "f09.jpg"]


def _frames(n: int) -> list[np.ndarray]:
    """Day frames of a two-lane approach with a queue and a moving van (rendered, not stored in the repo)."""
    ap = make_approach()
    rng = np.random.default_rng(3)
    cam = SyntheticCamera(make_scene(ap), ap, fixed_camera(), random_conditions(rng, "day"))
    out = []
    for k in range(n):
        vehicles = [car("a", 0, 3.0, ap), car("b", 0, 10.0 + k, ap), car("c", 1, 6.0, ap, "van", length=6.0),
                    car("d", 1, 18.0 + 2 * k, ap, speed=6.0)]
        out.append(cam.render(vehicles, rng).image)
    return out


@pytest.mark.skipif(not FP32.is_file(), reason="the shipped fp32 detector is not in this checkout")
def test_quantized_shipped_detector_finds_what_the_float_one_finds(tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    frames = _frames(6)
    calib = tmp_path / "calib"
    calib.mkdir()
    for i, f in enumerate(frames[:4]):
        cv2.imwrite(str(calib / f"{i}.jpg"), f)
    dest = quantize_detector(FP32, tmp_path / "out" / "m.int8.onnx", calibration_frames(calib))
    assert dest.stat().st_size < FP32.stat().st_size / 3
    base = default_detector_config().model_copy(update={"model": FP32})
    fp32 = OnnxDetector(base)
    int8 = OnnxDetector(base.model_copy(update={"model": dest}))
    assert int8.input_hw == fp32.input_hw
    for a, b in zip(fp32.detect(frames[4:]), int8.detect(frames[4:]), strict=True):
        assert len(a) >= 3  # the float model sees the scene
        iou = iou_matrix(a.xyxy, b.xyxy)
        assert (iou.max(axis=1) >= 0.7).mean() >= 0.75  # and the int8 one sees (nearly) the same boxes
        assert abs(len(a) - len(b)) <= 1
