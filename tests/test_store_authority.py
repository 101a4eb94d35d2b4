"""The room store's authority state, the same for the in-process store and the Redis one: host and its
succession, doors (lock, waiting room), the recording claim, the waiting queue and bans."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest

from noom.protocol import RecordingInfo, WaitingEntry
from noom.signaling.redis_store import RedisRoomStore
from noom.signaling.state import RoomStore

from .service_fixtures import bot, human, refusal
from .services import RedisServer


async def test_first_human_hosts_and_the_longest_present_human_takes_over(store: RoomStore) -> None:
    first = await store.join("r", bot("rec"), None, 8, entry="bot")
    assert first.state.host is None  # bots never host
    alice = await store.join("r", human("alice"), None, 8, sid="s-a", client="c-a")
    assert alice.state.host == "alice"
    await store.join("r", human("bob"), None, 8)
    carol = await store.join("r", human("carol"), None, 8)
    assert carol.state.host == "alice"
    assert [p.peer_id for p in carol.others] == ["rec", "alice", "bob"]
    member = await store.member("alice")
    assert member is not None and (member.room, member.sid, member.client) == ("r", "s-a", "c-a")

    left = await store.leave("alice")
    assert left is not None and left.room == "r" and left.state is not None and left.state.host == "bob"
    assert (await store.leave("carol")) == type(left)("r", None)  # not the host: nothing changed
    assert await store.leave("carol") is None
    left = await store.leave("bob")
    assert left is not None and left.state is not None and left.state.host is None  # only the bot is left
    again = await store.join("r", human("dave"), None, 8)
    assert again.state.host == "dave"


async def test_host_can_be_handed_on(store: RoomStore) -> None:
    await store.join("r", human("alice"), None, 8)
    await store.join("r", human("bob"), None, 8)
    state = await store.update_state("r", {"host": "bob"})
    assert state is not None and state.host == "bob"
    assert (await store.state("r")) == state
    left = await store.leave("bob")
    assert left is not None and left.state is not None and left.state.host == "alice"
    assert await store.update_state("nowhere", {"locked": True}) is None
    assert await store.state("nowhere") is None


async def test_lock_and_waiting_room_stop_open_joins_only(store: RoomStore) -> None:
    await store.join("r", human("alice"), "pw", 8)
    await store.update_state("r", {"locked": True})
    await refusal("room-locked", store.join("r", human("bob"), "pw", 8))
    await refusal("wrong-password", store.join("r", human("bob"), "nope", 8))  # the password comes first
    await store.join("r", human("bob"), None, 8, entry="admitted")  # its password was checked before it waited
    await store.join("r", bot("rec"), None, 8, entry="bot")  # our own bots need no password
    await store.update_state("r", {"locked": False, "waiting_room": True})
    await refusal("waiting", store.join("r", human("carol"), "pw", 8))
    await refusal("wrong-password", store.join("r", human("carol"), None, 8))
    assert [p.peer_id for p in await store.peers("r")] == ["alice", "bob", "rec"]


async def test_without_a_host_the_doors_stay_open(store: RoomStore) -> None:
    await store.join("r", human("alice"), None, 8)
    await store.join("r", bot("rec"), None, 8, entry="bot")
    await store.update_state("r", {"locked": True, "waiting_room": True})
    await store.leave("alice")  # nobody is left to let anyone in
    joined = await store.join("r", human("bob"), None, 8)
    assert joined.state.host == "bob" and joined.state.locked and joined.state.waiting_room


async def test_waiting_queue_keeps_order_and_gives_each_entry_once(store: RoomStore) -> None:
    await store.join("r", human("alice"), None, 8)
    for n, name in enumerate(["Carol", "Dan", "Eve"]):
        await store.add_waiting("r", WaitingEntry(id=f"w{n}", name=name, since=n))
    assert [e.name for e in await store.waiting("r")] == ["Carol", "Dan", "Eve"]
    taken = await asyncio.gather(store.take_waiting("r", "w1"), store.take_waiting("r", "w1"))
    assert sorted(t.name if t else "" for t in taken) == ["", "Dan"]
    assert [e.id for e in await store.waiting("r")] == ["w0", "w2"]
    await store.leave("alice")  # the room goes, and its queue with it
    assert await store.waiting("r") == []


async def test_one_recording_claim_at_a_time_cleared_when_the_recorder_leaves(store: RoomStore) -> None:
    await store.join("r", human("alice"), None, 8)
    info = RecordingInfo(by="alice", name="Alice", since=1)
    claims = await asyncio.gather(*(store.claim_recording("r", info) for _ in range(5)))
    assert claims.count(True) == 1
    assert not await store.claim_recording("nowhere", info)
    await store.join("r", bot("rec"), None, 8, entry="bot")
    assert (await store.state("r")).recording == info  # type: ignore[union-attr]
    left = await store.leave("rec")
    assert left is not None and left.state is not None and left.state.recording is None
    assert await store.claim_recording("r", info)


async def test_bans_expire_and_outlive_the_room(store: RoomStore) -> None:
    await store.join("r", human("alice"), None, 8)
    await store.ban("r", "client-1", 0.5)
    assert 0 < await store.banned("r", "client-1") <= 0.5
    assert await store.banned("r", "client-2") == 0
    assert await store.banned("other", "client-1") == 0
    await store.leave("alice")
    assert await store.banned("r", "client-1") > 0
    await asyncio.sleep(0.6)
    assert await store.banned("r", "client-1") == 0


async def test_media_changes_keep_the_seat(store: RoomStore) -> None:
    await store.join("r", human("alice"), None, 8, sid="s", client="c")
    await store.update_peer("alice", {"audio": False})
    member = await store.member("alice")
    assert member is not None and member.peer.audio is False and member.sid == "s"


# ---- the Redis store only: what several processes sharing one Redis see, and a Redis restart ----------


@pytest.fixture
async def processes(module_redis: RedisServer) -> AsyncIterator[tuple[RedisRoomStore, RedisRoomStore]]:
    a = RedisRoomStore(module_redis.url, "proc-a-" + secrets.token_hex(3))
    b = RedisRoomStore(module_redis.url, "proc-b-" + secrets.token_hex(3))
    await a.redis.flushdb()
    yield a, b
    await a.close()
    await b.close()


async def test_redis_members_and_doors_are_shared_between_processes(
    processes: tuple[RedisRoomStore, RedisRoomStore],
) -> None:
    a, b = processes
    await a.join("r", human("alice"), None, 8, sid="sid-on-a", client="c-a")
    member = await b.member("alice")
    assert member is not None and (member.sid, member.client, member.peer.name) == ("sid-on-a", "c-a", "Alice")
    await a.update_state("r", {"locked": True})
    await refusal("room-locked", b.join("r", human("bob"), None, 8))
    joined = await b.join("r", human("bob"), None, 8, entry="admitted")
    assert joined.state.host == "alice" and joined.state.locked


async def test_redis_sweep_hands_the_dead_process_hosts_room_on(
    processes: tuple[RedisRoomStore, RedisRoomStore],
) -> None:
    a, b = processes
    await a.join("r", human("alice"), None, 8)
    await a.join("r", bot("rec"), None, 8, entry="bot")
    await b.join("r", human("bob"), None, 8)
    assert await a.claim_recording("r", RecordingInfo(by="alice", name="Alice", since=1))
    await a.heartbeat(0.05)
    await asyncio.sleep(0.1)
    assert sorted(await b.sweep()) == [("alice", "r"), ("rec", "r")]
    assert b.take_swept_states() == {"r": await b.state("r")}
    state = await b.state("r")
    assert state is not None and state.host == "bob" and state.recording is None
    assert b.take_swept_states() == {}


async def test_redis_restart_restores_host_doors_and_recording(
    processes: tuple[RedisRoomStore, RedisRoomStore],
) -> None:
    a, b = processes
    info = RecordingInfo(by="alice", name="Alice", since=1)
    await a.join("r", human("alice"), "pw", 8, sid="s-a", client="c-a")
    await b.join("r", human("bob"), "pw", 8, sid="s-b", client="c-b")
    await a.update_state("r", {"locked": True, "waiting_room": True})
    assert await a.claim_recording("r", info)
    await a.join("r", bot("rec"), None, 8, entry="bot")
    await b.join("other", human("carol"), None, 8)
    await a.add_waiting("r", WaitingEntry(id="w", name="Dan", since=1))
    await a.ban("r", "c-x", 60)

    await a.redis.flushdb()  # Redis restarted empty
    await b.restore()  # bob's process first: it never saw the lock, and alice is not back yet
    state = await b.state("r")
    assert state is not None and state.host == "bob" and not state.locked and state.recording is None
    await a.restore()
    state = await b.state("r")
    assert state is not None and (state.host, state.locked, state.waiting_room) == ("alice", True, True)
    assert state.recording == info
    assert [p.peer_id for p in await b.peers("r")] == ["alice", "bob", "rec"]  # join order, not restore order
    member = await b.member("alice")
    assert member is not None and (member.sid, member.client) == ("s-a", "c-a")
    assert (await b.state("other")).host == "carol"  # type: ignore[union-attr]
    await refusal("wrong-password", b.join("r", human("eve"), "nope", 8))
    await refusal("room-locked", b.join("r", human("eve"), "pw", 8))
    # Lost with Redis, as documented: the waiting queue and bans.
    assert await a.waiting("r") == [] and await a.banned("r", "c-x") == 0

    left = await a.leave("alice")
    assert left is not None and left.state is not None and left.state.host == "bob"


async def test_redis_restore_does_not_bring_back_a_recording_without_its_recorder(
    processes: tuple[RedisRoomStore, RedisRoomStore],
) -> None:
    a, _ = processes
    await a.join("r", human("alice"), None, 8)
    assert await a.claim_recording("r", RecordingInfo(by="alice", name="Alice", since=1))
    await a.redis.flushdb()
    await a.restore()
    state = await a.state("r")
    assert state is not None and state.host == "alice" and state.recording is None


async def test_a_dropped_host_role_is_taken_back_once_by_its_client_only(store: RoomStore) -> None:
    await store.hold_host("r", "client:a", 0.5)
    assert not await store.take_host_hold("r", "client:b")
    assert await asyncio.gather(store.take_host_hold("r", "client:a"), store.take_host_hold("r", "client:a")) in (
        [True, False],
        [False, True],
    )
    await store.hold_host("r", "client:a", 0.2)
    await asyncio.sleep(0.3)
    assert not await store.take_host_hold("r", "client:a")  # too late
