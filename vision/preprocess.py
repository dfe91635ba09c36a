"""Letterbox preprocessing identical to Ultralytics, and the inverse mapping of boxes back to the frame.

Resize keeping aspect (bilinear), pad with 114 centred, BGR -> RGB, HWC -> CHW, float32 / 255.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["Letterbox", "letterbox", "letterbox_batch"]

PAD_VALUE = 114


@dataclass(frozen=True, slots=True)
class Letterbox:
    """How a frame was fitted into the model input: scale, then padding (left, top)."""

    scale: float
    pad_x: float
    pad_y: float
    frame_w: int
    frame_h: int

    def to_frame(self, xyxy: np.ndarray) -> np.ndarray:
        """Model-input pixel boxes -> frame pixel boxes, clipped to the frame."""
        out = np.empty_like(xyxy, dtype=np.float32)
        # (fancy indexing returns a copy, so the clip is assigned back rather than done in place)
        out[:, [0, 2]] = np.clip((xyxy[:, [0, 2]] - self.pad_x) / self.scale, 0, self.frame_w)
        out[:, [1, 3]] = np.clip((xyxy[:, [1, 3]] - self.pad_y) / self.scale, 0, self.frame_h)
        return out


def _fit(frame: np.ndarray, input_hw: tuple[int, int]) -> tuple[np.ndarray, Letterbox]:
    """The padded uint8 BGR canvas (H, W, 3) and the geometry, exactly as Ultralytics' LetterBox(center=True)."""
    h0, w0 = frame.shape[:2]
    th, tw = input_hw
    r = min(th / h0, tw / w0)
    nw, nh = round(w0 * r), round(h0 * r)
    dw, dh = (tw - nw) / 2, (th - nh) / 2
    top, left = round(dh - 0.1), round(dw - 0.1)
    canvas = np.full((th, tw, 3), PAD_VALUE, np.uint8)
    canvas[top : top + nh, left : left + nw] = (
        frame if (nw, nh) == (w0, h0) else cv2.resize(frame, (nw, nh), interpolation=cv2.INTER_LINEAR)
    )
    return canvas, Letterbox(r, float(left), float(top), w0, h0)


def letterbox(frame: np.ndarray, input_hw: tuple[int, int]) -> tuple[np.ndarray, Letterbox]:
    """Fit a BGR uint8 frame into a (3, H, W) float32 RGB tensor in 0..1, as Ultralytics' LetterBox(center=True)."""
    canvas, lb = _fit(frame, input_hw)
    return cv2.dnn.blobFromImage(canvas, 1.0 / 255.0, swapRB=True)[0], lb


def letterbox_batch(frames: list[np.ndarray], input_hw: tuple[int, int]) -> tuple[np.ndarray, list[Letterbox]]:
    """(B, 3, H, W) float32 for a list of frames; BGR->RGB, HWC->CHW and /255 in one OpenCV pass."""
    fitted = [_fit(f, input_hw) for f in frames]
    batch = cv2.dnn.blobFromImages([c for c, _ in fitted], 1.0 / 255.0, swapRB=True)
    return batch, [lb for _, lb in fitted]
