"""The lobby: a live room list with counts and locks, names remembered, rooms reachable by click."""

from __future__ import annotations

import aiohttp
from playwright.async_api import Page

from .browser_fixtures import Browsers
from .helpers import Client, RunningServer
from .support import eventually


async def _rooms(page: Page) -> dict[str, str]:
    return await page.evaluate(
        """() => Object.fromEntries(Array.from(document.querySelectorAll('.room-link')).map(
             (a) => [a.querySelector('.room-name').textContent, a.querySelector('.meta').textContent]))"""
    )


async def test_lobby_lists_rooms_live_and_leads_into_them(browsers: Browsers, server: RunningServer) -> None:
    page = await browsers.page("visitor")
    await page.goto(server.url + "/")
    await page.get_by_text("No rooms yet").wait_for()

    alice = await Client(server.url).connect()
    bob = await Client(server.url).connect()
    try:
        await alice.join("standup", "Alice")
        await bob.join("vault", "Bob", password="pw")
        await eventually(lambda: _has(page, {"standup": "1", "vault": "Password1"}), "both rooms are listed")
        await alice.call("leave", {})
        await eventually(lambda: _has(page, {"vault": "Password1"}, exact=True), "the empty room disappears")
    finally:
        await alice.close()
        await bob.close()

    await page.fill("#name", "Visitor <b>")
    await page.get_by_role("button", name="New random room").click()
    room = await page.input_value("#room")
    assert room and room[0].isalnum()
    await page.get_by_role("button", name="Go to room").click()
    await page.wait_for_url(f"**/r/{room}?name=*")
    assert await page.input_value("#join-name") == "Visitor <b>"
    await page.get_by_role("button", name="Join", exact=True).wait_for()


async def _has(page: Page, want: dict[str, str], exact: bool = False) -> bool:
    rooms = await _rooms(page)
    if exact and set(rooms) != set(want):
        return False
    return all(rooms.get(room, "").replace(" ", "") == meta for room, meta in want.items())


async def test_pages_carry_a_strict_csp_and_bad_room_links_say_so(server: RunningServer) -> None:
    async with aiohttp.ClientSession() as http:
        for path in ("/", "/r/some-room"):
            async with http.get(server.url + path) as response:
                assert response.status == 200
                csp = response.headers["Content-Security-Policy"]
                assert "script-src 'self'" in csp and "unsafe-inline" not in csp
                html = await response.text()
                assert "<script>" not in html and " style=" not in html
        async with http.get(server.url + "/r/not%20a%20room") as response:
            assert response.status == 404
            assert "room names are letters" in await response.text()
        async with http.get(server.url + "/vendor/icons/mic.svg") as response:
            assert response.status == 200
