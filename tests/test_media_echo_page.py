"""The /echo page in Chromium (fake camera and microphone) with the server's echo bot."""

from __future__ import annotations

from .browser_fixtures import Browsers
from .helpers import RunningServer
from .media_helpers import assert_echo_plays_back


async def test_echo_page_shows_you_back_from_the_server(make_server, browsers: Browsers) -> None:
    server: RunningServer = await make_server(echo_max_sessions=1)
    page = await browsers.page("echo")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(server.url + "/")
    await page.click("text=Test your camera and mic")
    await page.wait_for_url("**/echo")
    await assert_echo_plays_back(page)
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
