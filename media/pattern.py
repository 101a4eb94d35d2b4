"""The probe's test pattern: frames whose top half carries a stamp as black/white blocks.

A stamp is 72 bits in a 12 x 6 grid of blocks: an 8-bit probe tag, a 24-bit frame number, the 32-bit
send time in milliseconds and an 8-bit check. Blocks are large and the decoder only looks at their
centres and at relative positions, so a stamp survives VP8/H.264 compression and scaling (the recorder
shrinks frames into grid tiles). The bottom half is mid-grey with a bar that moves every frame, so a
frozen picture is visible to a person too.
"""

from __future__ import annotations

import functools
import time
import zlib
from dataclasses import dataclass

import numpy as np

COLS, ROWS = 12, 6
BITS = COLS * ROWS
WHITE, BLACK, GREY = 235, 16, 110


@dataclass(frozen=True, slots=True)
class Stamp:
    tag: int
    frame: int
    time_ms: int


def now_ms() -> int:
    """Wall-clock milliseconds modulo 2**32: probes on one host share this clock."""
    return (time.time_ns() // 1_000_000) & 0xFFFFFFFF


def _check(body: bytes) -> int:
    # Never 0 for an all-zero body, so a black picture does not decode as a stamp.
    return (zlib.crc32(body) & 0xFF) ^ 0x5A


def _bits(stamp: Stamp) -> np.ndarray:
    body = bytes([stamp.tag & 0xFF]) + (stamp.frame & 0xFFFFFF).to_bytes(3, "big") + stamp.time_ms.to_bytes(4, "big")
    data = body + bytes([_check(body)])
    return np.unpackbits(np.frombuffer(data, dtype=np.uint8))


def _edges(length: int, count: int) -> np.ndarray:
    return np.linspace(0, length, count + 1).round().astype(int)


@functools.lru_cache(maxsize=16)
def _block_sizes(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """The height of each block row and the width of each block column of the stamp area."""
    return np.diff(_edges(height // 2, ROWS)), np.diff(_edges(width, COLS))


@functools.lru_cache(maxsize=16)
def _samples(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates to read per block: a 5 x 5 lattice over the middle half of each block."""
    xs, ys = _edges(width, COLS), _edges(height // 2, ROWS)
    fractions = np.linspace(0.25, 0.75, 5)
    px = (xs[:-1, None] + fractions[None, :] * np.diff(xs)[:, None]).astype(int)  # (COLS, 5)
    py = (ys[:-1, None] + fractions[None, :] * np.diff(ys)[:, None]).astype(int)  # (ROWS, 5)
    # (ROWS, COLS, 5, 5) grids of y and x coordinates
    yy = np.broadcast_to(py[:, None, :, None], (ROWS, COLS, 5, 5))
    xx = np.broadcast_to(px[None, :, None, :], (ROWS, COLS, 5, 5))
    return yy, xx


def draw(luma: np.ndarray, stamp: Stamp) -> None:
    """Draw ``stamp`` (and the moving bar) into a luma plane in place."""
    height, width = luma.shape
    top = height // 2
    luma[top:, :] = GREY
    bar = max(4, width // 16)
    x = (stamp.frame * bar // 2) % max(1, width - bar)
    luma[top + 4 :, x : x + bar] = WHITE
    values = np.where(_bits(stamp).reshape(ROWS, COLS), WHITE, BLACK).astype(np.uint8)
    # Blocks by repetition: a tenth of the cost of gathering every pixel (it ran for every probe frame).
    heights, widths = _block_sizes(width, height)
    luma[:top, :] = np.repeat(np.repeat(values, heights, axis=0), widths, axis=1)


def decode(luma: np.ndarray) -> Stamp | None:
    """The stamp in a luma plane (any size), or None if there is none or it does not check out."""
    height, width = luma.shape
    if width < COLS * 4 or height // 2 < ROWS * 4:
        return None
    yy, xx = _samples(width, height)
    means = luma[yy, xx].mean(axis=(2, 3), dtype=np.float32)
    bits = (means > (WHITE + BLACK) / 2).astype(np.uint8).reshape(BITS)
    data = np.packbits(bits).tobytes()
    if _check(data[:8]) != data[8]:
        return None
    return Stamp(tag=data[0], frame=int.from_bytes(data[1:4], "big"), time_ms=int.from_bytes(data[4:8], "big"))
