"""Firefox pages for the browser tests: Debian's firefox-esr driven by puppeteer-core over WebDriver BiDi.

Each ``FirefoxPage`` is one Firefox process (its own temporary profile: a separate person) behind the Node.js
driver tests/node/firefox_page.mjs, which speaks line-delimited JSON on its stdin/stdout. The page has the
few methods the shared helpers of tests/browser_fixtures.py use (goto, evaluate, fill, click,
wait_for_function: the ``AnyPage`` interface), with Playwright's conventions, so ``join``, ``tiles``,
``stats``, ``assert_receiving`` and ``flowing`` work on it unchanged. Fake camera and microphone, no prompts,
no mDNS and no background traffic are the driver's prefs.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import re
import shutil
import signal
from collections import deque
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from .browser_fixtures import NOISE_SUPPRESSION_OFF_SCRIPT

log = logging.getLogger(__name__)

FIREFOX = "/usr/bin/firefox-esr"
DRIVER = Path(__file__).resolve().parent / "node" / "firefox_page.mjs"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
LAUNCH_TIMEOUT = 90.0  # seconds: a cold Firefox start on 2 busy cores
COMMAND_TIMEOUT = 60.0  # seconds beyond a command's own timeout before the driver counts as hung
STDERR_LINES = 60  # of Firefox's and the driver's stderr, kept for the error when the driver dies


class FirefoxError(RuntimeError):
    """A driver command failed (the page's exception, or the driver itself went away)."""


class FirefoxPage:
    """One page in its own Firefox, driven through tests/node/firefox_page.mjs."""

    def __init__(self, label: str, process: asyncio.subprocess.Process) -> None:
        self.label = label
        self.process = process
        self.version = ""
        self.firefox_pid: int | None = None  # Firefox's main process (the driver's child)
        self.errors: list[str] = []  # uncaught exceptions of the page, like Playwright's "pageerror"
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._stderr: deque[str] = deque(maxlen=STDERR_LINES)
        self._closed = False
        self._readers = [
            asyncio.create_task(self._read_stdout()),
            asyncio.create_task(self._read_stderr()),
        ]

    @classmethod
    async def launch(
        cls,
        label: str,
        executable: str = FIREFOX,
        viewport: tuple[int, int] = (800, 520),
        noise_suppression: bool = False,
        netns: str | None = None,
        secure_origin: str | None = None,
        display: str | None = None,
    ) -> FirefoxPage:
        """One Firefox page. ``noise_suppression`` as in ``Browsers.page``; ``netns``: run the driver and its
        Firefox inside that network namespace (tests/netlab.py) — both, because puppeteer reaches Firefox's
        WebDriver BiDi over a loopback websocket, so the two must share a loopback; ``secure_origin``: a plain-http
        origin Firefox treats as secure (cameras), like Chromium's --unsafely-treat-insecure-origin-as-secure;
        ``display``: an X display (Xvfb) to run on instead of headless, for a page that needs WebGL."""
        node = shutil.which("node")
        assert node, "Node.js is missing: scripts/setup.sh installs it with the npm packages"
        options: dict[str, Any] = {
            "executablePath": executable,
            "width": viewport[0],
            "height": viewport[1],
            "display": display,
        }
        if not noise_suppression:
            options["initScript"] = NOISE_SUPPRESSION_OFF_SCRIPT
        if secure_origin:
            options["prefs"] = {"dom.securecontext.allowlist": urlsplit(secure_origin).hostname}
        enter = ["ip", "netns", "exec", netns] if netns else []
        process = await asyncio.create_subprocess_exec(
            *enter,
            node,
            str(DRIVER),
            json.dumps(options),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=16 * 1024 * 1024,  # one reply is one line
            env={**os.environ, "DISPLAY": display} if display else None,
        )
        page = cls(label, process)
        try:
            await asyncio.wait_for(asyncio.shield(page._ready), LAUNCH_TIMEOUT)
        except BaseException:
            await page.close()
            raise
        return page

    # The interface of the shared helpers (Playwright's names and conventions).

    async def goto(self, url: str) -> None:
        await self._call("goto", url=url)

    async def evaluate(self, expression: str, arg: Any = None) -> Any:
        """Run ``expression`` in the page; a function is called with ``arg``. Returns its awaited result."""
        return await self._call("evaluate", source=expression, arg=arg)

    async def fill(self, selector: str, value: str) -> None:
        await self._call("fill", selector=selector, value=value)

    async def click(self, selector: str) -> None:
        await self._call("click", selector=selector)

    async def wait_for_function(self, expression: str, arg: Any = None, timeout: float = 30_000) -> Any:
        """Poll ``expression`` (as in ``evaluate``) until truthy; ``timeout`` in milliseconds as in Playwright."""
        return await self._call("waitForFunction", timeout / 1000, source=expression, arg=arg, timeoutMs=timeout)

    async def screenshot(self, path: str) -> None:
        await self._call("screenshot", path=path)

    def is_closed(self) -> bool:
        return self._closed

    async def close(self) -> None:
        """Close Firefox and end the driver (killed if it does not go by itself)."""
        started = self._ready.done() and not self._ready.cancelled() and self._ready.exception() is None
        if not self._closed and self.process.returncode is None and started:
            with contextlib.suppress(FirefoxError, TimeoutError):
                await self._call("close", 30.0)
        self._closed = True
        if not self._ready.done():
            self._ready.cancel()
        if self.process.stdin and not self.process.stdin.is_closing():
            self.process.stdin.close()  # the driver closes Firefox when its stdin ends
        try:
            await asyncio.wait_for(self.process.wait(), 30.0)
        except TimeoutError:
            log.warning("[%s] the Firefox driver did not exit: killing it and its Firefox", self.label)
            self.process.kill()
            if self.firefox_pid:  # puppeteer starts Firefox as the leader of a process group of its own
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.firefox_pid, signal.SIGKILL)
            await self.process.wait()
        for reader in self._readers:
            reader.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)

    # The driver's protocol.

    async def _call(self, cmd: str, timeout: float = 0.0, **args: Any) -> Any:
        if self._closed:
            raise FirefoxError(f"[{self.label}] {cmd}: the Firefox page is closed")
        if self.process.returncode is not None:
            raise await self._exited(cmd)
        request_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps({"id": request_id, "cmd": cmd, **args}).encode() + b"\n")
            await self.process.stdin.drain()
        except (ConnectionError, RuntimeError):  # the driver is gone: its exit code and stderr say why
            self._pending.pop(request_id, None)
            raise await self._exited(cmd) from None
        try:
            return await asyncio.wait_for(future, timeout + COMMAND_TIMEOUT)
        except TimeoutError:
            raise FirefoxError(
                f"[{self.label}] {cmd}: no answer from the Firefox driver{self._stderr_tail()}"
            ) from None
        finally:
            self._pending.pop(request_id, None)

    async def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            try:
                message = json.loads(raw)
            except ValueError:
                log.debug("[%s] driver: %s", self.label, raw.decode(errors="replace").rstrip())
                continue
            if "event" in message:
                self._on_event(message)
                continue
            future = self._pending.get(message.get("id"))
            if future is None or future.done():
                continue
            if message.get("ok"):
                future.set_result(message.get("value"))
            else:
                future.set_exception(FirefoxError(f"[{self.label}] {message.get('error')}"))
        # End of output: the driver is gone; fail whatever still waits, with what Firefox said last.
        gone = await self._exited("")
        if not self._closed:
            log.warning("%s", gone)
        if not self._ready.done():
            self._ready.set_exception(gone)
        for future in self._pending.values():
            if not future.done():
                future.set_exception(gone)

    def _on_event(self, message: dict[str, Any]) -> None:
        event = message["event"]
        if event == "ready":
            self.version = message.get("version", "")
            self.firefox_pid = message.get("pid")
            if not self._ready.done():
                self._ready.set_result(None)
        elif event == "pageerror":
            self.errors.append(message.get("text", ""))
            log.warning("[%s] page error: %s", self.label, message.get("text"))
        elif event == "console":
            level = logging.WARNING if message.get("type") in ("error", "warn", "warning") else logging.DEBUG
            log.log(level, "[%s] console %s: %s", self.label, message.get("type"), message.get("text"))

    async def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        async for raw in self.process.stderr:
            line = raw.decode(errors="replace").rstrip()
            self._stderr.append(line)
            log.debug("[%s] firefox: %s", self.label, line)

    async def _exited(self, cmd: str) -> FirefoxError:
        """The error for a driver that has exited, once its last stderr lines are in."""
        code = await self.process.wait()
        stderr_reader = self._readers[1]
        if not stderr_reader.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(stderr_reader), 5.0)
        what = f"{cmd}: " if cmd else ""
        return FirefoxError(f"[{self.label}] {what}the Firefox driver exited with code {code}{self._stderr_tail()}")

    def _stderr_tail(self) -> str:
        return "; Firefox's last stderr lines:\n" + "\n".join(self._stderr) if self._stderr else ""


class Firefoxes:
    """Opens Firefox pages for one test and closes them all at its end."""

    def __init__(self) -> None:
        self.pages: list[FirefoxPage] = []

    async def page(self, label: str, viewport: tuple[int, int] = (800, 520), **options: Any) -> FirefoxPage:
        """A page in a Firefox of its own; ``options`` as in ``FirefoxPage.launch``."""
        page = await FirefoxPage.launch(label, viewport=viewport, **options)
        self.pages.append(page)
        return page

    async def screenshot_all(self, test_name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name)
        for page in self.pages:
            if page.is_closed():
                continue
            path = ARTIFACTS / f"{safe}-{page.label}.png"
            try:
                await asyncio.wait_for(page.screenshot(str(path)), 20.0)
                log.warning("saved a screenshot of the failed test to %s", path)
            except Exception as exc:  # a crashed page must not hide the real failure
                log.warning("could not save a screenshot of %s: %s", page.label, exc)

    async def close(self) -> None:
        await asyncio.gather(*(page.close() for page in self.pages), return_exceptions=True)


@pytest.fixture
async def firefox(request: pytest.FixtureRequest, make_server: object) -> AsyncIterator[Firefoxes]:
    """Firefox pages for one test: ``page = await firefox.page("alice")``."""
    # Depending on make_server closes the pages before the servers stop (as the ``browsers`` fixture does).
    failed_before = request.session.testsfailed
    session = Firefoxes()
    try:
        yield session
    finally:
        if request.session.testsfailed > failed_before:
            await session.screenshot_all(request.node.name)
        await session.close()
