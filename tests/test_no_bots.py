"""A process started with ``--bots false`` is signaling only: it never imports aiortc or PyAV, and it refuses
the requests that need a bot with ``no-bots`` while serving every page."""

from __future__ import annotations

import json
import subprocess
import sys

import aiohttp

from .helpers import RunningServer

MAKE_APP = """
import json, sys
from noom.app import make_app
from noom.config import Config
make_app(Config(host="127.0.0.1", port=0, bots={bots}))
print(json.dumps(sorted(name for name in ("aiortc", "av") if name in sys.modules)))
"""


def _media_modules_after_make_app(bots: bool) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", MAKE_APP.format(bots=bots)], capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(done.stdout)


def test_an_app_without_bots_loads_no_aiortc_or_av() -> None:
    assert _media_modules_after_make_app(bots=False) == []
    # The same check sees them when bots run, so the empty list above is not an artefact of the check.
    assert _media_modules_after_make_app(bots=True) == ["aiortc", "av"]


async def test_a_server_without_bots_refuses_recordings_and_echo_tests(make_server, connect) -> None:
    server: RunningServer = await make_server(bots=False)
    alice = await connect(server)
    assert await alice.refused("echo-start", {}) == "no-bots"
    await alice.join("no-bots-room")
    assert await alice.refused("recording-start", {}) == "no-bots"
    async with aiohttp.ClientSession(server.url) as http, http.get("/echo") as response:
        # The page is still there; it shows the refusal's message when it asks for a test.
        assert response.status == 200 and "Test your camera and mic" in await response.text()
