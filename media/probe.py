"""The probe: a synthetic participant that sends a stamped test pattern and a tone, and measures what
it receives from every other peer (frames, frame rate, freezes, the tone it hears and, for its own
frames coming back through the echo bot, the round-trip latency)."""

from __future__ import annotations

import fractions
import logging
import secrets
import time
from collections import deque
from dataclasses import dataclass, field

import av
import msgspec
import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from noom.protocol import Peer

from . import pattern
from .audio import SAMPLE_RATE, Pacer, ToneTrack, dominant_tone, level_dbfs, mono
from .participant import Participant

log = logging.getLogger(__name__)

VIDEO_CLOCK = 90000
FREEZE_GAP = 0.25  # seconds without a new frame that a person notices as a freeze
AUDIO_KEEP = 2.0  # seconds of received audio kept for the tone analysis


def luma(frame: av.VideoFrame) -> np.ndarray:
    """The Y plane of a video frame as a 2-D uint8 array (no copy for yuv420p)."""
    if frame.format.name not in ("yuv420p", "yuvj420p"):
        frame = frame.reformat(format="yuv420p")
    plane = frame.planes[0]
    data = np.frombuffer(plane, dtype=np.uint8).reshape(plane.height, plane.line_size)
    return data[:, : frame.width]


class PatternTrack(MediaStreamTrack):
    """The stamped test pattern at ``fps``, paced in real time."""

    kind = "video"

    def __init__(self, tag: int, width: int = 320, height: int = 240, fps: float = 30) -> None:
        super().__init__()
        self.tag = tag
        self.fps = fps
        self._buffer = np.full((height * 3 // 2, width), 128, dtype=np.uint8)
        self._luma = self._buffer[:height]
        self._count = 0
        self._pacer = Pacer()

    async def recv(self) -> av.VideoFrame:
        await self._pacer.wait_until(self._count / self.fps)
        pattern.draw(self._luma, pattern.Stamp(self.tag, self._count, pattern.now_ms()))
        frame = av.VideoFrame.from_ndarray(self._buffer, format="yuv420p")
        frame.pts = int(self._count * VIDEO_CLOCK / self.fps)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self._count += 1
        return frame


class Latency(msgspec.Struct):
    count: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float


class PeerReport(msgspec.Struct):
    peer_id: str
    name: str
    frames: int
    fps: float
    stamped_frames: int
    tags: list[int]
    freezes: int
    max_gap_ms: float
    frame_number_regressions: int
    first_frame_number: int | None
    last_frame_number: int | None
    tone_hz: float | None
    level_dbfs: float
    own_frames: int
    latency: Latency | None


class ProbeReport(msgspec.Struct):
    room: str
    name: str
    tag: int
    tone_hz: float
    duration_s: float
    peers: list[PeerReport]


@dataclass(eq=False)
class _Received:
    """What one peer sent us so far."""

    peer: Peer
    frames: int = 0
    stamped: int = 0
    first_at: float | None = None
    last_at: float | None = None
    max_gap: float = 0.0
    freezes: int = 0
    regressions: int = 0
    first_number: int | None = None
    last_number: int | None = None
    tags: set[int] = field(default_factory=set)
    own_frames: int = 0
    latencies: list[float] = field(default_factory=list)
    audio: deque[np.ndarray] = field(default_factory=deque)
    audio_samples: int = 0


class ProbeBot(Participant):
    role = "probe"

    def __init__(
        self,
        url: str,
        room: str,
        name: str = "probe",
        *,
        tone_hz: float | None = None,
        tag: int | None = None,
        width: int = 320,
        height: int = 240,
        fps: float = 30,
        password: str | None = None,
        bot_credential: str | None = None,
    ) -> None:
        super().__init__(url, room, name, password, bot_credential=bot_credential)
        # A random tag and tone (on a 50 Hz grid between 500 and 3000 Hz) tell probes apart.
        self.tag = secrets.randbelow(256) if tag is None else tag
        self.tone_hz = float(round(tone_hz) if tone_hz is not None else 500 + 50 * secrets.randbelow(51))
        self.size = (width, height)
        self.fps = fps
        self.received: dict[str, _Received] = {}
        self._started = time.monotonic()

    def outgoing_tracks(self, peer: Peer) -> list[MediaStreamTrack]:
        # One track pair per peer: aiortc encodes per sender anyway, and it keeps peers independent.
        return [ToneTrack(self.tone_hz), PatternTrack(self.tag, *self.size, fps=self.fps)]

    def on_track(self, peer: Peer, track: MediaStreamTrack) -> None:
        received = self.received.setdefault(peer.peer_id, _Received(peer))
        reader = self._read_video if track.kind == "video" else self._read_audio
        self._spawn(reader(received, track))  # cancelled by Participant.stop

    def on_peer_changed(self, peer: Peer) -> None:
        if peer.peer_id in self.received:
            self.received[peer.peer_id].peer = peer

    async def _read_video(self, received: _Received, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            now = time.monotonic()
            if received.last_at is not None:
                gap = now - received.last_at
                received.max_gap = max(received.max_gap, gap)
                if gap > FREEZE_GAP:
                    received.freezes += 1
            if received.first_at is None:
                received.first_at = now
            received.last_at = now
            received.frames += 1
            stamp = pattern.decode(luma(frame))
            if stamp is None:
                continue
            received.stamped += 1
            received.tags.add(stamp.tag)
            if received.last_number is not None and stamp.frame <= received.last_number:
                received.regressions += 1
            if received.first_number is None:
                received.first_number = stamp.frame
            received.last_number = stamp.frame
            if stamp.tag == self.tag:
                received.own_frames += 1
                received.latencies.append(float((pattern.now_ms() - stamp.time_ms) & 0xFFFFFFFF))

    async def _read_audio(self, received: _Received, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            samples = mono(frame)
            received.audio.append(samples)
            received.audio_samples += samples.size
            while received.audio_samples - received.audio[0].size > AUDIO_KEEP * SAMPLE_RATE:
                received.audio_samples -= received.audio.popleft().size

    def report(self) -> ProbeReport:
        peers = []
        for received in self.received.values():
            audio = np.concatenate(list(received.audio)) if received.audio else np.zeros(0, np.float32)
            span = (received.last_at or 0) - (received.first_at or 0)
            latency = None
            if received.latencies:
                values = np.array(received.latencies)
                p50, p90, p99 = np.percentile(values, [50, 90, 99])
                latency = Latency(len(values), float(p50), float(p90), float(p99), float(values.max()))
            peers.append(
                PeerReport(
                    peer_id=received.peer.peer_id,
                    name=received.peer.name,
                    frames=received.frames,
                    fps=round((received.frames - 1) / span, 2) if span > 0 else 0.0,
                    stamped_frames=received.stamped,
                    tags=sorted(received.tags),
                    freezes=received.freezes,
                    max_gap_ms=round(received.max_gap * 1000, 1),
                    frame_number_regressions=received.regressions,
                    first_frame_number=received.first_number,
                    last_frame_number=received.last_number,
                    tone_hz=dominant_tone(audio),
                    level_dbfs=round(level_dbfs(audio), 1),
                    own_frames=received.own_frames,
                    latency=latency,
                )
            )
        return ProbeReport(
            room=self.room,
            name=self.name,
            tag=self.tag,
            tone_hz=self.tone_hz,
            duration_s=round(time.monotonic() - self._started, 2),
            peers=peers,
        )

    def reset(self) -> None:
        """Forget what was measured so far (e.g. to skip the connection set-up)."""
        # In place: the reader tasks hold these objects.
        for received in self.received.values():
            received.frames = received.stamped = received.freezes = received.regressions = 0
            received.own_frames = 0
            received.first_at = received.last_at = None
            received.max_gap = 0.0
            received.first_number = received.last_number = None
            received.tags.clear()
            received.latencies.clear()
        self._started = time.monotonic()
