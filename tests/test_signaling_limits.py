"""Every limit of protocol v1 at its edge and one past it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .helpers import assert_silent

GOOD_ROOMS = ["a", "7", "r" * 64, "Team_42-standup", "A-b_C", "0-_"]
BAD_ROOMS = ["", "r" * 65, "-team", "_team", "team room", "team.room", "team/room", "équipe", "room!", "room\n"]
GOOD_NAMES = ["A", "n" * 40, "  " + "n" * 40 + "\t ", "Zoë Ünal", "李雷", "Ann-Marie O'Neil (host)"]
BAD_NAMES = ["", "   ", "n" * 41, "a\x07b", "a\nb", "nul\x00", "zero\u200bwidth", "esc\x1b[31m", "del\x7f"]


@pytest.mark.parametrize("room", GOOD_ROOMS)
async def test_room_names_at_the_edge_are_accepted(clients, room: str) -> None:
    alice = await clients()
    assert (await alice.join(room))["room"] == room


async def test_room_names_past_the_edge_are_refused(clients) -> None:
    alice = await clients()
    for room in BAD_ROOMS:
        assert await alice.refused("join", {"room": room, "name": "Alice"}) == "bad-request", room
    assert (await alice.call("rooms"))["rooms"] == []


@pytest.mark.parametrize("name", GOOD_NAMES)
async def test_names_at_the_edge_are_accepted_and_trimmed(joined, name: str) -> None:
    alice = await joined("demo", name)
    bob = await joined("demo", "Bob")
    assert (await bob.call("chat", {"text": "x"}))["ok"]
    assert (await alice.next("peer-joined"))["name"] == "Bob"
    assert (await alice.next("chat"))["name"] == "Bob"
    ack = await bob.call("rename", {"name": name})
    assert ack == {"ok": True}
    assert await alice.next("peer-renamed") == {"peerId": bob.peer_id, "name": name.strip()}


async def test_names_past_the_edge_are_refused_on_join_and_rename(joined, clients) -> None:
    alice = await joined("demo", "Alice")
    lobby = await clients()
    for name in BAD_NAMES:
        assert await lobby.refused("join", {"room": "demo", "name": name}) == "bad-request", repr(name)
        assert await alice.refused("rename", {"name": name}) == "bad-request", repr(name)
    await assert_silent(alice, lobby)


async def test_chat_text_from_1_to_2000_characters(joined) -> None:
    alice, bob = await joined("demo", "Alice"), await joined("demo", "Bob")
    for text in ("x", "y" * 2000, "é" * 2000):
        ack = await alice.call("chat", {"text": text})
        assert ack["ok"] is True and ack["message"]["text"] == text
        assert (await bob.next("chat"))["text"] == text
    for text in ("", "z" * 2001):
        assert await alice.refused("chat", {"text": text}) == "bad-request"
    await alice.next("peer-joined")
    await assert_silent(alice, bob)


async def test_sdp_up_to_64_kib(joined) -> None:
    alice, bob = await joined("demo", "Alice"), await joined("demo", "Bob")
    limit = 64 * 1024
    sdp = "v=0\r\n" + "a" * (limit - 5)
    assert await alice.call("offer", {"to": bob.peer_id, "sdp": sdp}) == {"ok": True}
    assert await bob.next("offer") == {"from": alice.peer_id, "sdp": sdp}
    assert await alice.refused("answer", {"to": bob.peer_id, "sdp": sdp + "a"}) == "bad-request"
    # The limit counts UTF-8 bytes, not characters.
    assert await alice.refused("offer", {"to": bob.peer_id, "sdp": "é" + sdp[1:]}) == "bad-request"
    await alice.next("peer-joined")
    await assert_silent(alice, bob)


def candidate_of_size(size: int, text: str = "c") -> dict[str, Any]:
    """An ICE candidate whose compact JSON serialization is exactly ``size`` UTF-8 bytes."""
    candidate = {"candidate": "", "sdpMid": "0", "sdpMLineIndex": 0}
    room = size - len(json.dumps(candidate, separators=(",", ":")))
    unit = len(text.encode())
    candidate["candidate"] = text * (room // unit) + "c" * (room % unit)
    assert len(json.dumps(candidate, separators=(",", ":"), ensure_ascii=False).encode()) == size
    return candidate


async def test_candidate_up_to_2_kib_serialized(joined) -> None:
    alice, bob = await joined("demo", "Alice"), await joined("demo", "Bob")
    for candidate in (candidate_of_size(2048), candidate_of_size(2048, "é")):
        assert await alice.call("ice", {"to": bob.peer_id, "candidate": candidate}) == {"ok": True}
        assert await bob.next("ice") == {"from": alice.peer_id, "candidate": candidate}
    for candidate in (candidate_of_size(2049), candidate_of_size(2049, "é")):
        assert await alice.refused("ice", {"to": bob.peer_id, "candidate": candidate}) == "bad-request"
    await alice.next("peer-joined")
    await assert_silent(alice, bob)


async def test_eight_peers_fit_and_the_ninth_gets_room_full(clients, joined) -> None:
    members = [await joined("big", f"P{i}") for i in range(8)]
    ninth = await clients()
    assert await ninth.refused("join", {"room": "big", "name": "P8"}) == "room-full"
    assert (await ninth.call("rooms"))["rooms"] == [{"room": "big", "count": 8, "locked": False}]
    # The others never heard of the ninth.
    for member in members:
        member.drain("peer-joined")
    await assert_silent(*members)


async def test_the_join_ack_carries_the_last_50_chat_messages_in_order(joined, clients) -> None:
    alice = await joined("chatty", "Alice")
    sent = [(await alice.call("chat", {"text": f"message {i}"}))["message"] for i in range(57)]
    bob = await clients()
    ack = await bob.join("chatty", "Bob")
    assert ack["chat"] == sent[-50:]
    # Still 50 after more messages, the oldest dropping first.
    sent.append((await bob.call("chat", {"text": "from bob"}))["message"])
    carol = await clients()
    assert (await carol.join("chatty", "Carol"))["chat"] == sent[-50:]


async def test_a_short_history_is_given_whole(joined, clients) -> None:
    alice = await joined("quiet", "Alice")
    sent = [(await alice.call("chat", {"text": f"m{i}"}))["message"] for i in range(3)]
    bob = await clients()
    assert (await bob.join("quiet", "Bob"))["chat"] == sent


async def test_a_packet_over_128_kib_closes_the_connection(joined) -> None:
    # Documented transport limit (Engine.IO maxPayload): no ack is possible, the socket is dropped.
    alice, bob = await joined("demo", "Alice"), await joined("demo", "Bob")
    await bob.sio.emit("chat", {"text": "x" * (128 * 1024)})
    assert await alice.next("peer-left") == {"peerId": bob.peer_id, "reason": "disconnected"}
