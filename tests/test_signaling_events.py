"""The success path of every client event of protocol v1, and what the other sockets see."""

from __future__ import annotations

import asyncio
import re
import time

import pytest

from .helpers import assert_silent, peer


async def test_join_acks_the_room_and_announces_the_newcomer(clients, joined) -> None:
    alice = await clients()
    a = await alice.join("demo", "Alice")
    state = {"host": alice.peer_id, "locked": False, "waitingRoom": False, "recording": None}
    assert a == {
        "ok": True,
        "peerId": alice.peer_id,
        "room": "demo",
        "peers": [],
        "iceServers": [],
        "chat": [],
        "state": state,
    }
    bob = await clients()
    b = await bob.join("demo", "Bob")
    assert b["peers"] == [peer(alice.peer_id, "Alice")] and b["room"] == "demo"
    assert await alice.next("peer-joined") == peer(bob.peer_id, "Bob")
    await assert_silent(alice, bob)


async def test_join_ack_lists_the_others_in_join_order_with_their_state(clients, joined) -> None:
    alice, bob = await joined("demo", "Alice"), await joined("demo", "Bob")
    assert (await bob.call("media", {"video": False, "hand": True}))["ok"]
    carol = await clients()
    ack = await carol.join("demo", "Carol")
    hand_at = ack["peers"][1]["handAt"]
    assert isinstance(hand_at, int) and abs(hand_at / 1000 - time.time()) < 60, hand_at
    bob_state = peer(bob.peer_id, "Bob", video=False, hand=True, handAt=hand_at)
    assert ack["peers"] == [peer(alice.peer_id, "Alice"), bob_state]


async def test_a_bot_joins_with_its_kind_and_role(server, clients, joined) -> None:
    alice = await joined("demo", "Alice")
    bot = await clients(auth=server.bot_auth)
    await bot.join("demo", "Recorder", kind="bot", role="recorder")
    assert await alice.next("peer-joined") == peer(bot.peer_id, "Recorder", kind="bot", role="recorder")


async def test_leave_tells_the_others_and_nobody_else(clients, joined) -> None:
    alice, bob = await joined("demo", "Alice"), await joined("demo", "Bob")
    carol = await joined("elsewhere", "Carol")
    await alice.next("peer-joined")
    assert await bob.call("leave", {}) == {"ok": True}
    assert await alice.next("peer-left") == {"peerId": bob.peer_id, "reason": "left"}
    # Bob is back in the lobby: he gets the room list, but no peer-left about himself.
    assert {"room": "demo", "count": 1, "locked": False} in (await bob.next("rooms"))["rooms"]
    await assert_silent(alice, bob, carol)


async def test_leave_without_payload_is_accepted(clients, joined) -> None:
    alice = await joined("demo")
    assert await alice.call("leave") == {"ok": True}


@pytest.mark.parametrize("event", ["offer", "answer"])
async def test_offer_and_answer_reach_the_target_alone(clients, joined, event: str) -> None:
    alice, bob, carol = await joined("demo", "Alice"), await joined("demo", "Bob"), await joined("demo", "Carol")
    alice.drain_all(), bob.drain_all()
    sdp = f"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na={event}\r\n"
    assert await alice.call(event, {"to": bob.peer_id, "sdp": sdp}) == {"ok": True}
    assert await bob.next(event) == {"from": alice.peer_id, "sdp": sdp}
    await assert_silent(alice, bob, carol)


@pytest.mark.parametrize(
    "candidate",
    [
        {"candidate": "candidate:1 1 udp 2122260223 10.99.0.1 50000 typ host", "sdpMid": "0", "sdpMLineIndex": 0},
        {"candidate": "", "sdpMid": "0", "sdpMLineIndex": 0, "usernameFragment": "abcd"},
        None,
    ],
    ids=["candidate", "end-of-candidates-object", "null"],
)
async def test_ice_reaches_the_target_alone(clients, joined, candidate) -> None:
    alice, bob, carol = await joined("demo", "Alice"), await joined("demo", "Bob"), await joined("demo", "Carol")
    alice.drain_all(), bob.drain_all()
    assert await alice.call("ice", {"to": bob.peer_id, "candidate": candidate}) == {"ok": True}
    assert await bob.next("ice") == {"from": alice.peer_id, "candidate": candidate}
    await assert_silent(alice, bob, carol)


async def test_chat_acks_the_message_and_sends_it_to_the_others(clients, joined) -> None:
    alice, bob = await joined("demo", "Alice"), await joined("demo", "Bob")
    carol = await joined("elsewhere", "Carol")
    alice.drain_all()
    before = int(time.time() * 1000)
    ack = await alice.call("chat", {"text": "hello there"})
    after = int(time.time() * 1000)
    assert ack["ok"] is True and set(ack) == {"ok", "message"}
    message = ack["message"]
    assert set(message) == {"id", "from", "name", "text", "ts"}
    assert (message["from"], message["name"], message["text"]) == (alice.peer_id, "Alice", "hello there")
    assert isinstance(message["id"], str) and message["id"] and before <= message["ts"] <= after
    assert await bob.next("chat") == message
    await assert_silent(alice, bob, carol)


async def test_chat_ids_are_unique(clients, joined) -> None:
    alice = await joined("demo")
    ids = {(await alice.call("chat", {"text": str(i)}))["message"]["id"] for i in range(10)}
    assert len(ids) == 10


async def test_media_sends_the_full_state_to_the_others(clients, joined) -> None:
    alice, bob = await joined("demo", "Alice"), await joined("demo", "Bob")
    await alice.next("peer-joined")
    assert (await alice.call("media", {"hand": True}))["ok"]
    raised = await bob.next("media")
    expected = {"peerId": alice.peer_id, "audio": True, "video": True, "screen": False, "hand": True}
    assert raised == expected | {"handAt": raised["handAt"]} and isinstance(raised["handAt"], int)
    expected["handAt"] = raised["handAt"]
    # Raising a raised hand again keeps its place in the queue.
    assert (await alice.call("media", {"audio": False, "screen": True, "hand": True}))["ok"]
    assert await bob.next("media") == expected | {"audio": False, "screen": True}
    assert (await alice.call("media", {"audio": True, "video": False, "screen": False, "hand": False}))["ok"]
    assert await bob.next("media") == expected | {"video": False, "hand": False, "handAt": None}
    await assert_silent(alice, bob)


async def test_raised_hands_are_ordered_by_when_they_went_up(clients, joined) -> None:
    alice, bob, carol = [await joined("demo", name) for name in ("Alice", "Bob", "Carol")]
    for raiser in (carol, alice):
        assert (await raiser.call("media", {"hand": True}))["ok"]
        await asyncio.sleep(0.01)  # the server's clock is in milliseconds
    assert (await bob.call("media", {"hand": True}))["ok"]
    newcomer = await clients()
    ack = await newcomer.join("demo", "Dan")
    queue = sorted((p for p in ack["peers"] if p["hand"]), key=lambda p: p["handAt"])
    assert [p["name"] for p in queue] == ["Carol", "Alice", "Bob"]


async def test_rename_reaches_the_others_and_later_joiners(clients, joined) -> None:
    alice, bob = await joined("demo", "Alice"), await joined("demo", "Bob")
    assert await alice.call("rename", {"name": "  Alicia  "}) == {"ok": True}
    assert await bob.next("peer-renamed") == {"peerId": alice.peer_id, "name": "Alicia"}
    carol = await clients()
    ack = await carol.join("demo", "Carol")
    assert peer(alice.peer_id, "Alicia") in ack["peers"]
    assert (await alice.call("chat", {"text": "hi"}))["message"]["name"] == "Alicia"
    assert [p["name"] for p in alice.drain("peer-joined")] == ["Bob", "Carol"]
    await assert_silent(alice)


async def test_rooms_lists_every_room_with_count_and_lock(clients, joined) -> None:
    lobby = await clients()
    assert await lobby.call("rooms", {}) == {"ok": True, "rooms": []}
    alice = await joined("open", "Alice")
    await joined("open", "Bob")
    await joined("closed", "Carol", password="s3cret")
    expected = [{"room": "open", "count": 2, "locked": False}, {"room": "closed", "count": 1, "locked": True}]
    ack = await lobby.call("rooms", {})
    assert ack["ok"] is True and sorted(ack["rooms"], key=str) == sorted(expected, key=str)
    # Sockets in a room may ask too, with or without a payload.
    assert sorted((await alice.call("rooms"))["rooms"], key=str) == sorted(expected, key=str)


async def test_peer_ids_are_random_and_not_socket_ids(clients, joined) -> None:
    ids = set()
    for i in range(12):
        client = await clients()
        await client.join("demo" if i < 6 else "other", f"P{i}")
        assert client.peer_id not in (client.sio.sid, client.sio.eio.sid, client.sio.get_sid("/"))
        assert re.fullmatch(r"[A-Za-z0-9_-]{16,}", client.peer_id), client.peer_id
        ids.add(client.peer_id)
    assert len(ids) == 12
    # Ids share no common prefix beyond chance, i.e. they are not counters or timestamps.
    assert len({peer_id[:4] for peer_id in ids}) > 6


@pytest.mark.parametrize(
    "transports", [["websocket"], ["polling"], ["polling", "websocket"]], ids=["websocket", "polling", "upgrade"]
)
async def test_both_transports_carry_the_protocol(clients, joined, transports: list[str]) -> None:
    alice = await clients(transports=transports)
    assert alice.sio.transport() in transports
    await alice.join("demo", "Alice")
    bob = await joined("demo", "Bob")
    assert await alice.next("peer-joined") == peer(bob.peer_id, "Bob")
    assert await bob.call("offer", {"to": alice.peer_id, "sdp": "v=0"}) == {"ok": True}
    assert await alice.next("offer") == {"from": bob.peer_id, "sdp": "v=0"}
    assert await alice.call("answer", {"to": bob.peer_id, "sdp": "v=0 answer"}) == {"ok": True}
    assert await bob.next("answer") == {"from": alice.peer_id, "sdp": "v=0 answer"}
    message = (await alice.call("chat", {"text": "over " + transports[0]}))["message"]
    assert await bob.next("chat") == message
    await alice.close()
    assert await bob.next("peer-left") == {"peerId": alice.peer_id, "reason": "disconnected"}


async def test_a_client_sent_disconnect_event_does_not_drop_the_peer(clients, joined) -> None:
    alice, bob = await joined("demo", "Alice"), await joined("demo", "Bob")
    await alice.next("peer-joined")
    for reserved in ("disconnect", "connect", "message"):
        await bob.sio.emit(reserved, {"room": "demo"})
    await assert_silent(alice, bob)
    assert bob.sio.connected
    ack = await bob.call("chat", {"text": "still here"})
    assert ack["ok"] is True
    assert await alice.next("chat") == ack["message"]


async def test_an_unknown_event_gets_a_bad_request_ack(joined) -> None:
    alice = await joined("demo", "Alice")
    ack = await alice.call("teleport", {"to": "mars"})
    assert ack["ok"] is False and ack["error"]["code"] == "bad-request" and "teleport" in ack["error"]["message"]
    assert (await alice.call("chat", {"text": "still connected"}))["ok"] is True


async def test_reactions_reach_the_others_and_only_the_fixed_set(joined) -> None:
    alice, bob, carol = [await joined("demo", name) for name in ("Alice", "Bob", "Carol")]
    for client, newcomers in ((alice, 2), (bob, 1)):
        for _ in range(newcomers):
            await client.next("peer-joined")
    assert await alice.call("reaction", {"emoji": "🎉"}) == {"ok": True}
    for other in (bob, carol):
        assert await other.next("reaction") == {"from": alice.peer_id, "emoji": "🎉"}
    for bad in ("x", "🎉🎉", "<b>hi</b>", ""):
        assert await alice.refused("reaction", {"emoji": bad}) == "bad-request", bad
    await assert_silent(alice, bob, carol)
