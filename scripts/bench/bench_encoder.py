"""What one VP8 encode costs at each outgoing size: the profile behind the mesh benchmark's encode-time figures.

One Chromium page sends its fake camera (20 fps) over a loopback RTCPeerConnection pair in the page itself,
VP8 only, ``degradationPreference: "maintain-resolution"`` and a bitrate cap far above need, so that the
encoder works at exactly the size asked for. For each configuration — captured at C px tall, sent at S px tall
(``scaleResolutionDownBy`` = C / S) — over a window after warm-up: encode milliseconds per frame
(outbound-rtp ``totalEncodeTime`` / ``framesEncoded``) and the browser's CPU milliseconds per frame (all of
its processes, from /proc: capture, scaling, encode and the loopback decode). Configurations alternate over
rounds, and everything is reported against 720p sent from a 720p capture in the same run.

    python scripts/bench/bench_encoder.py             # 2 rounds, ~3 minutes
    python scripts/bench/bench_encoder.py --rounds 1  # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from common import DOCS, browsers_cpu, machine_description, noom_server, rerun_in_namespace, say, write_section

from tests.support import launch_chromium

FPS = 20
# (captured height, sent height): the camera's sizes, each sent as is and scaled down as sizing does.
CONFIGS = [(720, 720), (720, 540), (720, 360), (720, 180), (360, 360), (360, 180), (180, 180)]

START_JS = """async ({ capture, send, fps }) => {
  const stream = await navigator.mediaDevices.getUserMedia({
    video: { width: Math.round(capture * 16 / 9), height: capture, frameRate: fps },
  });
  // No ICE servers: the pair meets over host candidates (and Chromium never falls back to a public STUN host).
  const a = new RTCPeerConnection({ iceServers: [] }), b = new RTCPeerConnection({ iceServers: [] });
  a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
  b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
  const transceiver = a.addTransceiver(stream.getVideoTracks()[0], {
    direction: "sendonly",
    sendEncodings: [{ scaleResolutionDownBy: capture / send, maxBitrate: 20000000 }],
  });
  transceiver.setCodecPreferences(RTCRtpSender.getCapabilities("video").codecs.filter((c) => /VP8/i.test(c.mimeType)));
  const params = transceiver.sender.getParameters();
  params.degradationPreference = "maintain-resolution";
  await transceiver.sender.setParameters(params);
  b.ontrack = (e) => {
    const video = document.createElement("video");
    video.muted = true;
    video.srcObject = new MediaStream([e.track]);
    video.play();
  };
  await a.setLocalDescription();
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription();
  await a.setRemoteDescription(b.localDescription);
  window.__enc = { a, b, stream, sender: transceiver.sender };
}"""

SNAPSHOT_JS = """async () => {
  let out = { encodeTime: 0, framesEncoded: 0, height: 0, limit: null };
  (await window.__enc.sender.getStats()).forEach((s) => {
    if (s.type === "outbound-rtp") out = { encodeTime: s.totalEncodeTime || 0, framesEncoded: s.framesEncoded || 0,
      height: s.frameHeight || 0, limit: s.qualityLimitationReason || null };
  });
  return out;
}"""

STOP_JS = """() => {
  const e = window.__enc;
  e.a.close();
  e.b.close();
  e.stream.getTracks().forEach((t) => t.stop());
}"""


async def measure(url: str, capture: int, send: int, warmup: float, seconds: float) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright.chromium, fake_devices=f"fps={FPS}")
        try:
            page = await browser.new_page()
            await page.goto(url + "/echo")  # any page of ours: a secure context (localhost) for getUserMedia
            await page.evaluate(START_JS, {"capture": capture, "send": send, "fps": FPS})
            await asyncio.sleep(warmup)
            first, cpu0, t0 = await page.evaluate(SNAPSHOT_JS), browsers_cpu(), time.monotonic()
            await asyncio.sleep(seconds)
            last, cpu1, t1 = await page.evaluate(SNAPSHOT_JS), browsers_cpu(), time.monotonic()
            await page.evaluate(STOP_JS)
        finally:
            await browser.close()
    frames = max(1, last["framesEncoded"] - first["framesEncoded"])
    return {
        "capture": capture,
        "send": send,
        "sent_height": last["height"],
        "fps": round(frames / (t1 - t0), 1),
        "encode_ms_per_frame": round(1000 * (last["encodeTime"] - first["encodeTime"]) / frames, 2),
        "cpu_ms_per_frame": round(1000 * (cpu1 - cpu0) / frames, 2),
        "limit": last["limit"],
    }


def summarize(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for capture, send in CONFIGS:
        mine = [s for s in samples if (s["capture"], s["send"]) == (capture, send)]
        rows.append(
            {
                "capture": capture,
                "send": send,
                "sent_height": mine[-1]["sent_height"],
                "fps": statistics.median(s["fps"] for s in mine),
                "encode_ms_per_frame": statistics.median(s["encode_ms_per_frame"] for s in mine),
                "cpu_ms_per_frame": statistics.median(s["cpu_ms_per_frame"] for s in mine),
                "pixels": round(send * 16 / 9) * send,
            }
        )
    return rows


def table(rows: list[dict[str, Any]], command: str) -> str:
    ref = next(r for r in rows if (r["capture"], r["send"]) == (720, 720))
    lines = [
        f"Measured on {machine_description()}, {time.strftime('%Y-%m-%d')}, with `{command}`"
        " (medians over the rounds; ratios against 720p from a 720p capture in the same run).",
        "",
        "| captured | sent | pixels vs 720p | fps | encode ms/frame | vs 720p | browser CPU ms/frame | vs 720p |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['capture']}p | {r['sent_height']}p | {r['pixels'] / ref['pixels']:.2f} | {r['fps']:.1f} "
            f"| {r['encode_ms_per_frame']:.2f} | {r['encode_ms_per_frame'] / ref['encode_ms_per_frame']:.2f} "
            f"| {r['cpu_ms_per_frame']:.1f} | {r['cpu_ms_per_frame'] / ref['cpu_ms_per_frame']:.2f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--warmup", type=float, default=4.0)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--no-docs", action="store_true", help="print results without writing docs/")
    args = parser.parse_args()
    if (code := rerun_in_namespace(__file__)) is not None:
        return code
    samples: list[dict[str, Any]] = []
    with noom_server() as url:
        for round_ in range(args.rounds):
            for capture, send in CONFIGS if round_ % 2 == 0 else reversed(CONFIGS):
                sample = asyncio.run(measure(url, capture, send, args.warmup, args.seconds))
                samples.append(sample)
                say(json.dumps(sample))
    rows = summarize(samples)
    text = table(rows, ("python scripts/bench/bench_encoder.py " + " ".join(sys.argv[1:])).strip())
    print(text)
    if not args.no_docs:
        (DOCS / "bench" / "encoder.json").write_text(json.dumps(samples, indent=1) + "\n")
        write_section("encoder-cost", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
