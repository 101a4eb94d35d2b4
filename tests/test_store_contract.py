"""The room store's membership contract, the same for the in-process store and the Redis one (``store`` runs
each test against both): rooms made by the first join and gone with the last leave (password and chat with
them), capacity, passwords, the lobby's list, peers in join order, media and name changes, chat history.
The authority half of the contract (host, doors, recording, bans) is tests/test_store_authority.py."""

from __future__ import annotations

import asyncio

from noom.protocol import ChatMessage, RoomSummary
from noom.signaling.state import RoomStore

from .service_fixtures import bot, human, refusal

CAPACITY = 3


def chat(n: int) -> ChatMessage:
    return ChatMessage(id=f"m{n}", from_="alice", name="Alice", text=f"message {n}", ts=n)


async def test_the_first_join_makes_the_room_and_later_ones_see_everyone_before_them(store: RoomStore) -> None:
    first = await store.join("r", human("alice"), None, CAPACITY)
    assert first.room == "r" and first.others == [] and first.chat == []
    await store.join("r", bot("rec"), None, CAPACITY)
    third = await store.join("r", human("carol"), None, CAPACITY)
    assert [p.peer_id for p in third.others] == ["alice", "rec"]
    assert [p.peer_id for p in await store.peers("r")] == ["alice", "rec", "carol"]
    assert await store.room_of("carol") == "r" and await store.room_of("nobody") is None
    member = await store.member("rec")
    assert member is not None and member.room == "r" and member.peer == bot("rec")


async def test_a_full_room_refuses_and_changes_nothing(store: RoomStore) -> None:
    for n in range(CAPACITY):
        await store.join("r", human(f"p{n}"), None, CAPACITY)
    await refusal("room-full", store.join("r", human("late"), None, CAPACITY))
    assert len(await store.peers("r")) == CAPACITY and await store.room_of("late") is None
    # Concurrent joins for the last seat: exactly one gets it.
    await store.leave("p0")
    results = await asyncio.gather(
        *(store.join("r", human(f"q{n}"), None, CAPACITY) for n in range(4)), return_exceptions=True
    )
    assert sum(not isinstance(r, Exception) for r in results) == 1, results
    assert len(await store.peers("r")) == CAPACITY


async def test_the_password_is_the_creators_and_goes_with_the_room(store: RoomStore) -> None:
    await store.join("r", human("alice"), "s3cret", CAPACITY)
    await refusal("wrong-password", store.join("r", human("bob"), None, CAPACITY))
    await refusal("wrong-password", store.join("r", human("bob"), "guess", CAPACITY))
    await store.join("r", human("bob"), "s3cret", CAPACITY)
    assert await store.rooms() == [RoomSummary(room="r", count=2, locked=True)]
    # A password given for a room that has none is ignored.
    await store.join("open", human("carol"), None, CAPACITY)
    await store.join("open", human("dan"), "anything", CAPACITY)
    # The last one out takes the password with the room: the next join makes a new, open room.
    await store.leave("alice")
    await store.leave("bob")
    await store.join("r", human("eve"), None, CAPACITY)
    assert RoomSummary(room="r", count=1, locked=False) in await store.rooms()


async def test_the_lobby_lists_listed_rooms_with_their_counts(store: RoomStore) -> None:
    await store.join("a", human("alice"), None, CAPACITY)
    await store.join("a", human("bob"), None, CAPACITY)
    await store.join("echo-x", bot("echo", "echo"), None, CAPACITY, unlisted=True)
    await store.join("b", human("carol"), None, CAPACITY)
    listed = sorted(await store.rooms(), key=lambda r: r.room)
    assert listed == [RoomSummary(room="a", count=2, locked=False), RoomSummary(room="b", count=1, locked=False)]
    await store.leave("carol")
    assert [r.room for r in await store.rooms()] == ["a"]


async def test_leaving_says_which_room_and_only_once(store: RoomStore) -> None:
    await store.join("r", human("alice"), None, CAPACITY)
    await store.join("r", human("bob"), None, CAPACITY)
    left = await store.leave("bob")
    assert left is not None and left.room == "r"
    assert await store.leave("bob") is None and await store.leave("never-joined") is None
    assert [p.peer_id for p in await store.peers("r")] == ["alice"]
    assert await store.member("bob") is None


async def test_peer_changes_are_kept_and_unknown_peers_refused(store: RoomStore) -> None:
    await store.join("r", human("alice"), None, CAPACITY)
    changed = await store.update_peer("alice", {"audio": False, "hand": True})
    assert changed is not None and (changed.audio, changed.hand, changed.video) == (False, True, True)
    renamed = await store.update_peer("alice", {"name": "Ada"})
    assert renamed is not None and renamed.name == "Ada" and renamed.audio is False
    assert (await store.join("r", human("bob"), None, CAPACITY)).others == [renamed]
    assert await store.update_peer("nobody", {"audio": False}) is None


async def test_chat_history_keeps_the_last_messages_and_goes_with_the_room(store: RoomStore) -> None:
    await store.join("r", human("alice"), None, CAPACITY)
    for n in range(5):
        await store.add_chat("r", chat(n), keep=3)
    await store.add_chat("no-such-room", chat(99), keep=3)  # a room that is gone keeps nothing
    joined = await store.join("r", human("bob"), None, CAPACITY)
    assert joined.chat == [chat(2), chat(3), chat(4)]
    await store.leave("alice")
    await store.leave("bob")
    assert (await store.join("r", human("carol"), None, CAPACITY)).chat == []
    assert (await store.join("no-such-room", human("dan"), None, CAPACITY)).chat == []
