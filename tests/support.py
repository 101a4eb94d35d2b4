"""What the tests and the benchmark scripts share: polling with a deadline, free ports, and launching Debian's
Chromium with a fake camera and microphone.

Readiness and eventual states are polled with a deadline (``eventually``), never waited for by sleeping a
fixed time; absence on one socket is proven by a sentinel instead (tests/helpers.py ``assert_silent``).
"""

from __future__ import annotations

import asyncio
import inspect
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # only types: the benchmarks import this module without needing Playwright
    from playwright.async_api import Browser, BrowserType

T = TypeVar("T")

CHROMIUM = "/usr/bin/chromium"  # Debian's; Playwright's own download is never used
# Three fake cameras for switching (fake_device_1 is a 16-bit depth camera that WebRTC cannot encode, so the
# tests switch to fake_device_2); 15 fps keeps three-way calls light on 2 cores.
FAKE_DEVICES = "device-count=3,fps=15"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--use-fake-ui-for-media-stream",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--disable-background-networking",
    "--allow-loopback-in-peer-connection",
    "--auto-select-desktop-capture-source=Entire screen",
    "--autoplay-policy=no-user-gesture-required",
]


async def launch_chromium(
    browser_type: BrowserType,
    extra_args: Sequence[str] = (),
    fake_devices: str = FAKE_DEVICES,
    executable: str = CHROMIUM,
) -> Browser:
    """Chromium with ``CHROMIUM_FLAGS`` and the fake capture devices ``fake_devices`` (the value of
    ``--use-fake-device-for-media-stream``). ``executable`` may be a wrapper that execs Chromium (say, in
    another network namespace, tests/netlab.py)."""
    args = [*CHROMIUM_FLAGS, f"--use-fake-device-for-media-stream={fake_devices}", *extra_args]
    return await browser_type.launch(executable_path=executable, args=args)


def free_port(host: str = "127.0.0.1", kind: int = socket.SOCK_STREAM) -> int:
    """A port nothing listens on right now (the kernel's pick), for a server the test starts next."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


async def eventually(
    check: Callable[[], Awaitable[T] | T], what: str, timeout: float = 30.0, interval: float = 0.1
) -> T:
    """Poll ``check`` (sync or async) until it returns something truthy, and return that. An exception
    counts as not yet (a server still starting refuses connections, a page is still navigating); after
    ``timeout`` seconds fail saying ``what`` did not happen, with the last result or exception."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            result = check()
            if inspect.isawaitable(result):
                result = await result
        except Exception as exc:
            last = exc
        else:
            if result:
                return result
            last = result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting until {what} (last seen: {last!r})")
        await asyncio.sleep(interval)


async def wait_for_port(
    port: int, process: subprocess.Popen[Any], host: str = "127.0.0.1", timeout: float = 30.0
) -> None:
    """Wait until ``process`` listens on ``port``; fail at once if it exits first."""

    async def listening_or_exited() -> str:
        if process.poll() is not None:
            return "exited"
        _, writer = await asyncio.open_connection(host, port)  # refused: not yet
        writer.close()
        await writer.wait_closed()
        return "listening"

    if await eventually(listening_or_exited, f"process {process.pid} listening on {host}:{port}", timeout) == "exited":
        raise RuntimeError(f"process {process.pid} exited with {process.returncode} before listening on {port}")
