"""The Socket.IO side of Noom: protocol v1's events, acks and errors.

``SignalingServer`` validates every payload into a protocol struct, keeps the small per-socket session
(which peer a socket is, and its room), and delegates room state to a ``RoomStore``. Socket.IO rooms
carry the fan-out: ``room:<name>`` for a call, ``peer:<id>`` for one peer and ``lobby`` for sockets
not in a call, so a message-queue manager can deliver across processes unchanged.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import socketio

from .config import Config
from .engine import Server
from .gate import REFUSAL, ConnectionGate
from .limits import MemoryPasswordGuard, OriginPolicy, PasswordGuard, SocketLimiter, client_address
from .metrics import Metrics
from .protocol import (
    MEDIA_FLAGS,
    Answer,
    Chat,
    ChatMessage,
    Empty,
    Ice,
    Join,
    Media,
    Offer,
    Peer,
    ProtocolError,
    Rename,
    bad_request,
    check_candidate,
    check_chat,
    check_name,
    check_room,
    check_sdp,
    parse,
    to_wire,
)
from .state import Joined, RoomStore
from .turn import turn_ice_server

log = logging.getLogger(__name__)

LOBBY = "lobby"
RELAYED_EVENTS = frozenset({"offer", "answer", "ice"})
# Engine.IO packets carry at most one SDP plus JSON framing.
MAX_PACKET_BYTES = 128 * 1024

Handler = Callable[..., Awaitable[dict[str, Any]]]


def new_id() -> str:
    """An unguessable id (96 random bits), used for peers and chat messages."""
    return secrets.token_urlsafe(12)


def room_channel(room: str) -> str:
    return "room:" + room


def peer_channel(peer_id: str) -> str:
    return "peer:" + peer_id


@dataclass(slots=True)
class Connection:
    """What this process knows about every open socket, in a call or not."""

    address: str
    limiter: SocketLimiter


@dataclass(slots=True)
class Session:
    """What this process knows about one socket in a call."""

    peer_id: str
    room: str
    name: str


class SignalingServer:
    def __init__(
        self,
        config: Config,
        store: RoomStore,
        client_manager: socketio.AsyncManager | None = None,
        passwords: PasswordGuard | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.sessions: dict[str, Session] = {}
        self.connections: dict[str, Connection] = {}
        # Engine.IO sessions per address, counted at the handshake (signaling/gate.py).
        self.gate = ConnectionGate(config.max_connections_per_address, config.connect_timeout, config.trust_proxy)
        # Shared through Redis when there is one (signaling/redis_guard.py), so workers count together.
        self.passwords = passwords or MemoryPasswordGuard()
        self._rates = config.rates()
        self._rooms_pushed_at = float("-inf")
        self._rooms_push_pending: asyncio.TimerHandle | None = None
        self._background: set[asyncio.Task[None]] = set()
        self.metrics = Metrics()
        self.sio = Server(
            async_mode="aiohttp",
            client_manager=client_manager,
            cors_allowed_origins=OriginPolicy(config.cors_origins, config.public_url),
            ping_interval=config.ping_interval,
            ping_timeout=config.ping_timeout,
            max_http_buffer_size=MAX_PACKET_BYTES,
            # Workers sharing a port have no sticky sessions: long-polling would land on the wrong one.
            transports=["websocket"] if config.websocket_only else None,
            # Handle one socket's events in order (ICE must not overtake its offer) and without a task each.
            async_handlers=False,
            logger=False,
            engineio_logger=False,
        )
        self.gate.install(self.sio.eio)
        self.sio.on("connect", self._on_connect)
        self.sio.on("disconnect", self._on_disconnect)
        for event, handler in {
            "join": self.join,
            "leave": self.leave,
            "offer": self.offer,
            "answer": self.answer,
            "ice": self.ice,
            "chat": self.chat,
            "media": self.media,
            "rename": self.rename,
            "rooms": self.rooms,
        }.items():
            self.sio.on(event, self._guarded(event, handler))
        unknown = self._guarded("*", self.unknown)

        async def catch_all(event: Any, sid: str, *args: Any) -> dict[str, Any]:
            return await unknown(sid, event, *args)

        self.sio.on("*", catch_all)

    # ---- plumbing ---------------------------------------------------------------------------------

    def _guarded(self, event: str, handler: Handler) -> Handler:
        """Every ack is one object; a refused request becomes an error ack, never a traceback."""

        @functools.wraps(handler)
        async def run(sid: str, *args: Any) -> dict[str, Any]:
            self.metrics.events.labels(event).inc()
            started = time.perf_counter()
            try:
                connection = self.connections.get(sid)
                if connection is not None and not connection.limiter.allow(event):
                    raise ProtocolError("rate-limited", "too many requests: slow down and try again in a moment")
                ack = await handler(sid, *args)
                if event in RELAYED_EVENTS:
                    self.metrics.relay_latency.observe(time.perf_counter() - started)
                return ack
            except ProtocolError as exc:
                self.metrics.errors.labels(exc.code).inc()
                if exc.code == "rate-limited" and connection is not None and not connection.limiter.strike():
                    await self._disconnect_abuser(sid, connection)
                return exc.ack()
            except Exception:
                log.exception("event %r failed", event)
                self.metrics.errors.labels("bad-request").inc()
                return bad_request("the server could not handle this request; try again").ack()

        return run

    async def _disconnect_abuser(self, sid: str, connection: Connection) -> None:
        log.warning("disconnecting %s: it kept sending past its rate limits", connection.address)
        await self.sio.disconnect(sid)

    def _session(self, sid: str) -> Session:
        session = self.sessions.get(sid)
        if session is None:
            raise ProtocolError("not-in-room", "join a room first")
        return session

    async def _rooms_changed(self) -> None:
        """Push the room list to the lobby, at most once per ``config.rooms_push_interval`` seconds.

        A burst of joins would otherwise send every lobby socket one full list per join: quadratic in
        the number of sockets (1000 clients joining 500 rooms made 15 GB of pushes). The first change
        is pushed at once; later ones within the interval are folded into one push of the latest list.
        """
        if self._rooms_push_pending is not None:
            return
        loop = asyncio.get_running_loop()
        wait = self._rooms_pushed_at + self.config.rooms_push_interval - loop.time()
        if wait <= 0:
            await self._push_rooms()
        else:
            self._rooms_push_pending = loop.call_later(wait, self._push_rooms_later)

    def _push_rooms_later(self) -> None:
        self._rooms_push_pending = None
        task = asyncio.ensure_future(self._push_rooms())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _push_rooms(self) -> None:
        self._rooms_pushed_at = asyncio.get_running_loop().time()
        rooms = await self.store.rooms()
        await self.sio.emit("rooms", {"rooms": to_wire(rooms)}, to=LOBBY)

    async def push_rooms(self) -> None:
        await self._rooms_changed()

    def ice_servers(self, peer_id: str) -> list[dict[str, Any]]:
        """The configured ICE servers, plus TURN credentials made for this peer alone."""
        servers = list(self.config.ice_servers)
        if self.config.turn_urls and self.config.turn_secret:
            servers.append(
                turn_ice_server(self.config.turn_urls, self.config.turn_secret, self.config.turn_ttl, peer_id)
            )
        return servers

    async def drop_peers(self, gone: list[tuple[str, str]]) -> None:
        """Peers another process held and lost (it died): tell their rooms, then the lobby."""
        for peer_id, room in gone:
            await self.sio.emit("peer-left", {"peerId": peer_id, "reason": "disconnected"}, to=room_channel(room))
        await self.push_rooms()

    async def disconnect_peers(self, peer_ids: list[str]) -> None:
        """Close these peers' connections without announcing them again (they were announced gone)."""
        wanted = set(peer_ids)
        for sid in [sid for sid, s in self.sessions.items() if s.peer_id in wanted]:
            self.sessions.pop(sid, None)
            await self._drop_transport(sid)

    async def disconnect_all(self) -> None:
        """Graceful stop: each peer leaves its room (``peer-left`` to the others), then every connection
        is closed so that its client reconnects, through the load balancer, to another process."""
        for sid in list(self.sessions):
            try:
                await self._leave_room(sid, "disconnected")
            except Exception as exc:  # the room store is unreachable: close the connection anyway
                log.warning("could not take socket %s out of its room while stopping: %s", sid, exc)
        sockets = list(self.sio.eio.sockets.values())
        if sockets:
            await self.sio.eio.disconnect()
        for socket in sockets:
            # python-engineio's websocket writer stops, and closes the websocket, on a None in its queue
            # (what it does itself when a client hangs up). Without it the connection stays open until
            # the ping timeout, and a browser would only then reconnect to another process.
            socket.queue.put_nowait(None)
        await self.sio.shutdown()

    async def _drop_transport(self, sid: str) -> None:
        # Closing the Engine.IO connection (not a Socket.IO disconnect packet, after which socket.io
        # clients stay disconnected on purpose) makes clients reconnect by themselves.
        eio_sid = self.sio.manager.eio_sid_from_sid(sid, "/")
        if eio_sid is not None:
            await self.sio.eio.disconnect(eio_sid)

    async def _leave_room(self, sid: str, reason: str, *, to_lobby: bool = True) -> None:
        """Take the socket's peer out of its room; ``to_lobby=False`` when it moves straight into another."""
        session = self.sessions.pop(sid, None)
        if session is None:
            return
        await self.store.leave(session.peer_id)
        channel = room_channel(session.room)
        await self.sio.emit("peer-left", {"peerId": session.peer_id, "reason": reason}, to=channel, skip_sid=sid)
        if reason == "left":
            await self.sio.leave_room(sid, channel)
            await self.sio.leave_room(sid, peer_channel(session.peer_id))
            if to_lobby:
                await self.sio.enter_room(sid, LOBBY)
        log.info("peer %s left room %s (%s)", session.peer_id, session.room, reason)
        await self._rooms_changed()

    async def _relay(self, sid: str, event: str, to: str, data: dict[str, Any]) -> dict[str, Any]:
        session = self._session(sid)
        if to == session.peer_id or await self.store.room_of(to) != session.room:
            raise ProtocolError("unknown-peer", "no peer with that id is in your room; it may have left")
        data["from"] = session.peer_id
        await self.sio.emit(event, data, to=peer_channel(to))
        return {"ok": True}

    # ---- connection lifecycle ---------------------------------------------------------------------

    def _client_address(self, environ: dict[str, Any]) -> str:
        return client_address(environ, self.config.trust_proxy)

    async def _on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        address = self._client_address(environ)
        # The per-address cap was applied at the Engine.IO handshake; over it, the session was let in
        # only to hear this refusal (see ConnectionGate). This also stops its connect deadline.
        if not self.gate.connected(self.sio.manager.eio_sid_from_sid(sid, "/")):
            raise socketio.exceptions.ConnectionRefusedError(REFUSAL)
        self.metrics.sockets.inc()
        self.connections[sid] = Connection(address, SocketLimiter(self._rates, self.config.abuse_strikes))
        await self.sio.enter_room(sid, LOBBY)

    async def _on_disconnect(self, sid: str, reason: Any = None) -> None:
        connection = self.connections.pop(sid, None)
        if connection is not None:  # its place under the per-address cap is freed by the gate
            self.metrics.sockets.dec()
        await self._leave_room(sid, "disconnected")

    # ---- events -----------------------------------------------------------------------------------

    def _check_join(self, request: Join) -> tuple[str, str]:
        """The room and trimmed name of a valid join request, or ``bad-request``."""
        room = check_room(request.room)
        name = check_name(request.name, self.config.limits)
        if request.password is not None and len(request.password) > self.config.limits.password_max:
            raise bad_request(f"the password must be at most {self.config.limits.password_max} characters")
        if request.role is not None and request.kind != "bot":
            raise bad_request('only peers of kind "bot" have a role')
        return room, name

    async def _enter_room(self, sid: str, room: str, peer: Peer) -> None:
        """Make the socket ``peer`` in ``room``, once the store has admitted it."""
        self.sessions[sid] = Session(peer_id=peer.peer_id, room=room, name=peer.name)
        await self.sio.leave_room(sid, LOBBY)
        await self.sio.enter_room(sid, room_channel(room))
        await self.sio.enter_room(sid, peer_channel(peer.peer_id))
        await self.sio.emit("peer-joined", to_wire(peer), to=room_channel(room), skip_sid=sid)
        log.info("peer %s (%s) joined room %s", peer.peer_id, peer.kind, room)
        await self._rooms_changed()

    async def join(self, sid: str, *args: Any) -> dict[str, Any]:
        request = parse(Join, args)
        room, name = self._check_join(request)
        previous = self.sessions.get(sid)
        if previous is not None and previous.room == room:
            # Joining one's own room again makes a new peer: give up the old place first so that it is free.
            await self._leave_room(sid, "left")
            previous = None
        peer = Peer(peer_id=new_id(), name=name, kind=request.kind, role=request.role)
        # A refused join raises here, leaving the socket in the room it was in (a socket is in at most one).
        joined = await self._join_store(sid, room, peer, request.password or None, request.unlisted)
        if previous is not None:
            await self._leave_room(sid, "left", to_lobby=False)
        await self._enter_room(sid, room, peer)
        return {
            "ok": True,
            "peerId": peer.peer_id,
            "room": room,
            "peers": to_wire(joined.others),
            "iceServers": self.ice_servers(peer.peer_id),
            "chat": to_wire(joined.chat),
        }

    async def _join_store(self, sid: str, room: str, peer: Peer, password: str | None, unlisted: bool) -> Joined:
        """``store.join`` with password tries slowed per client address and room, and per room.

        The try is reserved before the store hashes anything (``attempt``), so parallel guesses are
        counted as they arrive, not once their hashes are done."""
        if password is None:  # nothing to guess with
            return await self.store.join(room, peer, password, self.config.capacity, unlisted)
        connection = self.connections.get(sid)
        address = connection.address if connection else "unknown"
        async with self.passwords.attempt(address, room):
            return await self.store.join(room, peer, password, self.config.capacity, unlisted)

    async def unknown(self, sid: str, event: Any, *args: Any) -> dict[str, Any]:
        raise bad_request(f"there is no event named {str(event)[:64]!r} in protocol v1: see docs/protocol.md")

    async def leave(self, sid: str, *args: Any) -> dict[str, Any]:
        parse(Empty, args)
        self._session(sid)
        await self._leave_room(sid, "left")
        return {"ok": True}

    async def offer(self, sid: str, *args: Any) -> dict[str, Any]:
        request = parse(Offer, args)
        sdp = check_sdp(request.sdp, self.config.limits)
        return await self._relay(sid, "offer", request.to, {"sdp": sdp})

    async def answer(self, sid: str, *args: Any) -> dict[str, Any]:
        request = parse(Answer, args)
        sdp = check_sdp(request.sdp, self.config.limits)
        return await self._relay(sid, "answer", request.to, {"sdp": sdp})

    async def ice(self, sid: str, *args: Any) -> dict[str, Any]:
        request = parse(Ice, args)
        candidate = check_candidate(request.candidate, self.config.limits)
        return await self._relay(sid, "ice", request.to, {"candidate": candidate})

    async def chat(self, sid: str, *args: Any) -> dict[str, Any]:
        request = parse(Chat, args)
        text = check_chat(request.text, self.config.limits)
        session = self._session(sid)
        message = ChatMessage(
            id=new_id(), from_=session.peer_id, name=session.name, text=text, ts=int(time.time() * 1000)
        )
        await self.store.add_chat(session.room, message, self.config.chat_history)
        wire = to_wire(message)
        await self.sio.emit("chat", wire, to=room_channel(session.room), skip_sid=sid)
        return {"ok": True, "message": wire}

    async def media(self, sid: str, *args: Any) -> dict[str, Any]:
        changes = parse(Media, args).changes()
        if not changes:
            raise bad_request("send at least one of audio, video, screen, hand as true or false")
        session = self._session(sid)
        peer = await self.store.update_peer(session.peer_id, changes)
        if peer is None:
            raise ProtocolError("not-in-room", "join a room first")
        state = {"peerId": peer.peer_id, **{flag: getattr(peer, flag) for flag in MEDIA_FLAGS}}
        await self.sio.emit("media", state, to=room_channel(session.room), skip_sid=sid)
        return {"ok": True}

    async def rename(self, sid: str, *args: Any) -> dict[str, Any]:
        request = parse(Rename, args)
        name = check_name(request.name, self.config.limits)
        session = self._session(sid)
        if await self.store.update_peer(session.peer_id, {"name": name}) is None:
            raise ProtocolError("not-in-room", "join a room first")
        session.name = name
        await self.sio.emit(
            "peer-renamed", {"peerId": session.peer_id, "name": name}, to=room_channel(session.room), skip_sid=sid
        )
        return {"ok": True}

    async def rooms(self, sid: str, *args: Any) -> dict[str, Any]:
        parse(Empty, args)
        return {"ok": True, "rooms": to_wire(await self.store.rooms())}
