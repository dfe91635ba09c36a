"""vision/training.py: a dataset rendered on one machine trains on another (a GPU box), without polars."""

import shutil
import sys
from pathlib import Path

import pytest

from vision.errors import VisionError
from vision.training import _results_csv, use_dataset


def _fake_dataset(root: Path) -> Path:
    for split in ("train", "val"):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        (root / "images" / split / f"{split}_0.jpg").write_bytes(b"jpg")
        (root / "labels" / split / f"{split}_0.txt").write_text("0 0.5 0.5 0.1 0.1")
    yaml = f"path: /elsewhere/{root.name}\ntrain: images/train\nval: images/val\nnames:\n  0: car\n"
    (root / "data.yaml").write_text(yaml)
    return root


def test_a_moved_dataset_is_trained_from_where_it_is_now(tmp_path: Path):
    moved = _fake_dataset(tmp_path / "moved")
    data = use_dataset(moved, tmp_path / "work")
    assert data == tmp_path / "work" / "data.yaml"
    text = data.read_text()
    assert text.startswith(f"path: {moved.resolve()}\n") and "/elsewhere" not in text
    assert "train: images/train" in text and "0: car" in text
    assert "/elsewhere" in (moved / "data.yaml").read_text()  # the dataset itself is only read


def test_a_folder_without_a_rendered_dataset_is_refused_by_name(tmp_path: Path):
    root = _fake_dataset(tmp_path / "ds")
    shutil.rmtree(root / "images" / "val")
    with pytest.raises(VisionError, match=r"expected a rendered dataset in .*ds \(images/val/\*\.jpg"):
        use_dataset(root, tmp_path / "work")
    (root / "images" / "val").mkdir()
    (root / "images" / "val" / "v.jpg").write_bytes(b"jpg")
    (root / "data.yaml").unlink()
    with pytest.raises(VisionError, match="data.yaml .*found none"):
        use_dataset(root, tmp_path / "work")


def test_results_are_read_like_polars_would_without_it(tmp_path: Path):
    class Trainer:
        csv = tmp_path / "results.csv"

    Trainer.csv.write_text("epoch, train/box_loss, lr/pg0\n1, 2.5, 0.01\n2, 2.25, 0.009\n")
    assert _results_csv(Trainer()) == {"epoch": [1.0, 2.0], "train/box_loss": [2.5, 2.25], "lr/pg0": [0.01, 0.009]}
    Trainer.csv.write_text("epoch, train/box_loss\n1, 2.5\n2\n")  # a row cut short (a run killed mid-write)
    assert _results_csv(Trainer()) == {}
    Trainer.csv = tmp_path / "missing.csv"
    assert _results_csv(Trainer()) == {}


@pytest.mark.slow
def test_render_elsewhere_then_fine_tune_without_polars_exports_a_model_the_runtime_loads(tmp_path, monkeypatch):
    """Needs the `train` extra (ultralytics, torch): skipped where it is not installed, as in CI."""
    pytest.importorskip("ultralytics")
    from greenwave.cli import main
    from vision.detector import OnnxDetector, default_detector_config

    assert main(["train", "--out", str(tmp_path / "here"), "--render-only", "--images", "6", "--val-images", "3",
                 "--seed", "3"]) == 0
    shutil.move(tmp_path / "here" / "dataset", tmp_path / "carried")
    monkeypatch.setitem(sys.modules, "polars", None)  # `import polars` raises, as on a box without it
    shipped = Path(__file__).resolve().parents[2] / "vision" / "models" / "greenwave-vehicles-v8n.pt"
    assert main(["train", "--out", str(tmp_path / "box"), "--dataset", str(tmp_path / "carried"), "--epochs", "1",
                 "--imgsz", "64", "--batch", "4", "--init", str(shipped)]) == 0
    for name in ("model.onnx", "model.int8.onnx"):
        cfg = default_detector_config().model_copy(update={"model": tmp_path / "box" / name})
        assert OnnxDetector(cfg).input_hw == (256, 448)
