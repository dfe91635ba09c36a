"""Frame sources: video files, RTSP/HTTP streams and USB cameras through cv2.VideoCapture.

Live sources reconnect with exponential backoff when the stream drops or freezes (the same frame over and over);
the frame size may change after a reconnect and callers must not assume it is fixed. A source that cannot be opened
at all raises FrameSourceError with one line naming it. Frames are only handed to the caller, never stored.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from vision.errors import FrameSourceError

__all__ = ["VideoSource", "is_live", "parse_source"]


def parse_source(source: str) -> str | int:
    """'0' -> USB camera 0; anything else is a path or URL."""
    s = source.strip()
    return int(s) if s.isdigit() else s


_LIVE_PREFIXES = ("rtsp://", "rtsps://", "rtmp://", "rtmps://", "srt://", "http://", "https://", "udp://", "tcp://",
                  "/dev/video")


def is_live(source: str | int) -> bool:
    """USB cameras (an index or a /dev/video device) and network streams: they drop and come back, files end."""
    return isinstance(source, int) or str(source).lower().startswith(_LIVE_PREFIXES)


def _default_opener(source: str | int) -> Any:
    import cv2

    return cv2.VideoCapture(source)


class VideoSource:
    """Iterate `(t_s, frame)` from a cv2.VideoCapture source, reconnecting live ones.

    Args:
        source: file path, stream URL, or USB index ('0').
        reconnect: reopen after a drop or freeze (default: only for live sources).
        max_retries: consecutive failed reopen attempts before giving up.
        backoff_s: first wait before reopening; doubles up to backoff_max_s.
        freeze_s: a live source whose frames do not change for this long counts as dropped.
        opener, sleep, clock: injected for tests (cv2.VideoCapture, time.sleep, time.monotonic).
    """

    def __init__(
        self,
        source: str,
        *,
        reconnect: bool | None = None,
        max_retries: int = 8,
        backoff_s: float = 0.5,
        backoff_max_s: float = 8.0,
        freeze_s: float = 5.0,
        opener: Callable[[str | int], Any] = _default_opener,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = parse_source(source)
        self.live = is_live(self.source)
        self.reconnect = self.live if reconnect is None else reconnect
        self.max_retries, self.backoff_s, self.backoff_max_s = max_retries, backoff_s, backoff_max_s
        self.freeze_s = freeze_s
        self._open_fn, self._sleep, self._clock = opener, sleep, clock
        self._cap: Any = None
        self.reconnects = 0
        self.fps = 0.0

    def _describe(self) -> str:
        return f"USB camera {self.source}" if isinstance(self.source, int) else repr(str(self.source))

    def open(self) -> None:
        """Raises FrameSourceError when the source cannot be opened."""
        try:
            cap = self._open_fn(self.source)
        except Exception as exc:  # cv2 raises cv2.error for some backends
            raise FrameSourceError(f"video source {self._describe()}: expected it to open, found {exc}") from exc
        if cap is None or not cap.isOpened():
            kind = "a USB camera" if isinstance(self.source, int) else ("a reachable stream" if self.live
                                                                        else "a readable video file")
            raise FrameSourceError(f"video source {self._describe()}: expected {kind}, found it cannot be opened")
        self._cap = cap
        fps = float(cap.get(5) or 0.0)  # cv2.CAP_PROP_FPS
        self.fps = fps if 0 < fps < 1000 else 0.0

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def __enter__(self) -> VideoSource:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _reopen(self) -> None:
        self.close()
        wait = self.backoff_s
        for attempt in range(1, self.max_retries + 1):
            self._sleep(wait)
            try:
                self.open()
                self.reconnects += 1
                return
            except FrameSourceError:
                wait = min(wait * 2, self.backoff_max_s)
                if attempt == self.max_retries:
                    raise FrameSourceError(
                        f"video source {self._describe()}: expected it back after a drop, found it still down "
                        f"after {self.max_retries} attempts"
                    ) from None

    def frames(self) -> Iterator[tuple[float, np.ndarray]]:
        """Frames with their time in seconds (file position for files, monotonic clock for live sources)."""
        if self._cap is None:
            self.open()
        index = 0
        last_sig: bytes | None = None
        same_since: float | None = None
        while True:
            ok, frame = self._cap.read()
            if not ok or frame is None:
                if not self.reconnect:
                    return
                self._reopen()
                last_sig, same_since = None, None
                continue
            now = self._clock()
            if self.live:
                sig = np.ascontiguousarray(frame[::16, ::16]).tobytes()
                if sig == last_sig:
                    same_since = now if same_since is None else same_since
                    if now - same_since >= self.freeze_s and self.reconnect:
                        self._reopen()
                        last_sig, same_since = None, None
                        continue
                else:
                    same_since = None
                last_sig = sig
                t_s = now
            else:
                t_s = index / (self.fps or 10.0)
            index += 1
            yield t_s, frame
