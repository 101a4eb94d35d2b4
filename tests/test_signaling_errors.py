"""Every error code of protocol v1: what triggers it, the failure ack's shape, and that nothing else happens."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from noom.app import SIGNALING_KEY

from .helpers import assert_silent

NOT_AN_OBJECT: list[Any] = ["join me", 42, 4.5, True, ["room", "name"]]
# A valid payload for every event that needs the socket to be in a room.
IN_ROOM_EVENTS: dict[str, dict[str, Any]] = {
    "leave": {},
    "offer": {"to": "someone", "sdp": "v=0"},
    "answer": {"to": "someone", "sdp": "v=0"},
    "ice": {"to": "someone", "candidate": None},
    "chat": {"text": "hello"},
    "media": {"audio": False},
    "reaction": {"emoji": "👍"},
    "rename": {"name": "Bob"},
}
EVENTS = ["join", "rooms", *IN_ROOM_EVENTS]

BAD_PAYLOADS: list[tuple[str, dict[str, Any] | None]] = [
    ("join", None),
    ("join", {}),
    ("join", {"room": "demo"}),
    ("join", {"name": "Alice"}),
    ("join", {"room": 5, "name": "Alice"}),
    ("join", {"room": "demo", "name": ["Alice"]}),
    ("join", {"room": "demo", "name": "Alice", "password": 1234}),
    ("join", {"room": "demo", "name": "Alice", "kind": "alien"}),
    ("join", {"room": "demo", "name": "Alice", "kind": "bot", "role": "spy"}),
    ("join", {"room": "demo", "name": "Alice", "role": "recorder"}),  # a role is for bots only
    ("join", {"room": "demo", "name": "Alice", "password": "p" * 129}),
    ("join", {"room": "d" * 100_000, "name": "Alice"}),
    ("join", {"room": "demo", "name": "A" * 100_000}),
    ("offer", None),
    ("offer", {"sdp": "v=0"}),
    ("offer", {"to": "PEER"}),
    ("offer", {"to": "PEER", "sdp": 0}),
    ("offer", {"to": 7, "sdp": "v=0"}),
    ("offer", {"to": "PEER", "sdp": ""}),
    ("offer", {"to": "PEER", "sdp": "v" * 100_000}),
    ("answer", None),
    ("answer", {"to": "PEER"}),
    ("answer", {"to": "PEER", "sdp": {"type": "answer"}}),
    ("ice", None),
    ("ice", {"to": "PEER"}),
    ("ice", {"candidate": None}),
    ("ice", {"to": "PEER", "candidate": "candidate:1 1 udp 1 10.0.0.1 9 typ host"}),
    ("ice", {"to": "PEER", "candidate": [1, 2]}),
    ("ice", {"to": "PEER", "candidate": {"candidate": "c" * 50_000}}),
    ("chat", None),
    ("chat", {}),
    ("chat", {"text": 5}),
    ("chat", {"text": ""}),
    ("chat", {"text": "   "}),
    ("chat", {"text": "x" * 100_000}),
    ("media", None),
    ("media", {}),
    ("media", {"audio": "yes"}),
    ("media", {"video": 1}),
    ("media", {"screen": None}),
    ("rename", None),
    ("rename", {}),
    ("rename", {"name": 5}),
    ("rename", {"name": "  "}),
    ("rename", {"name": "N" * 100_000}),
]


@pytest.fixture
def no_server_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """A refused request must never show up as an error or traceback in the server log."""
    caplog.set_level(logging.WARNING)
    yield
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not errors, [r.getMessage() for r in errors]


@pytest.mark.usefixtures("no_server_errors")
@pytest.mark.parametrize("event", sorted({event for event, _ in BAD_PAYLOADS}))
async def test_malformed_payloads_get_bad_request(joined, event: str) -> None:
    alice, bob = await joined("demo", "Alice"), await joined("demo", "Bob")
    await alice.next("peer-joined")
    for payload in (payload for name, payload in BAD_PAYLOADS if name == event):
        if payload is not None and payload.get("to") == "PEER":
            payload = payload | {"to": bob.peer_id}
        args = () if payload is None else (payload,)
        assert await alice.refused(event, *args) == "bad-request", payload
    await assert_silent(alice, bob)
    # The refused request changed nothing: the socket is still a working member of its room.
    ack = await alice.call("chat", {"text": "still fine"})
    assert ack["ok"] is True and await bob.next("chat") == ack["message"]


@pytest.mark.usefixtures("no_server_errors")
@pytest.mark.parametrize("event", EVENTS)
async def test_a_payload_that_is_not_an_object_gets_bad_request(joined, event: str) -> None:
    alice = await joined("demo", "Alice")
    for payload in NOT_AN_OBJECT:
        assert await alice.refused(event, payload) == "bad-request", payload


@pytest.mark.parametrize("event", IN_ROOM_EVENTS)
async def test_events_that_need_a_room_get_not_in_room_from_the_lobby(clients, event: str) -> None:
    lobby = await clients()
    assert await lobby.refused(event, IN_ROOM_EVENTS[event]) == "not-in-room"


async def test_a_malformed_payload_gets_bad_request_even_from_the_lobby(clients) -> None:
    lobby = await clients()
    for event, payload in BAD_PAYLOADS:
        if event != "join":  # the lobby is where join is meant to be sent from
            args = () if payload is None else (payload,)
            assert await lobby.refused(event, *args) == "bad-request", (event, payload)


@pytest.mark.parametrize("event", IN_ROOM_EVENTS)
async def test_events_that_need_a_room_get_not_in_room_after_leave(joined, event: str) -> None:
    alice = await joined("demo", "Alice")
    bob = await joined("demo", "Bob")
    assert await bob.call("leave", {}) == {"ok": True}
    payload = IN_ROOM_EVENTS[event]
    if "to" in payload:
        payload = payload | {"to": alice.peer_id}
    assert await bob.refused(event, payload) == "not-in-room"
    await alice.next("peer-joined")
    assert await alice.next("peer-left") == {"peerId": bob.peer_id, "reason": "left"}
    await assert_silent(alice)


RELAYS: dict[str, dict[str, Any]] = {
    "offer": {"sdp": "v=0 offer"},
    "answer": {"sdp": "v=0 answer"},
    "ice": {"candidate": {"candidate": "candidate:1 1 udp 1 10.99.0.1 9 typ host", "sdpMid": "0"}},
}


@pytest.mark.parametrize("event", RELAYS)
async def test_relay_to_a_peer_of_another_room_is_refused_and_delivers_nothing(clients, joined, event: str) -> None:
    alice, bob = await joined("red", "Alice"), await joined("red", "Bob")
    carol, dave = await joined("blue", "Carol"), await joined("blue", "Dave")
    lobby = await clients()
    alice.drain_all(), carol.drain_all()
    for sender, target in ((alice, carol), (carol, bob), (dave, alice)):
        assert await sender.refused(event, {"to": target.peer_id, **RELAYS[event]}) == "unknown-peer"
    await assert_silent(alice, bob, carol, dave, lobby)


@pytest.mark.parametrize("event", RELAYS)
async def test_relay_to_oneself_an_unknown_or_a_departed_peer_is_refused(joined, event: str) -> None:
    alice, bob = await joined("red", "Alice"), await joined("red", "Bob")
    gone = await joined("red", "Gone")
    gone_id = gone.peer_id
    await gone.close()
    for client in (alice, bob):
        assert (await client.next("peer-left"))["peerId"] == gone_id
    alice.drain_all(), bob.drain_all()
    for target in (alice.peer_id, "no-such-peer", gone_id, "", "x" * 10_000):
        assert await alice.refused(event, {"to": target, **RELAYS[event]}) == "unknown-peer"
    await assert_silent(alice, bob)


async def test_a_full_room_refuses_the_next_peer(make_server, connect) -> None:
    server = await make_server(capacity=2)
    alice = await connect(server)
    await alice.join("demo", "Alice")
    bob = await connect(server)
    await bob.join("demo", "Bob")
    assert (await alice.next("peer-joined"))["peerId"] == bob.peer_id
    carol = await connect(server)
    assert await carol.refused("join", {"room": "demo", "name": "Carol"}) == "room-full"
    await assert_silent(alice, bob, carol)
    assert (await carol.call("rooms"))["rooms"] == [{"room": "demo", "count": 2, "locked": False}]
    # A place frees up when somebody leaves.
    await bob.call("leave")
    assert (await carol.call("join", {"room": "demo", "name": "Carol"}))["ok"] is True


async def test_a_password_locks_the_room(server, clients, joined) -> None:
    alice = await joined("vault", "Alice", password="s3cret")
    bob = await clients()
    assert (await bob.call("rooms"))["rooms"] == [{"room": "vault", "count": 1, "locked": True}]
    assert await bob.refused("join", {"room": "vault", "name": "Bob"}) == "wrong-password"
    assert await bob.refused("join", {"room": "vault", "name": "Bob", "password": ""}) == "wrong-password"
    assert await bob.refused("join", {"room": "vault", "name": "Bob", "password": "S3cret"}) == "wrong-password"
    assert await bob.refused("join", {"room": "vault", "name": "Bob", "password": None}) == "wrong-password"
    await assert_silent(alice)
    await bob.join("vault", "Bob", password="s3cret")
    assert (await alice.next("peer-joined"))["peerId"] == bob.peer_id


async def test_the_password_is_stored_hashed(server, joined) -> None:
    await joined("vault", "Alice", password="s3cret-passphrase")
    store = server.app[SIGNALING_KEY].store
    stored = repr(vars(store)) if hasattr(store, "__dict__") else repr(store)
    assert "s3cret-passphrase" not in stored and "scrypt$" in stored


async def test_a_password_for_an_open_room_is_ignored(joined, clients) -> None:
    await joined("open", "Alice")
    bob = await clients()
    await bob.join("open", "Bob", password="whatever")
    assert (await bob.call("rooms"))["rooms"] == [{"room": "open", "count": 2, "locked": False}]
