"""Frame sources: one-line open errors, end of file, reconnect with backoff on drop and freeze, giving up."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from vision.errors import FrameSourceError
from vision.sources import VideoSource, is_live, parse_source


class FakeCapture:
    """Plays a script of frames (None = a failed read) and then fails."""

    def __init__(self, script: list[np.ndarray | None], opened: bool = True) -> None:
        self.script = list(script)
        self.opened = opened

    def isOpened(self) -> bool:  # noqa: N802 - cv2's name
        return self.opened

    def read(self) -> tuple[bool, np.ndarray | None]:
        if not self.script:
            return False, None
        f = self.script.pop(0)
        return f is not None, f

    def get(self, prop: int) -> float:
        return 10.0

    def release(self) -> None:
        self.opened = False


def _frame(v: int) -> np.ndarray:
    return np.full((32, 32, 3), v, np.uint8)


class Opener:
    def __init__(self, captures: list[FakeCapture]) -> None:
        self.captures = captures
        self.calls = 0

    def __call__(self, source):
        cap = self.captures[min(self.calls, len(self.captures) - 1)]
        self.calls += 1
        return cap


@pytest.mark.parametrize(
    ("source", "parsed", "live"),
    [
        ("0", 0, True),
        ("rtsp://cam/1", "rtsp://cam/1", True),
        ("rtmp://relay/live/cam1", "rtmp://relay/live/cam1", True),
        ("srt://10.0.0.7:9000", "srt://10.0.0.7:9000", True),
        ("/dev/video2", "/dev/video2", True),
        ("clip.mp4", "clip.mp4", False),
    ],
)
def test_parse_source(source, parsed, live) -> None:
    assert parse_source(source) == parsed and is_live(parse_source(source)) == live


@pytest.mark.parametrize(("source", "expected"), [("missing.mp4", "a readable video file"), ("2", "a USB camera"),
                                                  ("rtsp://10.0.0.9/x", "a reachable stream")])
def test_unopenable_source_is_a_one_line_error(source, expected) -> None:
    src = VideoSource(source, opener=lambda s: FakeCapture([], opened=False), sleep=lambda s: None)
    with pytest.raises(FrameSourceError) as err:
        src.open()
    assert expected in str(err.value) and "\n" not in str(err.value)


def test_file_ends_without_reconnect_and_times_follow_fps() -> None:
    src = VideoSource("clip.mp4", opener=Opener([FakeCapture([_frame(1), _frame(2), _frame(3)])]))
    got = list(src.frames())
    assert [t for t, _ in got] == pytest.approx([0.0, 0.1, 0.2])


def test_live_drop_reconnects_with_exponential_backoff() -> None:
    sleeps: list[float] = []
    opener = Opener([
        FakeCapture([_frame(1), None]),
        FakeCapture([], opened=False),
        FakeCapture([], opened=False),
        FakeCapture([_frame(2), _frame(3)]),
    ])
    src = VideoSource("rtsp://cam", opener=opener, sleep=sleeps.append, clock=lambda: 0.0)
    it = src.frames()
    vals = [int(next(it)[1][0, 0, 0]) for _ in range(3)]
    assert vals == [1, 2, 3]
    assert sleeps == [0.5, 1.0, 2.0] and src.reconnects == 1


def test_live_source_gives_up_after_max_retries() -> None:
    opener = Opener([FakeCapture([_frame(1)])] + [FakeCapture([], opened=False)] * 10)
    src = VideoSource("rtsp://cam", opener=opener, sleep=lambda s: None, max_retries=3)
    with pytest.raises(FrameSourceError, match="still down after 3 attempts"):
        list(src.frames())


def test_frozen_stream_is_reopened() -> None:
    t = iter(np.arange(0, 100, 1.0))
    frozen = FakeCapture([_frame(5)] * 10)
    fresh = FakeCapture([_frame(6)])
    src = VideoSource("rtsp://cam", opener=Opener([frozen, fresh]), sleep=lambda s: None,
                      clock=lambda: float(next(t)), freeze_s=3.0)
    vals = [int(f[0, 0, 0]) for _, f in itertools.islice(src.frames(), 5)]
    assert vals == [5, 5, 5, 5, 6]  # 3 s of identical frames, then the reopened stream and src.reconnects >= 1
