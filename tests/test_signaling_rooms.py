"""Room lifecycle: switching rooms, disconnects, the lobby's live room list, and rooms vanishing when empty."""

from __future__ import annotations

from noom.app import SIGNALING_KEY

from .helpers import assert_silent, peer


def summary(room: str, count: int, locked: bool = False) -> dict[str, object]:
    return {"room": room, "count": count, "locked": locked}


async def test_joining_a_second_room_leaves_the_first(joined, clients) -> None:
    alice, bob = await joined("first", "Alice"), await joined("first", "Bob")
    carol = await joined("second", "Carol")
    old_id = alice.peer_id
    await alice.next("peer-joined")
    ack = await alice.join("second", "Alice")
    assert ack["peers"] == [peer(carol.peer_id, "Carol")] and alice.peer_id != old_id
    assert await bob.next("peer-left") == {"peerId": old_id, "reason": "left"}
    assert (await bob.next("room-state"))["host"] == bob.peer_id  # the host left: Bob hosts now
    assert await carol.next("peer-joined") == peer(alice.peer_id, "Alice")
    # Alice hears nothing more from the first room, and the moving socket got no lobby push on the way.
    await bob.call("chat", {"text": "anyone?"})
    await assert_silent(alice, bob, carol)
    lobby = await clients()
    rooms = (await lobby.call("rooms"))["rooms"]
    assert sorted(rooms, key=str) == sorted([summary("first", 1), summary("second", 2)], key=str)


async def test_a_refused_join_leaves_the_socket_where_it_was(make_server, connect) -> None:
    server = await make_server(capacity=1)
    alice = await connect(server)
    await alice.join("first", "Alice")
    bob = await connect(server)
    await bob.join("second", "Bob")
    carol = await connect(server)
    await carol.join("vault", "Carol", password="pw")
    assert await alice.refused("join", {"room": "second", "name": "Alice"}) == "room-full"
    assert await alice.refused("join", {"room": "vault", "name": "Alice", "password": "guess"}) == "wrong-password"
    # Alice is still in her room, with the same peer id, and nobody heard of her attempts.
    ack = await alice.call("chat", {"text": "still here"})
    assert ack["ok"] is True and ack["message"]["from"] == alice.peer_id
    await assert_silent(alice, bob, carol)


async def test_joining_ones_own_room_again_makes_a_new_peer(make_server, connect) -> None:
    server = await make_server(capacity=2)
    alice = await connect(server)
    await alice.join("demo", "Alice")
    bob = await connect(server)
    await bob.join("demo", "Bob")
    old_id = alice.peer_id
    ack = await alice.join("demo", "Alicia")  # the room is full, but her own place counts as free
    assert ack["peers"] == [peer(bob.peer_id, "Bob")] and alice.peer_id != old_id
    assert await bob.next("peer-left") == {"peerId": old_id, "reason": "left"}
    assert await bob.next("peer-joined") == peer(alice.peer_id, "Alicia")


async def test_disconnect_without_leave_tells_the_others(joined) -> None:
    alice, bob, carol = await joined("demo", "Alice"), await joined("demo", "Bob"), await joined("demo", "Carol")
    await bob.close()
    for other in (alice, carol):
        assert await other.next("peer-left") == {"peerId": bob.peer_id, "reason": "disconnected"}
    ack = await alice.call("chat", {"text": "bye bob"})
    assert await carol.next("chat") == ack["message"]


async def test_lobby_sockets_get_rooms_on_every_change(clients, joined) -> None:
    lobby = await clients()
    alice = await joined("demo", "Alice")
    assert await lobby.next("rooms") == {"rooms": [summary("demo", 1)]}  # a room appears
    bob = await joined("demo", "Bob")
    assert await lobby.next("rooms") == {"rooms": [summary("demo", 2)]}  # its count grows
    carol = await joined("vault", "Carol", password="pw")
    pushed = (await lobby.next("rooms"))["rooms"]  # in no particular order
    assert sorted(pushed, key=str) == sorted([summary("demo", 2), summary("vault", 1, locked=True)], key=str)
    await carol.call("leave")
    assert await lobby.next("rooms") == {"rooms": [summary("demo", 2)]}  # it empties and goes
    assert await carol.next("rooms") == {"rooms": [summary("demo", 2)]}  # the leaver is in the lobby now
    await bob.close()
    assert await lobby.next("rooms") == {"rooms": [summary("demo", 1)]}  # its count shrinks
    assert await carol.next("rooms") == {"rooms": [summary("demo", 1)]}
    await alice.call("leave")
    assert await lobby.next("rooms") == {"rooms": []}
    assert await carol.next("rooms") == {"rooms": []}
    await assert_silent(lobby, carol)


async def test_sockets_in_a_room_get_no_rooms_pushes(clients, joined) -> None:
    alice = await joined("demo", "Alice")
    bob = await joined("other", "Bob")
    lobby = await clients()
    carol = await joined("third", "Carol")
    await carol.call("leave")
    await bob.close()
    assert [len(push["rooms"]) for push in [await lobby.next("rooms") for _ in range(3)]] == [3, 2, 1]
    assert alice.drain("rooms") == []
    await assert_silent(alice)


async def test_an_empty_room_is_gone_with_its_chat_and_password(clients, joined) -> None:
    alice = await joined("vault", "Alice", password="s3cret")
    await alice.call("chat", {"text": "secret plans"})
    bob = await joined("vault", "Bob", password="s3cret")
    await alice.call("leave")
    assert await alice.next("rooms") == {"rooms": [summary("vault", 1, locked=True)]}
    await bob.close()
    assert await alice.next("rooms") == {"rooms": []}
    carol = await clients()
    ack = await carol.join("vault", "Carol")  # no password needed any more
    assert ack["chat"] == [] and ack["peers"] == []
    assert (await carol.call("rooms"))["rooms"] == [summary("vault", 1)]


async def test_a_burst_of_changes_is_folded_into_one_push_of_the_latest_list(make_server, connect) -> None:
    server = await make_server(rooms_push_interval=0.5)
    lobby = await connect(server)
    first = await connect(server)
    await first.join("room-0", "P0")
    assert await lobby.next("rooms") == {"rooms": [summary("room-0", 1)]}  # the first change goes out at once
    others = [await connect(server) for _ in range(5)]
    for i, client in enumerate(others, start=1):
        await client.join(f"room-{i}", f"P{i}")
    folded = await lobby.next("rooms", timeout=5)
    assert sorted(r["room"] for r in folded["rooms"]) == [f"room-{i}" for i in range(6)]
    # A further push could only come from the fold's timer, which a sentinel cannot see before it fires:
    # none is set, and nothing else is on its way.
    assert server.app[SIGNALING_KEY]._rooms_push_pending is None
    await assert_silent(lobby)


async def test_an_unlisted_room_stays_out_of_the_list_but_can_be_joined(clients, joined) -> None:
    lobby = await clients()
    host = await clients()
    ack = await host.call("join", {"room": "private-check", "name": "Host", "unlisted": True})
    assert ack["ok"]
    guest = await joined("private-check", "Guest")  # joining by name still works
    assert (await host.next("peer-joined"))["peerId"] == guest.peer_id
    listed = await joined("public-room", "Pat")
    assert (await lobby.call("rooms"))["rooms"] == [summary("public-room", 1)]
    pushes = lobby.drain("rooms")
    assert pushes and all(p["rooms"] in ([], [summary("public-room", 1)]) for p in pushes)
    # "unlisted" counts only when creating: it cannot hide a room that exists.
    await listed.call("leave")
    await joined("public-room", "Pat")
    other = await clients()
    assert (await other.call("join", {"room": "public-room", "name": "Sly", "unlisted": True}))["ok"]
    assert (await lobby.call("rooms"))["rooms"] == [summary("public-room", 2)]
