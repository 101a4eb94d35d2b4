"""``noom serve --workers 2``: two processes on one port sharing Redis look like one server."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import aiohttp
from redis import asyncio as aioredis

from .helpers import Client
from .services import NoomProcess, RedisServer, eventually

MAX_CLIENTS = 30


async def test_two_workers_on_one_port_act_as_one_server(tmp_path: Path) -> None:
    redis = RedisServer(tmp_path).start()
    noom = NoomProcess(
        "--workers",
        "2",
        "--redis-url",
        redis.url,
        "--capacity",
        "64",
        "--shutdown-timeout",
        "5",
        log=tmp_path / "noom.log",
    )
    store = aioredis.Redis.from_url(redis.url, decode_responses=True)
    clients: list[Client] = []
    try:
        await noom.start()
        await eventually(lambda: _count(store.scard("noom:procs"), 2), what="both workers registered")

        # Long-polling would need sticky sessions, so only websocket is accepted.
        async with aiohttp.ClientSession() as http:
            async with http.get(noom.url + "/socket.io/?EIO=4&transport=polling") as response:
                assert response.status == 400
            # ...and pages tell the browser client so.
            async with http.get(noom.url + "/") as response:
                assert 'data-socket-transports="websocket"' in await response.text()

        # The kernel spreads connections over the workers: join until peers sit on both.
        owners: set[str] = set()
        for i in range(MAX_CLIENTS):
            client = await Client(noom.url).connect()
            clients.append(client)
            await client.join("shared", f"P{i}")
            owners.add(await store.hget(f"noom:peer:{client.peer_id}", "proc"))
            if len(owners) == 2 and i >= 2:
                break
        assert len(owners) == 2

        sent = await clients[0].call("chat", {"text": "one server"})
        assert sent["ok"]
        for client in clients[1:]:
            assert (await client.next("chat"))["text"] == "one server"
        counts = {(await c.call("rooms", {}))["rooms"][0]["count"] for c in clients}
        assert counts == {len(clients)}
    finally:
        for client in clients:
            if client.sio.connected:
                await client.close()
        await store.aclose()
        if noom.proc and noom.proc.poll() is None:
            noom.signal(signal.SIGTERM)
            # The supervisor passes SIGTERM on and returns once its workers stopped gracefully.
            assert await asyncio.to_thread(noom.proc.wait, 20) == 0
        noom.stop()
        redis.stop()


async def _count(value, expected: int) -> bool:
    return await value == expected
