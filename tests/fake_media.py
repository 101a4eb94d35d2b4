"""A friendlier fake camera for the README screenshots: a cartoon person in a room, as a Y4M file Chromium loops.

Chromium's own fake camera is a green test pattern; the screenshots should show what a call looks like.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

WIDTH, HEIGHT, FPS, FRAMES = 640, 360, 15, 30


def _frame(t: float) -> np.ndarray:
    """One RGB frame at phase ``t`` (0..1): the person sways a little so the video visibly plays."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    # Wall: a soft warm-to-cool gradient, with a bright window on the left.
    top, bottom = np.array([92, 110, 128], np.float32), np.array([46, 56, 70], np.float32)
    img = top + (bottom - top) * (y / HEIGHT)[..., None]
    window = (x > 40) & (x < 190) & (y > 40) & (y < 230)
    img[window] = img[window] * 0.3 + np.array([200, 214, 226], np.float32) * 0.7
    img[(x > 112) & (x < 118) & window] = [150, 160, 170]
    plant = ((x - 560) ** 2 / 40**2 + (y - 250) ** 2 / 70**2) < 1
    img[plant] = [58, 104, 72]
    sway = 6 * np.sin(2 * np.pi * t)
    cx = WIDTH / 2 + 30 + sway
    shoulders = ((x - cx) ** 2 / 170**2 + (y - HEIGHT - 40) ** 2 / 150**2) < 1
    img[shoulders] = [52, 86, 122]
    neck = (np.abs(x - cx) < 28) & (y > 205) & (y < 260)
    img[neck] = [196, 150, 122]
    face = ((x - cx) ** 2 / 58**2 + (y - 160) ** 2 / 74**2) < 1
    img[face] = [214, 168, 138]
    hair = (((x - cx) ** 2 / 64**2 + (y - 130) ** 2 / 62**2) < 1) & (y < 128 + 0.25 * np.abs(x - cx))
    img[hair] = [58, 40, 32]
    for ex in (-22, 22):
        eye = ((x - cx - ex) ** 2 + (y - 162) ** 2) < 5**2
        img[eye] = [40, 30, 28]
    mouth = (np.abs(x - cx) < 18) & (np.abs(y - 202 + 0.018 * (x - cx) ** 2) < 2.4)
    img[mouth] = [150, 80, 76]
    return np.clip(img, 0, 255)


def _i420(rgb: np.ndarray) -> bytes:
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = 16 + 0.257 * r + 0.504 * g + 0.098 * b
    u = 128 - 0.148 * r - 0.291 * g + 0.439 * b
    v = 128 + 0.439 * r - 0.368 * g - 0.071 * b
    u = u.reshape(HEIGHT // 2, 2, WIDTH // 2, 2).mean(axis=(1, 3))
    v = v.reshape(HEIGHT // 2, 2, WIDTH // 2, 2).mean(axis=(1, 3))
    return b"".join(np.clip(p, 0, 255).astype(np.uint8).tobytes() for p in (y, u, v))


def write_person_y4m(path: Path) -> Path:
    """Write the looping clip to ``path`` (about 10 MB) and return it."""
    with path.open("wb") as f:
        f.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{FPS}:1 Ip A1:1 C420jpeg\n".encode())
        for i in range(FRAMES):
            f.write(b"FRAME\n")
            f.write(_i420(_frame(i / FRAMES)))
    return path
