"""The Engine.IO transport changes in signaling/engine.py keep connections alive and ordered."""

from __future__ import annotations

import asyncio


async def test_a_websocket_outlives_the_idle_timeout_when_every_packet_went_direct(make_server, connect) -> None:
    # Packets written straight to the websocket bypass the writer task's queue; an empty queue for
    # ping_interval + ping_timeout must not make the writer close a healthy connection.
    server = await make_server(ping_interval=0.5, ping_timeout=0.5)
    alice = await connect(server)
    bob = await connect(server)
    await alice.join("engine-idle", "Alice")
    await bob.join("engine-idle", "Bob")
    disconnected = asyncio.Event()
    alice.sio.on("disconnect", lambda *args: disconnected.set())
    for _ in range(40):  # 4 s: four times the idle timeout, with relays going the direct path all along
        assert await bob.call("ice", {"to": alice.peer_id, "candidate": None}) == {"ok": True}
        await asyncio.sleep(0.1)
    assert not disconnected.is_set() and alice.sio.connected
    assert await alice.call("rooms") == {"ok": True, "rooms": [{"room": "engine-idle", "count": 2, "locked": False}]}


async def test_the_websocket_writer_ends_when_cancelled_as_upstreams_does(server, connect) -> None:
    # Our poll, like engineio's, turns a cancellation into QueueEmpty; the replaced writer must then stop
    # (upstream breaks) rather than go back to waiting, or a cancelled writer would live on.
    await connect(server)
    writers = [
        task
        for task in asyncio.all_tasks()
        if task.get_coro().__qualname__ == "_websocket_handler.<locals>.writer" and not task.done()
    ]
    assert len(writers) == 1, writers
    writers[0].cancel()
    await asyncio.wait_for(asyncio.shield(writers[0]), 5)  # returns (the loop ended) instead of timing out
