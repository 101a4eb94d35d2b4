"""Grid layout, name labels and the YUV canvas of the recorder's composed picture.

The canvas is the encoder's own format (yuv420p): tiles are scaled straight into it by libswscale and
nothing is converted from RGB per frame, which halves the recorder's CPU use at 720p.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import av
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


def _even(value: int) -> int:
    return value - value % 2


def grid(count: int, width: int, height: int) -> list[Rect]:
    """``count`` equal cells filling ``width`` x ``height``, row by row, as square a grid as possible.
    Every coordinate is even, as 4:2:0 chroma needs."""
    if count <= 0:
        return []
    cols = math.ceil(math.sqrt(count))
    rows = math.ceil(count / cols)
    cw, ch = _even(width // cols), _even(height // rows)
    return [Rect((i % cols) * cw, (i // cols) * ch, cw, ch) for i in range(count)]


def fit(cell: Rect, aspect: float) -> Rect:
    """The largest rectangle of ``aspect`` (width / height) centred in ``cell``, with even sides and corner."""
    w, h = cell.w, round(cell.w / aspect)
    if h > cell.h:
        w, h = round(cell.h * aspect), cell.h
    w, h = max(2, _even(w)), max(2, _even(h))
    return Rect(cell.x + _even((cell.w - w) // 2), cell.y + _even((cell.h - h) // 2), w, h)


@functools.lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def yuv(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """An RGB colour in BT.601 limited-range YUV, what H.264 players assume."""
    r, g, b = rgb
    y = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255
    u = 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255
    v = 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255
    return round(y), round(u), round(v)


def planes(frame: av.VideoFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Y, U and V planes of a yuv420p frame as 2-D arrays (views, no copy)."""
    out = []
    for plane in frame.planes:
        data = np.frombuffer(plane, dtype=np.uint8).reshape(plane.height, plane.line_size)
        out.append(data[:, : plane.width])
    return out[0], out[1], out[2]


@functools.lru_cache(maxsize=256)
def label(text: str, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``text`` in light letters on a black box, as Y, U, V planes (cached: names rarely change)."""
    font = _font(size)
    left, top, right, bottom = font.getbbox(text)
    pad = max(2, size // 4)
    width, height = _even(right - left + 2 * pad + 1), _even(bottom - top + 2 * pad + 1)
    image = Image.new("RGB", (width, height), LABEL_BOX)
    ImageDraw.Draw(image).text((pad - left, pad - top), text, font=font, fill=LABEL_TEXT)
    frame = av.VideoFrame.from_ndarray(np.asarray(image), format="rgb24").reformat(format="yuv420p")
    return tuple(p.copy() for p in planes(frame))  # type: ignore[return-value]


class Canvas:
    """A yuv420p picture (width even, height a multiple of 4) that tiles and labels are drawn into."""

    def __init__(self, width: int, height: int) -> None:
        if width % 2 or height % 4:
            raise ValueError(f"the picture must have an even width and a height divisible by 4, not {width}x{height}")
        self.width, self.height = width, height
        self.buffer = np.empty((height * 3 // 2, width), dtype=np.uint8)
        quarter = height // 4
        self.y = self.buffer[:height]
        self.u = self.buffer[height : height + quarter].reshape(height // 2, width // 2)
        self.v = self.buffer[height + quarter :].reshape(height // 2, width // 2)

    def fill(self, rect: Rect, rgb: tuple[int, int, int]) -> None:
        y, u, v = yuv(rgb)
        self.y[rect.y : rect.y + rect.h, rect.x : rect.x + rect.w] = y
        cy, cx, ch, cw = rect.y // 2, rect.x // 2, rect.h // 2, rect.w // 2
        self.u[cy : cy + ch, cx : cx + cw] = u
        self.v[cy : cy + ch, cx : cx + cw] = v

    def draw_frame(self, frame: av.VideoFrame, box: Rect) -> None:
        """``frame`` scaled into ``box`` (even sides and corner)."""
        scaled = frame.reformat(width=box.w, height=box.h, format="yuv420p")
        y, u, v = planes(scaled)
        self.y[box.y : box.y + box.h, box.x : box.x + box.w] = y
        cy, cx = box.y // 2, box.x // 2
        self.u[cy : cy + box.h // 2, cx : cx + box.w // 2] = u
        self.v[cy : cy + box.h // 2, cx : cx + box.w // 2] = v

    def draw_label(self, text: str, size: int, x: int, y: int, clip: Rect) -> None:
        """A name label with its top-left corner at (x, y), cut to ``clip``."""
        ly, lu, lv = label(text, size)
        x, y = _even(x), _even(y)
        _paste(self.y, ly, x, y, clip)
        half = Rect(clip.x // 2, clip.y // 2, clip.w // 2, clip.h // 2)
        _paste(self.u, lu, x // 2, y // 2, half)
        _paste(self.v, lv, x // 2, y // 2, half)


def label_size(text: str, size: int) -> tuple[int, int]:
    """(width, height) of a label."""
    ly = label(text, size)[0]
    return ly.shape[1], ly.shape[0]


def _paste(target: np.ndarray, image: np.ndarray, x: int, y: int, clip: Rect) -> None:
    x0, y0 = max(x, clip.x), max(y, clip.y)
    x1, y1 = min(x + image.shape[1], clip.x + clip.w), min(y + image.shape[0], clip.y + clip.h)
    if x1 > x0 and y1 > y0:
        target[y0:y1, x0:x1] = image[y0 - y : y1 - y, x0 - x : x1 - x]
