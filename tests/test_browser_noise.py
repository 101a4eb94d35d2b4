"""Noise suppression (RNNoise in an AudioWorklet, web/static/js/noise.js) in Chromium, on a microphone that plays
a file of speech in steady noise: with it on, the noise in the speech pauses drops by at least 10 dB while the
speech keeps its level."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from playwright.async_api import Page

from .browser_fixtures import Browsers
from .fake_media import write_noisy_speech_wav
from .helpers import RunningServer

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


async def local_levels(page: Page, suppress: bool, seconds: float, speech_fraction: float) -> tuple[float, float]:
    await page.evaluate(FRAME_POWERS_JS)
    powers = await page.evaluate(
        """async ({ suppress, seconds, frameSeconds }) => {
          const { suppressNoise } = await import("/static/js/noise.js");
          const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
          const raw = stream.getAudioTracks()[0];
          const sent = suppress ? await suppressNoise(raw) : { track: raw, suppressed: false, stop() {} };
          if (suppress && !sent.suppressed) throw new Error(`not suppressed: ${sent.reason}`);
          const powers = await window.framePowers(sent.track, seconds, frameSeconds);
          sent.stop();
          raw.stop();
          return powers;
        }""",
        {"suppress": suppress, "seconds": seconds, "frameSeconds": FRAME},
    )
    return levels(powers, speech_fraction)


async def test_the_module_suppresses_the_noise_of_the_microphone(
    browsers: Browsers, server: RunningServer, noisy_mic: tuple[Path, np.ndarray]
) -> None:
    path, speaking = noisy_mic
    page, _ = await browsers.separate_page("mic", [f"--use-file-for-fake-audio-capture={path}"])
    await page.goto(f"{server.url}/r/noise-room")
    seconds = 2 * speaking.size / 48000
    off = await local_levels(page, False, seconds, float(speaking.mean()))
    on = await local_levels(page, True, seconds, float(speaking.mean()))
    print(f"off: noise {off[0]:.1f} dB speech {off[1]:.1f} dB; on: noise {on[0]:.1f} dB speech {on[1]:.1f} dB")
    assert on[0] <= off[0] - 10, (off, on)
    assert abs(on[1] - off[1]) <= 3, (off, on)
