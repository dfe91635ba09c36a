"""Letterbox, decoding of both output layouts, class maps, NMS and the onnxruntime detector on tiny ONNX models."""

from __future__ import annotations

import numpy as np
import pytest

from configs.vision import DetectorConfig
from tests.vision.builders import make_onnx_detector, raw_output
from vision.decode import decode_batch, nms_xyxy, output_layout
from vision.detector import OnnxDetector
from vision.errors import ModelError
from vision.preprocess import letterbox

COCO = {2: "car", 3: "motorcycle", 5: "bus", 7: "truck"}


def test_letterbox_matches_ultralytics_geometry_and_channel_order() -> None:
    frame = np.zeros((360, 640, 3), np.uint8)
    frame[:, :] = (255, 0, 0)  # pure blue in BGR
    x, lb = letterbox(frame, (320, 320))
    assert x.shape == (3, 320, 320) and x.dtype == np.float32
    assert lb.scale == 0.5 and lb.pad_x == 0 and lb.pad_y == 70
    assert x[:, 0, 0] == pytest.approx([114 / 255] * 3)  # pad rows, centred
    assert x[:, 319, 0] == pytest.approx([114 / 255] * 3)
    assert x[:, 160, 160] == pytest.approx([0.0, 0.0, 1.0])  # RGB: blue is the last channel
    back = lb.to_frame(np.array([[0, 70, 320, 250]], np.float32))
    assert back[0] == pytest.approx([0, 0, 640, 360])


def test_letterbox_non_square_input_has_small_symmetric_pad() -> None:
    x, lb = letterbox(np.zeros((360, 640, 3), np.uint8), (192, 320))
    assert x.shape == (3, 192, 320) and lb.pad_y == 6 and lb.scale == 0.5


@pytest.mark.parametrize(
    ("shape", "layout"),
    [
        ((1, 8, 2100), "raw"),
        ((1, 300, 6), "e2e"),
        (("b", 300, 6), "e2e"),
        (("batch", 84, "n"), None),  # judged from the first real output
        (("batch", "Sliceoutput0_dim_1", "Sliceoutput0_dim_2"), None),  # Ultralytics nms=True, dynamic=True
    ],
)
def test_output_layout(shape: tuple, layout: str | None) -> None:
    assert output_layout(shape) == layout


def test_output_layout_rejects_2d() -> None:
    with pytest.raises(ModelError, match="expected 3 dims"):
        output_layout((300, 6))


def test_raw_decode_maps_coco_classes_and_drops_others() -> None:
    out = raw_output(
        [(100, 100, 40, 20), (200, 100, 40, 20), (50, 50, 10, 30)],
        [{2: 0.9}, {7: 0.8}, {0: 0.95}],  # car, truck, person
        nc=80,
    )
    (boxes, scores, cls), = decode_batch(out[None], layout="raw", class_map=COCO, conf=0.3, iou=0.5)
    assert sorted(cls.tolist()) == [0, 1]  # car -> 0, truck -> 1; the person is gone
    i = int(np.argmax(scores))
    assert boxes[i] == pytest.approx([80, 90, 120, 110])


def test_raw_decode_nms_is_class_agnostic_by_default() -> None:
    out = raw_output([(100, 100, 40, 20), (101, 100, 40, 20)], [{0: 0.9}, {1: 0.6}], nc=4)
    (_, _, cls), = decode_batch(out[None], layout="raw", class_map={0: "car", 1: "truck"}, conf=0.3, iou=0.5)
    assert cls.tolist() == [0]


def test_e2e_decode_filters_by_score_and_class() -> None:
    det = np.zeros((300, 6), np.float32)
    det[0] = (10, 10, 50, 40, 0.9, 2)
    det[1] = (60, 10, 90, 40, 0.2, 2)  # below threshold
    det[2] = (10, 60, 30, 90, 0.8, 0)  # person
    (boxes, scores, cls), = decode_batch(det[None], layout="e2e", class_map=COCO, conf=0.25, iou=0.5)
    assert boxes.tolist() == [[10, 10, 50, 40]] and cls.tolist() == [0]


def test_nms_keeps_highest_of_overlapping() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], np.float32)
    keep = nms_xyxy(boxes, np.array([0.5, 0.9, 0.7]), 0.5)
    assert sorted(keep.tolist()) == [1, 2]


@pytest.mark.parametrize("dynamic", [True, False])
def test_onnx_detector_raw_layout_batches_and_maps_back_to_frame(tmp_path, dynamic: bool) -> None:
    out = raw_output([(160, 96, 40, 20)], [{0: 0.9}], nc=4)
    path = make_onnx_detector(tmp_path / "m.onnx", out, dynamic_batch=dynamic)
    det = OnnxDetector(DetectorConfig(model=path, threads=1))
    assert det.input_hw == (192, 320) and det.layout == "raw"
    frames = [np.zeros((360, 640, 3), np.uint8)] * 3  # a fixed-batch-1 model is looped
    res = det.detect(frames)
    assert len(res) == 3
    for d in res:
        assert d.xyxy[0] == pytest.approx([280, 160, 360, 200])  # (x - 0) / 0.5, (y - 6) / 0.5


def test_onnx_detector_e2e_layout_with_coco_map(tmp_path) -> None:
    e2e = np.zeros((300, 6), np.float32)
    e2e[0] = (100, 50, 140, 70, 0.8, 5)  # bus
    e2e[1] = (10, 10, 20, 20, 0.9, 0)  # person
    path = make_onnx_detector(tmp_path / "e2e.onnx", e2e)
    det = OnnxDetector(DetectorConfig(model=path, class_map=COCO))
    (d,) = det.detect([np.zeros((360, 640, 3), np.uint8)])
    assert det.layout == "e2e" and d.class_names == ["bus"]


def test_missing_model_is_one_line_error(tmp_path) -> None:
    with pytest.raises(ModelError, match="expected an ONNX file at"):
        OnnxDetector(DetectorConfig(model=tmp_path / "nope.onnx"))


def test_boxes_reaching_into_the_padding_are_clipped_to_the_frame() -> None:
    _x, lb = letterbox(np.zeros((360, 640, 3), np.uint8), (320, 320))  # pad_y 70
    back = lb.to_frame(np.array([[-10, 40, 330, 270]], np.float32))
    assert back[0] == pytest.approx([0, 0, 640, 360])  # a bottom-centre anchor stays on the frame, in its lane


def test_dynamic_nms_export_is_judged_e2e_from_its_first_output(tmp_path) -> None:
    e2e = np.zeros((300, 6), np.float32)
    e2e[0] = (100, 50, 140, 70, 0.8, 0)
    e2e[1] = (200, 50, 240, 70, 0.7, 1)
    path = make_onnx_detector(tmp_path / "nms_dyn.onnx", e2e, out_dims=["d1", "d2"])  # as nms=True, dynamic=True
    det = OnnxDetector(DetectorConfig(model=path, threads=1))
    assert det.layout is None
    (d,) = det.detect([np.zeros((360, 640, 3), np.uint8)])
    assert det.layout == "e2e" and sorted(d.class_names) == ["car", "truck"]


def test_e2e_decode_counts_a_vehicle_reported_under_two_classes_once() -> None:
    det = np.zeros((300, 6), np.float32)
    det[0] = (10, 10, 50, 40, 0.6, 7)  # truck
    det[1] = (11, 10, 50, 41, 0.5, 2)  # the same vehicle as a car
    (boxes, _s, cls), = decode_batch(det[None], layout="e2e", class_map=COCO, conf=0.25, iou=0.5)
    assert cls.tolist() == [1] and len(boxes) == 1


def test_raw_decode_takes_the_best_class_over_all_model_classes() -> None:
    out = raw_output([(100, 100, 20, 40)], [{0: 0.85, 2: 0.3}], nc=80)  # a pedestrian, weakly car-like
    (boxes, _s, _c), = decode_batch(out[None], layout="raw", class_map=COCO, conf=0.25, iou=0.5)
    assert len(boxes) == 0


def test_class_map_ids_beyond_the_model_are_refused_at_load(tmp_path) -> None:
    path = make_onnx_detector(tmp_path / "m4.onnx", raw_output([], [], nc=4))
    with pytest.raises(ModelError, match=r"among the model's 4 classes \(0..3\), found \[5, 7\]"):
        OnnxDetector(DetectorConfig(model=path, class_map=COCO))


def test_class_map_checked_against_names_metadata_when_dims_are_symbolic(tmp_path) -> None:
    path = make_onnx_detector(tmp_path / "e.onnx", np.zeros((300, 6), np.float32), out_dims=["k", "six"],
                              metadata={"names": repr({0: "car", 1: "truck"})})
    with pytest.raises(ModelError, match=r"model's 2 classes"):
        OnnxDetector(DetectorConfig(model=path, class_map={0: "car", 3: "motorcycle"}))


def test_half_precision_export_runs(tmp_path) -> None:
    out = raw_output([(160, 96, 40, 20)], [{1: 0.9}], nc=4)
    det = OnnxDetector(DetectorConfig(model=make_onnx_detector(tmp_path / "h.onnx", out, half=True), threads=1))
    (d,) = det.detect([np.zeros((360, 640, 3), np.uint8)])
    assert d.class_names == ["truck"] and d.xyxy[0] == pytest.approx([280, 160, 360, 200], abs=0.5)


@pytest.mark.parametrize("n_frames", [1, 2, 3, 5])
def test_fixed_batch_model_gets_padded_chunks(tmp_path, n_frames: int) -> None:
    out = raw_output([(160, 96, 40, 20)], [{0: 0.9}], nc=4)
    det = OnnxDetector(DetectorConfig(model=make_onnx_detector(tmp_path / "b2.onnx", out, batch=2), threads=1))
    res = det.detect([np.zeros((360, 640, 3), np.uint8)] * n_frames)
    assert [len(d) for d in res] == [1] * n_frames


def test_inference_failure_is_a_one_line_model_error(tmp_path) -> None:
    out = raw_output([(160, 96, 40, 20)], [{0: 0.9}], nc=4)
    det = OnnxDetector(DetectorConfig(model=make_onnx_detector(tmp_path / "m.onnx", out, batch=1), threads=1))
    det.input_hw = (96, 160)  # feed the wrong size: onnxruntime refuses the input
    with pytest.raises(ModelError, match="expected inference to run, found") as err:
        det.detect([np.zeros((360, 640, 3), np.uint8)])
    assert "\n" not in str(err.value)


def test_dynamic_input_model_runs_at_the_size_it_was_exported_at_unless_told(tmp_path) -> None:
    path = make_onnx_detector(tmp_path / "dyn.onnx", raw_output([], [], nc=4), hw=("height", "width"),
                              metadata={"imgsz": "[256, 448]", "names": repr({0: "car", 1: "truck", 2: "bus", 3: "m"})})
    assert OnnxDetector(DetectorConfig(model=path, threads=1)).input_hw == (256, 448)
    assert OnnxDetector(DetectorConfig(model=path, threads=1, input_size=640)).input_hw == (640, 640)
