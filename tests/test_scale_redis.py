"""Two ``noom serve`` processes sharing a real redis-server behave as one server, survive each other's
crashes and a Redis restart, and stop gracefully."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from redis import asyncio as aioredis

from .helpers import Client
from .services import NoomProcess, RedisServer
from .support import eventually

# Short enough that a crash is noticed quickly in tests; the bound on removal is about 4/3 of it.
HEARTBEAT_TTL = 1.5


@pytest.fixture
def start_noom(
    redis_server: RedisServer, noom_processes: Callable[..., NoomProcess]
) -> Callable[..., Awaitable[NoomProcess]]:
    async def start(*flags: str) -> NoomProcess:
        flags = (
            "--redis-url",
            redis_server.url,
            "--heartbeat-ttl",
            str(HEARTBEAT_TTL),
            "--shutdown-timeout",
            "5",
            *flags,
        )
        return await noom_processes(*flags).start()

    return start


@pytest.fixture
async def connect() -> AsyncIterator[Callable[[NoomProcess], Awaitable[Client]]]:
    made: list[Client] = []

    async def open_client(process: NoomProcess) -> Client:
        client = await Client(process.url).connect()
        made.append(client)
        return client

    yield open_client
    for client in made:
        if client.sio.connected:
            await client.close()


async def rooms_of(client: Client) -> list[dict[str, object]]:
    ack = await client.call("rooms", {})
    assert ack["ok"], ack
    return ack["rooms"]


async def test_peers_on_two_processes_share_one_room(start_noom, connect) -> None:
    a, b = await start_noom(), await start_noom()
    alice, bob, watcher = await connect(a), await connect(b), await connect(a)
    await alice.join("standup", "Alice", password="s3cret")
    wrong = await bob.call("join", {"room": "standup", "name": "Bob", "password": "nope"})
    assert wrong["error"]["code"] == "wrong-password"
    ack = await bob.join("standup", "Bob", password="s3cret")
    assert [p["name"] for p in ack["peers"]] == ["Alice"]
    assert (await alice.next("peer-joined"))["peerId"] == bob.peer_id

    # The newcomer on B offers to Alice on A; answer and ICE go back across the queue.
    assert (await bob.call("offer", {"to": alice.peer_id, "sdp": "v=0 offer"}))["ok"]
    assert await alice.next("offer") == {"from": bob.peer_id, "sdp": "v=0 offer"}
    assert (await alice.call("answer", {"to": bob.peer_id, "sdp": "v=0 answer"}))["ok"]
    assert await bob.next("answer") == {"from": alice.peer_id, "sdp": "v=0 answer"}
    candidate = {"candidate": "candidate:1 1 udp 1 10.99.0.1 5000 typ host", "sdpMid": "0"}
    assert (await alice.call("ice", {"to": bob.peer_id, "candidate": candidate}))["ok"]
    assert await bob.next("ice") == {"from": alice.peer_id, "candidate": candidate}

    sent = await bob.call("chat", {"text": "hello from B"})
    assert (await alice.next("chat"))["text"] == "hello from B"
    assert (await alice.call("media", {"video": False}))["ok"]
    assert await bob.next("media") == {
        "peerId": alice.peer_id,
        "audio": True,
        "video": False,
        "screen": False,
        "hand": False,
        "handAt": None,
    }
    assert (await bob.call("rename", {"name": "Robert"}))["ok"]
    assert await alice.next("peer-renamed") == {"peerId": bob.peer_id, "name": "Robert"}

    # Both processes give the same list, and the lobby on A was told about the room.
    expected = [{"room": "standup", "count": 2, "locked": True}]
    assert await rooms_of(alice) == await rooms_of(bob) == expected
    await eventually(
        lambda: watcher.drain("rooms")[-1:] == [{"rooms": expected}],
        what="lobby push of the room on process A",
    )

    # A third peer joining later through A gets the chat history kept in Redis and Alice's media state.
    carol = await connect(a)
    ack = await carol.join("standup", "Carol", password="s3cret")
    assert [m["id"] for m in ack["chat"]] == [sent["message"]["id"]]
    assert {p["name"]: p["video"] for p in ack["peers"]} == {"Alice": False, "Robert": True}

    assert (await bob.call("leave", {}))["ok"]
    assert await alice.next("peer-left") == {"peerId": bob.peer_id, "reason": "left"}
    assert await carol.next("peer-left") == {"peerId": bob.peer_id, "reason": "left"}
    await alice.close()
    assert await carol.next("peer-left") == {"peerId": alice.peer_id, "reason": "disconnected"}
    await carol.close()
    await eventually(lambda: _rooms_are(bob, []), what="the room gone as seen from B")
    assert await rooms_of(watcher) == []


async def test_the_queue_carries_json_not_pickle(start_noom, connect, redis_server) -> None:
    a = await start_noom()
    redis = aioredis.Redis.from_url(redis_server.url)
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    try:
        await pubsub.subscribe("noom-socketio")
        alice = await connect(a)
        await alice.join("queued", "Alice")
        message = await eventually(lambda: pubsub.get_message(timeout=1), what="a message on the queue")
        data = message["data"]
        assert not data.startswith(b"\x80")  # a pickle would start with its protocol opcode
        decoded = json.loads(data)
        assert decoded["method"] == "emit"
    finally:
        await pubsub.aclose()
        await redis.aclose()


async def test_capacity_holds_across_processes(start_noom, connect) -> None:
    a, b = await start_noom("--capacity", "2"), await start_noom("--capacity", "2")
    clients = [await connect(p) for p in (a, b, a, b)]
    acks = await asyncio.gather(*(c.call("join", {"room": "tiny", "name": f"P{i}"}) for i, c in enumerate(clients)))
    assert sorted(ack["ok"] for ack in acks) == [False, False, True, True]
    assert {ack["error"]["code"] for ack in acks if not ack["ok"]} == {"room-full"}
    assert await rooms_of(clients[0]) == [{"room": "tiny", "count": 2, "locked": False}]


async def test_killed_process_peers_leave_within_the_heartbeat_bound(start_noom, connect) -> None:
    a, b = await start_noom(), await start_noom()
    alice, bob, lobby = await connect(a), await connect(b), await connect(b)
    await alice.join("crash", "Alice")
    await bob.join("crash", "Bob")
    lobby.drain("rooms")
    a.signal(signal.SIGKILL)
    # Bound: the TTL plus one sweep interval (TTL / 3); the rest is slack for a loaded machine.
    left = await bob.next("peer-left", timeout=HEARTBEAT_TTL * 4 / 3 + 10)
    assert left == {"peerId": alice.peer_id, "reason": "disconnected"}
    assert await rooms_of(bob) == [{"room": "crash", "count": 1, "locked": False}]
    # The sweeping process also pushes the new room list to the lobby.
    assert await lobby.next("rooms") == {"rooms": [{"room": "crash", "count": 1, "locked": False}]}


async def test_stalled_process_is_swept_and_its_clients_told_to_rejoin(start_noom, connect) -> None:
    a, b = await start_noom(), await start_noom()
    alice, bob = await connect(a), await connect(b)
    await alice.join("stall", "Alice")
    await bob.join("stall", "Bob")
    a.signal(signal.SIGSTOP)  # alive but silent: its heartbeat expires
    try:
        left = await bob.next("peer-left", timeout=HEARTBEAT_TTL * 4 / 3 + 10)
    finally:
        a.signal(signal.SIGCONT)
    assert left == {"peerId": alice.peer_id, "reason": "disconnected"}
    # Back awake, A finds it was swept and closes Alice's socket rather than keep a ghost in the room.
    await eventually(lambda: not alice.sio.connected, what="Alice disconnected by the swept process")
    assert await rooms_of(bob) == [{"room": "stall", "count": 1, "locked": False}]
    await eventually(a.healthy, what="A healthy again")
    again = await connect(a)
    ack = await again.join("stall", "Alice")
    assert [p["name"] for p in ack["peers"]] == ["Bob"]


async def test_redis_restart_keeps_the_rooms_of_connected_peers(start_noom, connect, redis_server) -> None:
    a, b = await start_noom(), await start_noom()
    alice, bob = await connect(a), await connect(b)
    await alice.join("resilient", "Alice", password="pw")
    await bob.join("resilient", "Bob", password="pw")
    assert (await bob.call("media", {"audio": False}))["ok"]

    redis_server.stop()
    await eventually(lambda: _status(a, 503), what="/healthz of A reporting Redis down")
    redis_server.start()  # same port, empty: persistence is off

    for process in (a, b):
        body = await eventually(process.healthy, what="/healthz healthy again")
        assert body["redis"]["ok"]
    # Each process wrote its live peers back; both see the same room, still locked.
    expected = [{"room": "resilient", "count": 2, "locked": True}]
    await eventually(lambda: _rooms_are(alice, expected), what="room restored as seen from A")
    assert await rooms_of(bob) == expected
    reconnects = (await a.healthy())["redis"]["reconnects"]
    assert reconnects >= 1

    # Cross-process delivery resumes once both queue listeners have re-subscribed.
    redis = aioredis.Redis.from_url(redis_server.url)
    try:
        await eventually(lambda: _subscribers(redis, 2), timeout=30, what="both processes re-subscribed to the queue")
    finally:
        await redis.aclose()
    assert (await alice.call("chat", {"text": "still here"}))["ok"]
    assert (await bob.next("chat", timeout=10))["text"] == "still here"
    assert (ack := await alice.call("offer", {"to": bob.peer_id, "sdp": "v=0"}))["ok"], ack
    assert (await bob.next("offer"))["from"] == alice.peer_id
    # Bob's media state came back with him.
    carol = await connect(b)
    ack = await carol.join("resilient", "Carol", password="pw")
    assert {p["name"]: p["audio"] for p in ack["peers"]} == {"Alice": True, "Bob": False}


async def test_unlisted_rooms_stay_unlisted_on_every_process_and_after_a_restart(
    start_noom, connect, redis_server
) -> None:
    a, b = await start_noom(), await start_noom()
    alice, bob, carol = await connect(a), await connect(b), await connect(a)
    await alice.join("listed", "Alice")
    assert (await bob.call("join", {"room": "hidden", "name": "Bob", "unlisted": True}))["ok"]
    await carol.join("hidden", "Carol")
    expected = [{"room": "listed", "count": 1, "locked": False}]
    assert await rooms_of(alice) == await rooms_of(bob) == expected
    redis_server.stop()
    await eventually(lambda: _status(a, 503), what="/healthz of A reporting Redis down")
    redis_server.start()
    for process in (a, b):
        await eventually(process.healthy, what="/healthz healthy again")
    await eventually(lambda: _rooms_are(bob, expected), what="restored list without the unlisted room")
    dave = await connect(b)
    ack = await dave.join("hidden", "Dave")
    assert sorted(p["name"] for p in ack["peers"]) == ["Bob", "Carol"]


async def test_sigterm_moves_clients_to_another_process(start_noom, connect) -> None:
    a, b = await start_noom("--shutdown-timeout", "2"), await start_noom()
    alice, bob = await connect(a), await connect(b)
    await alice.join("move", "Alice")
    await bob.join("move", "Bob")
    a.signal(signal.SIGTERM)
    # Alice is disconnected and Bob told at once (no waiting for a heartbeat to expire).
    assert await bob.next("peer-left", timeout=10) == {"peerId": alice.peer_id, "reason": "disconnected"}
    await eventually(lambda: not alice.sio.connected, what="Alice's socket closed")
    assert a.proc is not None
    assert await asyncio.to_thread(a.proc.wait, 15) == 0  # bounded by --shutdown-timeout
    # Her client reconnects (here: to B, as a load balancer would send it) and re-joins.
    again = await connect(b)
    ack = await again.join("move", "Alice")
    assert [p["name"] for p in ack["peers"]] == ["Bob"]
    assert (await bob.next("peer-joined"))["name"] == "Alice"


async def _status(process: NoomProcess, expected: int) -> bool:
    status, _ = await process.health()
    return status == expected


async def _rooms_are(client: Client, expected: list[dict[str, object]]) -> bool:
    return await rooms_of(client) == expected


async def _subscribers(redis: aioredis.Redis, count: int) -> bool:
    channels = await redis.pubsub_numsub("noom-socketio")
    return channels[0][1] >= count


def test_scale_flags_are_checked(capsys) -> None:
    from noom.cli import main

    with pytest.raises(SystemExit):
        main(["serve", "--redis-url", "localhost:6379"])
    assert "is not a Redis URL" in capsys.readouterr().err
    assert main(["serve", "--workers", "2", "--port", "3999"]) == 2
    assert "--workers above 1 needs --redis-url" in capsys.readouterr().err
    assert main(["serve", "--workers", "2", "--port", "0", "--redis-url", "redis://127.0.0.1:1/0"]) == 2
    assert "needs a fixed --port" in capsys.readouterr().err


async def test_the_host_on_one_process_moderates_peers_on_another(start_noom, connect) -> None:
    a, b = await start_noom(), await start_noom()
    alice, bob, carol = await connect(a), await connect(b), await connect(b)
    await alice.join("meeting", "Alice")
    await bob.join("meeting", "Bob")
    # The waiting room's queue and the admission cross processes: Carol waits on B, Alice admits her from A.
    await alice.call("waiting-room", {"enabled": True})
    waiting = await carol.call("join", {"room": "meeting", "name": "Carol"})
    assert waiting["error"]["code"] == "waiting"
    queue = await alice.next("waiting", timeout=10)
    assert [e["name"] for e in queue["waiting"]] == ["Carol"]
    assert await alice.call("admit", {"id": waiting["waitId"]}) == {"ok": True}
    ticket = (await carol.next("admitted", timeout=10))["ticket"]
    await carol.join("meeting", "Carol", ticket=ticket)
    # A mute and a removal reach B's sockets, and B's process lets the removed socket go.
    assert await alice.call("mute", {"peerId": bob.peer_id, "kind": "audio"}) == {"ok": True}
    assert await bob.next("muted", timeout=10) == {"kind": "audio", "by": "Alice"}
    assert await alice.call("remove", {"peerId": bob.peer_id}) == {"ok": True}
    assert (await bob.next("removed", timeout=10))["reason"] == "removed"
    await eventually(lambda: not bob.sio.connected, "B closed the removed socket", 10)
    left = [e for e in carol.drain("peer-left")] or [await carol.next("peer-left", timeout=10)]
    assert {"peerId": bob.peer_id, "reason": "removed"} in left
    # Alice leaves: Carol, on the other process, hosts now.
    await alice.call("leave", {})
    state = await carol.next("room-state", timeout=10)
    while state["host"] != carol.peer_id:
        state = await carol.next("room-state", timeout=10)
    again = await connect(b)
    refused = await again.call("join", {"room": "meeting", "name": "Bob"})
    assert refused["error"]["code"] == "not-allowed"  # the ban is shared through Redis


async def test_a_recording_stopped_from_another_process_is_saved_and_linked(
    start_noom, connect, tmp_path: Path
) -> None:
    shared = str(tmp_path / "recordings")  # one disk for both processes, as on one host
    a, b = await start_noom("--recordings-dir", shared), await start_noom("--recordings-dir", shared)
    alice, bob = await connect(a), await connect(b)
    await alice.join("studio", "Alice")
    await bob.join("studio", "Bob")
    assert await alice.call("recording-start", {}, timeout=30) == {"ok": True}  # the recorder runs on A
    recorder = await bob.next("peer-joined", timeout=30)
    assert (recorder["kind"], recorder["role"]) == ("bot", "recorder")
    assert await bob.refused("recording-stop", {}) == "not-allowed"  # neither host nor the one who started it
    await alice.call("host", {"peerId": bob.peer_id})
    # Bob, on B, now hosts and stops it: the stop must reach the recorder on A through Redis.
    assert await bob.call("recording-stop", {}) == {"ok": True}
    link = None
    while link is None:
        message = await bob.next("chat", timeout=30)
        link = next((w for w in message["text"].split() if w.startswith("/recordings/")), None)
    left = await bob.next("peer-left", timeout=30)
    assert left["peerId"] == recorder["peerId"]
    async with aiohttp.ClientSession() as http, http.get(b.url + link) as response:
        assert response.status == 200 and response.headers["Content-Type"] == "video/mp4"
        assert len(await response.read()) > 0
