"""Known media for Chromium's fake capture devices, as files it loops.

A cartoon person in a room for the README screenshots (Chromium's own fake camera is a green test pattern; the
screenshots should show what a call looks like), and plain coloured cameras and pure tones for tests that must
tell two browsers apart in a recording.
"""

from __future__ import annotations

import subprocess
import wave
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
    height, width = rgb.shape[:2]
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = 16 + 0.257 * r + 0.504 * g + 0.098 * b
    u = 128 - 0.148 * r - 0.291 * g + 0.439 * b
    v = 128 + 0.439 * r - 0.368 * g - 0.071 * b
    u = u.reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3))
    v = v.reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3))
    return b"".join(np.clip(p, 0, 255).astype(np.uint8).tobytes() for p in (y, u, v))


def write_person_y4m(path: Path) -> Path:
    """Write the looping clip to ``path`` (about 10 MB) and return it."""
    with path.open("wb") as f:
        f.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{FPS}:1 Ip A1:1 C420jpeg\n".encode())
        for i in range(FRAMES):
            f.write(b"FRAME\n")
            f.write(_i420(_frame(i / FRAMES)))
    return path


def write_color_y4m(
    path: Path, rgb: tuple[int, int, int], width: int = 320, height: int = 240, fps: int = 15, frames: int = 15
) -> Path:
    """A camera showing one colour, with a small white square moving along the bottom so the video visibly plays."""
    with path.open("wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for i in range(frames):
            image = np.empty((height, width, 3), np.float32)
            image[:] = rgb
            side = height // 8
            x = (width - side) * i // max(1, frames - 1)
            image[height - side - 4 : height - 4, x : x + side] = 255
            f.write(b"FRAME\n")
            f.write(_i420(image))
    return path


def write_tone_wav(path: Path, hz: float, seconds: float = 2.0, rate: int = 48000, amplitude: float = 0.3) -> Path:
    """A microphone playing a pure tone: mono 16-bit PCM (a whole number of Hz loops without a click)."""
    t = np.arange(int(seconds * rate)) / rate
    samples = (amplitude * 32767 * np.sin(2 * np.pi * hz * t)).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return path


# Sentences espeak-ng says into the noisy microphone, one per speech stretch.
SPEECH = (
    "The quick brown fox jumps over the lazy dog.",
    "Please call me back when you have a moment.",
    "We will meet again in the morning.",
)


def write_noisy_speech_wav(
    path: Path, noise_dbfs: float = -35.0, pause: float = 2.0, rate: int = 48000, seed: int = 7
) -> tuple[Path, np.ndarray]:
    """A microphone in a noisy room: espeak-ng's speech (resampled by sox) in stretches with ``pause`` seconds
    of silence before each, and steady white noise at ``noise_dbfs`` (RMS, dB full scale) throughout; mono
    16-bit PCM at ``rate``. Returns the path and a per-sample mask that is True where speech plays (so the
    pauses are known). Needs the Debian packages espeak-ng and sox (scripts/setup.sh --system)."""
    pieces: list[np.ndarray] = []
    speaking: list[np.ndarray] = []
    quiet = np.zeros(int(pause * rate), np.float32)
    for index, sentence in enumerate(SPEECH):
        raw, resampled = path.with_name(f"{path.stem}-{index}-raw.wav"), path.with_name(f"{path.stem}-{index}.wav")
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(raw), sentence], check=True, timeout=60)
        # Peak-normalised to -3 dBFS so the speech level does not depend on espeak-ng's version.
        subprocess.run(
            ["sox", str(raw), "-r", str(rate), "-c", "1", "-b", "16", str(resampled), "norm", "-3"],
            check=True,
            timeout=60,
        )
        with wave.open(str(resampled), "rb") as source:
            spoken = np.frombuffer(source.readframes(source.getnframes()), "<i2").astype(np.float32) / 32768
        sounding = np.flatnonzero(np.abs(spoken) >= 1e-3)  # espeak-ng pads with silence; the pauses are ours
        spoken = spoken[sounding[0] : sounding[-1] + 1]
        pieces += [quiet, spoken]
        speaking += [np.zeros(quiet.size, bool), np.ones(spoken.size, bool)]
    speech = np.concatenate(pieces)
    noise = np.random.default_rng(seed).standard_normal(speech.size).astype(np.float32)
    noise *= 10 ** (noise_dbfs / 20) / np.sqrt(np.mean(noise**2))
    samples = np.clip(speech + noise, -1, 1)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((samples * 32767).astype("<i2").tobytes())
    return path, np.concatenate(speaking)


def write_still_y4m(path: Path, rgb: np.ndarray, fps: int = 30, frames: int = 30) -> Path:
    """Write a clip of ``frames`` copies of the RGB image ``rgb`` at ``fps`` (a camera looking at a still scene)."""
    height, width = rgb.shape[:2]
    frame = _i420(rgb.astype(np.float32))
    with path.open("wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            f.write(b"FRAME\n" + frame)
    return path
