"""`greenwave detect`: counts to CSV, privacy (no frame leaves memory without --out), one-line errors."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from greenwave.cli import main
from tests.vision.builders import make_onnx_detector, raw_output

LANE = [[0, 100], [320, 100], [320, 360], [0, 360]]


@pytest.fixture()
def setup(tmp_path: Path) -> Path:
    # a model that always sees one car whose bottom-centre is at (160, 300) in a 640x360 frame
    out = raw_output([(80, 6 + 140, 40, 20)], [{0: 0.9}], nc=4)
    make_onnx_detector(tmp_path / "m.onnx", out)
    (tmp_path / "detector.yaml").write_text(yaml.safe_dump({"kind": "detector", "model": "m.onnx"}))
    (tmp_path / "camera.yaml").write_text(yaml.safe_dump(
        {"kind": "camera", "name": "north", "source": "clip.avi", "lanes": [{"lane": "n_0", "polygon": LANE}]}))
    writer = cv2.VideoWriter(str(tmp_path / "clip.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10, (640, 360))
    assert writer.isOpened()
    for k in range(6):
        writer.write(np.full((360, 640, 3), 40 * k, np.uint8))
    writer.release()
    return tmp_path


def _run(d: Path, *extra: str) -> int:
    return main(["detect", str(d / "clip.avi"), "--config", str(d / "camera.yaml"),
                 "--detector", str(d / "detector.yaml"), *extra])


def test_counts_go_to_csv_and_nothing_else_is_written(setup: Path, monkeypatch) -> None:
    def forbidden(*a, **k):
        raise AssertionError("a frame was written without --out")

    monkeypatch.setattr(cv2, "imwrite", forbidden)
    monkeypatch.setattr(cv2, "VideoWriter", forbidden)
    before = set(setup.iterdir())
    assert _run(setup, "--csv", str(setup / "counts.csv")) == 0
    assert set(setup.iterdir()) - before == {setup / "counts.csv"}
    rows = list(csv.DictReader((setup / "counts.csv").open()))
    assert len(rows) == 6 and {r["lane"] for r in rows} == {"n_0"}
    assert all(r["vehicles"] == "1" for r in rows)
    assert set(rows[0]) == {"time_s", "frame", "lane", "vehicles", "queued", "queue_m", "occupancy"}  # no pixels


def test_out_writes_an_annotated_video(setup: Path) -> None:
    assert _run(setup, "--out", str(setup / "annotated.avi")) == 0
    cap = cv2.VideoCapture(str(setup / "annotated.avi"))
    assert cap.isOpened() and int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 6


def test_unopenable_source_is_exit_2_with_one_line(setup: Path, capsys) -> None:
    code = main(["detect", str(setup / "missing.mp4"), "--config", str(setup / "camera.yaml"),
                 "--detector", str(setup / "detector.yaml")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0 and "missing.mp4" in err and "cannot be opened" in err


def test_wrong_config_kind_is_exit_2(setup: Path, capsys) -> None:
    code = main(["detect", str(setup / "clip.avi"), "--config", str(setup / "detector.yaml")])
    assert code == 2 and "expected 'camera' or 'edge'" in capsys.readouterr().err


def test_a_source_that_cannot_open_leaves_an_existing_csv_as_it_was(setup: Path) -> None:
    counts = setup / "counts.csv"
    counts.write_text("time_s,frame,lane,vehicles,queued,queue_m,occupancy\n0.000,0,n_0,3,1,7.0,0.100\n")
    before = counts.read_text()
    assert main(["detect", "rtsp://127.0.0.1:9/none", "--config", str(setup / "camera.yaml"),
                 "--detector", str(setup / "detector.yaml"), "--csv", str(counts)]) == 2
    assert counts.read_text() == before


def test_lane_polygons_drawn_for_another_resolution_are_refused(setup: Path, capsys) -> None:
    hd = [[1200, 700], [1900, 700], [1900, 1080], [1200, 1080]]  # a 1920x1080 stream's lane, on a 640x360 clip
    cfg = yaml.safe_load((setup / "camera.yaml").read_text())
    cfg["lanes"].append({"lane": "n_1", "polygon": hd})
    (setup / "camera.yaml").write_text(yaml.safe_dump(cfg))
    assert _run(setup, "--csv", str(setup / "counts.csv")) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "inside the 640x360 frame, found ['n_1'] mostly outside it" in err


def test_a_stop_line_at_the_frame_edge_is_a_warning_not_an_error(setup: Path, capsys) -> None:
    cfg = yaml.safe_load((setup / "camera.yaml").read_text())
    cfg["lanes"][0]["stop_line"] = [[0, 359], [320, 359]]  # the frame's bottom row
    (setup / "camera.yaml").write_text(yaml.safe_dump(cfg))
    assert _run(setup, "--csv", str(setup / "counts.csv")) == 0
    err = capsys.readouterr().err
    assert "warning: lanes ['n_0']: stop line at the edge of the 640x360 frame" in err and "re-aim" in err


def test_annotated_video_keeps_every_frame_when_a_reconnect_changes_the_size(setup: Path, monkeypatch) -> None:
    import vision.cli_detect as cli

    class _Resized:  # a live stream that comes back at another resolution after a reconnect
        fps = 10.0

        def __init__(self, source: str) -> None:
            pass

        def __enter__(self) -> _Resized:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def frames(self):
            for k in range(10):
                size = (360, 640) if k < 5 else (720, 1280)
                yield k / 10, np.full((*size, 3), 20 * k, np.uint8)

    monkeypatch.setattr(cli, "VideoSource", _Resized)
    cfg = yaml.safe_load((setup / "camera.yaml").read_text())
    cfg["lanes"][0]["polygon"] = [[0, 100], [320, 100], [320, 360], [0, 360]]
    (setup / "camera.yaml").write_text(yaml.safe_dump(cfg))
    assert _run(setup, "--out", str(setup / "annotated.avi")) == 0
    cap = cv2.VideoCapture(str(setup / "annotated.avi"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 10


def _source_that(then: BaseException, n_frames: int = 3):
    class _Source:
        fps = 10.0

        def __init__(self, source: str) -> None:
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def frames(self):
            for k in range(n_frames):
                yield k / 10, np.full((360, 640, 3), 40 * k, np.uint8)
            raise then

    return _Source


OLD_CSV = "time_s,frame,lane,vehicles,queued,queue_m,occupancy\n0.000,0,n_0,3,1,7.0,0.100\n"


def test_a_count_stopped_by_the_operator_keeps_its_whole_frames(setup: Path, monkeypatch) -> None:
    import vision.cli_detect as cli

    counts = setup / "counts.csv"
    counts.write_text(OLD_CSV)
    monkeypatch.setattr(cli, "VideoSource", _source_that(KeyboardInterrupt()))
    assert _run(setup, "--csv", str(counts)) == 130
    rows = list(csv.DictReader(counts.open()))
    assert [r["frame"] for r in rows] == ["0", "1", "2"]
    assert sorted(p.name for p in setup.glob("counts*")) == ["counts.csv"]  # no .tmp left behind


def test_a_count_that_fails_midway_leaves_the_existing_csv_as_it_was(setup: Path, monkeypatch, capsys) -> None:
    """It used to be truncated at the start: a failure or a kill left yesterday's counts cut short."""
    import vision.cli_detect as cli
    from vision.errors import VisionError

    counts = setup / "counts.csv"
    counts.write_text(OLD_CSV)
    monkeypatch.setattr(cli, "VideoSource", _source_that(VisionError("clip.avi: expected frames, found a broken one")))
    assert _run(setup, "--csv", str(counts)) == 2
    assert counts.read_text() == OLD_CSV
    assert sorted(p.name for p in setup.glob("counts*")) == ["counts.csv"]
    assert "found a broken one" in capsys.readouterr().err


@pytest.mark.parametrize("where", ["a_file/counts.csv", "folder"])
def test_a_csv_path_that_cannot_be_written_is_refused_before_counting(setup: Path, where: str, capsys) -> None:
    (setup / "a_file").write_text("x")
    (setup / "folder").mkdir()
    assert _run(setup, "--csv", str(setup / where)) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--csv" in err and "Traceback" not in err
    assert "frames" not in err  # refused before the source was read


def test_sigterm_ends_a_count_with_the_frames_counted_so_far(setup: Path) -> None:
    """An operator's `kill` (or systemd stopping the unit) used to leave a truncated file cut mid-frame."""
    import signal
    import subprocess
    import sys
    import time

    writer = cv2.VideoWriter(str(setup / "long.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10, (640, 360))
    for k in range(3000):
        writer.write(np.full((360, 640, 3), k % 200, np.uint8))
    writer.release()
    counts = setup / "counts.csv"
    counts.write_text(OLD_CSV)
    proc = subprocess.Popen(
        [sys.executable, "-m", "greenwave.cli", "detect", str(setup / "long.avi"), "--config",
         str(setup / "camera.yaml"), "--detector", str(setup / "detector.yaml"), "--csv", str(counts)],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    tmp = setup / "counts.csv.tmp"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (tmp.exists() and tmp.stat().st_size > 1000):
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    rows = list(csv.DictReader(counts.open()))
    assert len(rows) >= 10 and [int(r["frame"]) for r in rows] == list(range(len(rows)))  # whole frames, in order
    assert not tmp.exists()


def test_find_clutter_prints_ignore_boxes_that_then_silence_the_phantom(setup: Path, capsys) -> None:
    # the fixture's model sees the same car in every frame: on an empty road, that is clutter
    assert _run(setup, "--find-clutter") == 0
    out = capsys.readouterr().out
    listed = yaml.safe_load(out)["ignore_boxes"]
    assert len(listed) == 1
    camera = yaml.safe_load((setup / "camera.yaml").read_text())
    (setup / "camera.yaml").write_text(yaml.safe_dump(camera | {"ignore_boxes": listed}))
    assert _run(setup, "--csv", str(setup / "counts.csv")) == 0
    with open(setup / "counts.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows and all(r["vehicles"] == "0" for r in rows)
