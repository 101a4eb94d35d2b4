"""Helpers for the media tests."""

from __future__ import annotations

from .browser_fixtures import AnyPage
from .helpers import TEST_SERVER_SECRET, RunningServer
from .support import eventually


def known_secret(server: RunningServer) -> str:
    """The secret ``server`` runs with (every test server's), for bots run as commands with --server-secret."""
    assert server.config.server_secret == TEST_SERVER_SECRET
    return TEST_SERVER_SECRET


def bot_credential(server: RunningServer) -> str:
    """What the bots of a test server authenticate with (the server admits ``kind: "bot"`` only with it)."""
    return server.bot_auth["botSecret"]


# Frames the echoed video has shown: requestVideoFrameCallback's count, in Chromium and Firefox alike (Firefox's
# getVideoPlaybackQuality() stays at 0 for a MediaStream); 0 when no new frame comes within 2 s.
ECHOED_FRAMES_JS = """() => new Promise((resolve) => {
  setTimeout(() => resolve(0), 2000);
  document.getElementById('echoed').requestVideoFrameCallback((now, frame) => resolve(frame.presentedFrames));
})"""


async def text_of(page: AnyPage, element_id: str) -> str:
    return await page.evaluate("(id) => document.getElementById(id).textContent", element_id)


async def assert_echo_plays_back(page: AnyPage) -> None:
    """On the /echo page (Chromium or Firefox): press Start; the echoed video plays (it has a size and its
    frame count keeps rising), the bot reports what the server received (the 640×480 camera and the
    microphone, in words) and the page shows the round trip's stats."""
    await page.click("#start")
    await eventually(
        lambda: page.evaluate("() => document.getElementById('echoed').videoWidth > 0"), "the echoed video has a size"
    )
    before = await page.evaluate(ECHOED_FRAMES_JS)
    await eventually(
        lambda: _more_frames(page, before + 10), f"the echoed video keeps playing (more than {before + 10} frames)"
    )
    await eventually(
        lambda: _contains(page, "server-stats", "640×480"), "the bot reports the 640×480 camera it received"
    )
    stats = await text_of(page, "server-stats")
    assert "Microphone" in stats and "nothing received" not in stats, stats
    verdict = await text_of(page, "verdict")
    assert verdict and "Waiting" not in verdict
    await eventually(lambda: _contains(page, "stats", "Round-trip time"), "the page shows the round trip's stats")


async def _more_frames(page: AnyPage, than: int) -> bool:
    return await page.evaluate(ECHOED_FRAMES_JS) > than


async def _contains(page: AnyPage, element_id: str, text: str) -> bool:
    return text in await text_of(page, element_id)
