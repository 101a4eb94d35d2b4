"""media.rtp_fastpath: the jitter buffer hands a video frame over on its marked last packet, and the
audio level matches aiortc's own computation."""

from __future__ import annotations

import av
import numpy as np
from aiortc import rtcrtpreceiver, rtp
from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtp import RtpPacket

import noom.media.participant  # noqa: F401  (installs the fast path, as every bot does)
from noom.media import rtp_fastpath
from noom.media.rtp_fastpath import MarkerJitterBuffer, aiortc_audio_level_dbov, audio_level_dbov


def packet(seq: int, timestamp: int, marker: bool = False) -> RtpPacket:
    p = RtpPacket(payload_type=96, sequence_number=seq, timestamp=timestamp, marker=int(marker))
    p._data = bytes([seq % 256])  # type: ignore[attr-defined]  # what aiortc's receiver sets: the depayloaded bytes
    return p


def test_a_frame_comes_out_on_its_marked_packet_not_one_frame_later() -> None:
    assert rtp_fastpath.install(), "aiortc changed: re-check media/rtp_fastpath.py against it, then its digests"
    assert rtcrtpreceiver.JitterBuffer is MarkerJitterBuffer
    buffer = MarkerJitterBuffer(capacity=128, is_video=True)
    assert buffer.add(packet(10, 3000))[1] is None
    assert buffer.add(packet(11, 3000))[1] is None
    frame = buffer.add(packet(12, 3000, marker=True))[1]
    assert frame is not None and frame.timestamp == 3000 and frame.data == bytes([10, 11, 12])
    # Out of order: the marked packet before the middle one; the frame comes out when the gap fills.
    assert buffer.add(packet(13, 6000))[1] is None
    assert buffer.add(packet(15, 6000, marker=True))[1] is None
    frame = buffer.add(packet(14, 6000))[1]
    assert frame is not None and frame.data == bytes([13, 14, 15])
    # A lost marked packet: the frame still comes out when the next one starts, as in aiortc.
    assert buffer.add(packet(16, 9000))[1] is None
    frame = buffer.add(packet(18, 12000))[1]
    assert frame is None  # 17 (the marked one) is missing: a gap
    upstream = JitterBuffer(capacity=128, is_video=True)
    for seq, ts in ((16, 9000), (17, 12000)):
        last = upstream.add(packet(seq, ts))[1]
    assert last is not None and last.timestamp == 9000
    frame = buffer.add(packet(17, 12000))[1]
    assert frame is not None and frame.timestamp == 9000 and frame.data == bytes([16])


def test_audio_keeps_aiortcs_buffering() -> None:
    buffer = MarkerJitterBuffer(capacity=16, prefetch=4)
    assert all(buffer.add(packet(i, 960 * i, marker=True))[1] is None for i in range(4))


def test_audio_level_matches_aiortc() -> None:
    assert rtp.compute_audio_level_dbov is audio_level_dbov
    for amplitude, layout in ((0.25, "mono"), (0.001, "stereo"), (0.0, "mono"), (1.0, "stereo")):
        channels = 2 if layout == "stereo" else 1
        t = np.arange(960) / 48000
        wave = (amplitude * 32767 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(np.repeat(wave, channels).reshape(1, -1), format="s16", layout=layout)
        frame.sample_rate = 48000
        assert audio_level_dbov(frame) == aiortc_audio_level_dbov(frame)
