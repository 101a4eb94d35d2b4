"""Load: 1000 sockets in 250 rooms relay 100,000 `ice` messages through a `noom serve` process with none
lost, duplicated or misrouted. The sockets are socket.io-client on Node.js (tests/node/load_rooms.mjs):
a thousand python-socketio clients in one process would measure the test, not the server."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from .services import NoomProcess

NODE_SCRIPT = Path(__file__).parent / "node" / "load_rooms.mjs"
SOCKETS, PER_ROOM, MESSAGES, WINDOW = 1000, 4, 100_000, 4


@pytest.mark.timeout(300)
async def test_1000_sockets_in_250_rooms_relay_100000_ice_messages_exactly_once(tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node, "Node.js is missing: scripts/setup.sh installs it with the npm packages"
    # One generator process sends as fast as acks return, from one address: the per-socket relay and join
    # limits and the per-address connection cap are raised for it (their defaults are for people). When the
    # whole suite shares a starved machine a pong can wait longer than the default 20 s to be read; dropping
    # sockets for that is not what this test is about, so the ping timeout is raised as well.
    server = NoomProcess(
        "--log-level", "warning", "--rate-relay", "1000000:1000000", "--rate-join", "1000:1000",
        "--max-connections-per-address", "5000", "--ping-timeout", "60", log=tmp_path / "noom.log",
    )  # fmt: skip
    try:
        await server.start()
        load = await asyncio.create_subprocess_exec(
            node, str(NODE_SCRIPT), server.url, str(SOCKETS), str(PER_ROOM), str(MESSAGES),
            str(WINDOW), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            output, progress = await asyncio.wait_for(load.communicate(), 280)
        except TimeoutError:
            load.kill()
            await load.wait()
            raise
    finally:
        server_alive = server.proc is not None and server.proc.poll() is None
        server.stop()
    log = server.log.read_text(errors="replace")
    report = f"load generator:\n{progress.decode(errors='replace')[-3000:]}\nserver:\n{log[-3000:]}"
    assert server_alive and load.returncode == 0, report
    assert "Traceback" not in log and " ERROR " not in log, report
    line = next(line for line in output.decode().splitlines() if line.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    print(progress.decode(errors="replace"), result)
    assert result["sockets"] == SOCKETS and result["rooms"] == SOCKETS // PER_ROOM
    assert result["sent"] == MESSAGES, result
    assert result["refused"] == 0, result
    assert (result["lost"], result["duplicated"], result["misrouted"]) == (0, 0, 0), result
    assert result["received"] == MESSAGES, result
