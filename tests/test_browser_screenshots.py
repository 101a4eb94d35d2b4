"""The README's screenshots, made from a real three-person call (and the lobby and pre-join pages)."""

from __future__ import annotations

import os
from pathlib import Path

from .browser_fixtures import Browsers, assert_receiving, join, open_room, remote_tile, tiles
from .fake_media import write_noisy_speech_wav, write_person_y4m
from .helpers import RunningServer
from .support import eventually

ROOT = Path(__file__).resolve().parent.parent
# Every run makes the screenshots (test-artifacts/, git-ignored); NOOM_UPDATE_SCREENSHOTS=1 refreshes the
# README's copies in docs/screenshots, so ordinary test runs leave the work tree clean.
SHOTS = ROOT / (
    "docs/screenshots" if os.environ.get("NOOM_UPDATE_SCREENSHOTS") == "1" else "test-artifacts/screenshots"
)
SIZE = (1280, 720)


def chromium_extra_args(tmp: Path) -> list[str]:
    """A cartoon person instead of Chromium's green test pattern, so the screenshots look like a call, and a
    microphone that talks (speech, not the default's rare beeps), so the speaker view finds who speaks."""
    voice, _ = write_noisy_speech_wav(tmp / "voice.wav", noise_dbfs=-80.0, pause=0.3)
    return [
        f"--use-file-for-fake-video-capture={write_person_y4m(tmp / 'person.y4m')}",
        f"--use-file-for-fake-audio-capture={voice}",
    ]


async def test_screenshots_of_lobby_prejoin_and_a_three_person_call(browsers: Browsers, server: RunningServer) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    maya = await browsers.page("maya", viewport=SIZE)
    ravi = await browsers.page("ravi")
    jonas = await browsers.page("jonas")
    await join(maya, server.url, "design-review", "Maya Chen")
    await join(ravi, server.url, "design-review", "Ravi Kumar")
    await join(jonas, server.url, "design-review", "Jonas Berg")
    for name in ("Ravi Kumar", "Jonas Berg"):
        await assert_receiving(maya, name)

    # A lively but ordinary moment: Jonas muted with his camera off, Ravi raising a hand, a chat message.
    await jonas.keyboard.press("m")
    await jonas.keyboard.press("v")
    await ravi.keyboard.press("h")
    await ravi.keyboard.press("c")
    await ravi.fill("#chat-input", "Can we look at the mobile layout next?")
    await ravi.get_by_role("button", name="Send message").click()
    await maya.keyboard.press("c")
    await maya.locator(".chat-text", has_text="mobile layout").wait_for()

    async def settled() -> bool:
        jonas_tile = await remote_tile(maya, "Jonas Berg")
        hand = await maya.locator(".tile.hand-up").count()
        return bool(jonas_tile and jonas_tile["muted"] and hand == 1)

    await eventually(settled, "Maya sees Jonas muted and Ravi's hand up")
    await eventually(lambda: _no_toasts(maya), "the toasts have faded", timeout=15)
    await maya.screenshot(path=str(SHOTS / "call.png"))

    # The speaker view: Ravi talks (Maya mutes; Jonas already has), so he has the stage; Jonas raises his hand
    # too (second in line after Ravi) and claps.
    await maya.locator("#btn-chat").click()  # chat closed again
    await maya.locator("#btn-mic").click()
    await maya.locator("#btn-view").click()
    await eventually(lambda: _featured(maya, "Ravi Kumar"), "Ravi, who talks, has Maya's stage", timeout=30)
    await jonas.keyboard.press("h")
    await eventually(lambda: _hand_places(maya, {"Ravi Kumar": "1", "Jonas Berg": "2"}), "hands numbered for Maya")
    await eventually(lambda: _no_toasts(maya), "the toasts have faded", timeout=15)
    await jonas.get_by_role("button", name="Reactions").click()
    await jonas.get_by_role("button", name="Clap").click()
    await maya.locator(".tile .reaction").first.wait_for()
    await maya.wait_for_timeout(700)  # the emoji has floated up a little
    await maya.screenshot(path=str(SHOTS / "speaker.png"))
    await maya.locator("#btn-view").click()  # back to the grid for the host's view below
    await maya.locator("#btn-mic").click()

    guest = await browsers.page("guest", viewport=SIZE, noise_suppression=True)  # the switch as people find it
    await guest.goto(server.url + "/")
    await guest.locator(".room-link", has_text="design-review").wait_for()
    await guest.fill("#name", "Sam")
    await guest.screenshot(path=str(SHOTS / "lobby.png"))

    await open_room(guest, server.url, "design-review", "Sam")
    await guest.get_by_text("3 people in the call").wait_for()
    await guest.screenshot(path=str(SHOTS / "prejoin.png"))

    # The host's view: the waiting room on, Sam asking to come in, the People panel with the host's controls.
    await maya.locator("#btn-people").click()  # the host's controls are in the People panel
    await maya.locator("#btn-waiting-room").click()
    await maya.locator("#waiting-room-indicator").wait_for()
    await guest.get_by_role("button", name="Join").click()
    await guest.get_by_text("Waiting for the host to let you in").wait_for()
    await maya.locator("#waiting-list").get_by_role("button", name="Admit Sam").wait_for()
    await eventually(lambda: _no_toasts(maya), "the toasts have faded", timeout=15)
    await maya.screenshot(path=str(SHOTS / "host.png"))
    for name in ("call.png", "speaker.png", "lobby.png", "prejoin.png", "host.png"):
        assert (SHOTS / name).stat().st_size > 10_000, name


async def _no_toasts(page) -> bool:
    return await page.locator(".toast").count() == 0


async def _featured(page, name: str) -> bool:
    return any(t["featured"] and t["name"] == name for t in await tiles(page))


async def _hand_places(page, expected: dict[str, str]) -> bool:
    places = {t["name"]: t["handPlace"] for t in await tiles(page)}
    return all(places.get(name) == place for name, place in expected.items())
