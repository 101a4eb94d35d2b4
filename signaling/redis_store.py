"""The Redis ``RoomStore``: rooms shared by every Noom process that points at the same Redis.

Every change that must be atomic (join with its capacity and password checks, leave with the room's
deletion, the sweep of a dead process) is one Lua script, so no other process ever sees half of it.
Keys, all under ``noom:``:

- ``room:<r>`` hash ``{pw, unlisted}`` (scrypt hash or "", "1" for a room kept out of the list): exists while
  the room has peers;
  ``room:<r>:peers`` hash peerId -> Peer JSON; ``room:<r>:order`` list of peerIds in join order;
  ``room:<r>:chat`` list of ChatMessage JSON, capped; ``rooms`` sorted set of room names by creation.
- ``peer:<id>`` hash ``{room, proc}``: where a peer is and which process holds its socket.
- ``procs`` set of process ids; ``proc:<p>:alive`` heartbeat with a TTL; ``proc:<p>:peers`` set of
  its peers; ``proc:<p>:swept`` tombstone left when another process swept it as dead.

Each store also keeps the peers of its own process (and their rooms' password hashes) in memory, so
that after Redis restarts empty it can write them back (``restore``): peers who stay connected keep
their rooms. Chat history does not survive a Redis restart.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import msgspec
from redis import asyncio as aioredis

from .passwords import hash_password, verify_password
from .protocol import ChatMessage, Peer, ProtocolError, RoomSummary
from .state import Joined, RoomStore

log = logging.getLogger(__name__)

PREFIX = "noom:"
# How often join retries when another process created or emptied the room between our read and write.
JOIN_ATTEMPTS = 8
# A tombstone outlives any plausible stall of a process; it only has to be seen by that process's next beat.
TOMBSTONE_SECONDS = 3600

_LEAVE_FN = """
local function leave(p, id)
  local pk = p .. 'peer:' .. id
  local room = redis.call('HGET', pk, 'room')
  if not room then return false end
  local proc = redis.call('HGET', pk, 'proc')
  redis.call('DEL', pk)
  if proc then redis.call('SREM', p .. 'proc:' .. proc .. ':peers', id) end
  local rk = p .. 'room:' .. room
  redis.call('HDEL', rk .. ':peers', id)
  redis.call('LREM', rk .. ':order', 0, id)
  if redis.call('HLEN', rk .. ':peers') == 0 then
    redis.call('DEL', rk, rk .. ':peers', rk .. ':order', rk .. ':chat')
    redis.call('ZREM', p .. 'rooms', room)
  end
  return room
end
"""

# ARGV: prefix, room, peerId, peer JSON, seen ('1' if the caller saw the room), seen pw, new pw,
# capacity, process, now (ms), unlisted ('1' keeps a new room out of the list).
# Returns {'retry'} | {'full'} | {'ok', pw, others, chat, unlisted}.
_JOIN = """
local p, room, id, peer, seen, seenpw, newpw = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local cap, proc, now, unlisted = tonumber(ARGV[8]), ARGV[9], ARGV[10], ARGV[11]
local rk = p .. 'room:' .. room
local cur = redis.call('HGET', rk, 'pw')
if not cur then
  if seen == '1' then return {'retry'} end
  redis.call('HSET', rk, 'pw', newpw, 'unlisted', unlisted)
  if unlisted ~= '1' then redis.call('ZADD', p .. 'rooms', now, room) end
  cur = newpw
elseif seen ~= '1' or cur ~= seenpw then
  return {'retry'}
end
if redis.call('HLEN', rk .. ':peers') >= cap then return {'full'} end
local others = {}
for _, other in ipairs(redis.call('LRANGE', rk .. ':order', 0, -1)) do
  local state = redis.call('HGET', rk .. ':peers', other)
  if state then table.insert(others, state) end
end
local chat = redis.call('LRANGE', rk .. ':chat', 0, -1)
redis.call('HSET', rk .. ':peers', id, peer)
redis.call('RPUSH', rk .. ':order', id)
redis.call('HSET', p .. 'peer:' .. id, 'room', room, 'proc', proc)
redis.call('SADD', p .. 'proc:' .. proc .. ':peers', id)
return {'ok', cur, others, chat, redis.call('HGET', rk, 'unlisted') or '0'}
"""

_LEAVE = _LEAVE_FN + "return leave(ARGV[1], ARGV[2])"

_PEERS = """
local rk = ARGV[1] .. 'room:' .. ARGV[2]
local out = {}
for _, id in ipairs(redis.call('LRANGE', rk .. ':order', 0, -1)) do
  local state = redis.call('HGET', rk .. ':peers', id)
  if state then table.insert(out, state) end
end
return out
"""

# ARGV: prefix, peerId, changes JSON. Returns the new Peer JSON or false.
_UPDATE = """
local room = redis.call('HGET', ARGV[1] .. 'peer:' .. ARGV[2], 'room')
if not room then return false end
local hk = ARGV[1] .. 'room:' .. room .. ':peers'
local state = redis.call('HGET', hk, ARGV[2])
if not state then return false end
local peer = cjson.decode(state)
for k, v in pairs(cjson.decode(ARGV[3])) do peer[k] = v end
state = cjson.encode(peer)
redis.call('HSET', hk, ARGV[2], state)
return state
"""

_CHAT = """
local rk = ARGV[1] .. 'room:' .. ARGV[2]
if redis.call('EXISTS', rk) == 0 then return 0 end
redis.call('RPUSH', rk .. ':chat', ARGV[3])
redis.call('LTRIM', rk .. ':chat', -tonumber(ARGV[4]), -1)
return 1
"""

# ARGV: prefix, process, ttl ms. Returns {alive before, swept tombstone present}.
_HEARTBEAT = """
local p, proc = ARGV[1], ARGV[2]
local was = redis.call('EXISTS', p .. 'proc:' .. proc .. ':alive')
local swept = redis.call('EXISTS', p .. 'proc:' .. proc .. ':swept')
redis.call('SET', p .. 'proc:' .. proc .. ':alive', '1', 'PX', ARGV[3])
redis.call('SADD', p .. 'procs', proc)
return {was, swept}
"""

# ARGV: prefix, dead process. Removes its peers when its heartbeat has expired; returns {id, room, ...}.
_SWEEP = (
    _LEAVE_FN
    + """
local p, proc = ARGV[1], ARGV[2]
if redis.call('EXISTS', p .. 'proc:' .. proc .. ':alive') == 1 then return {} end
local out = {}
local set = p .. 'proc:' .. proc .. ':peers'
for _, id in ipairs(redis.call('SMEMBERS', set)) do
  local room = leave(p, id)
  if room then table.insert(out, id); table.insert(out, room) end
end
redis.call('DEL', set)
redis.call('SREM', p .. 'procs', proc)
redis.call('SET', p .. 'proc:' .. proc .. ':swept', '1', 'EX', ARGV[3])
return out
"""
)

# ARGV: prefix, room, peerId, peer JSON, pw, process, now, unlisted. Puts back a peer this process still serves.
_RESTORE = """
local p, room, id, peer, pw, proc, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local rk = p .. 'room:' .. room
if redis.call('EXISTS', rk) == 0 then
  redis.call('HSET', rk, 'pw', pw, 'unlisted', ARGV[8])
  if ARGV[8] ~= '1' then redis.call('ZADD', p .. 'rooms', 'NX', now, room) end
end
if redis.call('HEXISTS', rk .. ':peers', id) == 0 then
  redis.call('HSET', rk .. ':peers', id, peer)
  redis.call('RPUSH', rk .. ':order', id)
end
redis.call('HSET', p .. 'peer:' .. id, 'room', room, 'proc', proc)
redis.call('SADD', p .. 'proc:' .. proc .. ':peers', id)
return 1
"""

_peer_decoder = msgspec.json.Decoder(Peer)
_chat_decoder = msgspec.json.Decoder(ChatMessage)


@dataclass(slots=True)
class _Mine:
    room: str
    peer: Peer
    unlisted: bool = False


@dataclass(frozen=True, slots=True)
class Beat:
    """What one heartbeat found: whether our registration had vanished and whether we were swept."""

    lost: bool
    swept: bool


def connect(url: str) -> aioredis.Redis:
    """A client that fails fast (so health notices an outage) and reconnects on the next command."""
    return aioredis.Redis.from_url(
        url, decode_responses=True, socket_timeout=3, socket_connect_timeout=3, health_check_interval=5
    )


class RedisRoomStore(RoomStore):
    def __init__(self, url: str, process_id: str, redis: aioredis.Redis | None = None) -> None:
        self.process_id = process_id
        self.redis = redis or connect(url)
        self._mine: dict[str, _Mine] = {}
        self._room_pw: dict[str, str] = {}
        r = self.redis
        self._join = r.register_script(_JOIN)
        self._leave = r.register_script(_LEAVE)
        self._peers = r.register_script(_PEERS)
        self._update = r.register_script(_UPDATE)
        self._chat = r.register_script(_CHAT)
        self._heartbeat = r.register_script(_HEARTBEAT)
        self._sweep = r.register_script(_SWEEP)
        self._restore = r.register_script(_RESTORE)

    # ---- RoomStore --------------------------------------------------------------------------------

    async def join(self, room: str, peer: Peer, password: str | None, capacity: int, unlisted: bool = False) -> Joined:
        peer_json = msgspec.json.encode(peer).decode()
        for _ in range(JOIN_ATTEMPTS):
            seen_pw = await self.redis.hget(PREFIX + "room:" + room, "pw")
            new_pw = ""
            if seen_pw is None:
                new_pw = await hash_password(password) if password else ""
            elif seen_pw and (not password or not await verify_password(password, seen_pw)):
                raise ProtocolError(
                    "wrong-password", "this room has a password and the one given does not match: ask the host for it"
                )
            result = await self._join(
                args=[
                    PREFIX,
                    room,
                    peer.peer_id,
                    peer_json,
                    "0" if seen_pw is None else "1",
                    seen_pw or "",
                    new_pw,
                    capacity,
                    self.process_id,
                    _now_ms(),
                    "1" if unlisted else "0",
                ]
            )
            if result[0] == "full":
                raise ProtocolError("room-full", f"this room already has {capacity} participants: try another room")
            if result[0] == "ok":
                _, pw, others, chat, room_unlisted = result
                self._mine[peer.peer_id] = _Mine(room, peer, room_unlisted == "1")
                self._room_pw[room] = pw
                return Joined(
                    room=room,
                    others=[_peer_decoder.decode(o) for o in others],
                    chat=[_chat_decoder.decode(c) for c in chat],
                )
        raise ProtocolError("rate-limited", "this room is changing too fast to join right now: try again in a moment")

    async def leave(self, peer_id: str) -> str | None:
        room = await self._leave(args=[PREFIX, peer_id])
        # Forget the peer only once Redis has: a peer still listed here is restored or swept later.
        mine = self._mine.pop(peer_id, None)
        if mine and not any(m.room == mine.room for m in self._mine.values()):
            self._room_pw.pop(mine.room, None)
        return room

    async def room_of(self, peer_id: str) -> str | None:
        return await self.redis.hget(PREFIX + "peer:" + peer_id, "room")

    async def peers(self, room: str) -> list[Peer]:
        return [_peer_decoder.decode(p) for p in await self._peers(args=[PREFIX, room])]

    async def update_peer(self, peer_id: str, changes: dict[str, object]) -> Peer | None:
        state = await self._update(args=[PREFIX, peer_id, msgspec.json.encode(changes).decode()])
        if state is None:
            return None
        peer = _peer_decoder.decode(state)
        if peer_id in self._mine:
            self._mine[peer_id].peer = peer
        return peer

    async def add_chat(self, room: str, message: ChatMessage, keep: int) -> None:
        await self._chat(args=[PREFIX, room, msgspec.json.encode(message).decode(), keep])

    async def rooms(self) -> list[RoomSummary]:
        names = await self.redis.zrange(PREFIX + "rooms", 0, -1)
        if not names:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.hlen(PREFIX + "room:" + name + ":peers")
                pipe.hget(PREFIX + "room:" + name, "pw")
            values = await pipe.execute()
        summaries = []
        for i, name in enumerate(names):
            count, pw = values[2 * i], values[2 * i + 1]
            if count and pw is not None:
                summaries.append(RoomSummary(room=name, count=count, locked=bool(pw)))
        return summaries

    async def close(self) -> None:
        await self.redis.aclose()

    # ---- process liveness -------------------------------------------------------------------------

    async def ping(self) -> bool:
        return bool(await self.redis.ping())

    async def heartbeat(self, ttl: float) -> Beat:
        was, swept = await self._heartbeat(args=[PREFIX, self.process_id, int(ttl * 1000)])
        return Beat(lost=not was, swept=bool(swept))

    async def unregister(self) -> None:
        """A clean stop: our peers have left; drop the heartbeat so nobody sweeps us later."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(PREFIX + "proc:" + self.process_id + ":alive")
            pipe.delete(PREFIX + "proc:" + self.process_id + ":peers")
            pipe.srem(PREFIX + "procs", self.process_id)
            await pipe.execute()

    async def sweep(self) -> list[tuple[str, str]]:
        """Remove the peers of every process whose heartbeat expired; returns (peerId, room) of each.

        Several processes may sweep at once: the script is atomic, so each peer is reported once.
        """
        gone: list[tuple[str, str]] = []
        for proc in await self.redis.smembers(PREFIX + "procs"):
            if proc == self.process_id:
                continue
            flat = await self._sweep(args=[PREFIX, proc, TOMBSTONE_SECONDS])
            if flat:
                log.warning("process %s stopped beating: removed its %d peer(s)", proc, len(flat) // 2)
            gone.extend(zip(flat[::2], flat[1::2], strict=True))
        return gone

    async def restore(self) -> int:
        """Write this process's live peers back into Redis (after Redis came back empty)."""
        for peer_id, mine in list(self._mine.items()):
            await self._restore(
                args=[
                    PREFIX,
                    mine.room,
                    peer_id,
                    msgspec.json.encode(mine.peer).decode(),
                    self._room_pw.get(mine.room, ""),
                    self.process_id,
                    _now_ms(),
                    "1" if mine.unlisted else "0",
                ]
            )
        return len(self._mine)

    async def forget_swept(self) -> list[str]:
        """We were declared dead and our peers announced gone: forget them and clear the tombstone."""
        peer_ids = list(self._mine)
        self._mine.clear()
        self._room_pw.clear()
        await self.redis.delete(PREFIX + "proc:" + self.process_id + ":swept")
        return peer_ids

    def local_peer_count(self) -> int:
        return len(self._mine)


def _now_ms() -> int:
    return int(time.time() * 1000)


def describe(url: str) -> dict[str, Any]:
    """The Redis URL without its password, for health output and logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return {"url": f"{parts.scheme}://{host}{':' + str(parts.port) if parts.port else ''}{parts.path}"}
