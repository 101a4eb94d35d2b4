"""The bots' pure parts: the pattern's stamp, the recorder's tiles, the echo report's words."""

from __future__ import annotations

import time

import av
import numpy as np
import pytest

from noom.media import layout, pattern
from noom.media.echo import AudioReceived, VideoReceived, found_problems
from noom.media.probe import luma
from noom.media.recorder import SLEW, Composer, Tile
from noom.protocol import Peer


def pattern_frame(stamp: pattern.Stamp, width: int = 320, height: int = 240) -> av.VideoFrame:
    buffer = np.full((height * 3 // 2, width), 128, dtype=np.uint8)
    pattern.draw(buffer[:height], stamp)
    return av.VideoFrame.from_ndarray(buffer, format="yuv420p")


def test_stamp_survives_scaling_and_noise_and_black_is_no_stamp() -> None:
    stamp = pattern.Stamp(tag=200, frame=123456, time_ms=4_000_000_000)
    frame = pattern_frame(stamp).reformat(width=131, height=97)  # an odd, small tile
    noisy = luma(frame).astype(int) + np.random.default_rng(1).integers(-40, 40, size=(97, 131))
    assert pattern.decode(np.clip(noisy, 0, 255).astype(np.uint8)) == stamp
    assert pattern.decode(np.zeros((240, 320), dtype=np.uint8)) is None
    assert pattern.decode(np.full((240, 320), 255, dtype=np.uint8)) is None


def test_tile_goes_dark_with_the_name_when_the_camera_is_off() -> None:
    composer = Composer(640, 480)
    peer = Peer(peer_id="p1", name="Ada")
    tile = Tile(peer, frame=pattern_frame(pattern.Stamp(5, 1, 0)), frame_at=time.monotonic())
    [cell] = layout.grid(1, 640, 480)
    box = layout.fit(cell, 4 / 3)

    def shown(picture: np.ndarray) -> np.ndarray:
        return picture[: composer.height][box.y : box.y + box.h, box.x : box.x + box.w]  # its Y plane

    assert pattern.decode(shown(composer.compose([tile], time.monotonic()))).tag == 5
    tile.peer = Peer(peer_id="p1", name="Ada", video=False)
    dark = shown(composer.compose([tile], time.monotonic()))
    assert pattern.decode(dark) is None and dark.mean() < 50
    assert dark.max() > 200  # the name label is drawn in light letters


def test_grid_cells_tile_the_picture() -> None:
    cells = layout.grid(5, 1280, 720)
    assert len(cells) == 5 and len({(c.w, c.h) for c in cells}) == 1
    assert all(c.x + c.w <= 1280 and c.y + c.h <= 720 for c in cells)


def test_echo_report_words() -> None:
    fine = found_problems(VideoReceived(640, 480, 30.0), AudioReceived(-20.0, False), 0.0)
    assert fine == []
    silent = found_problems(VideoReceived(640, 480, 30.0), AudioReceived(-90.0, True), 0.0)
    assert len(silent) == 1 and silent[0][0] == "silent" and "hear nothing" in silent[0][1]
    nothing = dict(found_problems(None, None, 12.0))
    assert list(nothing) == ["no-video", "no-audio", "high-loss"]  # the page words them by these names
    assert "camera" in nothing["no-video"] and "microphone" in nothing["no-audio"]
    assert "12% of your packets" in nothing["high-loss"]
    poor = dict(found_problems(VideoReceived(160, 120, 5.0), AudioReceived(-20.0, False), None))
    assert list(poor) == ["low-fps", "low-resolution"] and "160x120" in poor["low-resolution"]


async def test_echo_track_sends_the_newest_video_frame_and_skips_stale_ones() -> None:
    import asyncio

    from aiortc import MediaStreamTrack
    from aiortc.mediastreams import MediaStreamError

    from noom.media.echo import EchoTrack

    class Burst(MediaStreamTrack):
        """Five frames at once (a decoder catching up), then the end of the track."""

        kind = "video"

        def __init__(self) -> None:
            super().__init__()
            self.sent = 0

        async def recv(self) -> av.VideoFrame:
            if self.sent == 5:
                raise MediaStreamError
            frame = pattern_frame(pattern.Stamp(1, self.sent, 0))
            self.sent += 1
            return frame

    track = EchoTrack("video")
    source = Burst()
    track.attach(source)
    frame = await asyncio.wait_for(track.recv(), 5)
    assert pattern.decode(luma(frame)) == pattern.Stamp(1, 4, 0)  # the newest one, not the first
    assert track.skipped == 4 and len(track.meter.times) == 5  # every received frame is still measured
    with pytest.raises(MediaStreamError):  # the source ended: so does the echo
        await asyncio.wait_for(track.recv(), 5)
    track.stop()


def test_recorder_audio_goes_where_it_arrived_gapless_through_jitter() -> None:
    tile = Tile(Peer(peer_id="p", name="Ada"))
    chunk = 960  # 20 ms at 48 kHz
    # Chunks arriving up to 10 ms off their pace follow each other without gaps; the one that came early
    # (the third) pulls the audio back toward it by SLEW samples.
    for i, jitter in enumerate([0, 480, -240, 240, 0]):
        tile.add_audio(np.full(chunk, i + 1, np.float32), 10_000 + (i + 1) * chunk + jitter)
    mixed = tile.take_audio(10_000, 10_000 + 5 * chunk)
    assert [int(v) for v in mixed[::chunk]] == [1, 2, 3, 4, 5] and mixed[: 5 * chunk - SLEW].min() == 1.0
    # After a stall (a chunk 200 ms late), the audio goes where it arrived, with silence in between.
    late = 10_000 + 6 * chunk + 9600
    tile.add_audio(np.full(chunk, 9, np.float32), late)
    mixed = tile.take_audio(10_000 + 5 * chunk, late)
    assert mixed[: 9600 - 1].max() == 0.0 and (mixed[-chunk:] == 9).all()
    # Nothing is taken twice.
    assert tile.take_audio(10_000, late).max() == 0.0
