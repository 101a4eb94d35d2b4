"""Grid layout and name labels for the recorder's composed picture."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

BACKGROUND = (12, 12, 16)
DARK_TILE = (28, 30, 36)
LABEL_BOX = (0, 0, 0)
LABEL_TEXT = (240, 240, 240)


@dataclass(frozen=True, slots=True)
class Rect:
    x: int
    y: int
    w: int
    h: int


def grid(count: int, width: int, height: int) -> list[Rect]:
    """``count`` equal cells filling ``width`` x ``height``, row by row, as square a grid as possible."""
    if count <= 0:
        return []
    cols = math.ceil(math.sqrt(count))
    rows = math.ceil(count / cols)
    cw, ch = width // cols, height // rows
    return [Rect((i % cols) * cw, (i // cols) * ch, cw, ch) for i in range(count)]


def fit(cell: Rect, aspect: float) -> Rect:
    """The largest rectangle of ``aspect`` (width / height) centred in ``cell``, with even sides."""
    w, h = cell.w, round(cell.w / aspect)
    if h > cell.h:
        w, h = round(cell.h * aspect), cell.h
    w, h = max(2, w - w % 2), max(2, h - h % 2)
    return Rect(cell.x + (cell.w - w) // 2, cell.y + (cell.h - h) // 2, w, h)


@functools.lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


@functools.lru_cache(maxsize=256)
def label(text: str, size: int) -> np.ndarray:
    """``text`` in light letters on a black box, as an RGB array (cached: names rarely change)."""
    font = _font(size)
    left, top, right, bottom = font.getbbox(text)
    pad = max(2, size // 4)
    image = Image.new("RGB", (right - left + 2 * pad, bottom - top + 2 * pad), LABEL_BOX)
    ImageDraw.Draw(image).text((pad - left, pad - top), text, font=font, fill=LABEL_TEXT)
    return np.asarray(image)


def paste(canvas: np.ndarray, image: np.ndarray, x: int, y: int, clip: Rect) -> None:
    """Copy ``image`` onto ``canvas`` at (x, y), cut to ``clip``."""
    x0, y0 = max(x, clip.x), max(y, clip.y)
    x1, y1 = min(x + image.shape[1], clip.x + clip.w), min(y + image.shape[0], clip.y + clip.h)
    if x1 > x0 and y1 > y0:
        canvas[y0:y1, x0:x1] = image[y0 - y : y1 - y, x0 - x : x1 - x]
