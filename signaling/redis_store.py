"""The Redis ``RoomStore``: rooms shared by every Noom process that points at the same Redis.

Every change that must be atomic (join with its capacity, password and door checks and the host's
assignment, leave with host succession and the room's deletion, the recording claim, taking someone
off the waiting queue, the sweep of a dead process) is one Lua script, so no other process ever sees
half of it. Keys, all under ``noom:``:

- ``room:<r>`` hash: exists while the room has peers. ``pw`` (scrypt hash or ""), ``unlisted`` ("1" for
  a room kept out of the list), and its authority: ``host`` (peerId, absent when no human is in),
  ``locked`` and ``waiting`` ("1" when set, absent otherwise), ``rec`` (RecordingInfo JSON, absent when
  not recording). Only after a Redis restart: ``restored`` (ms when ``restore`` re-created the room) and
  ``hostguess`` ("1" while the host is a stand-in for an old host not yet restored), see ``restore``.
  ``room:<r>:peers`` hash peerId -> Peer JSON; ``room:<r>:order`` list of peerIds in join order (also the
  order of host succession); ``room:<r>:chat`` list of ChatMessage JSON, capped;
  ``room:<r>:waiting`` hash entry id -> WaitingEntry JSON and ``room:<r>:waiting:order`` list of entry
  ids, oldest first: the waiting queue, deleted with the room; ``rooms`` sorted set of room names by
  creation.
- ``peer:<id>`` hash ``{room, proc, sid, client, at}``: where a peer is, which process holds its socket,
  that socket's Socket.IO sid there, the client key a removal bans, and when it joined (ms).
- ``ban:<r>:<client>`` "1" with a TTL of the ban's length: outlives the room.
- ``hosthold:<r>`` the client key of a host whose connection dropped, with a TTL: that client takes the role
  back if it rejoins in time.
- ``procs`` set of process ids; ``proc:<p>:alive`` heartbeat with a TTL; ``proc:<p>:peers`` set of
  its peers; ``proc:<p>:swept`` tombstone left when another process swept it as dead.

Each store also keeps the peers of its own process (with their sockets and join times) and what it last
saw of their rooms (password hash, host, lock, waiting room, recording) in memory, so that after Redis
restarts empty it can write them back (``restore``): peers who stay connected keep their rooms, in
their join order, with the old host if it is among them, else the first human in join order (until the
old host's process restores it), the lock and waiting room any restoring process knew set, and the
recording while its recorder is in. Lost on a Redis restart: chat history, the waiting queue (those
waiting ask again), bans, and authority changes this process did not see (another process's lock or
host hand-over after this process last read the room's state).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import msgspec
from redis import asyncio as aioredis

from noom.protocol import ChatMessage, Peer, ProtocolError, RecordingInfo, RoomState, RoomSummary, WaitingEntry

from .passwords import hash_password, verify_password
from .state import Entry, Joined, Left, Member, RoomStore, door_error, wrong_password

log = logging.getLogger(__name__)

PREFIX = "noom:"
# How often join retries when another process created or emptied the room between our read and write.
JOIN_ATTEMPTS = 8
# A tombstone outlives any plausible stall of a process; it only has to be seen by that process's next beat.
TOMBSTONE_SECONDS = 3600
# After a Redis restart, for how long the processes writing their peers back may add what they knew of a
# room's lock and waiting room (each only knows what it saw, so the room takes what any of them knew set).
RESTORE_WINDOW_MS = 60_000
# RoomState fields as stored in the ``room:<r>`` hash.
_STATE_FIELDS = {"host": "host", "locked": "locked", "waiting_room": "waiting", "recording": "rec"}

# Shared by the scripts that read or change a room's authority. ``room_state`` is what ``_decode_state``
# reads back: {host, locked, waiting, rec}, false for a missing field.
_ROOM_FNS = """
local function room_state(rk)
  return redis.call('HMGET', rk, 'host', 'locked', 'waiting', 'rec')
end
local function decoded(json)
  if not json then return nil end
  local ok, peer = pcall(cjson.decode, json)
  if ok and type(peer) == 'table' then return peer end
  return nil
end
local function is_human(json)
  local peer = decoded(json)
  return peer ~= nil and (peer.kind == nil or peer.kind == 'human')
end
local function first_human(rk)
  local peers = rk .. ':peers'
  for _, id in ipairs(redis.call('LRANGE', rk .. ':order', 0, -1)) do
    if is_human(redis.call('HGET', peers, id)) then return id end
  end
  return false
end
"""

# Returns room, state: room is false when the peer was in none; state is the room's new state when the
# departure changed it (a new host, a recorder gone), 'gone' when the room went with its last peer, else false.
_LEAVE_FN = (
    _ROOM_FNS
    + """
local function leave(p, id)
  local pk = p .. 'peer:' .. id
  local room = redis.call('HGET', pk, 'room')
  if not room then return false, false end
  local proc = redis.call('HGET', pk, 'proc')
  redis.call('DEL', pk)
  if proc then redis.call('SREM', p .. 'proc:' .. proc .. ':peers', id) end
  local rk = p .. 'room:' .. room
  local gone = redis.call('HGET', rk .. ':peers', id)
  redis.call('HDEL', rk .. ':peers', id)
  redis.call('LREM', rk .. ':order', 0, id)
  if redis.call('HLEN', rk .. ':peers') == 0 then
    redis.call('DEL', rk, rk .. ':peers', rk .. ':order', rk .. ':chat', rk .. ':waiting', rk .. ':waiting:order')
    redis.call('ZREM', p .. 'rooms', room)
    return room, 'gone'
  end
  local changed = false
  if redis.call('HGET', rk, 'host') == id then
    local host = first_human(rk)
    if host then redis.call('HSET', rk, 'host', host) else redis.call('HDEL', rk, 'host') end
    redis.call('HDEL', rk, 'hostguess')
    changed = true
  end
  if redis.call('HEXISTS', rk, 'rec') == 1 then
    local peer = decoded(gone)
    if peer and peer.role == 'recorder' then
      redis.call('HDEL', rk, 'rec')
      changed = true
    end
  end
  if changed then return room, room_state(rk) end
  return room, false
end
"""
)

# ARGV: prefix, room, peerId, peer JSON, seen ('1' if the caller saw the room), seen pw, new pw,
# capacity, process, now (ms), unlisted ('1' keeps a new room out of the list), sid, client,
# entry (open | admitted | bot), kind (human | bot).
# Returns {'retry'} | {'full'} | {'locked'} | {'waiting'} | {'ok', pw, others, chat, unlisted, state}.
_JOIN = (
    _ROOM_FNS
    + """
local p, room, id, peer, seen, seenpw, newpw = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local cap, proc, now, unlisted = tonumber(ARGV[8]), ARGV[9], ARGV[10], ARGV[11]
local sid, client, entry, kind = ARGV[12], ARGV[13], ARGV[14], ARGV[15]
local rk = p .. 'room:' .. room
local cur = redis.call('HGET', rk, 'pw')
if not cur then
  if seen == '1' then return {'retry'} end
  redis.call('HSET', rk, 'pw', newpw, 'unlisted', unlisted)
  if unlisted ~= '1' then redis.call('ZADD', p .. 'rooms', now, room) end
  cur = newpw
elseif seen ~= '1' or cur ~= seenpw then
  return {'retry'}
elseif entry == 'open' and redis.call('HGET', rk, 'host') then  -- the doors need a host to open them
  if redis.call('HGET', rk, 'locked') == '1' then return {'locked'} end
  if redis.call('HGET', rk, 'waiting') == '1' then return {'waiting'} end
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
redis.call('HSET', p .. 'peer:' .. id, 'room', room, 'proc', proc, 'sid', sid, 'client', client, 'at', now)
redis.call('SADD', p .. 'proc:' .. proc .. ':peers', id)
if kind == 'human' and not redis.call('HGET', rk, 'host') then
  redis.call('HSET', rk, 'host', id)
  redis.call('HDEL', rk, 'hostguess')
end
return {'ok', cur, others, chat, redis.call('HGET', rk, 'unlisted') or '0', room_state(rk)}
"""
)

# Returns false, or {room, state} with state false when the departure changed nothing.
_LEAVE = (
    _LEAVE_FN
    + """
local room, state = leave(ARGV[1], ARGV[2])
if not room then return false end
if state == 'gone' then state = false end
return {room, state}
"""
)

# ARGV: prefix, room, list suffix, hash suffix. The hash's values in the list's order: a room's peers in join
# order (':order', ':peers'), its waiting queue oldest first (':waiting:order', ':waiting').
_IN_ORDER = """
local rk = ARGV[1] .. 'room:' .. ARGV[2]
local out = {}
for _, id in ipairs(redis.call('LRANGE', rk .. ARGV[3], 0, -1)) do
  local value = redis.call('HGET', rk .. ARGV[4], id)
  if value then table.insert(out, value) end
end
return out
"""

# ARGV: prefix, peerId. Returns {room, sid, client, Peer JSON} or false.
_MEMBER = """
local seat = redis.call('HMGET', ARGV[1] .. 'peer:' .. ARGV[2], 'room', 'sid', 'client')
if not seat[1] then return false end
local peer = redis.call('HGET', ARGV[1] .. 'room:' .. seat[1] .. ':peers', ARGV[2])
if not peer then return false end
return {seat[1], seat[2] or '', seat[3] or '', peer}
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

# ARGV: prefix, room, then field, value pairs ("" deletes the field). Returns the new state or false.
# An explicit change ends the restore window: what the host decides now wins over what was known before.
_UPDATE_STATE = (
    _ROOM_FNS
    + """
local rk = ARGV[1] .. 'room:' .. ARGV[2]
if redis.call('EXISTS', rk) == 0 then return false end
for i = 3, #ARGV, 2 do
  if ARGV[i + 1] == '' then redis.call('HDEL', rk, ARGV[i]) else redis.call('HSET', rk, ARGV[i], ARGV[i + 1]) end
end
redis.call('HDEL', rk, 'restored', 'hostguess')
return room_state(rk)
"""
)

# ARGV: prefix, room, RecordingInfo JSON. 1 when claimed, 0 when the room is gone or already recorded.
_CLAIM = """
local rk = ARGV[1] .. 'room:' .. ARGV[2]
if redis.call('EXISTS', rk) == 0 then return 0 end
return redis.call('HSETNX', rk, 'rec', ARGV[3])
"""

# ARGV: prefix, room, entry id, WaitingEntry JSON. Only while the room exists; a known id keeps its place.
_ADD_WAITING = """
local rk = ARGV[1] .. 'room:' .. ARGV[2]
if redis.call('EXISTS', rk) == 0 then return 0 end
if redis.call('HSET', rk .. ':waiting', ARGV[3], ARGV[4]) == 1 then
  redis.call('RPUSH', rk .. ':waiting:order', ARGV[3])
end
return 1
"""

# ARGV: prefix, room, entry id. Returns the WaitingEntry JSON to exactly one caller, false to the others.
_TAKE_WAITING = """
local rk = ARGV[1] .. 'room:' .. ARGV[2]
local entry = redis.call('HGET', rk .. ':waiting', ARGV[3])
if not entry then return false end
redis.call('HDEL', rk .. ':waiting', ARGV[3])
redis.call('LREM', rk .. ':waiting:order', 0, ARGV[3])
return entry
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

# ARGV: prefix, dead process. Removes its peers when its heartbeat has expired; returns
# {id, room, state, ...} with state as ``leave`` gives it (a table, 'gone' or false).
_SWEEP = (
    _LEAVE_FN
    + """
local p, proc = ARGV[1], ARGV[2]
if redis.call('EXISTS', p .. 'proc:' .. proc .. ':alive') == 1 then return {} end
local out = {}
local set = p .. 'proc:' .. proc .. ':peers'
for _, id in ipairs(redis.call('SMEMBERS', set)) do
  local room, state = leave(p, id)
  if room then
    table.insert(out, id)
    table.insert(out, room)
    table.insert(out, state)
  end
end
redis.call('DEL', set)
redis.call('SREM', p .. 'procs', proc)
redis.call('SET', p .. 'proc:' .. proc .. ':swept', '1', 'EX', ARGV[3])
return out
"""
)

# ARGV: prefix, room, peerId, peer JSON, pw, process, now, unlisted, sid, client, joined at (ms),
# then what this process knew of the room: host, locked ('1'), waiting room ('1'), RecordingInfo JSON
# ("" for none). Puts back a peer this process still serves, with the room's authority (see ``restore``).
_RESTORE = (
    _ROOM_FNS
    + """
local p, room, id, peer, pw, proc, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local sid, client, at = ARGV[9], ARGV[10], tonumber(ARGV[11])
local host, locked, waiting, rec = ARGV[12], ARGV[13], ARGV[14], ARGV[15]
local rk = p .. 'room:' .. room
if redis.call('EXISTS', rk) == 0 then
  redis.call('HSET', rk, 'pw', pw, 'unlisted', ARGV[8], 'restored', now)
  if ARGV[8] ~= '1' then redis.call('ZADD', p .. 'rooms', 'NX', now, room) end
end
if redis.call('HEXISTS', rk .. ':peers', id) == 0 then
  redis.call('HSET', rk .. ':peers', id, peer)
  -- Join order across processes: before the first peer who joined later than this one.
  local before = false
  for _, other in ipairs(redis.call('LRANGE', rk .. ':order', 0, -1)) do
    local other_at = tonumber(redis.call('HGET', p .. 'peer:' .. other, 'at') or '')
    if other_at and at and other_at > at then before = other; break end
  end
  if before then redis.call('LINSERT', rk .. ':order', 'BEFORE', before, id)
  else redis.call('RPUSH', rk .. ':order', id) end
end
redis.call('HSET', p .. 'peer:' .. id, 'room', room, 'proc', proc, 'sid', sid, 'client', client, 'at', ARGV[11])
redis.call('SADD', p .. 'proc:' .. proc .. ':peers', id)
local restored = tonumber(redis.call('HGET', rk, 'restored') or '')
if restored and tonumber(now) - restored < tonumber(ARGV[16]) then
  if locked == '1' then redis.call('HSET', rk, 'locked', '1') end
  if waiting == '1' then redis.call('HSET', rk, 'waiting', '1') end
end
-- The old host when it is back in the room; else, for now, the first human in join order.
if not redis.call('HGET', rk, 'host') or redis.call('HGET', rk, 'hostguess') then
  if host ~= '' and is_human(redis.call('HGET', rk .. ':peers', host)) then
    redis.call('HSET', rk, 'host', host)
    redis.call('HDEL', rk, 'hostguess')
  else
    local first = first_human(rk)
    if first then redis.call('HSET', rk, 'host', first, 'hostguess', '1') end
  end
end
-- The recording, while its recorder is in the room.
if rec ~= '' and redis.call('HEXISTS', rk, 'rec') == 0 then
  for _, json in ipairs(redis.call('HVALS', rk .. ':peers')) do
    local other = decoded(json)
    if other and other.role == 'recorder' then redis.call('HSET', rk, 'rec', rec); break end
  end
end
return 1
"""
)

# KEYS: the hold. ARGV: the client claiming it. Compare and delete in one step: only its holder takes it, once.
_TAKE_HOLD = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
"""

_peer_decoder = msgspec.json.Decoder(Peer)
_chat_decoder = msgspec.json.Decoder(ChatMessage)
_recording_decoder = msgspec.json.Decoder(RecordingInfo)
_waiting_decoder = msgspec.json.Decoder(WaitingEntry)


def _decode_state(fields: list[str | None]) -> RoomState:
    host, locked, waiting, rec = fields
    return RoomState(
        host=host or None,
        locked=locked == "1",
        waiting_room=waiting == "1",
        recording=_recording_decoder.decode(rec) if rec else None,
    )


def _encode_field(name: str, value: object) -> str:
    """A RoomState field's value as the ``room:<r>`` hash stores it ("" for a field to delete)."""
    if name == "host":
        if value is not None and not (isinstance(value, str) and value):
            raise TypeError(f"host must be a peer id or None, not {value!r}")
        return value or ""
    if name in ("locked", "waiting_room"):
        if not isinstance(value, bool):
            raise TypeError(f"{name} must be a bool, not {value!r}")
        return "1" if value else ""
    if value is not None and not isinstance(value, RecordingInfo):
        raise TypeError(f"recording must be a RecordingInfo or None, not {value!r}")
    return msgspec.json.encode(value).decode() if value is not None else ""


@dataclass(slots=True)
class _Mine:
    room: str
    peer: Peer
    unlisted: bool = False
    sid: str = ""
    client: str = ""
    at: int = 0


@dataclass(slots=True)
class _Known:
    """What this process last saw of a room one of its peers is in, to write back after a Redis restart."""

    pw: str
    state: RoomState = field(default_factory=RoomState)


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
        self._known: dict[str, _Known] = {}
        self._swept_states: dict[str, RoomState] = {}
        r = self.redis
        self._join = r.register_script(_JOIN)
        self._leave = r.register_script(_LEAVE)
        self._in_order = r.register_script(_IN_ORDER)
        self._member = r.register_script(_MEMBER)
        self._update = r.register_script(_UPDATE)
        self._update_state = r.register_script(_UPDATE_STATE)
        self._claim = r.register_script(_CLAIM)
        self._add_waiting = r.register_script(_ADD_WAITING)
        self._take_waiting = r.register_script(_TAKE_WAITING)
        self._chat = r.register_script(_CHAT)
        self._heartbeat = r.register_script(_HEARTBEAT)
        self._sweep = r.register_script(_SWEEP)
        self._restore = r.register_script(_RESTORE)
        self._take_hold = r.register_script(_TAKE_HOLD)

    # ---- RoomStore --------------------------------------------------------------------------------

    async def join(
        self,
        room: str,
        peer: Peer,
        password: str | None,
        capacity: int,
        unlisted: bool = False,
        *,
        sid: str = "",
        client: str = "",
        entry: Entry = "open",
    ) -> Joined:
        peer_json = msgspec.json.encode(peer).decode()
        for _ in range(JOIN_ATTEMPTS):
            seen_pw = await self.redis.hget(PREFIX + "room:" + room, "pw")
            new_pw = ""
            if seen_pw is None:
                new_pw = await hash_password(password) if password else ""
            elif seen_pw and entry == "open" and (not password or not await verify_password(password, seen_pw)):
                raise wrong_password()
            now = _now_ms()
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
                    now,
                    "1" if unlisted else "0",
                    sid,
                    client,
                    entry,
                    peer.kind,
                ]
            )
            if result[0] == "full":
                raise ProtocolError("room-full", f"this room already has {capacity} participants: try another room")
            if result[0] in ("locked", "waiting"):
                refusal = door_error(RoomState(locked=result[0] == "locked", waiting_room=result[0] == "waiting"))
                assert refusal is not None
                raise refusal
            if result[0] == "ok":
                _, pw, others, chat, room_unlisted, fields = result
                state = _decode_state(fields)
                self._mine[peer.peer_id] = _Mine(room, peer, room_unlisted == "1", sid, client, now)
                self._known[room] = _Known(pw, state)
                return Joined(
                    room=room,
                    others=[_peer_decoder.decode(o) for o in others],
                    chat=[_chat_decoder.decode(c) for c in chat],
                    state=state,
                )
        raise ProtocolError("rate-limited", "this room is changing too fast to join right now: try again in a moment")

    async def leave(self, peer_id: str) -> Left | None:
        result = await self._leave(args=[PREFIX, peer_id])
        # Forget the peer only once Redis has: a peer still listed here is restored or swept later.
        mine = self._mine.pop(peer_id, None)
        if mine and not any(m.room == mine.room for m in self._mine.values()):
            self._known.pop(mine.room, None)
        if not result:
            return None
        room, fields = result[0], result[1] if len(result) > 1 else None
        state = _decode_state(fields) if fields else None
        if state is not None:
            self._saw(room, state)
        return Left(room, state)

    async def member(self, peer_id: str) -> Member | None:
        seat = await self._member(args=[PREFIX, peer_id])
        if not seat:
            return None
        room, sid, client, peer = seat
        return Member(room, _peer_decoder.decode(peer), sid, client)

    async def state(self, room: str) -> RoomState | None:
        pw, *fields = await self.redis.hmget(PREFIX + "room:" + room, "pw", "host", "locked", "waiting", "rec")
        if pw is None:
            return None
        state = _decode_state(fields)
        self._saw(room, state)
        return state

    async def update_state(self, room: str, changes: dict[str, object]) -> RoomState | None:
        args: list[str] = [PREFIX, room]
        for name, value in changes.items():
            if name not in _STATE_FIELDS:
                raise TypeError(f"RoomState has no field {name!r}")
            args += [_STATE_FIELDS[name], _encode_field(name, value)]
        fields = await self._update_state(args=args)
        if not fields:
            return None
        state = _decode_state(fields)
        self._saw(room, state)
        return state

    async def claim_recording(self, room: str, info: RecordingInfo) -> bool:
        claimed = bool(await self._claim(args=[PREFIX, room, msgspec.json.encode(info).decode()]))
        if claimed and (known := self._known.get(room)):
            known.state = msgspec.structs.replace(known.state, recording=info)
        return claimed

    async def add_waiting(self, room: str, entry: WaitingEntry) -> None:
        await self._add_waiting(args=[PREFIX, room, entry.id, msgspec.json.encode(entry).decode()])

    async def take_waiting(self, room: str, entry_id: str) -> WaitingEntry | None:
        entry = await self._take_waiting(args=[PREFIX, room, entry_id])
        return _waiting_decoder.decode(entry) if entry else None

    async def waiting(self, room: str) -> list[WaitingEntry]:
        return [
            _waiting_decoder.decode(e) for e in await self._in_order(args=[PREFIX, room, ":waiting:order", ":waiting"])
        ]

    async def ban(self, room: str, client: str, seconds: float) -> None:
        key = _ban_key(room, client)
        ms = int(seconds * 1000)
        if ms > 0:
            await self.redis.set(key, "1", px=ms)
        else:
            await self.redis.delete(key)

    async def hold_host(self, room: str, client: str, seconds: float) -> None:
        await self.redis.set(PREFIX + "hosthold:" + room, client, px=max(1, int(seconds * 1000)))

    async def take_host_hold(self, room: str, client: str) -> bool:
        return bool(await self._take_hold(keys=[PREFIX + "hosthold:" + room], args=[client]))

    async def banned(self, room: str, client: str) -> float:
        ms = await self.redis.pttl(_ban_key(room, client))
        return ms / 1000 if ms > 0 else 0.0

    async def room_of(self, peer_id: str) -> str | None:
        return await self.redis.hget(PREFIX + "peer:" + peer_id, "room")

    async def peers(self, room: str) -> list[Peer]:
        return [_peer_decoder.decode(p) for p in await self._in_order(args=[PREFIX, room, ":order", ":peers"])]

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

    def _saw(self, room: str, state: RoomState) -> None:
        """Remember the latest state seen of a room of ours, for ``restore``."""
        if known := self._known.get(room):
            known.state = state

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

        Several processes may sweep at once: the script is atomic, so each peer is reported once. Rooms
        whose state the departures changed (a new host, a recorder gone) are kept for
        ``take_swept_states``.
        """
        gone: list[tuple[str, str]] = []
        for proc in await self.redis.smembers(PREFIX + "procs"):
            if proc == self.process_id:
                continue
            flat = await self._sweep(args=[PREFIX, proc, TOMBSTONE_SECONDS])
            if flat:
                log.warning("process %s stopped beating: removed its %d peer(s)", proc, len(flat) // 3)
            for peer_id, room, fields in zip(flat[::3], flat[1::3], flat[2::3], strict=True):
                gone.append((peer_id, room))
                if fields == "gone":
                    self._swept_states.pop(room, None)
                elif fields:
                    self._swept_states[room] = state = _decode_state(fields)
                    self._saw(room, state)
        return gone

    def take_swept_states(self) -> dict[str, RoomState]:
        """The new state of each room that sweeps changed since the last call (to tell its members)."""
        states, self._swept_states = self._swept_states, {}
        return states

    async def restore(self) -> int:
        """Write this process's live peers back into Redis (after Redis came back empty).

        Each peer goes back into its join order (by join time, across processes), with its socket and
        client key. The room's host is the old host (as this process last saw it) once it is back in the
        room, the first human in join order until then; its lock and waiting room are set when any
        process that restores it within ``RESTORE_WINDOW_MS`` knew them set; its recording comes back
        while a recorder is in the room. The waiting queue, bans and chat history are lost.
        """
        for peer_id, mine in list(self._mine.items()):
            known = self._known.get(mine.room) or _Known("")
            state = known.state
            await self._restore(
                args=[
                    PREFIX,
                    mine.room,
                    peer_id,
                    msgspec.json.encode(mine.peer).decode(),
                    known.pw,
                    self.process_id,
                    _now_ms(),
                    "1" if mine.unlisted else "0",
                    mine.sid,
                    mine.client,
                    mine.at,
                    state.host or "",
                    "1" if state.locked else "",
                    "1" if state.waiting_room else "",
                    msgspec.json.encode(state.recording).decode() if state.recording else "",
                    RESTORE_WINDOW_MS,
                ]
            )
        return len(self._mine)

    async def forget_swept(self) -> list[str]:
        """We were declared dead and our peers announced gone: forget them and clear the tombstone."""
        peer_ids = list(self._mine)
        self._mine.clear()
        self._known.clear()
        await self.redis.delete(PREFIX + "proc:" + self.process_id + ":swept")
        return peer_ids

    def local_peer_count(self) -> int:
        return len(self._mine)


def _ban_key(room: str, client: str) -> str:
    # Room names cannot hold ':' (protocol.ROOM_RE), so the client key may.
    return PREFIX + "ban:" + room + ":" + client


def _now_ms() -> int:
    return int(time.time() * 1000)


def describe(url: str) -> dict[str, Any]:
    """The Redis URL without its password, for health output and logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return {"url": f"{parts.scheme}://{host}{':' + str(parts.port) if parts.port else ''}{parts.path}"}
