"""Password guessing and password hashing are bounded (issue 10): tries are reserved before hashing, per
address and per room, shared through Redis; scrypt runs on a small pool with a bounded queue."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from typing import Any

import pytest

from noom.app import SIGNALING_KEY
from noom.config import Rate
from noom.protocol import ProtocolError
from noom.signaling import passwords
from noom.signaling.limits import MemoryPasswordGuard
from noom.signaling.passwords import BUSY, ScryptPool
from noom.signaling.redis_guard import RedisPasswordGuard
from noom.signaling.redis_store import connect as redis_connect
from noom.signaling.server import SignalingServer

from .helpers import DEFAULT_RATES, Client, RunningServer
from .services import RedisServer
from .support import eventually

JOINS_UNLIMITED = DEFAULT_RATES | {"rate_join": Rate(1000, 1000)}


def signaling_of(server: RunningServer) -> SignalingServer:
    return server.app[SIGNALING_KEY]


# Once the free tries are used up, the next one waits a minute here rather than the default second: the
# tests then count exactly the free tries however slowly this (shared) machine hashes.
SLOW = {"first_wait": 60.0}


def slow_guard(server: RunningServer) -> None:
    signaling = signaling_of(server)
    if isinstance(signaling.passwords, RedisPasswordGuard):
        signaling.passwords = RedisPasswordGuard(signaling.passwords.redis, **SLOW)
    else:
        signaling.passwords = MemoryPasswordGuard(**SLOW)


# ---- password tries ---------------------------------------------------------------------------------


def outcome(ack: dict[str, Any]) -> str:
    """The ack's error code, with the password slowdown told apart from the scrypt queue's "busy"."""
    error = ack["error"]
    if error["code"] == "rate-limited" and error["message"].startswith("too many wrong passwords"):
        return "slowed"
    return error["code"]


async def test_parallel_wrong_passwords_get_at_most_the_free_tries(make_server) -> None:
    server = await make_server(**JOINS_UNLIMITED)
    slow_guard(server)
    owner = await Client(server.url).connect()
    await owner.join("vault", password="correct horse")
    # One socket's events are handled in order, so parallel guesses come from many sockets of one address.
    guessers = await asyncio.gather(*(Client(server.url).connect() for _ in range(40)))
    acks = await asyncio.gather(
        *(g.call("join", {"room": "vault", "name": "Mallory", "password": f"guess{i}"}) for i, g in enumerate(guessers))
    )
    codes = Counter(outcome(ack) for ack in acks)
    assert codes["wrong-password"] <= 5 and codes["wrong-password"] + codes["slowed"] == 40, codes
    await asyncio.gather(owner.close(), *(g.close() for g in guessers))


async def test_password_tries_are_also_counted_per_room_across_addresses(make_server) -> None:
    server = await make_server(**JOINS_UNLIMITED, trust_proxy=True)
    slow_guard(server)
    owner = await Client(server.url).connect()
    await owner.join("vault", password="correct horse")

    async def from_address(i: int) -> Client:
        client = Client(server.url)
        await client.sio.connect(server.url, transports=["websocket"], headers={"X-Forwarded-For": f"198.51.100.{i}"})
        return client

    guessers = await asyncio.gather(*(from_address(i) for i in range(1, 81)))
    acks = []
    for wave in range(0, 80, 10):  # waves smaller than the scrypt queue: "busy" is not the subject here
        acks += await asyncio.gather(
            *(g.call("join", {"room": "vault", "name": "M", "password": "guess"}) for g in guessers[wave : wave + 10])
        )
    codes = Counter(outcome(ack) for ack in acks)
    assert codes["wrong-password"] <= 50 and codes["wrong-password"] + codes["slowed"] == 80, codes
    # Rooms nobody is guessing are not affected (the trade-off for the guessed room: docs/security.md).
    member = await from_address(200)
    assert (await member.call("join", {"room": "other", "name": "Bob", "password": "x"}))["ok"]
    await asyncio.gather(owner.close(), member.close(), *(g.close() for g in guessers))


async def test_a_password_attempt_keeps_only_wrong_tries() -> None:
    guard = MemoryPasswordGuard(free=1, room_free=100)

    async def join(error: Exception | None) -> None:
        async with guard.attempt("ip", "room"):
            if error:
                raise error

    with pytest.raises(ProtocolError, match="full"):
        await join(ProtocolError("room-full", "full"))  # not about the password: given back
    await join(None)  # right: clears the address's count
    with pytest.raises(ProtocolError) as wrong:
        await join(ProtocolError("wrong-password", "no"))
    assert wrong.value.code == "wrong-password"
    with pytest.raises(ProtocolError) as limited:
        await join(None)  # counted: even the right password waits now
    assert limited.value.code == "rate-limited" and "wait 1 s" in limited.value.message


async def test_password_tries_are_shared_through_redis(make_server, redis_server: RedisServer) -> None:
    a = await make_server(**JOINS_UNLIMITED, redis_url=redis_server.url)
    b = await make_server(**JOINS_UNLIMITED, redis_url=redis_server.url)
    slow_guard(a)
    slow_guard(b)
    owner = await Client(a.url).connect()
    await owner.join("vault", password="correct horse")
    guessers = [await Client(server.url).connect() for server in (a, b) * 5]
    codes = [
        (await g.call("join", {"room": "vault", "name": "Mallory", "password": f"guess{i}"}))["error"]["code"]
        for i, g in enumerate(guessers)
    ]
    assert codes == ["wrong-password"] * 5 + ["rate-limited"] * 5  # not 5 per process
    await asyncio.gather(owner.close(), *(g.close() for g in guessers))


async def test_redis_password_guard_counts_atomically_and_expires(redis_server: RedisServer) -> None:
    redis = redis_connect(redis_server.url)
    try:
        guard = RedisPasswordGuard(redis, free=3, room_free=5, forget_after=30)
        waits = await asyncio.gather(*(guard.reserve("ip", "room") for _ in range(10)))
        assert sorted(waits)[:3] == [0, 0, 0] and all(w > 0 for w in sorted(waits)[3:])
        assert await redis.hget("noom:pwtry:room:ip", "n") == "3"
        assert 0 < await redis.ttl("noom:pwtry:room:ip") <= 30 and 0 < await redis.ttl("noom:pwtry:room") <= 30
        await guard.settle("ip", "room", "right")
        assert not await redis.exists("noom:pwtry:room:ip")
        assert await redis.hget("noom:pwtry:room", "n") == "2"
        for address in ("a", "b", "c"):
            assert await guard.reserve(address, "room") == 0
        assert await guard.reserve("d", "room") > 0  # the room's free tries are used up, from any address
        await guard.settle("c", "room", "undo")
        assert await guard.reserve("d", "room") == 0
    finally:
        await redis.aclose()


# ---- scrypt work --------------------------------------------------------------------------------------


async def test_the_scrypt_pool_runs_two_at_once_and_refuses_past_its_queue(monkeypatch) -> None:
    running, most, lock, release = 0, 0, threading.Lock(), threading.Event()

    def slow_scrypt(password: str, salt: bytes) -> bytes:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        release.wait(10)
        with lock:
            running -= 1
        return b"digest"

    monkeypatch.setattr(passwords, "_scrypt", slow_scrypt)
    pool = ScryptPool(at_once=2, queue=3)
    jobs = [asyncio.ensure_future(pool.run("pw", b"salt")) for _ in range(5)]
    await eventually(lambda: running == 2, what="two hashes running")
    with pytest.raises(ProtocolError) as busy:
        await pool.run("pw", b"salt")
    assert busy.value.code == "rate-limited" and busy.value.message == BUSY
    release.set()
    assert await asyncio.gather(*jobs) == [b"digest"] * 5
    assert most == 2 and pool.pending == 0
    assert await pool.run("pw", b"salt") == b"digest"  # room again


async def test_locked_room_creations_do_not_slow_other_users(make_server, monkeypatch) -> None:
    hashed = 0  # hashes finished; counted rather than timed, since this machine is shared and its speed varies
    scrypt, lock = passwords._scrypt, threading.Lock()

    def counting_scrypt(password: str, salt: bytes) -> bytes:
        nonlocal hashed
        digest = scrypt(password, salt)
        with lock:
            hashed += 1
        return digest

    monkeypatch.setattr(passwords, "_scrypt", counting_scrypt)
    creations = 300
    server = await make_server(
        **JOINS_UNLIMITED | {"rate_rooms": Rate(1000, 1000)},
        max_connections_per_address=creations + 10,
        rooms_push_interval=0.25,  # the test config's one push per change is not the subject here
    )
    signaling = signaling_of(server)
    bystander = await Client(server.url).connect()
    creators = await asyncio.gather(*(Client(server.url).connect() for _ in range(creations)))
    joins = [
        asyncio.ensure_future(c.call("join", {"room": f"locked-{i}", "name": "C", "password": f"pw{i}"}, timeout=120))
        for i, c in enumerate(creators)
    ]

    def joins_arrived() -> bool:
        return signaling.metrics.registry.get_sample_value("noom_events_total", {"event": "join"}) == creations

    await eventually(joins_arrived, what="every creation reached the server")
    started = time.perf_counter()
    assert (await bystander.call("rooms", {}))["ok"]
    rooms_took = time.perf_counter() - started
    before = hashed
    own = await bystander.call("join", {"room": "mine", "name": "B", "password": "mine"}, timeout=120)
    waited_for = hashed - before
    # Answered at once with "busy", or after at most the hashes running and queued (and its own): not
    # behind all 300 creations.
    assert own["ok"] or own["error"] == {"code": "rate-limited", "message": BUSY}, own
    assert waited_for <= passwords.SCRYPT_AT_ONCE + passwords.SCRYPT_QUEUE + 1, f"waited for {waited_for} hashes"
    # Generous: 301 clients share this test's process and event loop with the server, on a shared machine.
    assert rooms_took < 5.0, f"the bystander's rooms request took {rooms_took:.2f} s"
    codes = Counter("ok" if ack["ok"] else ack["error"]["code"] for ack in await asyncio.gather(*joins))
    assert codes["rate-limited"] > 0 and set(codes) == {"ok", "rate-limited"}, codes
    await asyncio.gather(bystander.close(), *(c.close() for c in creators))
