"""Audio/video sync marks: a picture that flashes white and a tone burst, at the same instants once a second,
and the analysis that finds both again in a recording to measure how far audio is from video.

The two tracks share one clock (``MarkClock``): frame ``n`` shows the picture due at ``n / fps`` seconds after
its start and audio sample ``k`` the sound due at ``k / 48000``, and each frame is handed to the encoder at
that instant, so flash and burst leave at the same moment. Whatever offset a recording shows between them
was added on the way (network, jitter buffers, the recorder).
"""

from __future__ import annotations

import asyncio
import fractions
import math
import time

import av
import numpy as np
from aiortc import MediaStreamTrack

from noom.protocol import Peer

from .audio import PTIME, SAMPLE_RATE
from .participant import Participant

PERIOD = 1.0  # seconds between marks
FLASH = 0.2  # seconds the picture stays white
BURST = 0.1  # seconds the tone burst lasts
BURST_HZ = 1000
VIDEO_CLOCK = 90000
DARK, BRIGHT = 16, 235


class MarkClock:
    """The instant both tracks count from, and where a mark falls."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def first_index(self, rate: float) -> int:
        """The index of the next frame (at ``rate`` per second) from now."""
        return math.ceil((time.monotonic() - self.start) * rate)

    async def until(self, index: int, rate: float) -> None:
        wait = self.start + index / rate - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)


class FlashTrack(MediaStreamTrack):
    """Black frames, white for ``FLASH`` seconds at the start of every ``PERIOD``."""

    kind = "video"

    def __init__(self, clock: MarkClock, width: int = 320, height: int = 240, fps: float = 30) -> None:
        super().__init__()
        self.clock, self.fps = clock, fps
        self._frames = {
            bright: np.full((height * 3 // 2, width), 128, np.uint8) for bright in (False, True)
        }  # chroma neutral
        for bright, buffer in self._frames.items():
            buffer[:height] = BRIGHT if bright else DARK
        self._index: int | None = None

    async def recv(self) -> av.VideoFrame:
        if self._index is None:
            self._index = self.clock.first_index(self.fps)
        index, self._index = self._index, self._index + 1
        await self.clock.until(index, self.fps)
        bright = (index / self.fps) % PERIOD < FLASH
        frame = av.VideoFrame.from_ndarray(self._frames[bright], format="yuv420p")
        frame.pts = round(index * VIDEO_CLOCK / self.fps)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        return frame


class BurstTrack(MediaStreamTrack):
    """Silence, with a ``BURST_HZ`` tone for ``BURST`` seconds at the start of every ``PERIOD``."""

    kind = "audio"

    def __init__(self, clock: MarkClock, amplitude: float = 0.5) -> None:
        super().__init__()
        self.clock = clock
        self.amplitude = amplitude
        self._frames_per_second = round(1 / PTIME)
        self._samples = int(SAMPLE_RATE * PTIME)
        t = np.arange(int(SAMPLE_RATE * PERIOD)) / SAMPLE_RATE
        wave = np.where(t < BURST, amplitude * np.sin(2 * np.pi * BURST_HZ * t), 0.0)
        self._period = (wave * 32767).astype(np.int16)
        self._index: int | None = None

    async def recv(self) -> av.AudioFrame:
        if self._index is None:
            self._index = self.clock.first_index(self._frames_per_second)
        index, self._index = self._index, self._index + 1
        await self.clock.until(index, self._frames_per_second)
        offset = (index * self._samples) % self._period.size
        chunk = self._period[offset : offset + self._samples]
        frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = index * self._samples
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        return frame


class MarksBot(Participant):
    """A participant that sends every peer the sync marks (flash and burst on one clock)."""

    role = "probe"

    def __init__(
        self, url: str, room: str, name: str = "sync-marks", *, fps: float = 30, bot_credential: str | None = None
    ) -> None:
        super().__init__(url, room, name, bot_credential=bot_credential)
        self.clock = MarkClock()
        self.fps = fps

    def outgoing_tracks(self, peer: Peer) -> list[MediaStreamTrack]:
        return [BurstTrack(self.clock), FlashTrack(self.clock, fps=self.fps)]


def flash_onsets(times: np.ndarray, brightness: np.ndarray) -> list[float]:
    """Times at which the picture turns bright (its mean luma crosses halfway from dark to bright)."""
    if brightness.size == 0:
        return []
    bright = brightness > (float(brightness.min()) + float(brightness.max())) / 2
    if brightness.max() - brightness.min() < (BRIGHT - DARK) / 2:
        return []  # no flash at all
    rising = np.flatnonzero(bright[1:] & ~bright[:-1]) + 1
    return [float(times[i]) for i in rising]


def burst_onsets(samples: np.ndarray, rate: int = SAMPLE_RATE, quiet: float = 0.3) -> list[float]:
    """Times at which a burst starts: the level first passes a third of the peak after ``quiet`` seconds below it."""
    if samples.size == 0:
        return []
    loud = np.abs(samples) > np.abs(samples).max() / 3
    onsets: list[float] = []
    last = -math.inf
    for i in np.flatnonzero(loud):
        if (i - last) / rate >= quiet:
            onsets.append(float(i / rate))
        last = i
    return onsets


def offsets(flashes: list[float], bursts: list[float], within: float = PERIOD / 2) -> list[float]:
    """For each flash with a burst within ``within`` seconds: burst time minus flash time (positive: audio late)."""
    found = []
    for flash in flashes:
        near = [burst - flash for burst in bursts if abs(burst - flash) < within]
        if near:
            found.append(min(near, key=abs))
    return found
