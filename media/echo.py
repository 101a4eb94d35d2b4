"""The echo bot: sends every peer its own audio and video back, and tells it what the server received.

Each peer gets two ``EchoTrack``s, pass-through tracks fed by that peer's received tracks; the frames
they pass are measured on the way (decoded resolution and frame rate, microphone level). Once a second
the bot sends the peer an ``EchoReport`` as JSON over an RTCDataChannel labelled ``echo-report``
(created by whoever offers: the echo page creates it before its offer). A data channel keeps the
report on the media path and private to the one peer, with no new signaling event. The report carries
the measurements and the problems in plain words, so every client shows the same verdict.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

import av
import msgspec
from aiortc import MediaStreamTrack, RTCDataChannel, RTCPeerConnection
from aiortc.mediastreams import MediaStreamError

from noom.protocol import Peer

from .audio import SILENCE_DBFS, level_dbfs, mono
from .participant import Participant

log = logging.getLogger(__name__)

REPORT_LABEL = "echo-report"
REPORT_EVERY = 1.0
WINDOW = 2.0  # seconds of frames the frame rate and level are measured over
# What can be wrong with what the bot receives (EchoReport.problem_codes).
ProblemCode = Literal["no-video", "low-fps", "low-resolution", "no-audio", "silent", "high-loss"]
LOW_FPS = 10.0
LOW_WIDTH = 320
HIGH_LOSS = 5.0


class VideoReceived(msgspec.Struct):
    width: int
    height: int
    fps: float


class AudioReceived(msgspec.Struct):
    dbfs: float
    silent: bool


class EchoReport(msgspec.Struct):
    """What the server received from the peer in the last seconds, and what that means."""

    seconds: float
    video: VideoReceived | None
    audio: AudioReceived | None
    video_loss_pct: float | None
    audio_loss_pct: float | None
    ok: bool
    problems: list[str]
    # The same problems by name, in the same order, for a page that words them in its own language
    # (web/i18n/: echo.problem_<code>, filled from the measurements above).
    problem_codes: list[ProblemCode]


class Meter:
    """Measures the frames one track passes over a sliding window."""

    def __init__(self) -> None:
        self.times: deque[float] = deque()
        self.levels: deque[tuple[float, float]] = deque()
        self.size: tuple[int, int] | None = None

    def observe(self, frame: av.VideoFrame | av.AudioFrame) -> None:
        now = time.monotonic()
        if isinstance(frame, av.VideoFrame):
            self.size = (frame.width, frame.height)
            self.times.append(now)
        else:
            self.levels.append((now, level_dbfs(mono(frame))))
        self._trim(now)

    def _trim(self, now: float) -> None:
        while self.times and self.times[0] < now - WINDOW:
            self.times.popleft()
        while self.levels and self.levels[0][0] < now - WINDOW:
            self.levels.popleft()

    def video(self) -> VideoReceived | None:
        self._trim(time.monotonic())
        if self.size is None or len(self.times) < 2:
            return None
        fps = (len(self.times) - 1) / max(1e-3, self.times[-1] - self.times[0])
        return VideoReceived(width=self.size[0], height=self.size[1], fps=round(fps, 1))

    def audio(self) -> AudioReceived | None:
        self._trim(time.monotonic())
        if not self.levels:
            return None
        # The loudest 20 ms frame: speech has pauses, but a working microphone is never flat silence.
        loudest = max(level for _, level in self.levels)
        return AudioReceived(dbfs=round(loudest, 1), silent=loudest < SILENCE_DBFS)


class EchoTrack(MediaStreamTrack):
    """Passes a received track back out, measuring each received frame; waits until the source is attached.

    Video goes through a one-frame mailbox: a reader task keeps only the newest decoded frame, and the
    sender encodes that one. When the encoder falls behind (a busy core), stale frames are skipped
    instead of queueing without bound: the echo then lowers its frame rate rather than its latency,
    which otherwise grew to seconds and never came back (docs/benchmarks.md). Audio passes every frame.
    """

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.meter = Meter()
        self.skipped = 0  # video frames replaced by a newer one before the encoder took them
        self._source: MediaStreamTrack | None = None
        self._attached = asyncio.Event()
        self._latest: av.VideoFrame | None = None
        self._fresh = asyncio.Event()
        self._ended = False
        self._reader: asyncio.Task[None] | None = None

    def attach(self, source: MediaStreamTrack) -> None:
        self._source = source
        if self.kind == "video":
            self._reader = asyncio.ensure_future(self._read_latest(source))
        self._attached.set()

    async def _read_latest(self, source: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await source.recv()
                self.meter.observe(frame)
                if self._latest is not None:
                    self.skipped += 1
                self._latest = frame
                self._fresh.set()
        except MediaStreamError:
            self._ended = True
            self._fresh.set()

    async def recv(self) -> av.VideoFrame | av.AudioFrame:
        await self._attached.wait()
        assert self._source is not None
        if self.kind != "video":
            frame = await self._source.recv()
            self.meter.observe(frame)
            return frame
        while self._latest is None:
            if self._ended:
                raise MediaStreamError
            self._fresh.clear()
            await self._fresh.wait()
        frame, self._latest = self._latest, None
        return frame

    def stop(self) -> None:
        super().stop()
        if self._reader is not None:
            self._reader.cancel()


def found_problems(
    report_video: VideoReceived | None, report_audio: AudioReceived | None, loss: float | None
) -> list[tuple[ProblemCode, str]]:
    """What is wrong with what we receive: each problem's name and its words a person can act on."""
    found: list[tuple[ProblemCode, str]] = []
    if report_video is None:
        found.append(
            ("no-video", "No video from your camera reaches the server: check that the camera is on and allowed.")
        )
    else:
        if report_video.fps < LOW_FPS:
            found.append(
                (
                    "low-fps",
                    f"Your video reaches the server at only {report_video.fps:.0f} frames per second: "
                    "close other programs using the camera or the processor.",
                )
            )
        if report_video.width < LOW_WIDTH:
            found.append(
                (
                    "low-resolution",
                    f"Your video reaches the server at only {report_video.width}x{report_video.height}: "
                    "your connection or camera limits the picture.",
                )
            )
    if report_audio is None:
        found.append(
            ("no-audio", "No audio from your microphone reaches the server: check that the microphone is allowed.")
        )
    elif report_audio.silent:
        found.append(
            ("silent", "We hear nothing from your microphone: is it muted, or is another microphone selected?")
        )
    if loss is not None and loss > HIGH_LOSS:
        found.append(
            ("high-loss", f"{loss:.0f}% of your packets are lost on the way to the server: your network is unreliable.")
        )
    return found


@dataclass(eq=False)
class _Loopback:
    audio: EchoTrack = field(default_factory=lambda: EchoTrack("audio"))
    video: EchoTrack = field(default_factory=lambda: EchoTrack("video"))
    channel: RTCDataChannel | None = None
    pc: RTCPeerConnection | None = None
    started: float = field(default_factory=time.monotonic)
    # Cumulative (lost, received) per kind at the previous report, for loss over the last period.
    counters: dict[str, tuple[int, int]] = field(default_factory=dict)
    task: asyncio.Task[None] | None = None


class EchoBot(Participant):
    role = "echo"
    unlisted = True

    def __init__(
        self,
        url: str,
        room: str,
        name: str = "Echo",
        password: str | None = None,
        *,
        bot_credential: str | None = None,
    ) -> None:
        super().__init__(url, room, name, password, bot_credential=bot_credential)
        self.loops: dict[str, _Loopback] = {}
        self.visited = asyncio.Event()  # someone connected at least once
        self.empty = asyncio.Event()  # ... and everyone has left since

    def outgoing_tracks(self, peer: Peer) -> list[MediaStreamTrack]:
        loop = self.loops.setdefault(peer.peer_id, _Loopback())
        return [loop.audio, loop.video]

    def on_connection(self, peer: Peer, pc: RTCPeerConnection, offering: bool) -> None:
        loop = self.loops.setdefault(peer.peer_id, _Loopback())
        loop.pc = pc
        self.visited.set()
        self.empty.clear()
        if offering:
            loop.channel = pc.createDataChannel(REPORT_LABEL)

        def on_channel(channel: RTCDataChannel) -> None:
            if channel.label == REPORT_LABEL:
                loop.channel = channel

        self.on_pc(pc, "datachannel", peer, on_channel)
        loop.task = self._spawn(self._report_loop(loop))

    def on_track(self, peer: Peer, track: MediaStreamTrack) -> None:
        loop = self.loops.get(peer.peer_id)
        if loop is not None:
            (loop.video if track.kind == "video" else loop.audio).attach(track)

    def on_peer_gone(self, peer: Peer) -> None:
        loop = self.loops.pop(peer.peer_id, None)
        if loop is not None:
            loop.video.stop()
            loop.audio.stop()
            if loop.task is not None:
                loop.task.cancel()
        if not self.loops:
            self.empty.set()

    async def report_for(self, loop: _Loopback) -> EchoReport:
        losses: dict[str, float | None] = {"audio": None, "video": None}
        if loop.pc is not None:
            with contextlib.suppress(Exception):
                stats = await loop.pc.getStats()
                for stat in stats.values():
                    if stat.type != "inbound-rtp":
                        continue
                    lost, received = max(0, stat.packetsLost), stat.packetsReceived
                    before = loop.counters.get(stat.kind, (0, 0))
                    loop.counters[stat.kind] = (lost, received)
                    d_lost, d_received = lost - before[0], received - before[1]
                    if d_lost + d_received > 0:
                        losses[stat.kind] = round(100 * max(0, d_lost) / (max(0, d_lost) + d_received), 1)
        video, audio = loop.video.meter.video(), loop.audio.meter.audio()
        worst = max((v for v in losses.values() if v is not None), default=None)
        found = found_problems(video, audio, worst)
        return EchoReport(
            seconds=round(time.monotonic() - loop.started, 1),
            video=video,
            audio=audio,
            video_loss_pct=losses["video"],
            audio_loss_pct=losses["audio"],
            ok=not found,
            problems=[text for _, text in found],
            problem_codes=[code for code, _ in found],
        )

    async def _report_loop(self, loop: _Loopback) -> None:
        while True:
            await asyncio.sleep(REPORT_EVERY)
            report = await self.report_for(loop)
            if loop.channel is not None and loop.channel.readyState == "open":
                loop.channel.send(msgspec.json.encode(report).decode())

    async def stop(self, farewell: bool = True) -> None:
        for loop in self.loops.values():
            if loop.task is not None:
                loop.task.cancel()
        await super().stop(farewell)
