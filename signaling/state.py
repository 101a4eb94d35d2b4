"""The room-state interface: who is in which room, their media state, chat history and passwords.

Event handlers talk only to ``RoomStore``. The in-memory store (``signaling.memory``) serves one
process; a Redis-backed store can replace it to share rooms between processes without touching the
handlers. Every method is async so that a networked store fits the same shape.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

from .protocol import ChatMessage, Peer, RoomSummary


@dataclass(frozen=True, slots=True)
class Joined:
    room: str
    others: list[Peer]
    chat: list[ChatMessage]


class RoomStore(abc.ABC):
    """Room membership and state. Implementations must make ``join`` atomic per room."""

    @abc.abstractmethod
    async def join(self, room: str, peer: Peer, password: str | None, capacity: int, unlisted: bool = False) -> Joined:
        """Add ``peer`` to ``room``, creating it (with ``password``, listed or not) when it does not exist.

        Raises ``ProtocolError`` with ``room-full`` or ``wrong-password``.
        """

    @abc.abstractmethod
    async def leave(self, peer_id: str) -> str | None:
        """Remove the peer; returns the room it was in. The last peer out deletes the room."""

    @abc.abstractmethod
    async def room_of(self, peer_id: str) -> str | None:
        """The room ``peer_id`` is in, or None."""

    @abc.abstractmethod
    async def peers(self, room: str) -> list[Peer]:
        """Everybody in ``room``, in join order."""

    @abc.abstractmethod
    async def update_peer(self, peer_id: str, changes: dict[str, object]) -> Peer | None:
        """Apply field changes (``name`` or media flags) and return the peer's new state."""

    @abc.abstractmethod
    async def add_chat(self, room: str, message: ChatMessage, keep: int) -> None:
        """Append to the room's chat history, keeping the last ``keep`` messages."""

    @abc.abstractmethod
    async def rooms(self) -> list[RoomSummary]:
        """Every room with its participant count and whether it has a password."""

    async def close(self) -> None:  # noqa: B027 - optional hook, not abstract
        """Release connections; the default store has none."""
