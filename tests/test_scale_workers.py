"""``noom serve --workers 2``: two processes on one port sharing Redis look like one server."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import aiohttp
from redis import asyncio as aioredis

from .helpers import Client
from .services import NoomProcess, RedisServer
from .support import eventually

MAX_CLIENTS = 30


async def test_two_workers_on_one_port_act_as_one_server(tmp_path: Path, redis_server: RedisServer) -> None:
    redis = redis_server
    noom = NoomProcess(
        "--workers",
        "2",
        "--redis-url",
        redis.url,
        "--capacity",
        "64",
        "--shutdown-timeout",
        "2",
        "--heartbeat-ttl",
        "1.5",
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

        # A worker that dies is replaced; its peers are swept and the others told.
        assert noom.proc is not None
        workers = _children(noom.proc.pid)
        assert len(workers) == 2
        victim = workers[0]
        os.kill(victim, signal.SIGKILL)
        await eventually(
            lambda: len(_children(noom.proc.pid)) == 2 and victim not in _children(noom.proc.pid),
            what="the supervisor restarted the killed worker",
        )
        await eventually(lambda: _replaced(store, victim), what="dead worker swept, its replacement registered")
        # The killed worker's clients lost their connection; the room holds exactly the others.
        await eventually(lambda: _room_matches_connected(clients), what="room count equal to connected clients")
        assert 0 < sum(c.sio.connected for c in clients) < len(clients)
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


async def _count(value, expected: int) -> bool:
    return await value == expected


async def _replaced(store: aioredis.Redis, victim: int) -> bool:
    """Two live workers registered and none of them the killed one (process ids are host-pid-random)."""
    procs = await store.smembers("noom:procs")
    return len(procs) == 2 and not any(f"-{victim}-" in p for p in procs)


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


async def _room_matches_connected(clients: list[Client]) -> bool:
    connected = [c for c in clients if c.sio.connected]
    rooms = (await connected[0].call("rooms", {}))["rooms"]
    return rooms == [{"room": "shared", "count": len(connected), "locked": False}]
