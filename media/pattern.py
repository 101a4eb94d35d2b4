"""The probe's test pattern: frames whose top half carries a stamp as black/white blocks.

A stamp is 72 bits in a 12 x 6 grid of blocks: an 8-bit probe tag, a 24-bit frame number, the 32-bit
send time in milliseconds and an 8-bit check. Blocks are large and the decoder only looks at their
centres and at relative positions, so a stamp survives VP8/H.264 compression and scaling (the recorder
shrinks frames into grid tiles). The bottom half is mid-grey with a bar that moves every frame, so a
frozen picture is visible to a person too.
"""

from __future__ import annotations

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


def draw(luma: np.ndarray, stamp: Stamp) -> None:
    """Draw ``stamp`` (and the moving bar) into a luma plane in place."""
    height, width = luma.shape
    top = height // 2
    luma[top:, :] = GREY
    bar = max(4, width // 16)
    x = (stamp.frame * bar // 2) % max(1, width - bar)
    luma[top + 4 :, x : x + bar] = WHITE
    xs, ys = _edges(width, COLS), _edges(top, ROWS)
    bits = _bits(stamp)
    for i, bit in enumerate(bits):
        r, c = divmod(i, COLS)
        luma[ys[r] : ys[r + 1], xs[c] : xs[c + 1]] = WHITE if bit else BLACK


def decode(luma: np.ndarray) -> Stamp | None:
    """The stamp in a luma plane (any size), or None if there is none or it does not check out."""
    height, width = luma.shape
    top = height // 2
    if width < COLS * 2 or top < ROWS * 2:
        return None
    xs, ys = _edges(width, COLS), _edges(top, ROWS)
    bits = np.zeros(BITS, dtype=np.uint8)
    for i in range(BITS):
        r, c = divmod(i, COLS)
        x0, x1, y0, y1 = xs[c], xs[c + 1], ys[r], ys[r + 1]
        dx, dy = (x1 - x0) // 4, (y1 - y0) // 4
        bits[i] = luma[y0 + dy : y1 - dy, x0 + dx : x1 - dx].mean() > (WHITE + BLACK) / 2
    data = np.packbits(bits).tobytes()
    if _check(data[:8]) != data[8]:
        return None
    return Stamp(tag=data[0], frame=int.from_bytes(data[1:4], "big"), time_ms=int.from_bytes(data[4:8], "big"))
