"""The /echo page in Chromium (fake camera and microphone) with the server's echo bot."""

from __future__ import annotations

from playwright.async_api import Page

from .browser_fixtures import Browsers
from .helpers import RunningServer


async def frames_decoded(page: Page, selector: str) -> int:
    return await page.eval_on_selector(selector, "v => v.getVideoPlaybackQuality().totalVideoFrames")


async def test_echo_page_shows_you_back_from_the_server(make_server, browsers: Browsers) -> None:
    server: RunningServer = await make_server(echo_max_sessions=1)
    page = await browsers.page("echo")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(server.url + "/")
    await page.click("text=Test your camera and mic")
    await page.wait_for_url("**/echo")
    await page.click("#start")
    # The echoed video plays: it has a size and its decoded frame count keeps rising.
    await page.wait_for_function("() => document.getElementById('echoed').videoWidth > 0", timeout=30_000)
    before = await frames_decoded(page, "#echoed")
    await page.wait_for_function(
        "n => document.getElementById('echoed').getVideoPlaybackQuality().totalVideoFrames > n",
        arg=before + 10,
        timeout=30_000,
    )
    # The bot's report of what the server received, in words.
    await page.wait_for_function(
        "() => document.getElementById('server-stats').textContent.includes('640×480')", timeout=30_000
    )
    stats = await page.text_content("#server-stats")
    assert "Microphone" in stats and "nothing received" not in stats, stats
    verdict = await page.text_content("#verdict")
    assert verdict and "Waiting" not in verdict
    await page.wait_for_function(
        "() => document.getElementById('stats').textContent.includes('Round-trip time')", timeout=30_000
    )
    # Voice playback is off until asked for.
    assert await page.eval_on_selector("#echoed-audio", "a => a.muted")
    await page.click("#playback")
    assert not await page.eval_on_selector("#echoed-audio", "a => a.muted")

    # A second test while the only echo session is taken: the page says so.
    other = await browsers.page("second")
    await other.goto(server.url + "/echo")
    await other.click("#start")
    await other.wait_for_function(
        "() => document.getElementById('status').textContent.includes('in use')", timeout=30_000
    )
    assert errors == []
