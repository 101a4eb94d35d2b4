"""The host's side of room authority: hand-over, mute and ask-unmute, remove, lock, the waiting room
(queue, admit, decline) and ending the call for everyone.

``Moderation`` answers "may this socket do this?" first (``host_of``: only the room's host; ``_target``:
only another peer of the same room), then acts through the room store and Socket.IO channels, so that
with Redis every action reaches sockets on any process. ``SignalingServer`` registers its handlers and
uses its waiting-room methods when a ``join`` meets a room whose waiting room is on.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from noom.protocol import (
    OK,
    Admitted,
    Declined,
    Empty,
    ErrorInfo,
    HandLowered,
    Lock,
    MediaState,
    Mute,
    Muted,
    Ok,
    PeerLeft,
    ProtocolError,
    Removed,
    RoomState,
    Target,
    UnmuteRequest,
    WaitingEntry,
    WaitingList,
    WaitingRoom,
    WaitingTarget,
    WaitReply,
    bad_request,
    new_id,
    not_allowed,
)

from .channels import peer_channel, room_channel, waiting_channel
from .state import Member

if TYPE_CHECKING:
    from .server import Connection, Handler, Session, SignalingServer


log = logging.getLogger(__name__)

ADMISSION_TICKET_SECONDS = 60.0
# A host can only read so long a queue, and strangers must not grow one without bound.
MAX_WAITING = 50


class Moderation:
    def __init__(self, server: SignalingServer) -> None:
        self.server = server
        self.sio = server.sio
        self.send = server.send
        self.store = server.store
        self.config = server.config
        self.secret = server.secret

    def handlers(self) -> dict[str, Handler]:
        """The host's events, by name."""
        return {
            "host": self.hand_host,
            "mute": self.mute,
            "ask-unmute": self.ask_unmute,
            "lower-hand": self.lower_hand,
            "remove": self.remove,
            "lock": self.lock,
            "waiting-room": self.waiting_room,
            "admit": self.admit,
            "decline": self.decline,
            "end": self.end,
        }

    # ---- who may ----------------------------------------------------------------------------------

    async def host_of(self, sid: str) -> tuple[Session, RoomState]:
        session, state = await self.server.member_state(sid)
        if state.host != session.peer_id:
            raise not_allowed("only the host can do this: ask the host, or ask them to make you host")
        return session, state

    async def _target(self, session: Session, peer_id: str) -> Member:
        """Another peer of the sender's room."""
        member = await self.store.member(peer_id) if peer_id != session.peer_id else None
        if member is None or member.room != session.room:
            raise ProtocolError("unknown-peer", "no other peer with that id is in your room; it may have left")
        return member

    # ---- the host's events -------------------------------------------------------------------------

    async def hand_host(self, sid: str, request: Target) -> Ok:
        session, _ = await self.host_of(sid)
        target = await self._target(session, request.peer_id)
        if target.peer.kind != "human":
            raise bad_request("only a person can be host, not a bot")
        state = await self.store.update_state(session.room, {"host": target.peer.peer_id})
        log.info("room %s: host handed from %s to %s", session.room, session.peer_id, target.peer.peer_id)
        await self.server.announce_state(session.room, state, host_was=session.peer_id)
        return OK

    async def mute(self, sid: str, request: Mute) -> Ok:
        session, _ = await self.host_of(sid)
        target = await self._target(session, request.peer_id)
        peer = await self.store.update_peer(target.peer.peer_id, {request.kind: False})
        if peer is None:
            raise ProtocolError("unknown-peer", "that peer has just left")
        await self.send("muted", Muted(kind=request.kind, by=session.name), to=peer_channel(peer.peer_id))
        await self.send("media", MediaState.of(peer), to=room_channel(session.room))  # the host's page shows it too
        return OK

    async def ask_unmute(self, sid: str, request: Mute) -> Ok:
        session, _ = await self.host_of(sid)
        target = await self._target(session, request.peer_id)
        ask = UnmuteRequest(kind=request.kind, by=session.name)
        await self.send("unmute-request", ask, to=peer_channel(target.peer.peer_id))
        return OK

    async def lower_hand(self, sid: str, request: Target) -> Ok:
        session, _ = await self.host_of(sid)
        target = await self._target(session, request.peer_id)
        if not target.peer.hand:
            return OK  # lowered already (by its owner, or by another click): nothing to tell anyone
        peer = await self.store.update_peer(target.peer.peer_id, {"hand": False, "handAt": None})
        if peer is None:
            raise ProtocolError("unknown-peer", "that peer has just left")
        await self.send("hand-lowered", HandLowered(by=session.name), to=peer_channel(peer.peer_id))
        await self.send("media", MediaState.of(peer), to=room_channel(session.room))
        return OK

    async def remove(self, sid: str, request: Target) -> Ok:
        session, _ = await self.host_of(sid)
        target = await self._target(session, request.peer_id)
        if target.peer.role == "recorder":  # removing the recorder stops the recording, and keeps the file
            await self.send("recording-stop", Empty(), to=peer_channel(target.peer.peer_id))
            return OK
        if target.peer.kind == "human":  # a bot's key is the server's own address: never ban that
            await self.store.ban(session.room, target.client, self.config.removal_ban)
        log.info("room %s: host %s removed %s", session.room, session.peer_id, target.peer.peer_id)
        await self._expel(target, Removed(reason="removed", by=session.name))
        return OK

    async def _expel(self, target: Member, why: Removed) -> None:
        """Take ``target`` out of its room and close its connection, on whichever process holds it."""
        await self.send("removed", why, to=peer_channel(target.peer.peer_id))
        left = await self.store.leave(target.peer.peer_id)
        if left is None:
            return  # it left by itself meanwhile
        gone = PeerLeft(peer_id=target.peer.peer_id, reason="removed")
        await self.send("peer-left", gone, to=room_channel(target.room))
        await self.server.announce_state(target.room, left.state)
        # A Socket.IO disconnect (not a transport close): socket.io clients then stay disconnected.
        await self.sio.disconnect(target.sid)
        await self.server.rooms_changed()

    async def lock(self, sid: str, request: Lock) -> Ok:
        session, _ = await self.host_of(sid)
        state = await self.store.update_state(session.room, {"locked": request.locked})
        await self.server.announce_state(session.room, state, host_was=session.peer_id)
        return OK

    async def waiting_room(self, sid: str, request: WaitingRoom) -> Ok:
        session, _ = await self.host_of(sid)
        state = await self.store.update_state(session.room, {"waiting_room": request.enabled})
        await self.server.announce_state(session.room, state, host_was=session.peer_id)
        if not request.enabled:  # no waiting room any more: whoever was waiting comes in
            for entry in await self.store.waiting(session.room):
                await self._admit(session.room, entry.id)
            await self.push_waiting(session.room, session.peer_id)
        return OK

    async def admit(self, sid: str, request: WaitingTarget) -> Ok:
        session, _ = await self.host_of(sid)
        if not await self._admit(session.room, request.id):
            raise ProtocolError("unknown-peer", "nobody with that id is waiting; they may have given up")
        await self.push_waiting(session.room, session.peer_id)
        return OK

    async def _admit(self, room: str, entry_id: str) -> bool:
        if await self.store.take_waiting(room, entry_id) is None:
            return False
        ticket = self.secret.sign("admission", f"{room}:{entry_id}", ADMISSION_TICKET_SECONDS)
        await self.send("admitted", Admitted(ticket=ticket), to=waiting_channel(entry_id))
        return True

    async def decline(self, sid: str, request: WaitingTarget) -> Ok:
        session, _ = await self.host_of(sid)
        if await self.store.take_waiting(session.room, request.id) is None:
            raise ProtocolError("unknown-peer", "nobody with that id is waiting; they may have given up")
        declined = Declined(message="The host did not let you in this time.")
        await self.send("declined", declined, to=waiting_channel(request.id))
        await self.push_waiting(session.room, session.peer_id)
        return OK

    async def end(self, sid: str, request: Empty) -> Ok:
        session, _ = await self.host_of(sid)
        log.info("room %s: host %s ended the call for everyone", session.room, session.peer_id)
        declined = Declined(message="The host ended the call.")
        for entry in await self.store.waiting(session.room):
            if await self.store.take_waiting(session.room, entry.id) is not None:
                await self.send("declined", declined, to=waiting_channel(entry.id))
        why = Removed(reason="ended", by=session.name)
        for peer in await self.store.peers(session.room):
            if peer.peer_id == session.peer_id:
                continue
            if peer.role == "recorder":  # it saves the file and leaves by itself
                await self.send("recording-stop", Empty(), to=peer_channel(peer.peer_id))
            elif (member := await self.store.member(peer.peer_id)) is not None:
                await self._expel(member, why)
        await self.server.leave_room(sid, "left")
        return OK

    # ---- the waiting room ---------------------------------------------------------------------------

    async def wait(self, sid: str, connection: Connection, room: str, name: str) -> WaitReply:
        """Put a newcomer in the room's waiting room and tell the host."""
        if len(await self.store.waiting(room)) >= MAX_WAITING:
            raise ProtocolError("room-full", "too many people are already waiting to join this room: try later")
        entry = WaitingEntry(id=new_id(), name=name, since=int(time.time() * 1000))
        await self.store.add_waiting(room, entry)
        if self.server.connections.get(sid) is not connection:  # gone while we queued it
            await self.store.take_waiting(room, entry.id)
            raise ProtocolError("not-in-room", "this connection closed while joining")
        connection.waiting = (room, entry.id)
        await self.sio.enter_room(sid, waiting_channel(entry.id))
        state = await self.store.state(room)
        await self.push_waiting(room, state.host if state else None)
        log.info("someone is waiting to join room %s", room)
        why = ErrorInfo(code="waiting", message="the host has been told you are here and will let you in: please wait")
        return WaitReply(error=why, wait_id=entry.id)

    async def stop_waiting(self, connection: Connection, sid: str | None = None) -> None:
        """The socket no longer waits (it joined or left; ``sid`` None: it went away, and Socket.IO forgets its
        channels itself): take it out of the queue and its waiting channel."""
        if connection.waiting is None:
            return
        room, entry_id = connection.waiting
        connection.waiting = None
        if sid is not None:
            await self.sio.leave_room(sid, waiting_channel(entry_id))
        if await self.store.take_waiting(room, entry_id) is not None:
            state = await self.store.state(room)
            await self.push_waiting(room, state.host if state else None)

    async def push_waiting(self, room: str, host: str | None, *, if_empty: bool = True) -> None:
        """Send the host the waiting queue (``if_empty=False``: only when someone is waiting)."""
        if host is None:
            return
        queue = await self.store.waiting(room)
        if queue or if_empty:
            await self.send("waiting", WaitingList(waiting=queue), to=peer_channel(host))
