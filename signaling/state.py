"""The room-state interface: who is in which room, their media state, chat history and passwords, and the
room's authority (host, lock, waiting room, recording, removals).

Event handlers talk only to ``RoomStore``. The in-memory store (``signaling.memory``) serves one
process; a Redis-backed store can replace it to share rooms between processes without touching the
handlers. Every method is async so that a networked store fits the same shape.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from noom.protocol import ChatMessage, Peer, ProtocolError, RecordingInfo, RoomState, RoomSummary, WaitingEntry

# How a join gets past the room's doors: ``open`` needs the password and obeys the lock and the waiting room;
# ``admitted`` (a host's ticket: its password was checked before it waited) and ``bot`` (our own processes) pass.
Entry = Literal["open", "admitted", "bot"]


@dataclass(frozen=True, slots=True)
class Joined:
    room: str
    others: list[Peer]
    chat: list[ChatMessage]
    state: RoomState


@dataclass(frozen=True, slots=True)
class Member:
    """A peer of a room with what only the server knows of it: its socket (on whichever process holds it)
    and the key a removal bans (its browser's client id, or its address)."""

    room: str
    peer: Peer
    sid: str
    client: str


@dataclass(frozen=True, slots=True)
class Left:
    room: str
    # The room's state after the departure when it changed (a new host, a recorder gone), else None.
    state: RoomState | None


def wrong_password() -> ProtocolError:
    return ProtocolError(
        "wrong-password", "this room has a password and the one given does not match: ask the host for it"
    )


def door_error(state: RoomState) -> ProtocolError | None:
    """Why an ``open`` join of an existing room must stop at its door, if it must."""
    if state.locked:
        return ProtocolError("room-locked", "the host has locked this room: nobody new can join right now")
    if state.waiting_room:
        return ProtocolError("waiting", "the host will let you in: wait here")
    return None


def next_host(peers: Iterable[Peer]) -> str | None:
    """The longest-present human (``peers`` in join order), who becomes host when the host leaves."""
    return next((p.peer_id for p in peers if p.kind == "human"), None)


class RoomStore(abc.ABC):
    """Room membership and state. Implementations must make ``join`` atomic per room."""

    @abc.abstractmethod
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
        """Add ``peer`` to ``room``, creating it (with ``password``, listed or not) when it does not exist.

        The first human of a room becomes its host. Raises ``ProtocolError`` with ``room-full``,
        ``wrong-password``, and for an ``open`` entry ``room-locked`` or ``waiting`` (the password was right).
        """

    @abc.abstractmethod
    async def leave(self, peer_id: str) -> Left | None:
        """Remove the peer (None if it was not in a room). The last peer out deletes the room; a host's
        departure hands the room to its longest-present human; a recorder's clears the recording."""

    @abc.abstractmethod
    async def member(self, peer_id: str) -> Member | None:
        """The peer with its room, socket and client key, or None."""

    @abc.abstractmethod
    async def state(self, room: str) -> RoomState | None:
        """The room's authority state, or None when the room does not exist."""

    @abc.abstractmethod
    async def update_state(self, room: str, changes: dict[str, object]) -> RoomState | None:
        """Set ``host``, ``locked``, ``waiting_room`` or ``recording``; None when the room does not exist."""

    @abc.abstractmethod
    async def claim_recording(self, room: str, info: RecordingInfo) -> bool:
        """Mark the room as being recorded unless it already is (atomic); False if it was."""

    @abc.abstractmethod
    async def add_waiting(self, room: str, entry: WaitingEntry) -> None:
        """Put someone in the room's waiting queue (kept while the room exists)."""

    @abc.abstractmethod
    async def take_waiting(self, room: str, entry_id: str) -> WaitingEntry | None:
        """Remove one entry from the waiting queue and return it (None if it was not there)."""

    @abc.abstractmethod
    async def waiting(self, room: str) -> list[WaitingEntry]:
        """The waiting queue, oldest first."""

    @abc.abstractmethod
    async def ban(self, room: str, client: str, seconds: float) -> None:
        """Refuse ``client`` (a client key, see ``Member``) in ``room`` for ``seconds``, whether the room lives on."""

    @abc.abstractmethod
    async def hold_host(self, room: str, client: str, seconds: float) -> None:
        """The host's connection dropped: keep the role claimable by ``client`` for ``seconds``."""

    @abc.abstractmethod
    async def take_host_hold(self, room: str, client: str) -> bool:
        """Whether ``client`` holds the room's dropped host role (consumed: at most once, atomically)."""

    @abc.abstractmethod
    async def banned(self, room: str, client: str) -> float:
        """Seconds left of ``client``'s ban from ``room`` (0 when none)."""

    @abc.abstractmethod
    async def room_of(self, peer_id: str) -> str | None:
        """The room ``peer_id`` is in, or None."""

    @abc.abstractmethod
    async def peers(self, room: str) -> list[Peer]:
        """Everybody in ``room``, in join order."""

    @abc.abstractmethod
    async def update_peer(self, peer_id: str, changes: dict[str, object]) -> Peer | None:
        """Apply field changes (wire names: ``name``, media flags, ``handAt``) and return the peer's new state."""

    @abc.abstractmethod
    async def add_chat(self, room: str, message: ChatMessage, keep: int) -> None:
        """Append to the room's chat history, keeping the last ``keep`` messages."""

    @abc.abstractmethod
    async def rooms(self) -> list[RoomSummary]:
        """Every room with its participant count and whether it has a password."""

    async def close(self) -> None:  # noqa: B027 - optional hook, not abstract
        """Release connections; the default store has none."""
