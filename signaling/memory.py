"""The in-process ``RoomStore``: the embedded default when no Redis is configured."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import msgspec

from .passwords import hash_password, verify_password
from .protocol import ChatMessage, Peer, ProtocolError, RoomSummary
from .state import Joined, RoomStore


@dataclass(slots=True)
class _Room:
    password_hash: str | None
    unlisted: bool = False
    peers: dict[str, Peer] = field(default_factory=dict)
    chat: deque[ChatMessage] = field(default_factory=deque)


class MemoryRoomStore(RoomStore):
    def __init__(self) -> None:
        self._rooms: dict[str, _Room] = {}
        self._room_of: dict[str, str] = {}

    async def join(self, room: str, peer: Peer, password: str | None, capacity: int, unlisted: bool = False) -> Joined:
        state = self._rooms.get(room)
        if state is None:
            password_hash = await hash_password(password) if password else None
            # Another peer may have created the room while we were hashing.
            state = self._rooms.setdefault(room, _Room(password_hash, unlisted))
            if state.password_hash is not password_hash:
                return await self.join(room, peer, password, capacity, unlisted)
        elif state.password_hash is not None:
            if not password or not await verify_password(password, state.password_hash):
                raise ProtocolError(
                    "wrong-password",
                    "this room has a password and the one given does not match: ask the host for it",
                )
            if self._rooms.get(room) is not state:  # the room emptied and went away meanwhile
                return await self.join(room, peer, password, capacity, unlisted)
        if len(state.peers) >= capacity:
            raise ProtocolError("room-full", f"this room already has {capacity} participants: try another room")
        others = list(state.peers.values())
        state.peers[peer.peer_id] = peer
        self._room_of[peer.peer_id] = room
        return Joined(room=room, others=others, chat=list(state.chat))

    async def leave(self, peer_id: str) -> str | None:
        room = self._room_of.pop(peer_id, None)
        if room is None:
            return None
        state = self._rooms[room]
        del state.peers[peer_id]
        if not state.peers:
            del self._rooms[room]
        return room

    async def room_of(self, peer_id: str) -> str | None:
        return self._room_of.get(peer_id)

    async def peers(self, room: str) -> list[Peer]:
        state = self._rooms.get(room)
        return list(state.peers.values()) if state else []

    async def update_peer(self, peer_id: str, changes: dict[str, object]) -> Peer | None:
        room = self._room_of.get(peer_id)
        if room is None:
            return None
        peers = self._rooms[room].peers
        peers[peer_id] = msgspec.structs.replace(peers[peer_id], **changes)
        return peers[peer_id]

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
