"""The recorder keeps audio and video in sync and the file as long as the recording.

A bot sends a picture that flashes white and a tone burst at the same instants once a second (media/avsync.py);
the recorder records it; the flashes found in the video and the bursts found in the audio must line up within
lip-sync tolerance, and both streams must last as long as the recording did.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import sys
from pathlib import Path

import av
import numpy as np

from noom.media import avsync, layout
from noom.media.probe import luma

from .helpers import RunningServer
from .media_helpers import bot_credential, known_secret

WIDTH, HEIGHT, SECONDS = 640, 360, 6.5
TOLERANCE = 0.1  # seconds; ITU-R BT.1359 finds +45 ms (audio early) to -125 ms (audio late) undetectable


async def test_recording_keeps_audio_and_video_in_sync(server: RunningServer, tmp_path: Path) -> None:
    secret = known_secret(server)
    marks = avsync.MarksBot(server.url, "sync", bot_credential=bot_credential(server))
    await marks.start()
    out = tmp_path / "sync.mp4"
    # ``noom record`` in a process of its own, as people run it: the marks' sender does not share its CPU time.
    record = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "noom.cli", "record", "--url", server.url, "--room", "sync", "--out", str(out),
        "--duration", str(SECONDS), "--width", str(WIDTH), "--height", str(HEIGHT), "--fps", "15",
        "--server-secret", secret,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        _, err = await asyncio.wait_for(record.communicate(), 60)
    finally:
        if record.returncode is None:
            record.terminate()
            await record.wait()
        await marks.stop()
    assert record.returncode == 0, err.decode()
    recorded = float(re.search(r"Saved ([0-9.]+) s", err.decode()).group(1))  # type: ignore[union-attr]

    box = layout.fit(layout.grid(1, WIDTH, HEIGHT)[0], 4 / 3)
    with av.open(str(out)) as container:
        [video] = container.streams.video
        [audio] = container.streams.audio
        durations = {s.type: float(s.duration * s.time_base) for s in (video, audio)}
        times, brightness = [], []
        for frame in container.decode(video):
            times.append(float(frame.pts * frame.time_base))
            brightness.append(float(luma(frame)[box.y : box.y + box.h, box.x : box.x + box.w].mean()))
    with av.open(str(out)) as container:
        frames = list(container.decode(audio=0))
        start = float(frames[0].pts * frames[0].time_base)
        samples = np.concatenate([f.to_ndarray().reshape(-1) for f in frames])
    flashes = avsync.flash_onsets(np.array(times), np.array(brightness))
    bursts = [start + t for t in avsync.burst_onsets(samples, audio.sample_rate)]
    offsets = avsync.offsets(flashes, bursts)
    print(
        f"recorded {recorded:.2f} s, streams {durations}; audio minus video per mark (ms): "
        f"{[round(o * 1000) for o in offsets]}, median {statistics.median(offsets) * 1000:.0f} ms"
    )
    for kind, seconds in durations.items():
        assert abs(seconds - recorded) <= 0.5, f"{kind} lasts {seconds:.2f} s of {recorded:.2f} s"
    assert len(offsets) >= 3, (flashes, bursts)
    assert abs(statistics.median(offsets)) <= TOLERANCE, offsets
