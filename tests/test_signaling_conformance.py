"""A client written against another Socket.IO implementation (socket.io-client 4 on Node.js), from
docs/protocol.md alone, completes the whole protocol against a real server."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from .helpers import RunningServer

NODE_CLIENT = Path(__file__).parent / "node" / "protocol_client.mjs"


async def run_node_client(url: str, timeout: float = 90) -> tuple[int, str]:
    node = shutil.which("node")
    assert node, "Node.js is missing: scripts/setup.sh installs it with the npm packages"
    process = await asyncio.create_subprocess_exec(
        node, str(NODE_CLIENT), url, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


async def test_a_node_socket_io_client_completes_the_protocol(server: RunningServer) -> None:
    assert server.url.startswith("http://127.0.0.1:")
    code, output = await run_node_client(server.url)
    assert code == 0, output
    assert "protocol conformance: ok" in output


async def test_the_node_client_fails_on_a_mismatch(make_server) -> None:
    # With a capacity of 1, Ada's join is refused (room-full) where the script expects it to succeed.
    server = await make_server(capacity=1)
    code, output = await run_node_client(server.url)
    assert code == 1 and "FAILED" in output, output
