"""Firefox in Noom: a call between a Firefox page and a Chromium page, offers in both directions; the stage in
Firefox (speaker view, pin, the hand queue, reactions, both ways with Chromium); and the camera and mic test
(/echo) in Firefox. Firefox is Debian's firefox-esr, driven over WebDriver BiDi
(tests/firefox.py); the call goes through the same helpers as the Chromium-only tests."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from .browser_fixtures import AnyPage, Browsers, assert_receiving, join, open_room
from .fake_media import write_noisy_speech_wav
from .firefox import FirefoxError, Firefoxes
from .helpers import RunningServer
from .media_helpers import assert_echo_plays_back
from .stage import grid, no_reactions, on_stage, places_are, reaction_over, strip_height, video_taller
from .support import eventually
from .test_browser_a11y import assert_no_serious_violations


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


async def test_the_stage_hands_and_reactions_in_firefox(
    firefox: Firefoxes, browsers: Browsers, server: RunningServer, tmp_path: Path
) -> None:
    # Ravi (host: first in) and Sam are Chromium pages whose microphones talk (speech files, as in
    # tests/test_browser_layouts.py); Fiona is Firefox, the one whose stage is watched.
    chromium: dict[str, AnyPage] = {}
    for seed, name in enumerate(("Ravi", "Sam")):
        voice, _ = write_noisy_speech_wav(tmp_path / f"{name}.wav", noise_dbfs=-80.0, pause=0.3, seed=seed)
        args = [f"--use-file-for-fake-audio-capture={voice}"]
        chromium[name], _own = await browsers.separate_page(name.lower(), args, viewport=(1280, 800))
        await join(chromium[name], server.url, "stage-firefox", name)
    ravi, sam = chromium["Ravi"], chromium["Sam"]
    fiona = await firefox.page("fiona", viewport=(1280, 800))
    await join(fiona, server.url, "stage-firefox", "Fiona")
    for page, others in ((fiona, ("Ravi", "Sam")), (ravi, ("Fiona", "Sam")), (sam, ("Fiona", "Ravi"))):
        for other in others:
            await assert_receiving(page, other)
    assert await grid(fiona)

    # Speaker view in Firefox: only Ravi talks, so he takes Fiona's stage and his stream grows to it.
    for page in (fiona, sam):
        await page.click("#btn-mic")
        await eventually(lambda page=page: _pressed(page, "#btn-mic", "false"), "the microphone is off", 10)
    await fiona.click("#btn-view")
    await eventually(lambda: on_stage(fiona, "Ravi"), "Ravi, who talks, is on Fiona's stage", 30)
    strip = await strip_height(fiona)
    await eventually(lambda: video_taller(fiona, "Ravi", 1.5 * strip), "Ravi's stream grows with his tile", 30)
    # Fiona pins the silent Sam from his tile: he holds the stage while Ravi goes on talking; unpin, then grid.
    await fiona.click('button[aria-label="Pin Sam"]')
    await eventually(lambda: on_stage(fiona, "Sam"), "the pinned Sam is on Fiona's stage", 15)
    for _ in range(6):
        assert await on_stage(fiona, "Sam")
        await asyncio.sleep(0.5)
    await fiona.click('button[aria-label="Unpin Sam"]')
    await eventually(lambda: on_stage(fiona, "Ravi"), "unpinned: the talker has the stage again", 15)
    await fiona.click("#btn-view")
    await eventually(lambda: grid(fiona), "the grid again in Firefox", 15)
    assert await fiona.evaluate("() => localStorage.getItem('noom.view')") == "grid"

    # The hand queue across browsers: Fiona first, then Sam; the host Ravi lowers Fiona's.
    await fiona.click("#btn-hand")
    await eventually(lambda: places_are(ravi, {"Fiona": "1", "Ravi": "", "Sam": ""}), "Fiona's hand is up first", 10)
    await sam.click("#btn-hand")
    for page in (fiona, ravi, sam):
        await eventually(lambda page=page: places_are(page, {"Fiona": "1", "Ravi": "", "Sam": "2"}), "hands 1, 2", 15)
    await ravi.click("#btn-people")
    await ravi.click('button[aria-label="Lower Fiona\'s hand"]')
    await eventually(lambda: _pressed(fiona, "#btn-hand", "false"), "Fiona's hand button is down again", 10)
    await eventually(lambda: places_are(fiona, {"Fiona": "", "Ravi": "", "Sam": "1"}), "Sam is first now", 15)

    # Reactions both ways: Fiona's 🎉 over her tile on the Chromium pages, Ravi's 👏 over his in Firefox.
    await fiona.click("#btn-react")
    await fiona.click('#reactions [data-emoji="🎉"]')
    await ravi.click("#btn-react")
    await ravi.click('#reactions [data-emoji="👏"]')
    for page, label in ((ravi, "Ravi's"), (sam, "Sam's")):
        await eventually(lambda page=page: reaction_over(page, "Fiona", "🎉"), f"🎉 over Fiona on {label} page", 10)
    await eventually(lambda: reaction_over(fiona, "Ravi", "👏"), "👏 over Ravi in Firefox", 10)
    await eventually(lambda: no_reactions(fiona), "the reactions fade in Firefox", 15)
    assert fiona.errors == []


async def _pressed(page: AnyPage, selector: str, value: str) -> bool:
    pressed = "([s, v]) => document.querySelector(s)?.getAttribute('aria-pressed') === v"
    return await page.evaluate(pressed, [selector, value])


async def test_lobby_prejoin_and_call_pages_pass_axe_in_firefox(firefox: Firefoxes, server: RunningServer) -> None:
    page = await firefox.page("axe")
    await page.goto(server.url + "/")
    await page.wait_for_function("() => document.body.innerText.includes('No rooms yet')")
    await assert_no_serious_violations(page, "the lobby in Firefox")
    await open_room(page, server.url, "axe-firefox", "Fiona")
    await assert_no_serious_violations(page, "the pre-join page in Firefox")
    await join(page, server.url, "axe-firefox", "Fiona")
    await page.click("#btn-chat")
    await assert_no_serious_violations(page, "the call page with chat open in Firefox")


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
