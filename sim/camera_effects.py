"""Viewing conditions of the synthetic camera (day, dusk, night, rain) and the sensor effects applied to a frame.

Pure numpy/OpenCV image operations; nothing here knows about SUMO or the scene geometry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

__all__ = ["CONDITIONS", "Conditions", "apply_sensor", "random_conditions"]

CONDITIONS = ("day", "dusk", "night", "rain")


@dataclass(frozen=True, slots=True)
class Conditions:
    name: str  # one of CONDITIONS
    sun_azimuth_deg: float = 135.0  # SUMO convention, where the sun is
    sun_elevation_deg: float = 40.0
    ambient: float = 1.0  # global light level multiplying the albedo
    tint_bgr: tuple[float, float, float] = (1.0, 1.0, 1.0)
    headlights: bool = False
    exposure: float = 1.0
    noise_sigma: float = 2.0
    blur_sigma: float = 0.0
    rain: float = 0.0  # 0..1 streak density and contrast loss
    shake_px: float = 0.0
    jpeg_quality: int = 90

    @property
    def shadows(self) -> bool:
        return self.name in ("day", "dusk") and self.sun_elevation_deg > 5


def random_conditions(rng: np.random.Generator, name: str | None = None) -> Conditions:
    """Draw viewing conditions; `name` fixes the kind (day/dusk/night/rain), else it is drawn too."""
    if name is None:
        name = str(rng.choice(CONDITIONS, p=[0.4, 0.15, 0.25, 0.2]))
    az = rng.uniform(0, 360)
    common: dict[str, Any] = {
        "sun_azimuth_deg": az,
        "shake_px": rng.uniform(0, 1.5),
        "jpeg_quality": int(rng.integers(55, 95)),
    }
    if name == "day":
        return Conditions(name, sun_elevation_deg=rng.uniform(20, 70), ambient=rng.uniform(0.85, 1.1),
                          exposure=rng.uniform(0.8, 1.25), noise_sigma=rng.uniform(0.5, 4),
                          blur_sigma=rng.choice([0.0, rng.uniform(0.3, 1.2)]), **common)
    if name == "dusk":
        return Conditions(name, sun_elevation_deg=rng.uniform(3, 15), ambient=rng.uniform(0.45, 0.7),
                          tint_bgr=(0.8, 0.9, 1.1), headlights=True, exposure=rng.uniform(0.8, 1.3),
                          noise_sigma=rng.uniform(2, 6), blur_sigma=rng.uniform(0, 1.0), **common)
    if name == "night":
        return Conditions(name, sun_elevation_deg=-10, ambient=rng.uniform(0.1, 0.25),
                          tint_bgr=(1.0, 0.95, 0.9), headlights=True, exposure=rng.uniform(0.9, 1.6),
                          noise_sigma=rng.uniform(3, 9), blur_sigma=rng.uniform(0, 1.2), **common)
    if name == "rain":
        return Conditions(name, sun_elevation_deg=-1, ambient=rng.uniform(0.5, 0.8),
                          tint_bgr=(1.05, 1.0, 0.95), headlights=bool(rng.random() < 0.7),
                          exposure=rng.uniform(0.8, 1.2), noise_sigma=rng.uniform(3, 8),
                          blur_sigma=rng.uniform(0.5, 1.6), rain=rng.uniform(0.3, 1.0), **common)
    raise ValueError(f"conditions: expected one of {CONDITIONS}, found {name!r}")


def apply_sensor(
    img_f: np.ndarray, cond: Conditions, rng: np.random.Generator
) -> tuple[np.ndarray, tuple[float, float]]:
    """Rain, blur, exposure, noise, shake and JPEG on a float BGR image in 0..255; returns uint8 and the shake.

    The shake is returned as a (dx, dy) pixel shift so ground-truth boxes can be moved with the image.
    """
    h, w = img_f.shape[:2]
    if cond.rain > 0:
        # haze: contrast loss towards a grey veil, strongest near the horizon (top of the frame)
        veil = np.linspace(0.45, 0.15, h, dtype=np.float32)[:, None, None] * cond.rain
        img_f = img_f * (1 - veil) + 150.0 * cond.ambient * veil
        streaks = np.zeros((h, w), np.float32)
        n = int(400 * cond.rain)
        xs, ys = rng.integers(0, w, n), rng.integers(0, h, n)
        lens = rng.integers(6, 18, n)
        slant = rng.uniform(-0.3, 0.3)
        for x, y, ln in zip(xs, ys, lens, strict=True):
            cv2.line(streaks, (int(x), int(y)), (int(x + slant * ln), int(y + ln)), 1.0, 1)
        img_f += streaks[:, :, None] * (40.0 * cond.ambient + 15.0)
    if cond.blur_sigma > 0.05:
        img_f = cv2.GaussianBlur(img_f, (0, 0), cond.blur_sigma)
    img_f = img_f * cond.exposure
    if cond.noise_sigma > 0:
        img_f = img_f + rng.normal(0, cond.noise_sigma, (h, w, 1)).astype(np.float32)
    img: np.ndarray = np.clip(img_f, 0, 255).astype(np.uint8)
    dx, dy = (float(v) for v in rng.normal(0, cond.shake_px, 2)) if cond.shake_px > 0 else (0.0, 0.0)
    if abs(dx) > 0.2 or abs(dy) > 0.2:
        m = np.array([[1, 0, dx], [0, 1, dy]], np.float32)
        img = cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
    if cond.jpeg_quality < 95:
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, cond.jpeg_quality])
        decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR) if ok else None
        if decoded is not None:
            img = decoded
    return img, (dx, dy)
