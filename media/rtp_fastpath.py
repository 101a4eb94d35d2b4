"""Two fixes to aiortc's receive and send paths, installed once by ``media.participant``.

Measured with the media benchmark (docs/benchmarks.md):

- **Video frames waited one frame interval in the jitter buffer.** aiortc's ``JitterBuffer`` hands a
  video frame to the decoder only when the first packet of the *next* frame arrives, so each hop adds
  1/fps (33 ms at 30 fps): an echo round trip paid it twice. The RTP marker bit flags a video frame's
  last packet (RFC 7741 for VP8, RFC 6184 for H.264), so ``MarkerJitterBuffer`` hands the frame over as
  soon as it is complete from its first packet to the marked one. A frame whose marked packet is lost is
  still handed over when the next frame starts, as before.
- **The audio level of every sent audio frame was computed sample by sample in Python**
  (``aiortc.rtp.compute_audio_level_dbov``, for the RFC 6464 header extension); ``audio_level_dbov``
  computes the same value with numpy.

Both replace aiortc internals that have been stable over its 1.x releases; ``install`` checks that the
pieces it replaces are there and leaves aiortc alone (with a warning) otherwise.
"""

from __future__ import annotations

import logging
import math

import numpy as np
from aiortc import jitterbuffer, rtcrtpreceiver, rtcrtpsender, rtp
from av import AudioFrame

log = logging.getLogger(__name__)

MAX_SAMPLE_VALUE = 32767
MIN_AUDIO_LEVEL = -127


class MarkerJitterBuffer(jitterbuffer.JitterBuffer):
    """aiortc's jitter buffer, handing over a video frame as soon as its marked last packet is in."""

    def _remove_frame(self, sequence_number: int) -> jitterbuffer.JitterFrame | None:
        if not self._is_video or self._prefetch:
            return super()._remove_frame(sequence_number)
        assert self._origin is not None
        packets: list[rtp.RtpPacket] = []
        timestamp = None
        for count in range(self._capacity):
            packet = self._packets[(self._origin + count) % self._capacity]
            if packet is None:
                return None  # a gap: wait for the missing packet (or the buffer's own overflow handling)
            if timestamp is None:
                timestamp = packet.timestamp
            elif packet.timestamp != timestamp:
                # The next frame started without a marker on this one (its last packet lost): as upstream.
                return self._take(packets, timestamp, count)
            packets.append(packet)
            if packet.marker:
                return self._take(packets, timestamp, count + 1)
        return None

    def _take(self, packets: list[rtp.RtpPacket], timestamp: int, count: int) -> jitterbuffer.JitterFrame:
        frame = jitterbuffer.JitterFrame(data=b"".join(p._data for p in packets), timestamp=timestamp)  # type: ignore[attr-defined]
        self.remove(count)
        return frame


def audio_level_dbov(frame: AudioFrame) -> int:
    """RFC 6465 Appendix A, exactly as ``aiortc.rtp.compute_audio_level_dbov`` (same rounding, same
    divisor over ``frame.samples``), without a Python loop over the samples."""
    samples = np.frombuffer(bytes(frame.planes[0]), dtype=np.int16).astype(np.float64)
    rms = math.sqrt(float(np.dot(samples, samples)) / (frame.samples * MAX_SAMPLE_VALUE * MAX_SAMPLE_VALUE))
    if rms <= 0:
        return MIN_AUDIO_LEVEL
    return round(min(0.0, max(20 * math.log10(rms), MIN_AUDIO_LEVEL)))


# aiortc's own function, kept for comparison (tests) before ``install`` replaces it.
aiortc_audio_level_dbov = rtp.compute_audio_level_dbov
_installed = False


def install() -> None:
    """Put both fixes in place (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    buffer_ok = (
        all(hasattr(jitterbuffer.JitterBuffer, name) for name in ("_remove_frame", "remove", "add"))
        and getattr(rtcrtpreceiver, "JitterBuffer", None) is jitterbuffer.JitterBuffer
    )
    if buffer_ok:
        rtcrtpreceiver.JitterBuffer = MarkerJitterBuffer  # type: ignore[misc]
    else:
        log.warning("aiortc's jitter buffer is not the one media.rtp_fastpath knows: left as it is")
    if getattr(rtcrtpsender, "rtp", None) is rtp and hasattr(rtp, "compute_audio_level_dbov"):
        rtp.compute_audio_level_dbov = audio_level_dbov
    else:
        log.warning("aiortc's audio level function moved: media.rtp_fastpath left it as it is")
