"""Helpers for the media tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest
from playwright.async_api import Browser, async_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--disable-background-networking",
    "--allow-loopback-in-peer-connection",
]


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
