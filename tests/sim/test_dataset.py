"""sim/dataset.py: `greenwave train --render-only` writes exactly the images asked for, labelled, and nothing else."""

from pathlib import Path

from sim.dataset import render_yolo_dataset


def test_the_rendered_dataset_has_the_asked_counts_labels_and_no_scenarios(tmp_path: Path):
    # odd counts: a scenario films two cameras per step, and the last step must not overshoot
    data = render_yolo_dataset(tmp_path / "ds", n_train=5, n_val=3, seed=3, per_scenario=3)
    root = data.parent
    assert sorted(p.name for p in root.iterdir()) == ["data.yaml", "images", "labels"]  # scenarios were temporary
    for split, n in (("train", 5), ("val", 3)):
        images = sorted(p.stem for p in (root / "images" / split).glob("*.jpg"))
        labels = sorted(p.stem for p in (root / "labels" / split).glob("*.txt"))
        assert len(images) == n and images == labels
    rows = [ln.split() for p in (root / "labels" / "train").glob("*.txt") for ln in p.read_text().splitlines()]
    assert rows, "some vehicle is in view"
    assert all(len(r) == 5 and 0 <= int(r[0]) <= 3 and all(0.0 <= float(v) <= 1.0 for v in r[1:]) for r in rows)
    assert f"path: {root.resolve()}" in data.read_text()
