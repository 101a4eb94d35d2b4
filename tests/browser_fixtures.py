"""Shared Playwright fixtures for the browser tests: one Debian Chromium per test, many contexts in it.

Each context is one person (its own localStorage and socket). The fake camera/microphone flags give every
context a moving test pattern and a beeping microphone. When a test fails, every open page is saved as a
screenshot under test-artifacts/ so the failure can be seen.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import signal
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from .support import CHROMIUM, FAKE_DEVICES, eventually, launch_chromium

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
DEFAULT_TIMEOUT_MS = 30_000


class AnyPage(Protocol):
    """What the shared helpers below use of a page, so they serve a Playwright ``Page`` (Chromium) and a
    ``tests.firefox.FirefoxPage`` alike: Playwright's names and conventions (``evaluate`` calls a function
    source with ``arg``; selectors are CSS). Anything else Playwright offers stays in Chromium-only tests."""

    async def goto(self, url: str) -> Any: ...

    async def evaluate(self, expression: str, arg: Any = None) -> Any: ...

    async def fill(self, selector: str, value: str) -> None: ...

    async def click(self, selector: str) -> None: ...


class Browsers:
    """Opens pages, each in its own browser context (a separate person), in one Chromium process."""

    def __init__(self, browser: Browser, playwright: Any) -> None:
        self.browser = browser
        self.playwright = playwright
        self.pages: list[tuple[str, Page]] = []
        self.own_processes: list[OwnChromium] = []

    async def separate_page(
        self,
        label: str,
        extra_args: Sequence[str] = (),
        executable: str = CHROMIUM,
        viewport: tuple[int, int] = (800, 520),
        noise_suppression: bool = False,
        fake_devices: str = FAKE_DEVICES,
    ) -> tuple[Page, OwnChromium]:
        """A page in a Chromium process of its own (with its own fake-capture flags, say), which the test may
        also suspend like a machine gone dark. ``executable`` may be a wrapper that execs Chromium (say, in
        another network namespace, tests/netlab.py)."""
        # A switch Chromium ignores marks this process's command line, so OwnChromium finds it in /proc.
        mark = f"--noom-own-chromium={secrets.token_hex(8)}"
        browser = await launch_chromium(
            self.playwright.chromium, [*extra_args, mark], fake_devices=fake_devices, executable=executable
        )
        context = await browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        await _default_noise_suppression(context, noise_suppression)
        page = await context.new_page()
        self.pages.append((label, page))
        own = OwnChromium(mark, browser)
        self.own_processes.append(own)
        return page, own

    async def page(
        self,
        label: str,
        viewport: tuple[int, int] = (800, 520),
        bypass_csp: bool = False,
        noise_suppression: bool = False,
        locale: str | None = None,
    ) -> Page:
        """A page in a new context. ``bypass_csp`` only for test tooling that must inject a script (axe-core);
        ``noise_suppression`` for the tests about it (see ``_default_noise_suppression``); ``locale`` (say
        "ko-KR") sets the browser's language and its Accept-Language (Playwright's default is en-US)."""
        context: BrowserContext = await self.browser.new_context(
            viewport={"width": viewport[0], "height": viewport[1]},
            device_scale_factor=1,
            bypass_csp=bypass_csp,
            **({"locale": locale} if locale else {}),
        )
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        await _default_noise_suppression(context, noise_suppression)
        page = await context.new_page()
        page.on(
            "console",
            lambda msg: log.log(
                logging.WARNING if msg.type in ("error", "warning") else logging.DEBUG,
                "[%s] console %s: %s",
                label,
                msg.type,
                msg.text,
            ),
        )
        page.on("pageerror", lambda exc: log.warning("[%s] page error: %s", label, exc))
        page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.dismiss()))
        self.pages.append((label, page))
        return page

    async def screenshot_all(self, test_name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name)
        for label, page in self.pages:
            if page.is_closed():
                continue
            path = ARTIFACTS / f"{safe}-{label}.png"
            try:
                await page.screenshot(path=str(path), timeout=10_000)
                log.warning("saved a screenshot of the failed test to %s", path)
            except Exception as exc:  # a crashed page must not hide the real failure
                log.warning("could not save a screenshot of %s: %s", label, exc)


# Test pages start with noise suppression off unless a test is about it: RNNoise costs each page 7-17% of a
# core, which three pages on two cores cannot spare for the frame-rate checks. Only the default: a page that
# turns it on keeps it on (the init script runs on every navigation and leaves a stored choice alone).
# Firefox pages (tests/firefox.py) run the same script.
NOISE_SUPPRESSION_OFF_SCRIPT = (
    "try { if (localStorage.getItem('noom.noiseSuppression') === null)"
    " localStorage.setItem('noom.noiseSuppression', 'off'); } catch (e) {}"
)


async def _default_noise_suppression(context: BrowserContext, on: bool) -> None:
    if not on:
        await context.add_init_script(NOISE_SUPPRESSION_OFF_SCRIPT)


class OwnChromium:
    """The processes of one Chromium we launched (found by the unique switch ``mark`` on its command line and
    their parent links)."""

    def __init__(self, mark: str, browser: Browser) -> None:
        self.mark = mark
        self.browser = browser
        self.stopped: list[int] = []

    def pids(self) -> list[int]:
        parents: dict[int, int] = {}
        roots: list[int] = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    stat = f.read().decode(errors="replace")
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    cmdline = f.read().decode(errors="replace")
            except OSError:
                continue
            pid = int(entry)
            parents[pid] = int(stat.rsplit(")", 1)[1].split()[1])
            if self.mark in cmdline and "--type=" not in cmdline:
                roots.append(pid)
        found = set(roots)
        for _ in range(8):  # the process tree is a few levels deep at most
            found |= {pid for pid, parent in parents.items() if parent in found}
        return sorted(found)

    def suspend(self) -> None:
        """SIGSTOP the whole browser: its sockets stay open but nothing answers any more."""
        self.stopped = self.pids()
        assert self.stopped, "could not find the Chromium processes to suspend"
        for pid in self.stopped:
            os.kill(pid, signal.SIGSTOP)

    def resume(self) -> None:
        for pid in self.stopped:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        self.stopped = []


@pytest.fixture
async def browsers(
    request: pytest.FixtureRequest, make_server: object, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Browsers]:
    """Chromium for one test. A test module may define ``chromium_extra_args(tmp_dir) -> [flags]``."""
    # Depending on make_server makes the browsers close before the servers stop; a server with open
    # websockets would otherwise wait for its shutdown timeout.
    failed_before = request.session.testsfailed
    extra = getattr(request.module, "chromium_extra_args", None)
    args = extra(tmp_path_factory.mktemp("chromium-media")) if extra else []
    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright.chromium, args)
        session = Browsers(browser, playwright)
        try:
            yield session
        finally:
            for own in session.own_processes:
                own.resume()
            # The call phase's report is counted before fixtures are torn down.
            if request.session.testsfailed > failed_before:
                await session.screenshot_all(request.node.name)
            for own in session.own_processes:
                await own.browser.close()
            await browser.close()


async def open_room(page: AnyPage, base_url: str, room: str, name: str) -> None:
    """Open the pre-join page and wait until devices are settled (preview or a device note)."""
    await page.goto(f"{base_url}/r/{room}?name={name}")
    # Polled with evaluate: wait_for_function evaluates strings, which our CSP (rightly) forbids.
    await eventually(
        lambda: page.evaluate(
            "() => document.getElementById('pick-mic').options.length > 0"
            " && document.getElementById('join-name').value !== ''"
        ),
        "the pre-join page has listed the devices",
    )


async def join(page: AnyPage, base_url: str, room: str, name: str, password: str | None = None) -> None:
    """Go through pre-join and press Join, then wait for the call stage."""
    await open_room(page, base_url, room, name)
    if password is not None:
        if await visible(page, "#password-block"):
            await page.fill("#join-password", password)
        else:
            await page.click("#lock-block summary")
            await page.fill("#new-password", password)
    await page.click("#join-button")
    await eventually(lambda: visible(page, "#call"), "the call stage is shown")
    await eventually(lambda: page.evaluate("() => !!(window.noom && window.noom.selfId())"), "the call has started")


async def visible(page: AnyPage, selector: str) -> bool:
    """The element exists and is rendered (not hidden, no display: none up its tree)."""
    return await page.evaluate(
        "(selector) => { const el = document.querySelector(selector); return !!el && el.checkVisibility(); }",
        selector,
    )


TILES_JS = """() => Array.from(document.querySelectorAll('#stage .tile')).map((t) => ({
  peerId: t.dataset.peerId,
  self: t.classList.contains('self'),
  name: t.querySelector('.name').textContent,
  videoWidth: t.querySelector('video').videoWidth,
  muted: !t.querySelector('.muted-icon').hidden,
  screen: t.classList.contains('screen'),
  featured: t.classList.contains('featured'),
  pinned: t.classList.contains('pinned'),
  height: t.clientHeight,
  videoHeight: t.querySelector('video').videoHeight,
  handPlace: t.querySelector('.hand-place').textContent,
  reactions: Array.from(t.querySelectorAll('.reaction')).map((r) => r.textContent),
}))"""


async def tiles(page: AnyPage) -> list[dict[str, Any]]:
    """What a person sees on the stage: one entry per tile."""
    return await page.evaluate(TILES_JS)


async def remote_tile(page: AnyPage, name: str) -> dict[str, Any] | None:
    for tile in await tiles(page):
        if not tile["self"] and tile["name"] == name:
            return tile
    return None


async def stats(page: AnyPage, peer_id: str) -> dict[str, Any]:
    """The receiving side's getStats summary for one remote peer (see PeerLink.stats)."""
    return await page.evaluate("(id) => window.noom.stats(id)", peer_id)


async def assert_receiving(page: AnyPage, name: str, timeout: float = 40.0) -> None:
    """``name``'s video plays on ``page`` (videoWidth > 0, framesDecoded rising) and its audio arrives."""
    tile = await eventually(
        lambda: _playing_tile(page, name), f"{name}'s video plays on the page (videoWidth > 0)", timeout
    )
    first = await stats(page, tile["peerId"])
    await eventually(
        lambda: _rising(page, tile["peerId"], first),
        f"frames decoded and audio packets from {name} keep rising",
        timeout,
    )


async def call_of_two(browsers: Browsers, base_url: str, room: str) -> tuple[Page, Page]:
    """Alice and Bob join ``room`` on the server at ``base_url`` and each sees and hears the other."""
    alice, bob = await browsers.page("alice"), await browsers.page("bob")
    await join(alice, base_url, room, "Alice")
    await join(bob, base_url, room, "Bob")
    await assert_receiving(alice, "Bob")
    await assert_receiving(bob, "Alice")
    return alice, bob


async def _playing_tile(page: AnyPage, name: str) -> dict[str, Any] | None:
    tile = await remote_tile(page, name)
    return tile if tile and tile["videoWidth"] > 0 else None


async def _rising(page: AnyPage, peer_id: str, first: dict[str, Any]) -> bool:
    now = await stats(page, peer_id)
    return now["framesDecoded"] > first["framesDecoded"] and now["audioPackets"] > first["audioPackets"]


async def flowing(page: AnyPage, name: str, not_peer: str | None = None) -> bool:
    """``name``'s video is on ``page``'s stage and frames are being decoded right now (two samples 0.4 s apart),
    so a frozen last frame of a dead connection does not count. With ``not_peer``, only a tile of a new
    peer id counts (the person re-joined)."""
    tile = await remote_tile(page, name)
    if not tile or tile["videoWidth"] == 0 or tile["peerId"] == not_peer:
        return False
    first = await page.evaluate("(id) => window.noom.stats(id)", tile["peerId"])
    await asyncio.sleep(0.4)
    again = await page.evaluate("(id) => window.noom.stats(id)", tile["peerId"])
    return bool(first and again and again["framesDecoded"] > first["framesDecoded"])


async def resumed_within(pairs: list[tuple[AnyPage, str, str | None]], since: float, bound: float) -> float:
    """Wait until video flows again for every (page, name, old peer id or None; see ``flowing``) and return
    the seconds since ``since`` (a ``time.monotonic()`` taken when the fault ended); fail if that is more
    than ``bound``."""
    for page, name, old in pairs:
        left = since + bound - time.monotonic()
        await eventually(lambda p=page, n=name, o=old: flowing(p, n, o), f"{name}'s video flows again", left)
    took = time.monotonic() - since
    assert took <= bound, f"the call took {took:.1f}s to resume, more than {bound:.0f}s"
    return took


async def send_chat(page: Page, text: str) -> None:
    """Type ``text`` into the chat panel and send it, as a person would."""
    if await page.locator("#side-chat").is_hidden():
        await page.locator("#btn-chat").click()
    await page.fill("#chat-input", text)
    await page.get_by_role("button", name="Send message").click()


async def chat_texts(page: Page) -> list[str]:
    """The chat messages on ``page``, oldest first (the list exists even while the panel is closed)."""
    return await page.evaluate(
        "() => Array.from(document.querySelectorAll('#chat-list .chat-text'), (p) => p.textContent)"
    )


async def has_chat(page: Page, text: str) -> bool:
    return text in await chat_texts(page)
