"""Noise suppression (RNNoise in an AudioWorklet, web/static/js/noise.js) in Chromium, on a microphone that plays
a file of speech in steady noise: with it on, the noise in the speech pauses drops by at least 10 dB while the
speech keeps its level."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from playwright.async_api import Page

from .browser_fixtures import Browsers, assert_receiving, join, open_room, remote_tile
from .fake_media import write_noisy_speech_wav
from .helpers import RunningServer
from .support import eventually

log = logging.getLogger(__name__)

FRAME = 0.02  # seconds of audio per measured frame

# Records a track in the page: the mean square of every 20 ms frame, for `seconds`. A ScriptProcessorNode
# (deprecated, but it needs no module file, which the page's CSP would have to allow) hands over every sample.
FRAME_POWERS_JS = """() => {
window.framePowers = (track, seconds, frameSeconds) => new Promise((resolve) => {
  const context = new AudioContext({ sampleRate: 48000 });
  const source = context.createMediaStreamSource(new MediaStream([track]));
  const tap = context.createScriptProcessor(4096, 1, 1);
  const sink = context.createGain();
  sink.gain.value = 0;
  const frame = Math.round(context.sampleRate * frameSeconds);
  const powers = [];
  let sum = 0, count = 0, skip = context.sampleRate * 1;  // the first second: the pipeline settling
  tap.onaudioprocess = (event) => {
    for (const v of event.inputBuffer.getChannelData(0)) {
      if (skip > 0) { skip--; continue; }
      sum += v * v;
      if (++count === frame) { powers.push(sum / frame); sum = 0; count = 0; }
    }
    if (powers.length * frameSeconds >= seconds) {
      source.disconnect(); tap.disconnect(); context.close();
      resolve(powers);
    }
  };
  source.connect(tap).connect(sink).connect(context.destination);
});
}"""


@pytest.fixture(scope="module")
def noisy_mic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, np.ndarray]]:
    yield write_noisy_speech_wav(tmp_path_factory.mktemp("noisy-mic") / "noisy.wav")


def levels(powers: list[float], speech_fraction: float) -> tuple[float, float]:
    """(noise floor, speech level) in dBFS from a recording's frame powers. The microphone loops a file whose
    pauses make up 1 - ``speech_fraction`` of it, so the quietest half of that share are pause frames however
    the recording lines up with the file, and the loudest half of the speech share are speech."""
    ordered = np.sort(np.asarray(powers))
    pauses = ordered[: int(len(ordered) * (1 - speech_fraction) / 2)]
    speech = ordered[-int(len(ordered) * speech_fraction / 2) :]
    return 10 * np.log10(np.mean(pauses) + 1e-12), 10 * np.log10(np.mean(speech) + 1e-12)


async def received_levels(page: Page, peer_id: str, seconds: float, speech_fraction: float) -> tuple[float, float]:
    """(noise floor, speech level) of what ``page`` receives from ``peer_id``, over ``seconds``."""
    powers = await page.evaluate(
        """async ({ peerId, seconds, frameSeconds }) => {
          const video = document.querySelector(`#stage .tile[data-peer-id="${peerId}"] video`);
          return window.framePowers(video.srcObject.getAudioTracks()[0], seconds, frameSeconds);
        }""",
        {"peerId": peer_id, "seconds": seconds, "frameSeconds": FRAME},
    )
    return levels(powers, speech_fraction)


async def noise_suppressed(page: Page) -> bool:
    return await page.evaluate("() => window.noom.localTracks().noiseSuppressed")


async def test_the_receiver_hears_far_less_noise_with_suppression_on(
    browsers: Browsers, server: RunningServer, noisy_mic: tuple[Path, np.ndarray]
) -> None:
    path, speaking = noisy_mic
    loop, speech_fraction = speaking.size / 48000, float(speaking.mean())
    alice, _ = await browsers.separate_page(
        "alice", [f"--use-file-for-fake-audio-capture={path}"], noise_suppression=True
    )
    bob = await browsers.page("bob")
    # Alice turns it off on the pre-join page (it is on by default); the choice survives the reload join() does.
    await open_room(alice, server.url, "noise", "Alice")
    switch = alice.get_by_role("switch", name="Noise suppression for the microphone")
    assert await switch.is_checked()
    await switch.uncheck()
    await join(alice, server.url, "noise", "Alice")
    await join(bob, server.url, "noise", "Bob")
    await assert_receiving(bob, "Alice")
    assert not await noise_suppressed(alice)
    tile = await remote_tile(bob, "Alice")
    assert tile is not None
    await bob.evaluate(FRAME_POWERS_JS)
    off = await received_levels(bob, tile["peerId"], loop, speech_fraction)

    # On from the call's settings, mid-call: the sender swaps in the processed track (replaceTrack).
    await alice.get_by_role("button", name="Settings").click()
    await alice.get_by_role("switch", name="Noise suppression").check()
    await eventually(lambda: noise_suppressed(alice), "Alice's microphone goes out through RNNoise")
    assert await alice.evaluate("() => localStorage.getItem('noom.noiseSuppression')") == "on"
    on = await received_levels(bob, tile["peerId"], loop, speech_fraction)
    log.warning("received: off noise %.1f dB, speech %.1f dB; on noise %.1f dB, speech %.1f dB", *off, *on)
    assert on[0] <= off[0] - 10, f"noise floor off {off[0]:.1f} dB, on {on[0]:.1f} dB"
    assert abs(on[1] - off[1]) <= 3, f"speech level off {off[1]:.1f} dB, on {on[1]:.1f} dB"


async def test_without_audio_worklet_the_microphone_goes_out_as_it_is(
    browsers: Browsers, server: RunningServer
) -> None:
    page = await browsers.page("old-browser", noise_suppression=True)
    await page.goto(f"{server.url}/r/noise-fallback")
    result = await page.evaluate(
        """async () => {
          delete window.AudioWorkletNode;  // a browser without AudioWorklet
          const { suppressNoise } = await import("/static/js/noise.js");
          const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
          const raw = stream.getAudioTracks()[0];
          const sent = await suppressNoise(raw);
          return { same: sent.track === raw, suppressed: sent.suppressed, reason: sent.reason, live: raw.readyState };
        }"""
    )
    assert result == {"same": True, "suppressed": False, "reason": result["reason"], "live": "live"}
    assert "AudioWorklet" in result["reason"]
