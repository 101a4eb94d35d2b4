"""Audio helpers shared by the bots: frames as mono floats, levels in dBFS, the dominant tone, and a
sine-wave track (the probe's signature tone)."""

from __future__ import annotations

import asyncio
import fractions
import math
import time

import av
import numpy as np
from aiortc import MediaStreamTrack

SAMPLE_RATE = 48000
PTIME = 0.02  # 20 ms frames, what Opus sends
SILENCE_DBFS = -60.0


_PACKED = {"s16": (np.int16, 32768.0), "s32": (np.int32, 2147483648.0), "flt": (np.float32, 1.0)}


class Pacer:
    """Paces a synthetic track's ``recv()`` in real time: media time ``seconds`` is due that long after the
    first frame, wherever the caller is late or early (no drift from sleeping a fixed step)."""

    def __init__(self) -> None:
        self._start: float | None = None

    async def wait_until(self, seconds: float) -> None:
        if self._start is None:
            self._start = time.monotonic()
            return
        wait = self._start + seconds - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)


def mono(frame: av.AudioFrame) -> np.ndarray:
    """An audio frame as mono float32 samples in [-1, 1]."""
    channels = len(frame.layout.channels)
    packed = _PACKED.get(frame.format.name)
    if packed is not None:
        # Straight from the plane: to_ndarray stacks a copy first, and this runs for every received frame.
        dtype, scale = packed
        data = np.frombuffer(frame.planes[0], dtype=dtype, count=frame.samples * channels)
        samples = data[::channels].astype(np.float32)
        for channel in range(1, channels):  # interleaved: add the other channels' strided views
            samples += data[channel::channels]
        if scale * channels != 1.0:
            samples /= scale * channels
        return samples
    data = frame.to_ndarray()
    if frame.format.is_planar:
        samples = data.astype(np.float32).mean(axis=0)
    else:
        samples = data.reshape(-1, channels).astype(np.float32).mean(axis=1)
    if frame.format.name.startswith("s16"):
        samples /= 32768.0
    elif frame.format.name.startswith("s32"):
        samples /= 2147483648.0
    return samples


def level_dbfs(samples: np.ndarray) -> float:
    """RMS level in dBFS (a full-scale sine is about -3 dBFS); -inf-safe: silence gives -120."""
    if samples.size == 0:
        return -120.0
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return max(-120.0, 20 * math.log10(rms)) if rms > 0 else -120.0


def dominant_tone(samples: np.ndarray, rate: int = SAMPLE_RATE) -> float | None:
    """The frequency (Hz) of the strongest spectral peak above 100 Hz, or None for silence."""
    if samples.size < 1024 or level_dbfs(samples) < SILENCE_DBFS:
        return None
    window = np.hanning(samples.size)
    spectrum = np.abs(np.fft.rfft(samples * window))
    freqs = np.fft.rfftfreq(samples.size, 1 / rate)
    spectrum[freqs < 100] = 0
    return float(freqs[int(np.argmax(spectrum))])


def tone_present(samples: np.ndarray, hz: float, rate: int = SAMPLE_RATE, margin_db: float = 20.0) -> bool:
    """Whether ``hz`` stands out of the spectrum by ``margin_db`` over the median (used with mixed audio)."""
    if samples.size < 1024:
        return False
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size))) + 1e-12
    freqs = np.fft.rfftfreq(samples.size, 1 / rate)
    band = (freqs > hz - 15) & (freqs < hz + 15)
    return bool(20 * math.log10(spectrum[band].max() / np.median(spectrum)) > margin_db)


class ToneTrack(MediaStreamTrack):
    """A sine wave at ``hz`` (rounded to a whole number; amplitude -12 dBFS), paced in real time in 20 ms frames."""

    kind = "audio"

    def __init__(self, hz: float, amplitude: float = 0.25) -> None:
        super().__init__()
        self.hz = round(hz)
        self.amplitude = amplitude
        self._samples = int(SAMPLE_RATE * PTIME)
        # One second of the wave, computed once: a tone on a whole number of Hz repeats every second.
        t = np.arange(SAMPLE_RATE + self._samples) / SAMPLE_RATE
        self._wave = (amplitude * 32767 * np.sin(2 * np.pi * self.hz * t)).astype(np.int16)
        self._pts = 0
        self._pacer = Pacer()

    async def recv(self) -> av.AudioFrame:
        await self._pacer.wait_until(self._pts / SAMPLE_RATE)
        offset = self._pts % SAMPLE_RATE
        wave = self._wave[offset : offset + self._samples]
        frame = av.AudioFrame.from_ndarray(wave.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        self._pts += self._samples
        return frame
