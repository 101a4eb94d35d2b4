"""Firefox in Noom: a call between a Firefox page and a Chromium page, offers in both directions, and the
camera and mic test (/echo) in Firefox. Firefox is Debian's firefox-esr, driven over WebDriver BiDi
(tests/firefox.py); the call goes through the same helpers as the Chromium-only tests."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from .browser_fixtures import AnyPage, Browsers, assert_receiving, join
from .firefox import FirefoxError, Firefoxes
from .helpers import RunningServer
from .media_helpers import assert_echo_plays_back
from .support import eventually


@pytest.mark.parametrize("first", ["firefox", "chromium"])
async def test_firefox_and_chromium_see_and_hear_each_other(
    first: str, firefox: Firefoxes, browsers: Browsers, server: RunningServer
) -> None:
    # The newcomer offers (docs/protocol.md), so the two orders negotiate in opposite directions.
    fiona = await firefox.page("fiona", noise_suppression=True)
    chris = await browsers.page("chris")
    order: list[tuple[AnyPage, str]] = [(fiona, "Fiona"), (chris, "Chris")]
    if first == "chromium":
        order.reverse()
    for page, name in order:
        await join(page, server.url, f"mixed-{first}", name)
    await assert_receiving(fiona, "Chris")
    await assert_receiving(chris, "Fiona")
    # Noise suppression (on by default for people) runs in Firefox too: RNNoise's worklet takes over the microphone.
    await eventually(
        lambda: fiona.evaluate("() => window.noom.localTracks().noiseSuppressed"), "Fiona's mic goes through RNNoise"
    )
    assert fiona.errors == []


async def test_echo_page_in_firefox(firefox: Firefoxes, make_server) -> None:
    server: RunningServer = await make_server(echo_max_sessions=1)
    page = await firefox.page("echo")
    await page.goto(server.url + "/echo")
    await assert_echo_plays_back(page)
    assert page.errors == []


# Firefox ends candidates per m-line ({candidate: ""}), some before the bundle's own candidates. Holding the
# bot's answer back 3 s makes them all reach the bot before Firefox sends its first check (no peer-reflexive
# rescue): the bot must still pair the bundle's candidates, not end on the first empty one.
HOLD_ANSWERS_JS = """() => {
  const Original = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Original {
    async setRemoteDescription(description) {
      await new Promise((resolve) => setTimeout(resolve, 3000));
      return super.setRemoteDescription(description);
    }
  };
  return true;
}"""


async def test_echo_in_firefox_with_every_candidate_at_the_bot_before_a_check(firefox: Firefoxes, make_server) -> None:
    server: RunningServer = await make_server(echo_max_sessions=1)
    page = await firefox.page("echo")
    await page.goto(server.url + "/echo")
    await page.evaluate(HOLD_ANSWERS_JS)
    await assert_echo_plays_back(page)


async def test_a_dead_firefox_fails_the_next_command_with_its_stderr(firefox: Firefoxes) -> None:
    page = await firefox.page("doomed")
    assert page.version.startswith("firefox/") and page.firefox_pid
    os.kill(page.firefox_pid, signal.SIGKILL)
    # The driver notices and exits by itself; what the test gets next says so, with the driver's and
    # Firefox's last stderr lines.
    assert await asyncio.wait_for(page.process.wait(), 30) == 2
    with pytest.raises(FirefoxError, match=r"(?s)exited with code 2.*Firefox went away"):
        await page.evaluate("() => 1")
