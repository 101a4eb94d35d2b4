"""Load: 1000 sockets in 250 rooms relay 100,000 `ice` messages through a `noom serve` process with none
lost, duplicated or misrouted. The sockets are socket.io-client on Node.js (tests/node/load_rooms.mjs):
a thousand python-socketio clients in one process would measure the test, not the server."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import sys
from pathlib import Path

import pytest

NODE_SCRIPT = Path(__file__).parent / "node" / "load_rooms.mjs"
NOOM = Path(sys.executable).parent / "noom"
SOCKETS, PER_ROOM, MESSAGES, WINDOW = 1000, 4, 100_000, 4


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_for_port(port: int, process: asyncio.subprocess.Process, timeout: float = 30) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        assert process.returncode is None, "noom serve exited before listening"
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.1)


@pytest.mark.timeout(300)
async def test_1000_sockets_in_250_rooms_relay_100000_ice_messages_exactly_once() -> None:
    node = shutil.which("node")
    assert node, "Node.js is missing: scripts/setup.sh installs it with the npm packages"
    port = free_port()
    # One generator process sends as fast as acks return, from one address: the per-socket relay and join
    # limits and the per-address connection cap are raised for it (their defaults are for people). When the
    # whole suite shares a starved machine a pong can wait longer than the default 20 s to be read; dropping
    # sockets for that is not what this test is about, so the ping timeout is raised as well.
    server = await asyncio.create_subprocess_exec(
        str(NOOM), "serve", "--port", str(port), "--log-level", "warning",
        "--rate-relay", "1000000:1000000", "--rate-join", "1000:1000", "--max-connections-per-address", "5000",
        "--ping-timeout", "60", stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        await wait_for_port(port, server)
        load = await asyncio.create_subprocess_exec(
            node, str(NODE_SCRIPT), f"http://127.0.0.1:{port}", str(SOCKETS), str(PER_ROOM), str(MESSAGES),
            str(WINDOW), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            output, progress = await asyncio.wait_for(load.communicate(), 280)
        except TimeoutError:
            load.kill()
            await load.wait()
            raise
    finally:
        server_alive = server.returncode is None
        if server_alive:
            server.terminate()
        _, server_log = await asyncio.wait_for(server.communicate(), 30)
    log = server_log.decode(errors="replace")
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
