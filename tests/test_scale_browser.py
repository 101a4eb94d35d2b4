"""Browsers on ``noom serve --workers 2`` (websocket only): the lobby sees rooms made through either worker, and
two people hold a call on the room page."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import expect

from .browser_fixtures import Browsers, call_of_two, has_chat, send_chat
from .helpers import Client
from .services import NoomProcess, RedisServer
from .support import eventually


async def test_lobby_works_against_two_workers(tmp_path: Path, browsers: Browsers) -> None:
    redis = RedisServer(tmp_path).start()
    noom = NoomProcess("--workers", "2", "--redis-url", redis.url, "--shutdown-timeout", "2", log=tmp_path / "noom.log")
    clients: list[Client] = []
    try:
        await noom.start()
        page = await browsers.page("lobby")
        await page.goto(noom.url + "/")
        # The page learned that only websocket is accepted here; polling would be refused (400).
        assert await page.get_attribute("body", "data-socket-transports") == "websocket"
        rooms = page.locator("#room-list")
        await expect(rooms).to_contain_text("No rooms yet", timeout=30_000)
        for name in ("Alice", "Bob"):
            client = await Client(noom.url).connect()
            clients.append(client)
            await client.join("both-workers", name)
        room = rooms.locator("li", has_text="both-workers")
        await expect(room.locator(".count")).to_have_text("2", timeout=30_000)
        await clients.pop().close()
        await expect(room.locator(".count")).to_have_text("1", timeout=30_000)
    finally:
        for client in clients:
            await client.close()
        noom.stop()
        redis.stop()


async def test_call_on_the_room_page_through_two_workers(browsers: Browsers, tmp_path: Path) -> None:
    """Issue 5: the one documented command runs two processes on one Redis, and two people on the real room
    page hold a call through it as through one server: each sees the other's video, chat reaches both."""
    redis = RedisServer(tmp_path).start()
    noom = NoomProcess("--workers", "2", "--redis-url", redis.url, "--shutdown-timeout", "2", log=tmp_path / "noom.log")
    try:
        await noom.start()
        alice, bob = await call_of_two(browsers, noom.url, "two-workers")
        await send_chat(alice, "hello through two workers")
        for page in (alice, bob):
            await eventually(
                lambda page=page: has_chat(page, "hello through two workers"), "the chat shows on both pages"
            )
    finally:
        noom.stop()
        redis.stop()
