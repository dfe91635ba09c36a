"""Camera reader threads for the edge runtime: one per camera, latest frame wins, nothing queues up.

Each reader keeps exactly one slot, the newest frame with its capture time and a sequence number; a frame the
pipeline has not taken by the time the next one arrives is dropped, so a slow detector never makes memory or
latency grow. Video files play at their own frame rate and loop (a replayed camera); a file that cannot be
(re)opened, a stream that gives up reconnecting or any read error marks the camera down, and the reader retries
with exponential backoff until it is stopped. A picture that does not change for `freeze_s` marks it frozen.

Frames are only held in memory, in the one slot: nothing here writes or sends them anywhere.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

import numpy as np

from configs.vision import CameraConfig
from vision.sources import VideoSource

__all__ = ["CameraHealth", "CameraReader", "CameraState", "Frame", "ReaderSettings"]


class CameraState(str, Enum):
    OK = "ok"
    STARTING = "starting"
    STALE = "stale"  # open, but no new frame for stale_s
    FROZEN = "frozen"  # frames arrive but the picture does not change
    DOWN = "down"  # cannot be opened or read


@dataclass(frozen=True, slots=True)
class ReaderSettings:
    retry_s: float = 0.5  # first wait before reopening a camera that is down; doubles up to retry_max_s
    retry_max_s: float = 3.0  # a camera back in the cabinet is seen within this, plus recover_s
    freeze_s: float = 5.0
    stale_s: float = 2.0


@dataclass(frozen=True, slots=True)
class Frame:
    seq: int  # 1, 2, ... per camera; a new number means a new picture
    t_s: float  # capture time on the runtime's clock
    image: np.ndarray


@dataclass(frozen=True, slots=True)
class CameraHealth:
    name: str
    state: CameraState
    frames: int  # captured since start
    reconnects: int
    last_frame_s: float | None
    error: str | None


class CameraReader:
    """Reads one camera in a daemon thread. `latest()` is the newest frame; `health(now_s)` says how it is."""

    def __init__(
        self,
        camera: CameraConfig,
        *,
        settings: ReaderSettings | None = None,
        clock: Callable[[], float] = time.monotonic,
        on_frame: Callable[[], None] | None = None,
    ) -> None:
        self.camera = camera
        self.settings = settings or ReaderSettings()
        self._clock = clock
        self._on_frame = on_frame
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._latest: Frame | None = None
        self._seq = 0
        self._state = CameraState.STARTING
        self._error: str | None = None
        self._reconnects = 0
        self._opened_once = False
        self._frozen = False
        self._recent_sigs: deque[bytes] = deque(maxlen=4)  # samples of the last pictures, to tell a frozen camera
        self._same_since: float | None = None
        self._thread = threading.Thread(target=self._run, name=f"camera-{camera.name}", daemon=True)

    @property
    def name(self) -> str:
        return self.camera.name

    def start(self) -> None:
        self._thread.start()

    def request_stop(self) -> None:
        self._stop.set()

    def stop(self, timeout_s: float = 2.0) -> None:
        """Stop, waiting up to `timeout_s` for the thread (a daemon: one stuck opening a stream is left behind)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        with self._lock:
            self._latest = None  # drop the last picture: nothing outlives the runtime

    def latest(self) -> Frame | None:
        with self._lock:
            return self._latest

    def health(self, now_s: float) -> CameraHealth:
        with self._lock:
            last = self._latest.t_s if self._latest is not None else None
            state = self._state
            if state is CameraState.OK:
                if self._frozen:
                    state = CameraState.FROZEN
                elif last is None or now_s - last > self.settings.stale_s:
                    state = CameraState.STALE
            return CameraHealth(self.name, state, self._seq, self._reconnects, last, self._error)

    # -- thread --------------------------------------------------------------------------------------------
    def _publish(self, image: np.ndarray) -> None:
        with self._lock:
            self._seq += 1
            self._latest = Frame(self._seq, self._clock(), image)
            self._state = CameraState.OK
            self._error = None
        if self._on_frame is not None:
            self._on_frame()

    def _sleep(self, seconds: float) -> None:
        self._stop.wait(seconds)  # a stop ends a reconnect backoff at once

    def _set_down(self, error: str) -> None:
        with self._lock:
            self._state = CameraState.DOWN
            self._error = error

    def _run(self) -> None:
        wait_s = self.settings.retry_s
        while not self._stop.is_set():
            source = VideoSource(
                self.camera.source, sleep=self._sleep, clock=self._clock, freeze_s=self.settings.freeze_s
            )
            try:
                source.open()
                if self._opened_once:
                    self._reconnects += 1
                self._opened_once = True
                self._play(source)
                if source.live and not self._stop.is_set():
                    raise OSError("the stream ended")
                wait_s = self.settings.retry_s  # a file played to its end: replay it at once
            except (
                Exception
            ) as exc:  # FrameSourceError, cv2.error, OSError: the camera is down, not the process
                self._set_down(str(exc) or type(exc).__name__)
                self._stop.wait(wait_s)
                wait_s = min(wait_s * 2, self.settings.retry_max_s)
            finally:
                source.close()

    def _play(self, source: VideoSource) -> None:
        period_s = 0.0 if source.live else 1.0 / (source.fps or self.camera.fps)
        next_s = self._clock()
        played = 0
        for _, image in source.frames():
            if self._stop.is_set():
                return
            if period_s:
                next_s += period_s
                delay = next_s - self._clock()
                if delay > 0:
                    self._stop.wait(delay)
                elif delay < -period_s:
                    next_s = self._clock()  # fell behind (machine busy): do not burst to catch up
            now = self._clock()
            # kept across replays and reopens: a still picture in a clip shorter than freeze_s is still frozen;
            # and a picture that comes back as one of a few decodes (a key frame and the frames after it) is the
            # same picture
            sig = np.ascontiguousarray(image[::16, ::16]).tobytes()
            if sig in self._recent_sigs:
                self._same_since = now if self._same_since is None else self._same_since
                self._frozen = now - self._same_since >= self.settings.freeze_s
            else:
                self._same_since, self._frozen = None, False
                self._recent_sigs.append(sig)
            self._publish(image)
            played += 1
        if played == 0:
            raise OSError("no frame could be read")
