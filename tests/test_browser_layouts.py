"""The stage as a person sees it (issue 13 items 1-3, issue 12 item 4), in real Chromium: the speaker view puts
whoever is talking on the stage and their stream grows to the larger tile; a pinned tile takes the stage and
keeps it while someone else talks; unpinning and the grid give everyone the same size again; the view is
remembered. Raised hands are numbered in the order they went up, the host can lower one, and reactions float
over the sender's tile on the other pages and go away.

Who "talks" is set with the microphones: each plays speech, and a muted peer never counts as speaking.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import Page

from .browser_fixtures import Browsers, assert_receiving, join, tiles
from .fake_media import write_noisy_speech_wav
from .helpers import RunningServer
from .stage import (
    grid,
    hand_place,
    no_reactions,
    on_stage,
    peer_of,
    places_are,
    reaction_over,
    stage_view,
    strip_height,
    video_taller,
)
from .support import eventually

NAMES = ("Alice", "Bob", "Carol")
VIEWPORT = (1280, 800)


async def call_of_three(
    browsers: Browsers, server: RunningServer, room: str, voices: Path | None = None
) -> dict[str, Page]:
    """Alice, Bob and Carol in ``room``, each receiving the others. With ``voices`` (a folder), each has a
    microphone of its own that talks on and on (espeak-ng sentences with short pauses), so who talks is exactly
    whose microphone is on: Chromium's default fake microphone only beeps briefly now and then, and a steady tone
    is what the browser's own noise suppression learns to remove."""
    pages = {}
    for i, name in enumerate(NAMES):
        if voices is None:
            pages[name] = await browsers.page(name.lower(), viewport=VIEWPORT)
            continue
        voice, _ = write_noisy_speech_wav(voices / f"{name}.wav", noise_dbfs=-80.0, pause=0.3, seed=i)
        args = [f"--use-file-for-fake-audio-capture={voice}"]
        pages[name], _ = await browsers.separate_page(name.lower(), args, viewport=VIEWPORT)
    for name, page in pages.items():
        await join(page, server.url, room, name)
    for name, page in pages.items():
        for other in NAMES:
            if other != name:
                await assert_receiving(page, other)
    return pages


async def mute(page: Page) -> None:
    await page.locator("#btn-mic").click()
    await eventually(lambda: page.locator("#btn-mic").get_attribute("aria-pressed"), "the mic button says off", 10)
    assert await page.locator("#btn-mic").get_attribute("aria-pressed") == "false"


async def test_speaker_view_follows_the_talker_and_a_pin_holds_the_stage(
    browsers: Browsers, server: RunningServer, tmp_path: Path
) -> None:
    pages = await call_of_three(browsers, server, "layouts", voices=tmp_path)
    alice = pages["Alice"]
    assert await grid(alice)

    # Only Carol talks; Alice switches to the speaker view: Carol takes the stage, and her stream grows to it.
    await mute(pages["Bob"])
    await mute(alice)
    await alice.locator("#btn-view").click()
    assert await alice.locator("#btn-view").get_attribute("aria-pressed") == "true"
    carol = await eventually(lambda: on_stage(alice, "Carol"), "Carol, who talks, is on Alice's stage", 30)
    strip = await strip_height(alice)
    await eventually(
        lambda: video_taller(alice, "Carol", 1.5 * strip), "Carol's stream grows with her tile (sizing)", 30
    )
    # Now Bob talks and Carol stops: the stage follows.
    await mute(pages["Carol"])
    await pages["Bob"].locator("#btn-mic").click()
    await eventually(lambda: on_stage(alice, "Bob"), "Bob, who talks now, takes Alice's stage", 30)

    # Alice pins Carol (from her tile, as a person would): Carol has the stage while Bob goes on talking.
    await alice.get_by_role("button", name="Pin Carol").click()
    await eventually(lambda: on_stage(alice, "Carol"), "the pinned Carol is on the stage", 15)
    for _ in range(10):  # five seconds of Bob talking: the pin holds
        assert await on_stage(alice, "Carol"), await tiles(alice)
        assert (await stage_view(alice))["speaker"] in (None, peer_of(await tiles(alice), "Bob"))
        await alice.wait_for_timeout(500)
    assert carol["peerId"] == (await stage_view(alice))["pinned"]

    # Unpin: back to the talker; the grid: everyone the same size; the view is remembered.
    await alice.get_by_role("button", name="Unpin Carol").click()
    await eventually(lambda: on_stage(alice, "Bob"), "unpinned: the talker has the stage again", 15)
    await alice.locator("#btn-view").click()
    await eventually(lambda: grid(alice), "the grid: every tile the same size", 15)
    assert await alice.evaluate("() => localStorage.getItem('noom.view')") == "grid"
    # Bob and Carol never changed their view: a grid on their pages all along.
    for name in ("Bob", "Carol"):
        assert await grid(pages[name]), name


async def test_hands_queue_in_order_and_the_host_lowers_one(browsers: Browsers, server: RunningServer) -> None:
    pages = await call_of_three(browsers, server, "hands")
    alice, bob, carol = (pages[n] for n in NAMES)  # Alice came first: she hosts
    for name, page in (("Carol", carol), ("Bob", bob)):  # Carol raises her hand first, then Bob
        await page.keyboard.press("h")
        await eventually(lambda name=name: hand_place(alice, name), f"{name}'s hand is up on Alice's page", 10)
    for page in pages.values():  # the same numbers on every page, their own tile included
        await eventually(lambda page=page: places_are(page, {"Alice": "", "Bob": "2", "Carol": "1"}), "hands 1, 2", 15)

    # The People panel lists the raised hands first, in order; the host lowers Carol's.
    await alice.get_by_role("button", name="Participants").click()
    rows = alice.locator("#people-list li .person-name")
    await eventually(lambda: _texts_start(rows, ["Carol", "Bob"]), "raised hands first in the People panel", 10)
    await alice.get_by_role("button", name="Lower Carol's hand").click()
    await carol.get_by_text("Alice lowered your hand").wait_for()
    assert await carol.locator("#btn-hand").get_attribute("aria-pressed") == "false"
    lowered = {"Alice": "", "Bob": "1", "Carol": ""}
    for page in pages.values():
        await eventually(lambda page=page: places_are(page, lowered), "Bob is first in line now", 15)
    # Only the host may: Bob's page offers no such button.
    await bob.get_by_role("button", name="Participants").click()
    assert await bob.get_by_role("button", name="Lower Carol's hand").count() == 0


async def test_reactions_float_over_the_senders_tile_on_every_page(browsers: Browsers, server: RunningServer) -> None:
    pages = await call_of_three(browsers, server, "reactions")
    bob = pages["Bob"]
    await bob.get_by_role("button", name="Reactions").click()
    await bob.get_by_role("button", name="Celebrate").click()

    for name, page in pages.items():  # Bob's own page too, over "Bob (you)"
        await eventually(lambda page=page: reaction_over(page, "Bob", "🎉"), f"🎉 over Bob's tile for {name}", 10)
    # A few seconds later it is gone again.
    for name, page in pages.items():
        await eventually(lambda page=page: no_reactions(page), f"the reaction faded on {name}'s page", 15)


async def _texts_start(locator: Any, names: list[str]) -> bool:
    texts = [t.removesuffix(" (you)") for t in await locator.all_text_contents()]
    return texts[: len(names)] == names
