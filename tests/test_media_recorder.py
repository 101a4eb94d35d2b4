"""The recorder with two probes: one MP4 with both patterns in their grid cells and both tones mixed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import av
import numpy as np

from noom.media import layout, pattern
from noom.media.audio import tone_present
from noom.media.probe import ProbeBot, luma
from noom.media.recorder import RecorderBot

from .helpers import RunningServer
from .media_helpers import bot_credential
from .support import eventually

WIDTH, HEIGHT = 640, 480


def cell_luma(image: np.ndarray, cell: layout.Rect) -> np.ndarray:
    box = layout.fit(cell, 4 / 3)  # the probes send 4:3 frames
    return image[box.y : box.y + box.h, box.x : box.x + box.w]


async def test_recorder_writes_grid_and_mixed_audio(server: RunningServer, tmp_path: Path) -> None:
    key = bot_credential(server)
    a = ProbeBot(server.url, "rec", "probe-a", tone_hz=700, tag=11, width=320, height=240, fps=15, bot_credential=key)
    b = ProbeBot(server.url, "rec", "probe-b", tone_hz=1300, tag=22, width=320, height=240, fps=15, bot_credential=key)
    await a.start()
    await b.start()
    out = tmp_path / "call.mp4"
    recorder = RecorderBot(server.url, "rec", out, width=WIDTH, height=HEIGHT, fps=15, bot_credential=key)
    try:
        await eventually(
            lambda: all(p.received and all(r.stamped for r in p.received.values()) for p in (a, b)),
            "probes see each other",
            30,
        )
        await recorder.start()
        await eventually(
            lambda: len(recorder.tiles) == 2 and all(t.frame is not None for t in recorder.tiles.values()),
            "recorder receives both",
            30,
        )
        order = [t.peer.name for t in recorder.tiles.values()]
        await asyncio.sleep(max(0.0, 3 - recorder.elapsed))
        await b.stop()
        left_at = recorder.elapsed
        await asyncio.sleep(max(0.0, 6 - recorder.elapsed, left_at + 2.5 - recorder.elapsed))
        await recorder.finish()
    finally:
        await recorder.stop()
        await a.stop()
        await b.stop()

    with av.open(str(out)) as container:
        [video] = container.streams.video
        [audio] = container.streams.audio
        assert video.codec_context.name == "h264" and audio.codec_context.name == "aac"
        duration = float(container.duration / av.time_base)
        # As long as the recording (which runs past 7 s when a loaded machine slows the probe's leaving).
        assert duration >= 5 and abs(duration - recorder.elapsed) < 0.5, (duration, recorder.elapsed)
        cells = layout.grid(2, WIDTH, HEIGHT)
        tags = {"probe-a": 11, "probe-b": 22}
        both_seen = 0
        dark_after_leave = 0
        late_frames = 0
        for frame in container.decode(video):
            t = float(frame.pts * frame.time_base)
            image = luma(frame)
            stamps = [pattern.decode(cell_luma(image, cell)) for cell in cells]
            if all(s is not None and s.tag == tags[name] for s, name in zip(stamps, order, strict=True)):
                both_seen += 1
            if t > left_at + 0.5:
                late_frames += 1
                gone = cell_luma(image, cells[order.index("probe-b")])
                if pattern.decode(gone) is None and gone.mean() < 50:
                    dark_after_leave += 1
    with av.open(str(out)) as container:
        samples = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])
    print(f"duration {duration:.2f}s, {both_seen} frames with both patterns, left at {left_at:.1f}s")
    assert both_seen >= 5
    assert late_frames >= 5 and dark_after_leave == late_frames
    rate = 48000
    middle = samples[int(1.5 * rate) : int(left_at * rate)]
    assert tone_present(middle, 700) and tone_present(middle, 1300)
