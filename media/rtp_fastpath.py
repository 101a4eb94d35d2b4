"""Two fixes to aiortc's receive and send paths, put in place by ``install()``, which whatever starts bots
calls (the app factory when bots run, ``noom bot``/``noom record``/``noom probe``).

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

Both replace aiortc internals; ``install`` first checks that the source of each replaced upstream piece is
the one they were written for (``UPSTREAM_DIGESTS``, aiortc 1.16.0) and otherwise logs one warning line and
leaves aiortc as it is (the subclass relies on the whole ``JitterBuffer``, so the whole class is digested).
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import math
from importlib import metadata
from typing import Any

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

# sha256 of inspect.getsource of what each fix replaces (aiortc 1.16.0).
UPSTREAM_DIGESTS = {
    "jitterbuffer.JitterBuffer": "17030fbb0982258d8d61611500b707370579994f222fae610c353c5de5b1ed59",
    "rtp.compute_audio_level_dbov": "d65138ae99e84548ad554b29d3e8baabf21abb366694c4eeb347c1067505acc9",
}


def _upstream(name: str) -> Any:
    module, attribute = name.split(".")
    return getattr({"jitterbuffer": jitterbuffer, "rtp": rtp}[module], attribute)


def changed_upstream() -> list[str]:
    """The replaced upstream pieces whose source is not the one the fixes were written for."""
    return [
        name
        for name, digest in UPSTREAM_DIGESTS.items()
        if hashlib.sha256(inspect.getsource(_upstream(name)).encode()).hexdigest() != digest
    ]


def install() -> bool:
    """Put both fixes in place (idempotent) if aiortc is the code they were written for; returns whether they are."""
    global _installed
    if _installed:
        return True
    changed = changed_upstream()
    # Also where aiortc looks them up: the receiver's JitterBuffer name, the sender's rtp module.
    moved = (
        getattr(rtcrtpreceiver, "JitterBuffer", None) is not jitterbuffer.JitterBuffer
        or getattr(rtcrtpsender, "rtp", None) is not rtp
    )
    if changed or moved:
        log.warning(
            "aiortc %s: %s is not the code media/rtp_fastpath.py was written for; running aiortc unchanged",
            metadata.version("aiortc"),
            ", ".join(changed) or "where aiortc looks up its jitter buffer or rtp module",
        )
        return False
    _installed = True
    rtcrtpreceiver.JitterBuffer = MarkerJitterBuffer  # type: ignore[misc]
    rtp.compute_audio_level_dbov = audio_level_dbov
    return True
