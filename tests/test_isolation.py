"""Isolation: nothing reaches a socket outside the sender's room, reserved event names change nothing,
handlers answer any number of arguments, ids are unguessable, and every response carries the security
headers. docs/security.md maps each defence to the test here that fails without it."""

from __future__ import annotations

import collections
import json
import logging
import math
import random
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from noom.app import SIGNALING_KEY
from noom.signaling.server import new_id

from .fuzzing import LogWatch, RawSocket, assert_ack_shape, check_consistency
from .helpers import assert_silent, flush

ROOMS, PER_ROOM = 6, 3
RESERVED = ["connect", "disconnect", "connect_error", "message", "*"]
# The events whose handlers take a payload that the test below can make valid without a host or bots.
EVENTS = ["join", "leave", "offer", "answer", "ice", "chat", "media", "rename", "rooms"]


@pytest.fixture
def watch() -> AsyncIterator[LogWatch]:
    handler = LogWatch()
    logging.getLogger().addHandler(handler)
    yield handler
    logging.getLogger().removeHandler(handler)


def marker_of(event: str, data: dict[str, Any]) -> str:
    if event in ("offer", "answer"):
        return data["sdp"]
    if event == "ice":
        return data["candidate"]["usernameFragment"]
    return data["text"]


async def test_events_reach_only_the_addressed_peer_or_the_senders_room(joined) -> None:
    rooms = [[await joined(f"iso-{r}", f"P{r}{i}") for i in range(PER_ROOM)] for r in range(ROOMS)]
    everyone = [client for room in rooms for client in room]
    room_of = {id(client): r for r, room in enumerate(rooms) for client in room}
    await flush(*everyone)
    for client in everyone:  # forget the peer-joined announcements
        client.drain_all()
    rng = random.Random(7)
    expected: dict[int, collections.Counter[tuple[str, str, str]]] = {id(c): collections.Counter() for c in everyone}
    refused = 0
    for n in range(300):
        sender = rng.choice(everyone)
        kind = rng.choice(["offer", "answer", "ice", "ice", "chat"])
        marker = f"m{n}"
        if kind == "chat":
            ack = await sender.call("chat", {"text": marker})
            assert ack["ok"], ack
            for other in rooms[room_of[id(sender)]]:
                if other is not sender:
                    expected[id(other)][("chat", marker, sender.peer_id)] += 1
            continue
        same_room = rng.random() < 0.75
        pool = (
            rooms[room_of[id(sender)]]
            if same_room
            else rooms[(room_of[id(sender)] + rng.randint(1, ROOMS - 1)) % ROOMS]
        )
        target = rng.choice([c for c in pool if c is not sender])
        if kind == "ice":
            payload = {"to": target.peer_id, "candidate": {"candidate": "candidate:1", "usernameFragment": marker}}
        else:
            payload = {"to": target.peer_id, "sdp": marker}
        ack = await sender.call(kind, payload)
        if same_room:
            assert ack == {"ok": True}, ack
            expected[id(target)][(kind, marker, sender.peer_id)] += 1
        else:
            assert ack["ok"] is False and ack["error"]["code"] == "unknown-peer", ack
            refused += 1
    assert refused > 20  # the cross-room attempts really happened

    await flush(*everyone)  # every relay was acked: all that was sent has arrived
    for client in everyone:
        got: collections.Counter[tuple[str, str, str]] = collections.Counter()
        for event, items in client.drain_all().items():
            for data in items:
                got[(event, marker_of(event, data), data["from"])] += 1
        want = expected[id(client)]  # exactly: nothing missing, duplicated or late
        assert got == want, f"{client.peer_id}: extra {got - want}, missing {want - got}"


@pytest.mark.parametrize("reserved", RESERVED)
async def test_client_sent_reserved_event_names_change_nothing(server, joined, watch, reserved: str) -> None:
    alice = await joined("iso-reserved", "Alice")
    mallory = RawSocket(server.url)
    try:
        await mallory.connect()
        ack = await mallory.call('["join",{"room":"iso-reserved","name":"Mallory"}]')
        assert ack[0]["ok"], ack
        mallory_id = ack[0]["peerId"]
        assert (await alice.next("peer-joined"))["peerId"] == mallory_id
        for args in ([], [None], [{"room": "iso-reserved"}], ["transport close"], [{}, {}, {}]):
            # Sent with and without an ack id: neither may run a handler.
            await mallory.send("42" + json.dumps([reserved, *args]))
            await mallory.send("4277" + json.dumps([reserved, *args]))
        ack = await mallory.call(json.dumps(["ice", {"to": alice.peer_id, "candidate": None}]))
        assert ack == [{"ok": True}], ack  # still in the room, still the same peer
        assert await alice.next("ice") == {"from": mallory_id, "candidate": None}
        await assert_silent(alice)  # in particular no peer-left
        signaling = server.app[SIGNALING_KEY]
        assert [s.peer_id for s in signaling.sessions.values()].count(mallory_id) == 1
        await check_consistency(signaling)
        watch.check()
    finally:
        await mallory.close()


@pytest.mark.parametrize("event", EVENTS)
async def test_handlers_answer_missing_and_extra_arguments(joined, clients, watch, event: str) -> None:
    alice = await joined("iso-args", "Alice")
    bob = await joined("iso-args", "Bob")
    valid = {
        "join": {"room": "iso-args", "name": "Alice"},
        "leave": {},
        "offer": {"to": bob.peer_id, "sdp": "v=0"},
        "answer": {"to": bob.peer_id, "sdp": "v=0"},
        "ice": {"to": bob.peer_id, "candidate": None},
        "chat": {"text": "hi"},
        "media": {"audio": False},
        "rename": {"name": "Ada"},
        "rooms": {},
    }[event]
    for client in (alice, await clients()):  # in a room and in the lobby
        for args in ((), (None,), (valid, "extra", 3), (valid, valid), ([],), ("x", valid)):
            ack = await client.sio.call(event, args if len(args) != 1 else args[0], timeout=10)
            assert_ack_shape(ack, event)
            if event == "leave" and ack["ok"]:
                await client.join("iso-args", "Alice")
    watch.check()


def shannon_bits_per_char(ids: list[str]) -> float:
    counts = collections.Counter("".join(ids))
    total = sum(counts.values())
    return -sum(n / total * math.log2(n / total) for n in counts.values())


def test_generated_ids_are_long_random_and_unique() -> None:
    ids = [new_id() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{16,}", i) for i in ids)
    # 16 url-safe base64 characters carry 96 random bits; a counter, timestamp or short id shows far less.
    assert min(len(i) for i in ids) * 6 >= 96
    assert shannon_bits_per_char(ids) > 5.9  # uniform over 64 symbols is 6 bits
    # No position is predictable: each one takes many different values.
    for position in range(16):
        assert len({i[position] for i in ids}) > 50, position


async def test_peer_and_chat_ids_handed_out_are_unguessable(clients) -> None:
    client = await clients()
    peer_ids, chat_ids = [], []
    for n in range(100):
        ack = await client.call("join", {"room": f"iso-ids-{n % 2}", "name": "Id"})
        peer_ids.append(ack["peerId"])
        chat_ids.append((await client.call("chat", {"text": "x"}))["message"]["id"])
    for ids in (peer_ids, chat_ids):
        assert len(set(ids)) == len(ids)
        assert all(re.fullmatch(r"[A-Za-z0-9_-]{16,}", i) for i in ids), ids[:3]
        assert shannon_bits_per_char(ids) > 5.5
    assert not set(peer_ids) & set(chat_ids)
    assert client.sio.get_sid() not in peer_ids  # the socket id (used by Socket.IO itself) is never handed out


PAGES = {
    "lobby": ("/", 200),
    "static script": ("/static/js/lobby.js", 200),
    "static stylesheet": ("/static/css/app.css", 200),
    "vendor socket.io-client": ("/vendor/socket.io/socket.io.esm.min.js", 200),
    "missing page": ("/no-such-page", 404),
    "missing static file": ("/static/js/missing.js", 404),
    "missing vendor file": ("/vendor/socket.io/missing.js", 404),
    "path traversal attempt": ("/static/../signaling/server.py", 404),
}


@pytest.mark.parametrize("path,status", list(PAGES.values()), ids=list(PAGES))
async def test_every_response_carries_the_security_headers(server, path: str, status: int) -> None:
    async with aiohttp.ClientSession() as session, session.get(server.url + path) as response:
        assert response.status == status
        headers = response.headers
    csp = headers["Content-Security-Policy"]
    directives = {d.split()[0]: d.split()[1:] for d in (part.strip() for part in csp.split(";")) if d}
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, csp
    # 'wasm-unsafe-eval' compiles RNNoise's WebAssembly (static/js/noise.js); it allows no JavaScript eval.
    assert directives["script-src"] == ["'self'", "'wasm-unsafe-eval'"] and directives["default-src"] == ["'self'"], csp
    assert directives["object-src"] == ["'none'"] and directives["frame-ancestors"] == ["'none'"], csp
    assert headers["Referrer-Policy"] == "no-referrer"
    permissions = dict(p.strip().split("=", 1) for p in headers["Permissions-Policy"].split(","))
    for feature in ("camera", "microphone", "display-capture"):
        assert permissions[feature] == "(self)", headers["Permissions-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
