"""Real Chromium calls through Noom: two people, then a third who joins and leaves."""

from __future__ import annotations

from .browser_fixtures import Browsers, assert_receiving, call_of_two, join, remote_tile, tiles
from .helpers import RunningServer
from .support import eventually


async def test_two_browsers_see_and_hear_each_other(browsers: Browsers, server: RunningServer) -> None:
    await call_of_two(browsers, server.url, "duo")


async def test_three_people_mute_chat_and_leave(browsers: Browsers, server: RunningServer) -> None:
    names = ["Alice", "Bob", "Carol"]
    pages = {name: await browsers.page(name.lower()) for name in names}
    for name, page in pages.items():
        await join(page, server.url, "trio", name)

    # Every browser shows three live tiles: itself and the two others playing.
    for name, page in pages.items():
        for other in names:
            if other != name:
                await assert_receiving(page, other)
        assert len(await tiles(page)) == 3

    # Bob mutes with the bar button: the others see the muted-mic icon on Bob's tile.
    await pages["Bob"].get_by_role("button", name="Microphone").click()
    for name in ("Alice", "Carol"):
        await eventually(lambda page=pages[name]: _muted(page, "Bob"), f"{name} sees Bob's muted icon", timeout=10)
    assert not (await remote_tile(pages["Alice"], "Carol"))["muted"]

    # Chat reaches everyone, as text: markup stays literal and nothing runs.
    evil = "<img src=x onerror=alert(1)>"
    await pages["Carol"].keyboard.press("c")
    await pages["Carol"].fill("#chat-input", evil)
    await pages["Carol"].get_by_role("button", name="Send message").click()
    for name in ("Alice", "Bob"):
        page = pages[name]
        await eventually(lambda page=page: _unread(page), f"{name} sees an unread chat badge", timeout=10)
        await page.get_by_role("button", name="Chat, 1 unread").click()
        await page.locator(".chat-text", has_text=evil).wait_for(timeout=10_000)
        assert await page.locator("#chat-list img").count() == 0

    # Carol leaves: her tile disappears from the others within 2 seconds.
    await pages["Carol"].get_by_role("button", name="Leave").click()
    await pages["Carol"].get_by_text("You left the call.").wait_for()
    for name in ("Alice", "Bob"):
        await eventually(
            lambda page=pages[name]: _gone(page, "Carol"), f"Carol's tile leaves {name}'s stage", timeout=2
        )
        assert len(await tiles(pages[name])) == 2


async def _muted(page, name: str) -> bool:
    tile = await remote_tile(page, name)
    return bool(tile and tile["muted"])


async def _unread(page) -> bool:
    return await page.locator("#unread").is_visible()


async def _gone(page, name: str) -> bool:
    return await remote_tile(page, name) is None
