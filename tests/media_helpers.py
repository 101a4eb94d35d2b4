"""Helpers for the media tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest
from playwright.async_api import Browser, async_playwright

from .helpers import TEST_SERVER_SECRET, RunningServer

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--disable-background-networking",
    "--allow-loopback-in-peer-connection",
]


def known_secret(server: RunningServer) -> str:
    """The secret ``server`` runs with (every test server's), for bots run as commands with --server-secret."""
    assert server.config.server_secret == TEST_SERVER_SECRET
    return TEST_SERVER_SECRET


def bot_credential(server: RunningServer) -> str:
    """What the bots of a test server authenticate with (the server admits ``kind: "bot"`` only with it)."""
    return server.bot_auth["botSecret"]


async def wait_until(condition: Callable[[], object], timeout: float, what: str) -> None:
    """Poll ``condition`` until it holds; fail saying ``what`` did not happen within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f} s waiting for {what}"
        await asyncio.sleep(0.1)


@pytest.fixture(name="browser")
async def browser_fixture() -> AsyncIterator[Browser]:
    """``browser``: Debian's Chromium with a fake camera and microphone (import it into the test module)."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        await browser.close()
