"""``noom record`` on a live call of two Chromium browsers on the real room page.

Each browser is its own Chromium process with a camera and microphone of its own (a red or blue picture, a
600 Hz or 1500 Hz tone), so the recording can be checked for who is where: both pictures side by side, each
in its own grid cell under its own name label, and both tones in the mix. The recorder, as the newcomer,
offers to both browsers (which are polite toward bots), and their call goes on while it records.
"""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import av
import numpy as np

from noom.media import layout
from noom.media.audio import tone_present

from .browser_fixtures import Browsers, assert_receiving, join
from .fake_media import write_color_y4m, write_tone_wav
from .helpers import TEST_SERVER_SECRET, RunningServer
from .support import eventually

WIDTH, HEIGHT, DURATION = 640, 360, 6
PEOPLE = {"Ada": ((220, 30, 30), 600), "Bob": ((30, 40, 220), 1500)}  # name: (camera colour, microphone tone)


async def test_noom_record_of_two_browsers(browsers: Browsers, server: RunningServer, tmp_path: Path) -> None:
    pages = {}
    for name, (rgb, hz) in PEOPLE.items():
        camera = write_color_y4m(tmp_path / f"{name}.y4m", rgb)
        microphone = write_tone_wav(tmp_path / f"{name}.wav", hz)
        pages[name], _ = await browsers.separate_page(
            name.lower(),
            [f"--use-file-for-fake-video-capture={camera}", f"--use-file-for-fake-audio-capture={microphone}"],
        )
        await join(pages[name], server.url, "recorded", name)
    await assert_receiving(pages["Ada"], "Bob")
    await assert_receiving(pages["Bob"], "Ada")

    out = tmp_path / "call.mp4"
    record = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "noom.cli", "record", "--url", server.url, "--room", "recorded",
        "--out", str(out), "--duration", str(DURATION), "--width", str(WIDTH), "--height", str(HEIGHT),
        "--server-secret", TEST_SERVER_SECRET,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    communicate = asyncio.ensure_future(record.communicate())
    try:
        # While it records, both people see the REC indicator and still see and hear each other.
        for name, page in pages.items():
            await eventually(lambda page=page: page.locator("#rec-indicator").is_visible(), f"{name} sees REC")
        await assert_receiving(pages["Ada"], "Bob")
        await assert_receiving(pages["Bob"], "Ada")
        _, err = await asyncio.wait_for(communicate, 60)
    finally:
        if record.returncode is None:
            record.terminate()
            await record.wait()
    stderr = err.decode()
    assert record.returncode == 0, stderr
    recorded = float(re.search(r"Saved ([0-9.]+) s", stderr).group(1))  # type: ignore[union-attr]

    with av.open(str(out)) as container:
        [video] = container.streams.video
        [audio] = container.streams.audio
        assert video.codec_context.name == "h264" and audio.codec_context.name == "aac"
        durations = {s.type: float(s.duration * s.time_base) for s in (video, audio)}
        images = [(float(f.pts * f.time_base), f.to_ndarray(format="rgb24")) for f in container.decode(video)]
    with av.open(str(out)) as container:
        samples = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])
    print(f"recorded {recorded:.2f} s; stream durations {durations}")
    assert abs(recorded - DURATION) < 1.0
    for kind, seconds in durations.items():
        assert abs(seconds - recorded) <= 0.5, f"the {kind} stream lasts {seconds:.2f} s of {recorded:.2f} s recorded"

    # The second half of the recording: both people in their cells, each under their own name.
    cells = layout.grid(2, WIDTH, HEIGHT)
    late = [image for t, image in images if t > recorded / 2]
    assert len(late) >= 10
    placed = [who_is_in(image, cells) for image in late]
    assert all(p == placed[-1] for p in placed[-10:]), placed
    assert sorted(placed[-1]) == sorted(PEOPLE), placed[-1]
    rate = audio.sample_rate
    mix = samples[len(samples) // 2 :]
    for name, (_, hz) in PEOPLE.items():
        assert tone_present(mix, hz, rate), f"{name}'s {hz} Hz tone is not in the recording's audio"


def who_is_in(image: np.ndarray, cells: list[layout.Rect]) -> list[str | None]:
    """Per cell, the person whose camera colour fills it and whose name label is at its bottom-left corner."""
    found: list[str | None] = []
    size = max(12, HEIGHT // 24)  # the recorder's label size (Composer)
    luma = image.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    for cell in cells:
        box = layout.fit(cell, 4 / 3)
        middle = image[box.y + box.h // 4 : box.y + box.h // 2, box.x + box.w // 4 : box.x + 3 * box.w // 4]
        colour = middle.reshape(-1, 3).mean(axis=0)
        by_colour = [name for name, (rgb, _) in PEOPLE.items() if np.abs(colour - np.array(rgb)).max() < 60]
        errors = {name: label_error(luma, cell, name, size) for name in PEOPLE}
        by_label = min(errors, key=errors.__getitem__)
        found.append(by_label if by_colour == [by_label] and errors[by_label] < 20 else None)
    return found


def label_error(luma: np.ndarray, cell: layout.Rect, name: str, size: int) -> float:
    """How far the picture is from ``name``'s label, as the recorder draws it, where it puts it in ``cell``
    (mean absolute luma difference)."""
    expected = layout.label(name, size)[0].astype(np.float32)
    h, w = expected.shape
    x, y = (cell.x + 6) & ~1, (cell.y + cell.h - h - 6) & ~1
    seen = luma[y : y + h, x : x + w]
    return float(np.abs(seen - expected).mean()) if seen.shape == expected.shape else 255.0
