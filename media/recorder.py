"""The recorder bot: writes one MP4 (H.264 + AAC) of a call, videos in a grid with name labels and
all audio mixed.

Time comes from the wall clock, for both media: a tick every 1/fps seconds composes the latest frame
of every peer into the grid, and each peer's audio is placed on the file's timeline where it arrived
(kept gapless through jitter, see ``Tile.add_audio``) and mixed 150 ms behind the wall clock. So the
file lasts as long as the recording did, and audio and video stay in step however the peers' packets
arrive (docs/media.md has the measured offset). A peer keeps its
tile once seen: while its camera is off, its frames stop, or after it left, the tile shows its name
on a dark background. Composing and encoding run on one worker thread so the event loop keeps
receiving media.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import fractions
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from noom.protocol import Peer

from . import layout
from .audio import SAMPLE_RATE, mono
from .participant import Participant

log = logging.getLogger(__name__)

STALE_VIDEO = 1.0  # seconds without a frame after which a tile goes dark (camera off, frozen, gone)
# Audio is placed on the file's timeline where it arrived, like video; the mix is written this far behind
# the wall clock so that audio arriving a little late (network jitter) still finds its place.
AUDIO_DELAY = 0.15
RESYNC = 0.06  # seconds a peer's audio may run early or late of its arrival before it is re-placed
SLEW = 48  # samples dropped per early chunk to pull a peer's audio back toward its earliest arrival (1 ms)
TIMELINE = 2 * SAMPLE_RATE  # samples of not yet mixed audio kept per peer


@dataclass(eq=False)
class Tile:
    """One peer's place in the recording."""

    peer: Peer
    frame: av.VideoFrame | None = None
    frame_at: float = 0.0
    left: bool = False
    # The peer's audio by file sample position (a ring over TIMELINE samples), from ``mixed`` on.
    audio: np.ndarray = field(default_factory=lambda: np.zeros(TIMELINE, np.float32))
    mixed: int = 0
    next_at: int | None = None  # where the peer's next chunk goes if its audio keeps flowing
    # The event loop adds audio while the worker thread takes it.
    audio_lock: threading.Lock = field(default_factory=threading.Lock)

    def add_audio(self, samples: np.ndarray, arrived: int) -> None:
        """Place a chunk whose last sample arrived at file position ``arrived``.

        Chunks follow each other without gaps while they arrive about on time, so jitter does not chop the
        sound; a chunk that arrives early pulls the peer's audio back a little (its earliest arrivals are the
        ones with no extra delay), and one far off its place (a loss, a stall) re-places it.
        """
        start = arrived - samples.size
        with self.audio_lock:
            if self.next_at is None or abs(start - self.next_at) > RESYNC * SAMPLE_RATE:
                self.next_at = start
            elif start < self.next_at:
                samples = samples[min(self.next_at - start, SLEW) :]
            at = self.next_at
            self.next_at += samples.size
            first, last = max(at, self.mixed), min(at + samples.size, self.mixed + TIMELINE)
            if last > first:
                self.audio[np.arange(first, last) % TIMELINE] = samples[first - at : last - at]

    def showing_video(self, now: float) -> bool:
        return not self.left and self.peer.video and self.frame is not None and now - self.frame_at < STALE_VIDEO

    def take_audio(self, start: int, until: int) -> np.ndarray:
        """The peer's audio from file position ``start`` to ``until`` (zeros where none came)."""
        out = np.zeros(max(0, until - start), np.float32)
        with self.audio_lock:
            first = max(start, self.mixed)
            if until > first:
                slots = np.arange(first, until) % TIMELINE
                out[first - start :] = self.audio[slots]
                self.audio[slots] = 0.0
            self.mixed = max(self.mixed, until)
        return out


class Composer:
    """Draws the grid picture of a set of tiles, as a yuv420p array of shape (height * 3 / 2, width)."""

    def __init__(self, width: int, height: int) -> None:
        self.canvas = layout.Canvas(width, height)
        self.width, self.height = width, height
        self.label_size = max(12, height // 24)

    def compose(self, tiles: list[Tile], now: float) -> np.ndarray:
        canvas = self.canvas
        full = layout.Rect(0, 0, self.width, self.height)
        canvas.fill(full, layout.BACKGROUND)
        if not tiles:
            text = "Waiting for participants"
            w, h = layout.label_size(text, self.label_size)
            canvas.draw_label(text, self.label_size, (self.width - w) // 2, (self.height - h) // 2, full)
            return canvas.buffer
        for tile, cell in zip(tiles, layout.grid(len(tiles), self.width, self.height), strict=True):
            frame = tile.frame
            if frame is not None and tile.showing_video(now):
                canvas.draw_frame(frame, layout.fit(cell, frame.width / frame.height))
                _, h = layout.label_size(tile.peer.name, self.label_size)
                canvas.draw_label(tile.peer.name, self.label_size, cell.x + 6, cell.y + cell.h - h - 6, cell)
            else:
                inner = layout.Rect(cell.x + 2, cell.y + 2, max(0, cell.w - 4), max(0, cell.h - 4))
                canvas.fill(inner, layout.DARK_TILE)
                size = self.label_size * 3 // 2
                w, h = layout.label_size(tile.peer.name, size)
                canvas.draw_label(tile.peer.name, size, cell.x + (cell.w - w) // 2, cell.y + (cell.h - h) // 2, cell)
        return canvas.buffer


class Mp4Writer:
    """H.264 + AAC into one MP4; called from one thread only."""

    def __init__(self, path: Path, width: int, height: int, fps: int) -> None:
        self.path = path
        self.fps = fps
        self.container = av.open(str(path), mode="w", format="mp4")
        self.video = self.container.add_stream("libx264", rate=fps)
        self.video.width, self.video.height = width, height
        self.video.pix_fmt = "yuv420p"
        self.video.options = {"preset": "superfast", "crf": "23"}
        self.audio = self.container.add_stream("aac", rate=SAMPLE_RATE)
        self.audio.layout = "mono"
        self.audio_pts = 0

    def write_video(self, image: np.ndarray, index: int) -> None:
        frame = av.VideoFrame.from_ndarray(image, format="yuv420p")
        frame.pts = index
        frame.time_base = fractions.Fraction(1, self.fps)
        self.container.mux(self.video.encode(frame))

    def write_audio(self, samples: np.ndarray) -> None:
        if samples.size == 0:
            return
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self.audio_pts
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        self.audio_pts += samples.size
        self.container.mux(self.audio.encode(frame))

    def close(self) -> None:
        self.container.mux(self.video.encode(None))
        self.container.mux(self.audio.encode(None))
        self.container.close()


class RecorderBot(Participant):
    role = "recorder"

    def __init__(
        self,
        url: str,
        room: str,
        out: Path,
        name: str = "Recorder",
        *,
        width: int = 1280,
        height: int = 720,
        fps: int = 15,
        password: str | None = None,
        bot_credential: str | None = None,
    ) -> None:
        super().__init__(url, room, name, password, bot_credential=bot_credential)
        self.out = Path(out)
        self.fps = fps
        self.tiles: dict[str, Tile] = {}
        self.composer = Composer(width, height)
        self.size = (width, height)
        self.frames_written = 0
        self._video_frames = 0  # the file's video length in frames (the last index written + 1)
        self.started_at: float | None = None
        self.stopped_at: float | None = None
        self._stopping = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._worker = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="recorder")
        # When a human last sent us a frame (monotonic): a room where only bots or silent sockets are left,
        # e.g. one idle socket that never opened a connection, is not worth recording for hours.
        self.human_media_at = time.monotonic()
        # Set by the server's ``recording-stop`` (the host or whoever started it asked to stop): it reaches
        # this bot's own socket, so it works whichever process of the deployment runs the recorder.
        self.stop_requested = asyncio.Event()
        self.on("recording-stop", self._on_recording_stop)

    # ---- what we receive ----------------------------------------------------------------------

    def _tile(self, peer: Peer) -> Tile | None:
        if peer.role == "recorder":
            return None  # another recorder has nothing to show
        tile = self.tiles.get(peer.peer_id)
        if tile is None:
            # Its audio timeline starts where the file's audio is now.
            writer = getattr(self, "_writer", None)
            tile = self.tiles[peer.peer_id] = Tile(peer, mixed=writer.audio_pts if writer else 0)
            self.refresh_views()  # one more cell in the grid: everyone's shrinks
        return tile

    def wanted_view(self, peer: Peer) -> tuple[int, int] | None:
        """Its grid cell: we never draw anyone bigger, so a bigger stream would be encoded for nothing."""
        if peer.role == "recorder":
            return None
        cell = layout.grid(len(set(self.tiles) | {peer.peer_id}), *self.size)[0]  # tiles stay once seen
        tile = self.tiles.get(peer.peer_id)
        frame = tile.frame if tile is not None else None
        box = layout.fit(cell, frame.width / frame.height if frame is not None else 16 / 9)
        return box.w, box.h

    def on_track(self, peer: Peer, track: MediaStreamTrack) -> None:
        tile = self._tile(peer)
        if tile is None:
            return
        tile.left = False
        reader = self._read_video if track.kind == "video" else self._read_audio
        self._spawn(reader(tile, track))  # cancelled by Participant.stop

    def on_peer_changed(self, peer: Peer) -> None:
        if peer.peer_id in self.tiles:
            self.tiles[peer.peer_id].peer = peer

    def on_peer_gone(self, peer: Peer) -> None:
        tile = self.tiles.get(peer.peer_id)
        if tile is not None:
            tile.left = True

    async def _on_recording_stop(self, data: object = None) -> None:
        log.info("%r: the server asked us to stop recording", self)
        self.stop_requested.set()

    def _received(self, tile: Tile) -> None:
        if tile.peer.kind == "human":
            self.human_media_at = time.monotonic()

    @property
    def human_idle(self) -> float:
        """Seconds since a human last sent us media (since the start if none has yet)."""
        return time.monotonic() - self.human_media_at

    async def _read_video(self, tile: Tile, track: MediaStreamTrack) -> None:
        while True:
            try:
                tile.frame = await track.recv()
            except MediaStreamError:
                return
            tile.frame_at = time.monotonic()
            self._received(tile)

    async def _read_audio(self, tile: Tile, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            self._received(tile)
            if tile.left or self.started_at is None:
                continue
            tile.add_audio(mono(frame), round((time.monotonic() - self.started_at) * SAMPLE_RATE))

    # ---- recording ----------------------------------------------------------------------------

    @property
    def elapsed(self) -> float:
        if self.started_at is None:
            return 0.0
        return (self.stopped_at or time.monotonic()) - self.started_at

    async def start(self):  # type: ignore[override]
        ack = await super().start()
        self._writer = await asyncio.get_running_loop().run_in_executor(
            self._worker, Mp4Writer, self.out, *self.size, self.fps
        )
        self.started_at = self.human_media_at = time.monotonic()
        self._loop_task = asyncio.ensure_future(self._record())
        log.info("recording room %s into %s", self.room, self.out)
        return ack

    def _tick(self, index: int, now: float, audio_until: int) -> None:
        tiles = list(self.tiles.values())
        self._writer.write_video(self.composer.compose(tiles, now), index)
        self._mix(tiles, audio_until)

    def _mix(self, tiles: list[Tile], until: int) -> None:
        start = self._writer.audio_pts
        if until > start:
            mix = np.zeros(until - start, dtype=np.float32)
            for tile in tiles:  # a peer that left still has its last moments of audio to give
                mix += tile.take_audio(start, until)
            self._writer.write_audio(np.clip(mix, -1.0, 1.0))

    def _close(self, written: int, stopped: float) -> None:
        # A last frame at the moment of the stop (the loop may have been waiting for its next slot, or busy)
        # and audio up to where the video ends: both streams last as long as the recording did.
        assert self.started_at is not None
        tiles = list(self.tiles.values())
        frames = max(written, round((stopped - self.started_at) * self.fps))
        if frames > written:
            picture = self.composer.compose(tiles, stopped)
            # Every missing slot, not just the last: the MP4 muxer times a lone last frame after a gap as if
            # it followed the previous one, and the video would end early.
            for index in range(written, frames):
                self._writer.write_video(picture, index)
        self._mix(tiles, round(frames * SAMPLE_RATE / self.fps))
        self._writer.close()

    async def _record(self) -> None:
        assert self.started_at is not None
        loop = asyncio.get_running_loop()
        index = 0
        while not self._stopping.is_set():
            now = time.monotonic()
            audio_until = int((now - self.started_at - AUDIO_DELAY) * SAMPLE_RATE)
            await loop.run_in_executor(self._worker, self._tick, index, now, audio_until)
            self._video_frames = index + 1
            self.frames_written += 1
            # Next frame on the wall-clock grid; if we fell behind (busy CPU), skip the missed slots.
            index = max(index + 1, int((time.monotonic() - self.started_at) * self.fps))
            wait = self.started_at + index / self.fps - time.monotonic()
            try:
                await asyncio.wait_for(self._stopping.wait(), max(0.0, wait))
            except TimeoutError:
                pass

    async def finish(self) -> Path:
        """Stop recording and close the file (the bot stays in the room until ``stop``)."""
        self._stopping.set()
        if self._loop_task is not None:
            stopped = time.monotonic()
            await self._loop_task
            self._loop_task = None
            await asyncio.get_running_loop().run_in_executor(self._worker, self._close, self._video_frames, stopped)
            self.stopped_at = stopped
            log.info("recording of room %s closed: %s (%.1f s)", self.room, self.out, self.elapsed)
        return self.out

    async def stop(self, farewell: bool = True) -> None:
        await self.finish()
        await super().stop(farewell)
        self._worker.shutdown(wait=False)
