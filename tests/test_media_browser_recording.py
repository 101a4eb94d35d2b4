"""``noom record`` on a call of two Chromium peers: the recorder, as a newcomer, offers to both browsers."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
from playwright.async_api import Browser, Page

from media import layout
from media.recorder import RecorderBot

from .helpers import RunningServer
from .media_helpers import (
    browser_fixture,  # noqa: F401  (provides the `browser` fixture)
    wait_until,
)

# A minimal polite call client of protocol v1, as the call page would be: answers every offer with its
# camera and microphone, offers to the peers in its join ack, trickles ICE.
CALL_CLIENT = """async ({ room, name }) => {
  const { io } = await import("/vendor/socket.io/socket.io.esm.min.js");
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 320, height: 240 } });
  const socket = io({ transports: ["websocket"] });
  await new Promise((resolve) => socket.on("connect", resolve));
  const ack = await socket.emitWithAck("join", { room, name });
  const pcs = new Map();
  const pcFor = (id) => {
    if (!pcs.has(id)) {
      const pc = new RTCPeerConnection({ iceServers: ack.iceServers });
      stream.getTracks().forEach((t) => pc.addTrack(t, stream));
      pc.onicecandidate = (e) => socket.emit("ice", { to: id, candidate: e.candidate ? e.candidate.toJSON() : null });
      pcs.set(id, pc);
    }
    return pcs.get(id);
  };
  socket.on("offer", async ({ from, sdp }) => {
    const pc = pcFor(from);
    await pc.setRemoteDescription({ type: "offer", sdp });
    await pc.setLocalDescription();
    socket.emit("answer", { to: from, sdp: pc.localDescription.sdp });
  });
  socket.on("answer", ({ from, sdp }) => pcs.get(from)?.setRemoteDescription({ type: "answer", sdp }));
  socket.on("ice", ({ from, candidate }) => pcs.get(from)?.addIceCandidate(candidate));
  for (const peer of ack.peers) {
    const pc = pcFor(peer.peerId);
    await pc.setLocalDescription();
    socket.emit("offer", { to: peer.peerId, sdp: pc.localDescription.sdp });
  }
  window.noomTest = { pcs };
}"""

CONNECTED = (
    "() => window.noomTest && [...window.noomTest.pcs.values()].some((pc) => pc.connectionState === 'connected')"
)


async def join_call(browser: Browser, server: RunningServer, name: str) -> Page:
    page = await browser.new_page()
    await page.goto(server.url + "/echo")  # any page of ours: same origin, same CSP
    await page.evaluate(CALL_CLIENT, {"room": "call", "name": name})
    return page


async def test_recording_a_call_of_two_browsers(server: RunningServer, browser: Browser, tmp_path: Path) -> None:
    ada = await join_call(browser, server, "Ada")
    await join_call(browser, server, "Bob")
    await ada.wait_for_function(CONNECTED, timeout=30_000)
    out = tmp_path / "call.mp4"
    recorder = RecorderBot(server.url, "call", out, width=640, height=240, fps=15)
    await recorder.start()
    try:
        await wait_until(
            lambda: sum(t.frame is not None for t in recorder.tiles.values()) == 2, 30, "video from both browsers"
        )
        start = recorder.elapsed
        await wait_until(lambda: recorder.elapsed > start + 3, 30, "3 s of recording")
        await recorder.finish()
    finally:
        await recorder.stop()
    names = [t.peer.name for t in recorder.tiles.values()]
    assert sorted(names) == ["Ada", "Bob"]
    cells = layout.grid(2, 640, 240)
    with av.open(str(out)) as container:
        assert {s.codec_context.name for s in container.streams} == {"h264", "aac"}
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]

    # Chromium's fake camera is green: once both browsers are in, their cells side by side show it.
    def both_green(image: np.ndarray) -> bool:
        for cell in cells:
            box = layout.fit(cell, 4 / 3)
            region = image[box.y : box.y + box.h, box.x : box.x + box.w].astype(float)
            green, red = region[..., 1].mean(), region[..., 0].mean()
            if not (green > 80 and green > 2 * red):
                return False
        return True

    assert len(frames) >= 10
    assert sum(both_green(image) for image in frames[len(frames) // 2 :]) >= 3
