"""The in-process ``RoomStore``: the embedded default when no Redis is configured."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

import msgspec

from noom.protocol import ChatMessage, Peer, ProtocolError, RecordingInfo, RoomState, RoomSummary, WaitingEntry

from .passwords import hash_password, verify_password
from .state import Entry, Joined, Left, Member, RoomStore, door_error, next_host, wrong_password

# Bans outlive the room they were made in; keep at most this many (oldest dropped first) so a spray of
# removals cannot grow memory without bound.
MAX_BANS = 100_000


@dataclass(slots=True)
class _Room:
    password_hash: str | None
    unlisted: bool = False
    # In join order, which is also the order of host succession.
    peers: dict[str, Peer] = field(default_factory=dict)
    chat: deque[ChatMessage] = field(default_factory=deque)
    state: RoomState = field(default_factory=RoomState)
    waiting: dict[str, WaitingEntry] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Seat:
    room: str
    sid: str
    client: str


class MemoryRoomStore(RoomStore):
    def __init__(self) -> None:
        self._rooms: dict[str, _Room] = {}
        self._seats: dict[str, _Seat] = {}
        self._bans: dict[tuple[str, str], float] = {}
        self._host_holds: dict[str, tuple[str, float]] = {}  # room -> (client, until)

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
        state = self._rooms.get(room)
        if state is None:
            password_hash = await hash_password(password) if password else None
            # Another peer may have created the room while we were hashing.
            state = self._rooms.setdefault(room, _Room(password_hash, unlisted))
            if state.password_hash is not password_hash:
                return await self.join(room, peer, password, capacity, unlisted, sid=sid, client=client, entry=entry)
        elif state.password_hash is not None and entry == "open":
            if not password or not await verify_password(password, state.password_hash):
                raise wrong_password()
            if self._rooms.get(room) is not state:  # the room emptied and went away meanwhile
                return await self.join(room, peer, password, capacity, unlisted, sid=sid, client=client, entry=entry)
        # The doors need a host to open them: a room with only bots in it lets people in.
        if entry == "open" and state.state.host is not None and (refusal := door_error(state.state)):
            raise refusal
        if len(state.peers) >= capacity:
            raise ProtocolError("room-full", f"this room already has {capacity} participants: try another room")
        others = list(state.peers.values())
        state.peers[peer.peer_id] = peer
        self._seats[peer.peer_id] = _Seat(room, sid, client)
        if state.state.host is None and peer.kind == "human":
            state.state = msgspec.structs.replace(state.state, host=peer.peer_id)
        return Joined(room=room, others=others, chat=list(state.chat), state=state.state)

    async def leave(self, peer_id: str) -> Left | None:
        seat = self._seats.pop(peer_id, None)
        if seat is None:
            return None
        state = self._rooms[seat.room]
        peer = state.peers.pop(peer_id)
        if not state.peers:
            del self._rooms[seat.room]
            return Left(seat.room, None)
        before = state.state
        if before.host == peer_id:
            state.state = msgspec.structs.replace(state.state, host=next_host(state.peers.values()))
        if peer.role == "recorder" and before.recording is not None:
            state.state = msgspec.structs.replace(state.state, recording=None)
        return Left(seat.room, state.state if state.state != before else None)

    async def member(self, peer_id: str) -> Member | None:
        seat = self._seats.get(peer_id)
        if seat is None:
            return None
        return Member(seat.room, self._rooms[seat.room].peers[peer_id], seat.sid, seat.client)

    async def room_of(self, peer_id: str) -> str | None:
        seat = self._seats.get(peer_id)
        return seat.room if seat else None

    async def peers(self, room: str) -> list[Peer]:
        state = self._rooms.get(room)
        return list(state.peers.values()) if state else []

    async def update_peer(self, peer_id: str, changes: dict[str, object]) -> Peer | None:
        seat = self._seats.get(peer_id)
        if seat is None:
            return None
        peers = self._rooms[seat.room].peers
        peers[peer_id] = msgspec.convert(msgspec.to_builtins(peers[peer_id]) | changes, Peer)
        return peers[peer_id]

    async def state(self, room: str) -> RoomState | None:
        state = self._rooms.get(room)
        return state.state if state else None

    async def update_state(self, room: str, changes: dict[str, object]) -> RoomState | None:
        state = self._rooms.get(room)
        if state is None:
            return None
        state.state = msgspec.structs.replace(state.state, **changes)
        return state.state

    async def claim_recording(self, room: str, info: RecordingInfo) -> bool:
        state = self._rooms.get(room)
        if state is None or state.state.recording is not None:
            return False
        state.state = msgspec.structs.replace(state.state, recording=info)
        return True

    async def add_waiting(self, room: str, entry: WaitingEntry) -> None:
        state = self._rooms.get(room)
        if state is not None:
            state.waiting[entry.id] = entry

    async def take_waiting(self, room: str, entry_id: str) -> WaitingEntry | None:
        state = self._rooms.get(room)
        return state.waiting.pop(entry_id, None) if state else None

    async def waiting(self, room: str) -> list[WaitingEntry]:
        state = self._rooms.get(room)
        return list(state.waiting.values()) if state else []

    async def ban(self, room: str, client: str, seconds: float) -> None:
        self._bans.pop((room, client), None)  # re-inserted last: the dict stays in expiry order
        self._bans[(room, client)] = time.monotonic() + seconds
        while len(self._bans) > MAX_BANS:
            del self._bans[next(iter(self._bans))]

    async def hold_host(self, room: str, client: str, seconds: float) -> None:
        self._host_holds[room] = (client, time.monotonic() + seconds)
        while len(self._host_holds) > MAX_BANS:
            del self._host_holds[next(iter(self._host_holds))]

    async def take_host_hold(self, room: str, client: str) -> bool:
        hold = self._host_holds.get(room)
        if hold is None or hold[0] != client:
            return False
        del self._host_holds[room]
        return hold[1] > time.monotonic()

    async def banned(self, room: str, client: str) -> float:
        until = self._bans.get((room, client))
        if until is None:
            return 0.0
        left = until - time.monotonic()
        if left <= 0:
            del self._bans[(room, client)]
            return 0.0
        return left

    async def add_chat(self, room: str, message: ChatMessage, keep: int) -> None:
        state = self._rooms.get(room)
        if state is None:
            return
        state.chat.append(message)
        while len(state.chat) > keep:
            state.chat.popleft()

    async def rooms(self) -> list[RoomSummary]:
        return [
            RoomSummary(room=name, count=len(state.peers), locked=state.password_hash is not None)
            for name, state in self._rooms.items()
            if not state.unlisted
        ]
