"""Abuse limits: token buckets per event class, the disconnect of abusers, the per-address connection
cap, the wrong-password slowdown and the origin check on the Socket.IO handshake."""

from __future__ import annotations

import argparse
import asyncio
import logging

import pytest
import socketio

from noom.config import Rate
from noom.signaling.limits import (
    ConnectionCounter,
    MemoryPasswordGuard,
    OriginPolicy,
    SocketLimiter,
    TokenBucket,
)

from .helpers import DEFAULT_RATES, Client


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    bucket = TokenBucket(Rate(2, 3), now=0.0)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.take(0.5)  # one token back after half a second at 2/s
    assert not bucket.take(0.5)


def test_socket_limiter_keeps_event_classes_apart() -> None:
    clock = FakeClock()
    limiter = SocketLimiter({"chat": Rate(1, 1), "relay": Rate(1, 2), "other": Rate(1, 1)}, 2, clock)
    assert limiter.allow("chat") and not limiter.allow("chat")
    assert limiter.allow("ice") and limiter.allow("offer") and not limiter.allow("answer")
    assert limiter.allow("no-such-event")
    assert limiter.strike() and limiter.strike() and not limiter.strike()
    clock.now = 1.0
    assert limiter.allow("chat") and limiter.strike()


def test_rate_parses_rate_and_burst() -> None:
    assert Rate.parse("2.5:10") == Rate(2.5, 10)
    for bad in ("10", "a:b", "0:5", "5:0"):
        with pytest.raises(argparse.ArgumentTypeError, match=r"RATE:BURST|positive"):
            Rate.parse(bad)


def test_connection_counter_caps_per_address() -> None:
    counter = ConnectionCounter(2)
    assert counter.acquire("a") and counter.acquire("a") and not counter.acquire("a")
    assert counter.acquire("b")
    counter.release("a")
    assert counter.acquire("a")


async def test_password_guard_doubles_the_wait_after_free_tries() -> None:
    clock = FakeClock()
    guard = MemoryPasswordGuard(free=2, room_free=100, first_wait=1.0, max_wait=4.0, forget_after=100.0, clock=clock)

    async def reserve(t: float, address: str = "ip", room: str = "room") -> float:
        clock.now = t
        return await guard.reserve(address, room)  # 0: counted; else the wait left, nothing counted

    assert await reserve(0.0) == 0 and await reserve(0.1) == 0
    assert await reserve(0.1) == pytest.approx(1.0)
    assert await reserve(0.1, address="other-ip") == 0
    assert await reserve(0.1, room="other-room") == 0
    assert await reserve(1.2) == 0
    assert await reserve(1.2) == pytest.approx(2.0)
    assert await reserve(3.3) == 0 and await reserve(7.4) == 0
    assert await reserve(7.4) == pytest.approx(4.0)  # capped
    assert await reserve(200.0) == 0  # forgotten after a quiet while
    await guard.settle("ip", "room", "right")
    assert await reserve(200.0) == 0 and await reserve(200.0) == 0


def test_origin_policy_allows_own_and_listed_origins_and_logs_refusals(caplog) -> None:
    policy = OriginPolicy(["https://partner.example"])
    environ = {"HTTP_HOST": "noom.test:3000"}
    assert policy(None, environ)  # not a browser
    assert policy("http://noom.test:3000", environ)
    assert policy("https://partner.example", environ)
    with caplog.at_level(logging.WARNING, logger="noom.signaling.limits"):
        assert not policy("https://evil.example", environ)
    assert "refused a Socket.IO connection from origin https://evil.example" in caplog.text
    assert OriginPolicy(["*"])("https://anyone.example", environ)


async def test_chat_flood_is_rate_limited(make_server) -> None:
    server = await make_server(**DEFAULT_RATES)
    alice = await Client(server.url).connect()
    await alice.join("flood")
    acks = [await alice.call("chat", {"text": f"m{i}"}) for i in range(12)]
    assert all(a["ok"] for a in acks[:10])
    assert acks[10] == {
        "ok": False,
        "error": {"code": "rate-limited", "message": "too many requests: slow down and try again in a moment"},
    }
    await alice.close()


async def test_relay_allows_an_ice_burst_of_a_full_room(make_server) -> None:
    server = await make_server(**DEFAULT_RATES)
    alice, bob = await Client(server.url).connect(), await Client(server.url).connect()
    await alice.join("burst")
    await bob.join("burst")
    candidate = {"candidate": "candidate:1 1 udp 1 10.0.0.1 9 typ host", "sdpMid": "0", "sdpMLineIndex": 0}
    acks = await asyncio.gather(*(bob.call("ice", {"to": alice.peer_id, "candidate": candidate}) for _ in range(300)))
    assert all(a == {"ok": True} for a in acks)
    await asyncio.gather(alice.close(), bob.close())


async def test_a_socket_that_keeps_abusing_is_disconnected(make_server) -> None:
    server = await make_server(**DEFAULT_RATES | {"rate_chat": Rate(1, 1)}, abuse_strikes=3)
    alice = await Client(server.url).connect()
    await alice.join("abuse")
    disconnected = asyncio.Event()
    alice.sio.on("disconnect", lambda *args: disconnected.set())
    for i in range(6):
        if disconnected.is_set():
            break
        try:
            await alice.call("chat", {"text": f"spam {i}"}, timeout=2)
        except socketio.exceptions.TimeoutError:
            break
    await asyncio.wait_for(disconnected.wait(), 5)


async def test_connections_per_address_are_capped(make_server) -> None:
    server = await make_server(max_connections_per_address=2)
    first, second = await Client(server.url).connect(), await Client(server.url).connect()
    refused = Client(server.url)
    reasons: list[object] = []
    refused.sio.on("connect_error", reasons.append)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await refused.connect()
    assert "too many connections from your network" in str(reasons)
    await first.close()
    third = await Client(server.url).connect()  # a closed socket frees its place
    await asyncio.gather(second.close(), third.close())


async def test_wrong_passwords_are_slowed_per_address_and_room(make_server) -> None:
    # The password guard, not the join rate, answers here.
    server = await make_server(**DEFAULT_RATES | {"rate_join": Rate(100, 100)})
    owner, guesser = await Client(server.url).connect(), await Client(server.url).connect()
    await owner.join("vault", password="correct horse")
    codes = []
    for i in range(7):
        ack = await guesser.call("join", {"room": "vault", "name": "Mallory", "password": f"guess{i}"})
        codes.append(ack["error"]["code"])
    assert codes[:5] == ["wrong-password"] * 5
    assert codes[5:] == ["rate-limited"] * 2
    ack = await guesser.call("join", {"room": "vault", "name": "Mallory", "password": "correct horse"})
    assert ack["error"]["code"] == "rate-limited"  # even the right one waits: guessing stays slow
    other = await guesser.call("join", {"room": "open-room", "name": "Mallory"})
    assert other["ok"]
    await asyncio.gather(owner.close(), guesser.close())


async def test_a_foreign_origin_cannot_open_a_socket(server) -> None:
    evil = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await evil.connect(server.url, transports=["websocket"], headers={"Origin": "https://evil.example"})
    own = socketio.AsyncClient(reconnection=False)
    await own.connect(server.url, transports=["websocket"], headers={"Origin": server.url})
    await own.disconnect()


async def test_unknown_events_get_a_bad_request_ack(clients) -> None:
    alice = await clients()
    ack = await alice.call("nonsense", {"x": 1})
    assert ack["ok"] is False and ack["error"]["code"] == "bad-request"
    assert "nonsense" in ack["error"]["message"]
