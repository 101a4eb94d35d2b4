"""Mesh calls of N Chromium pages (1280×800 windows) on this machine, receiver-driven sizing on and off in the
same run, alternating (issue 12, item 7).

Sizing off is the page's localStorage ``noom.sizing`` = "off" switch (or ``?sizing=off``; see ``sizingEnabled``
in web/static/js/sizing.js): no views are sent, no setParameters, and the camera stays at the 1280×720 it was
opened with, as before sizing existed.

Per configuration, over a window after warm-up: median received fps (framesDecoded over the window, per
stream), freezes per stream per minute (inbound-rtp freezeCount), outgoing frame height against the tile
height that shows it (the receiving <video>'s videoHeight and its clientHeight × devicePixelRatio), encode
time per second summed over every sender (outbound-rtp totalEncodeTime), the browsers' CPU (from /proc,
every Chromium process below this script) and uplink kbit/s per participant (outbound-rtp bytesSent, audio
and video). A model from those gives uplink and encoded pixels/s per sender at 6 and 8 people.

    python scripts/bench/bench_mesh.py            # N = 2, 3, 4; ~5 minutes
    python scripts/bench/bench_mesh.py --quick    # N = 2, 3, shorter windows; ~2 minutes
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from common import (
    COLLECT_PCS_JS,
    DOCS,
    machine_description,
    measured_window,
    noom_server,
    rerun_in_namespace,
    say,
    write_section,
)

from tests.support import launch_chromium

WINDOW = (1280, 800)
# The fake camera at 20 fps, Chromium's default (the tests use 15 to stay light).
FAKE_FPS = 20

# Every RTCPeerConnection a page makes, so the benchmark can read getStats of all of them.
SNAPSHOT_JS = """async () => {
  const out = { encodeTime: 0, framesEncoded: 0, bytesSent: 0, outbound: [], inbound: [] };
  for (const pc of window.__benchPcs || []) {
    if (pc.connectionState === 'closed') continue;
    const report = await pc.getStats();
    report.forEach((s) => {
      if (s.type === 'outbound-rtp') {
        out.bytesSent += s.bytesSent || 0;
        if (s.kind !== 'video') return;
        out.encodeTime += s.totalEncodeTime || 0;
        out.framesEncoded += s.framesEncoded || 0;
        out.outbound.push({ id: pc.__id, width: s.frameWidth || 0, height: s.frameHeight || 0,
          impl: s.encoderImplementation || null, limit: s.qualityLimitationReason || null,
          framesEncoded: s.framesEncoded || 0, fps: s.framesPerSecond || 0, active: s.active ?? null });
      }
      if (s.type === 'inbound-rtp' && s.kind === 'video')
        out.inbound.push({ ssrc: s.ssrc, framesDecoded: s.framesDecoded || 0, freezes: s.freezeCount || 0 });
    });
  }
  const dpr = window.devicePixelRatio || 1;
  out.tiles = [...document.querySelectorAll('#stage .tile:not(.self) video')].map((v) => ({
    frameHeight: v.videoHeight,
    tileHeight: Math.round(v.clientHeight * dpr),
    tileWidth: Math.round(v.clientWidth * dpr),
  }));
  const cam = window.noom?.localTracks?.();
  out.capture = (() => {
    const self = document.querySelector('#stage .tile.self video');
    const track = self?.srcObject?.getVideoTracks?.()[0];
    const s = track?.getSettings?.() || {};
    return { width: s.width || 0, height: s.height || 0, frameRate: s.frameRate || 0 };
  })();
  out.camLive = cam?.video?.readyState === 'live';
  return out;
}"""


async def measure(n: int, sizing: bool, url: str, warmup: float, seconds: float) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    from tests.browser_fixtures import assert_receiving, join

    room = f"bench-{n}-{'on' if sizing else 'off'}-{int(time.time())}"
    names = [f"P{i}" for i in range(n)]
    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright.chromium, fake_devices=f"fps={FAKE_FPS}")
        try:
            pages = []
            for name in names:
                context = await browser.new_context(viewport={"width": WINDOW[0], "height": WINDOW[1]})
                context.set_default_timeout(60_000)
                await context.add_init_script(COLLECT_PCS_JS)
                switch = "off" if not sizing else "on"
                await context.add_init_script(f"localStorage.setItem('noom.sizing', '{switch}');")
                page = await context.new_page()
                await join(page, url, room, name)
                pages.append(page)
            for page, me in zip(pages, names, strict=True):
                for other in names:
                    if other != me:
                        await assert_receiving(page, other, timeout=90)
            first, last, elapsed, cpu = await measured_window(pages, SNAPSHOT_JS, warmup, seconds)
        finally:
            await browser.close()
    return summarize(n, sizing, first, last, elapsed, cpu)


def summarize(n: int, sizing: bool, first: list[dict], last: list[dict], elapsed: float, cpu: float) -> dict:
    fps, freezes, ratios, heights, tiles = [], [], [], [], []
    for a, b in zip(first, last, strict=True):
        before = {s["ssrc"]: s for s in a["inbound"]}
        for s in b["inbound"]:
            if s["ssrc"] in before:
                fps.append((s["framesDecoded"] - before[s["ssrc"]]["framesDecoded"]) / elapsed)
                freezes.append((s["freezes"] - before[s["ssrc"]]["freezes"]) * 60 / elapsed)
        for t in b["tiles"]:
            if t["tileHeight"] > 0 and t["frameHeight"] > 0:
                heights.append(t["frameHeight"])
                tiles.append(t["tileHeight"])
                ratios.append(t["frameHeight"] / t["tileHeight"])
    uplink = [(b["bytesSent"] - a["bytesSent"]) * 8 / 1000 / elapsed for a, b in zip(first, last, strict=True)]
    encode = sum(b["encodeTime"] - a["encodeTime"] for a, b in zip(first, last, strict=True)) / elapsed
    frames = sum(b["framesEncoded"] - a["framesEncoded"] for a, b in zip(first, last, strict=True)) / elapsed
    pixels = 0.0  # encoded pixels/s per sender: each outbound stream's frame size × its frame rate
    for b in last:
        for s in b["outbound"]:
            pixels += s["width"] * s["height"] * s["fps"]
    outbound = [s for b in last for s in b["outbound"]]
    return {
        "n": n,
        "sizing": sizing,
        "seconds": round(elapsed, 1),
        "median_fps": round(statistics.median(fps), 1) if fps else 0.0,
        "freezes_per_stream_per_min": round(statistics.mean(freezes), 2) if freezes else 0.0,
        "max_frame_to_tile": round(max(ratios), 2) if ratios else None,
        "frame_heights": sorted(set(heights)),
        "tile_heights": sorted(set(tiles)),
        "capture_heights": sorted({b["capture"]["height"] for b in last}),
        "encode_s_per_s": round(encode, 3),
        "frames_encoded_per_s": round(frames, 1),
        "encode_ms_per_frame": round(1000 * encode / frames, 2) if frames else None,
        "encoded_mpix_per_s_per_sender": round(pixels / n / 1e6, 2),
        "browser_cores": round(cpu / elapsed, 2),
        "uplink_kbps_per_participant": round(statistics.mean(uplink)),
        "encoders": sorted({s["impl"] or "?" for s in outbound}),
        "quality_limits": sorted({s["limit"] or "?" for s in outbound}),
        "load_average": os.getloadavg()[0],
    }


def model(rows: list[dict], people: int) -> dict[str, float]:
    """Each sender sends one stream per peer: per-stream uplink and pixels from the largest measured N, × (people-1)."""
    on = max((r for r in rows if r["sizing"]), key=lambda r: r["n"])
    per_stream_kbps = on["uplink_kbps_per_participant"] / (on["n"] - 1)
    per_stream_mpix = on["encoded_mpix_per_s_per_sender"] / (on["n"] - 1)
    # Tiles shrink as the grid grows: at ≥ 5 people a 1280×800 grid has 3 columns (about 0.6× the height of a
    # 2-column grid's tiles), and sizing scales the bit rate and pixels with the tile area.
    shrink = 1.0 if people <= 4 else 0.6**2
    return {
        "people": people,
        "uplink_kbps": round(per_stream_kbps * shrink * (people - 1)),
        "mpix_per_s": round(per_stream_mpix * shrink * (people - 1), 2),
        "from_n": on["n"],
    }


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    for sizing, style in ((False, "o--"), (True, "s-")):
        sel = sorted((r for r in rows if r["sizing"] is sizing), key=lambda r: r["n"])
        label = "sizing on" if sizing else "sizing off"
        ns = [r["n"] for r in sel]
        axes[0].plot(ns, [r["encode_s_per_s"] for r in sel], style, label=label)
        axes[1].plot(ns, [r["median_fps"] for r in sel], style, label=label)
        axes[2].plot(ns, [r["uplink_kbps_per_participant"] for r in sel], style, label=label)
    for ax, title in zip(
        axes, ["encode s/s (all senders)", "median received fps", "uplink kbit/s per participant"], strict=True
    ):
        ax.set_title(title)
        ax.set_xlabel("people")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def table(rows: list[dict], command: str) -> str:
    load = statistics.mean(r["load_average"] for r in rows)
    lines = [
        "### Mesh calls: receiver-driven sizing on and off",
        "",
        f"`{command}` on {machine_description()}, shared with other work (1-min load average during the run "
        f"{load:.1f}; the figures are noisy). Each configuration is a fresh Chromium with N pages in "
        f"{WINDOW[0]}×{WINDOW[1]} windows, fake camera at {FAKE_FPS} fps; on and off alternate.",
        "",
        "| N | sizing | median fps | freezes/stream/min | frame/tile height (max) | capture | encode s/s | "
        "ms/frame | Mpix/s per sender | browsers' cores | uplink kbit/s each |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(rows, key=lambda r: (r["n"], not r["sizing"])):
        heights = f"{'/'.join(map(str, r['frame_heights']))} in {'/'.join(map(str, r['tile_heights']))}"
        lines.append(
            f"| {r['n']} | {'on' if r['sizing'] else 'off'} | {r['median_fps']} | {r['freezes_per_stream_per_min']} "
            f"| {heights} ({r['max_frame_to_tile']}) | {'/'.join(map(str, r['capture_heights']))}p "
            f"| {r['encode_s_per_s']} | {r['encode_ms_per_frame']} | {r['encoded_mpix_per_s_per_sender']} "
            f"| {r['browser_cores']} | {r['uplink_kbps_per_participant']} |"
        )
    lines += ["", "Encode time, sizing on against off (same run):", ""]
    for n in sorted({r["n"] for r in rows}):
        on = next((r for r in rows if r["n"] == n and r["sizing"]), None)
        off = next((r for r in rows if r["n"] == n and not r["sizing"]), None)
        if on and off and off["encode_s_per_s"]:
            change = 100 * (on["encode_s_per_s"] / off["encode_s_per_s"] - 1)
            lines.append(f"- N={n}: {on['encode_s_per_s']} vs {off['encode_s_per_s']} s/s ({change:+.0f}%)")
    lines += ["", "Model (sizing on, per sender, every tile visible):", ""]
    for people in (6, 8):
        m = model(rows, people)
        lines.append(
            f"- {people} people: ~{m['uplink_kbps']} kbit/s uplink, ~{m['mpix_per_s']} Mpix/s encoded "
            f"(per-stream figures from N={m['from_n']} × {people - 1} streams × tile-area shrink of a 3-column grid)"
        )
    encoders = sorted({e for r in rows for e in r["encoders"]})
    limits = sorted({q for r in rows for q in r["quality_limits"]})
    lines += ["", f"Encoders seen: {', '.join(encoders)}; qualityLimitationReason: {', '.join(limits)}.", ""]
    lines.append("![mesh sizing](bench/mesh.png)")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", default="2,3,4", help="call sizes")
    parser.add_argument("--warmup", type=float, default=8.0, help="seconds after everyone receives everyone")
    parser.add_argument("--seconds", type=float, default=12.0, help="measured seconds per configuration")
    parser.add_argument("--quick", action="store_true", help="N = 2, 3 with 5 s warm-up and 8 s windows")
    parser.add_argument("--no-docs", action="store_true", help="print results without writing docs/")
    args = parser.parse_args()
    if (code := rerun_in_namespace(__file__)) is not None:
        return code
    if args.quick:
        args.people, args.warmup, args.seconds = "2,3", 5.0, 8.0
    rows: list[dict] = []
    with noom_server() as url:
        for n in [int(x) for x in args.people.split(",")]:
            for sizing in (False, True) if n % 2 else (True, False):
                row = asyncio.run(measure(n, sizing, url, args.warmup, args.seconds))
                rows.append(row)
                say(json.dumps(row))
    command = "python scripts/bench/bench_mesh.py " + " ".join(sys.argv[1:])
    text = table(rows, command.strip())
    print(text)
    if not args.no_docs:
        (DOCS / "bench").mkdir(parents=True, exist_ok=True)
        (DOCS / "bench" / "mesh.json").write_text(json.dumps(rows, indent=1) + "\n")
        plot(rows, DOCS / "bench" / "mesh.png")
        write_section("mesh-sizing", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
