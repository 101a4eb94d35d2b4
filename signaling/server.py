"""The Socket.IO side of Noom: protocol v1's events, acks and errors.

``SignalingServer`` validates every payload into a protocol struct, keeps the small per-socket session
(which peer a socket is, and its room), and delegates room state to a ``RoomStore``. Socket.IO rooms
carry the fan-out (``signaling.channels``), so a message-queue manager can deliver across processes
unchanged. Who may do what: a bot proves itself at connect (``ServerSecret``), ``join`` checks bans,
admission tickets and the room's doors, recording and echo go to the ``BotLauncher``, and the host's
events live in ``signaling.moderation``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Any

import msgspec
import socketio

from noom.bots import BotLauncher
from noom.config import Config
from noom.protocol import (
    CLIENT_EVENTS,
    OK,
    REACTIONS,
    SERVER_EVENTS,
    Answer,
    Chat,
    ChatMessage,
    ChatReply,
    EchoReply,
    Empty,
    Ice,
    IceMessage,
    IceServer,
    IceServersReply,
    Join,
    JoinReply,
    LeaveReason,
    Media,
    MediaReply,
    MediaState,
    Offer,
    Ok,
    Peer,
    PeerKind,
    PeerLeft,
    ProtocolError,
    Reaction,
    ReactionMessage,
    RecordingInfo,
    Rename,
    Renamed,
    Reply,
    RoomList,
    RoomsReply,
    RoomState,
    SdpMessage,
    bad_request,
    check_candidate,
    check_chat,
    check_name,
    check_room,
    check_sdp,
    new_id,
    not_allowed,
    parse,
    to_wire,
)
from noom.secret import CLIENT_COOKIE, ServerSecret, new_secret

from .channels import LOBBY, peer_channel, room_channel
from .engine import Server
from .gate import REFUSAL, ConnectionGate
from .limits import MemoryPasswordGuard, OriginPolicy, PasswordGuard, SocketLimiter, client_address
from .metrics import Metrics
from .moderation import Moderation
from .state import Entry, Joined, RoomStore
from .turn import turn_ice_server

log = logging.getLogger(__name__)

RELAYED_EVENTS = frozenset({"offer", "answer", "ice"})
# Engine.IO packets carry at most one SDP plus JSON framing.
MAX_PACKET_BYTES = 128 * 1024

# A client event's handler: the sender's sid and the payload already decoded into the table's struct.
Handler = Callable[[str, Any], Awaitable[Reply]]
# What ``_guarded`` runs: the sid and the event's arguments as they arrived.
RawHandler = Callable[[str, tuple[Any, ...]], Awaitable[Reply]]


def decoding(payload: type[msgspec.Struct], handler: Handler) -> RawHandler:
    """``handler`` fed the event's arguments decoded into ``payload`` (``bad-request`` when they do not fit)."""

    @functools.wraps(handler)
    async def handle(sid: str, args: tuple[Any, ...]) -> Reply:
        return await handler(sid, parse(payload, args))

    return handle


# How long a host whose connection dropped can rejoin and take the role back.
HOST_HOLD_SECONDS = 60.0


def own_url(environ: dict[str, Any]) -> str:
    """This process's own listening address as a request reached it: where in-process bots connect."""
    request = environ.get("aiohttp.request")
    transport = getattr(request, "transport", None)
    sockname = transport.get_extra_info("sockname") if transport else None
    if not sockname:
        return f"{getattr(request, 'scheme', 'http')}://{getattr(request, 'host', '127.0.0.1')}"
    host, port = sockname[0], sockname[1]
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    scheme = getattr(request, "scheme", "http")
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


def check_handlers(handlers: dict[str, Any]) -> None:
    """The handlers are exactly the protocol table's client events: a mismatch stops the server at start-up."""
    missing = CLIENT_EVENTS.keys() - handlers.keys()
    extra = handlers.keys() - CLIENT_EVENTS.keys()
    if missing or extra:
        raise RuntimeError(
            f"signaling handlers disagree with noom.protocol.CLIENT_EVENTS: no handler for {sorted(missing)}, "
            f"handlers outside the table {sorted(extra)}; add the event to the table or its handler to the server"
        )


@dataclass(slots=True)
class Connection:
    """What this process knows about every open socket, in a call or not."""

    address: str
    limiter: SocketLimiter
    # Authenticated as one of the server's own bots (the connect ``auth`` carried the bot credential).
    bot: bool = False
    # What a removal bans: the browser's client id when it has one, else its address.
    client: str = ""
    # Where this process's in-process bots connect (the address this socket reached us on).
    server_url: str = ""
    # (room, entry id) while the socket waits in a room's waiting room.
    waiting: tuple[str, str] | None = None


@dataclass(slots=True)
class Session:
    """What this process knows about one socket in a call."""

    peer_id: str
    room: str
    name: str
    kind: PeerKind = "human"
    # The connection's client key (see ``Connection.client``): a dropped host takes the role back with it.
    client: str = ""


class SignalingServer:
    def __init__(
        self,
        config: Config,
        store: RoomStore,
        client_manager: socketio.AsyncManager | None = None,
        secret: ServerSecret | None = None,
        passwords: PasswordGuard | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.secret = secret or ServerSecret(config.server_secret or new_secret())
        # Set by the app factory when this process runs bots; without it bot requests get ``busy``.
        self.bots: BotLauncher | None = None
        self.bot_connections = 0
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
        self.moderation = Moderation(self)
        self.sio.on("connect", self._on_connect)
        self.sio.on("disconnect", self._on_disconnect)
        handlers: dict[str, Handler] = {
            "join": self.join,
            "leave": self.leave,
            "offer": self.offer,
            "answer": self.answer,
            "ice": self.ice,
            "chat": self.chat,
            "media": self.media,
            "reaction": self.reaction,
            "rename": self.rename,
            "rooms": self.rooms,
            "ice-servers": self.refresh_ice_servers,
            "recording-start": self.recording_start,
            "recording-stop": self.recording_stop,
            "echo-start": self.echo_start,
            **self.moderation.handlers(),
        }
        check_handlers(handlers)
        for event, spec in CLIENT_EVENTS.items():
            self.sio.on(event, self._guarded(event, decoding(spec.payload, handlers[event])))
        unknown = self._guarded("*", self._unknown)

        async def catch_all(event: Any, sid: str, *args: Any) -> Any:
            return await unknown(sid, event, *args)

        self.sio.on("*", catch_all)

    # ---- plumbing ---------------------------------------------------------------------------------

    def _guarded(self, event: str, handle: RawHandler) -> Callable[..., Awaitable[Any]]:
        """The Socket.IO handler of ``event``: rate limit first, then ``handle``. Every ack is one object; a
        refused request becomes an error ack, never a traceback.

        It takes ``*args`` so that a client sending no argument, or several, gets an answer instead of a
        TypeError inside python-socketio."""

        @functools.wraps(handle)
        async def run(sid: str, *args: Any) -> Any:
            self.metrics.events.labels(event).inc()
            started = time.perf_counter()
            try:
                connection = self.connections.get(sid)
                if connection is not None and not connection.limiter.allow(event):
                    raise ProtocolError("rate-limited", "too many requests: slow down and try again in a moment")
                reply = await handle(sid, args)
                if event in RELAYED_EVENTS:
                    self.metrics.relay_latency.observe(time.perf_counter() - started)
                return to_wire(reply)
            except ProtocolError as exc:
                self.metrics.errors.labels(exc.code).inc()
                if exc.code == "rate-limited" and connection is not None and not connection.limiter.strike():
                    await self._disconnect_abuser(sid, connection)
                return to_wire(exc.reply())
            except Exception:
                log.exception("event %r failed", event)
                self.metrics.errors.labels("bad-request").inc()
                return to_wire(bad_request("the server could not handle this request; try again").reply())

        return run

    async def send(self, event: str, message: msgspec.Struct, to: str, skip_sid: str | None = None) -> None:
        """Emit server event ``event`` to channel ``to``; its struct must be the protocol table's."""
        if type(message) is not SERVER_EVENTS[event]:
            raise TypeError(f"{event!r} carries {SERVER_EVENTS[event].__name__}, not {type(message).__name__}")
        await self.sio.emit(event, to_wire(message), to=to, skip_sid=skip_sid)

    async def _disconnect_abuser(self, sid: str, connection: Connection) -> None:
        log.warning("disconnecting %s: it kept sending past its rate limits", connection.address)
        await self.sio.disconnect(sid)

    def _session(self, sid: str) -> Session:
        session = self.sessions.get(sid)
        if session is None:
            raise ProtocolError("not-in-room", "join a room first")
        return session

    async def rooms_changed(self) -> None:
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
        await self.send("rooms", RoomList(rooms=rooms), to=LOBBY)

    async def push_rooms(self) -> None:
        await self.rooms_changed()

    def ice_servers(self, peer_id: str) -> list[IceServer]:
        """The configured ICE servers, plus TURN credentials made for this peer alone."""
        servers = list(self.config.ice_servers)
        if self.config.turn_urls and self.config.turn_secret:
            servers.append(
                turn_ice_server(self.config.turn_urls, self.config.turn_secret, self.config.turn_ttl, peer_id)
            )
        return servers

    async def drop_peers(self, gone: list[tuple[str, str]], states: dict[str, RoomState] | None = None) -> None:
        """Peers another process held and lost (it died): tell their rooms (with a new host, if the host
        was among them), then the lobby."""
        for peer_id, room in gone:
            await self.send("peer-left", PeerLeft(peer_id=peer_id, reason="disconnected"), to=room_channel(room))
        for room, state in (states or {}).items():
            await self.announce_state(room, state)
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
                await self.leave_room(sid, "disconnected")
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

    async def leave_room(self, sid: str, reason: LeaveReason, *, to_lobby: bool = True) -> None:
        """Take the socket's peer out of its room; ``to_lobby=False`` when it moves straight into another."""
        session = self.sessions.pop(sid, None)
        if session is None:
            return
        left = await self.store.leave(session.peer_id)
        channel = room_channel(session.room)
        if reason == "left":
            await self.sio.leave_room(sid, channel)
            await self.sio.leave_room(sid, peer_channel(session.peer_id))
            if to_lobby:
                await self.sio.enter_room(sid, LOBBY)
        if left is None:
            return  # already taken out (the host removed it, or the call ended): announced then
        await self.send("peer-left", PeerLeft(peer_id=session.peer_id, reason=reason), to=channel, skip_sid=sid)
        log.info("peer %s left room %s (%s)", session.peer_id, session.room, reason)
        # A person's departure changes the room's state only when it hands the host role on. If the host's
        # connection merely dropped, its browser may take the role back when it rejoins (only a browser: its
        # signed client id is its own, while an address is shared).
        if left.state is not None and session.kind == "human" and reason == "disconnected":
            if session.client.startswith("client:"):
                await self.store.hold_host(session.room, session.client, HOST_HOLD_SECONDS)
        await self.announce_state(session.room, left.state)
        await self.rooms_changed()
        if self.bots is not None:  # an echo test ends when its socket leaves the echo room
            await self.bots.end_echo(sid)

    async def announce_state(self, room: str, state: RoomState | None, host_was: str | None = None) -> None:
        """Tell the room its new state; a new host also gets the waiting queue it now answers for."""
        if state is None:
            return
        await self.send("room-state", state, to=room_channel(room))
        if state.host is not None and state.host != host_was:
            await self.moderation.push_waiting(room, state.host, if_empty=False)

    async def _relay(self, sid: str, event: str, to: str, message: SdpMessage | IceMessage) -> Ok:
        """Hand ``message`` (its ``from`` still to be filled in) to peer ``to`` of the sender's room."""
        session = self._session(sid)
        if to == session.peer_id or await self.store.room_of(to) != session.room:
            raise ProtocolError("unknown-peer", "no peer with that id is in your room; it may have left")
        message.from_ = session.peer_id
        await self.send(event, message, to=peer_channel(to))
        return OK

    # ---- connection lifecycle ---------------------------------------------------------------------

    def _client_address(self, environ: dict[str, Any]) -> str:
        return client_address(environ, self.config.trust_proxy)

    def _client_key(self, environ: dict[str, Any], address: str) -> str:
        """What a removal bans: the page-set client id when the cookie is ours and intact, else the address."""
        try:
            cookie = SimpleCookie(str(environ.get("HTTP_COOKIE", ""))).get(CLIENT_COOKIE)
        except CookieError:
            cookie = None
        client_id = self.secret.verify("client", cookie.value) if cookie is not None else None
        return "client:" + client_id if client_id else "address:" + address

    async def _on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        address = self._client_address(environ)
        eio_sid = self.sio.manager.eio_sid_from_sid(sid, "/")
        claimed_bot = isinstance(auth, dict) and "botSecret" in auth
        if claimed_bot and not self.secret.is_bot_credential(auth["botSecret"]):
            log.warning("refused a connection from %s: it claimed to be a bot with a wrong credential", address)
            self.gate.connected(eio_sid)  # answered now: closed right after, like any refused connect
            raise socketio.exceptions.ConnectionRefusedError(
                "wrong bot credential: bots must run with this server's --server-secret"
            )
        if claimed_bot:
            # Our own bots all come from the server's address: they share a cap of their own, not that address's.
            self.gate.exempt(eio_sid)
            if self.bot_connections >= self.config.bots_max:
                log.warning("refused a bot connection: %d bots are connected (--bots-max)", self.bot_connections)
                raise socketio.exceptions.ConnectionRefusedError(
                    "too many bots on this server: stop some, or ask the operator to raise --bots-max"
                )
            self.bot_connections += 1
        # The per-address cap was applied at the Engine.IO handshake; over it, the session was let in
        # only to hear this refusal (see ConnectionGate). This also stops its connect deadline.
        elif not self.gate.connected(eio_sid):
            raise socketio.exceptions.ConnectionRefusedError(REFUSAL)
        self.metrics.sockets.inc()
        self.connections[sid] = Connection(
            address,
            SocketLimiter(self._rates, self.config.abuse_strikes),
            bot=claimed_bot,
            client=self._client_key(environ, address),
            server_url=own_url(environ),
        )
        await self.sio.enter_room(sid, LOBBY)

    async def _on_disconnect(self, sid: str, reason: Any = None) -> None:
        connection = self.connections.pop(sid, None)
        if connection is not None:  # its place under the per-address cap is freed by the gate
            self.metrics.sockets.dec()
            if connection.bot:
                self.bot_connections -= 1
            await self.moderation.stop_waiting(connection)
        await self.leave_room(sid, "disconnected")
        if self.bots is not None:
            await self.bots.end_echo(sid)

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

    def _connection(self, sid: str) -> Connection:
        connection = self.connections.get(sid)
        if connection is None:  # a handler running after its socket's disconnect
            raise ProtocolError("not-in-room", "this connection is closing: reconnect and try again")
        return connection

    async def _entry(self, connection: Connection, request: Join, room: str) -> Entry:
        """Who is knocking: one of our bots, someone the host admitted, or anyone (who meets the doors)."""
        if request.kind == "bot":
            if not connection.bot:
                raise not_allowed('only this server\'s own bots may join as kind "bot": join as a human')
            if request.role == "recorder" and any(p.role == "recorder" for p in await self.store.peers(room)):
                raise ProtocolError("already-recording", "this room already has a recorder")
            return "bot"
        if (wait := await self.store.banned(room, connection.client)) > 0:
            minutes = max(1, round(wait / 60))
            raise not_allowed(f"the host removed you from this call: you can ask to join again in about {minutes} min")
        if request.ticket is None:
            return "open"
        admitted = self.secret.verify("admission", request.ticket)
        if admitted is None or admitted.split(":", 1)[0] != room:
            raise not_allowed("this admission has expired or is for another room: ask to join again")
        return "admitted"

    async def _enter_room(self, sid: str, room: str, peer: Peer) -> None:
        """Make the socket ``peer`` in ``room``, once the store has admitted it."""
        connection = self.connections.get(sid)
        self.sessions[sid] = Session(
            peer_id=peer.peer_id,
            room=room,
            name=peer.name,
            kind=peer.kind,
            client=connection.client if connection else "",
        )
        await self.sio.leave_room(sid, LOBBY)
        await self.sio.enter_room(sid, room_channel(room))
        await self.sio.enter_room(sid, peer_channel(peer.peer_id))
        await self.send("peer-joined", peer, to=room_channel(room), skip_sid=sid)
        log.info("peer %s (%s) joined room %s", peer.peer_id, peer.kind, room)
        await self.rooms_changed()

    async def join(self, sid: str, request: Join) -> Reply:
        room, name = self._check_join(request)
        connection = self._connection(sid)
        entry = await self._entry(connection, request, room)
        previous = self.sessions.get(sid)
        if previous is not None and previous.room == room:
            # Joining one's own room again makes a new peer: give up the old place first so that it is free.
            await self.leave_room(sid, "left")
            previous = None
        await self.moderation.stop_waiting(connection, sid)
        peer = Peer(peer_id=new_id(), name=name, kind=request.kind, role=request.role)
        # A refused join raises here, leaving the socket in the room it was in (a socket is in at most one).
        try:
            joined = await self._join_store(sid, room, peer, request.password or None, request.unlisted, entry)
        except ProtocolError as exc:
            if exc.code != "waiting":
                raise
            return await self.moderation.wait(sid, connection, room, name)
        if self.connections.get(sid) is not connection:
            # The socket went away while the store admitted it (a join can wait for password hashing):
            # nobody is behind this peer, so it must not stay in the room.
            left = await self.store.leave(peer.peer_id)
            await self.announce_state(room, left.state if left else None)
            raise ProtocolError("not-in-room", "this connection closed while joining")
        if previous is not None:
            await self.leave_room(sid, "left", to_lobby=False)
        await self._enter_room(sid, room, peer)
        state = joined.state
        if (
            peer.kind == "human"
            and state.host != peer.peer_id
            and connection.client.startswith("client:")
            and await self.store.take_host_hold(room, connection.client)
        ):
            # The host is back after a dropped connection: the role returns to it.
            state = await self.store.update_state(room, {"host": peer.peer_id}) or state
            await self.send("room-state", state, to=room_channel(room), skip_sid=sid)
            await self.moderation.push_waiting(room, peer.peer_id, if_empty=False)
        if peer.role == "recorder" and state.recording is None:
            # Started by an operator (``noom record``) rather than from the room: show it all the same.
            info = RecordingInfo(by=None, name=peer.name, since=int(time.time() * 1000))
            if await self.store.claim_recording(room, info):
                state = await self.store.state(room) or state
                await self.send("room-state", state, to=room_channel(room), skip_sid=sid)
        if joined.state.host == peer.peer_id and joined.others:
            # The first person into a room that only had bots: everyone learns the new host, who gets the
            # queue of anyone left waiting (the waiting room stops nobody while there is no host).
            await self.send("room-state", state, to=room_channel(room), skip_sid=sid)
            await self.moderation.push_waiting(room, peer.peer_id, if_empty=False)
        return JoinReply(
            peer_id=peer.peer_id,
            room=room,
            peers=joined.others,
            ice_servers=self.ice_servers(peer.peer_id),
            chat=joined.chat,
            state=state,
        )

    async def _join_store(
        self, sid: str, room: str, peer: Peer, password: str | None, unlisted: bool, entry: Entry
    ) -> Joined:
        """``store.join`` with password tries slowed per client address and room, and per room.

        The try is reserved before the store hashes anything (``attempt``), so parallel guesses are
        counted as they arrive, not once their hashes are done. Our bots and admitted newcomers are not
        asked for the password (the latter gave it before they waited)."""
        connection = self.connections.get(sid)
        seat = {"sid": sid, "client": connection.client if connection else "", "entry": entry}
        if password is None or entry != "open":  # nothing to guess with
            return await self.store.join(room, peer, password, self.config.capacity, unlisted, **seat)
        address = connection.address if connection else "unknown"
        async with self.passwords.attempt(address, room):
            return await self.store.join(room, peer, password, self.config.capacity, unlisted, **seat)

    async def _unknown(self, sid: str, args: tuple[Any, ...]) -> Reply:
        event = args[0] if args else ""
        raise bad_request(f"there is no event named {str(event)[:64]!r} in protocol v1: see docs/protocol.md")

    async def leave(self, sid: str, request: Empty) -> Ok:
        connection = self.connections.get(sid)
        if sid not in self.sessions and connection is not None and connection.waiting is not None:
            await self.moderation.stop_waiting(connection, sid)  # leaving the waiting room
            return OK
        self._session(sid)
        await self.leave_room(sid, "left")
        return OK

    async def offer(self, sid: str, request: Offer) -> Ok:
        sdp = check_sdp(request.sdp, self.config.limits)
        return await self._relay(sid, "offer", request.to, SdpMessage(from_="", sdp=sdp))

    async def answer(self, sid: str, request: Answer) -> Ok:
        sdp = check_sdp(request.sdp, self.config.limits)
        return await self._relay(sid, "answer", request.to, SdpMessage(from_="", sdp=sdp))

    async def ice(self, sid: str, request: Ice) -> Ok:
        candidate = check_candidate(request.candidate, self.config.limits)
        return await self._relay(sid, "ice", request.to, IceMessage(from_="", candidate=candidate))

    async def chat(self, sid: str, request: Chat) -> ChatReply:
        text = check_chat(request.text, self.config.limits)
        session = self._session(sid)
        message = ChatMessage(
            id=new_id(), from_=session.peer_id, name=session.name, text=text, ts=int(time.time() * 1000)
        )
        await self.store.add_chat(session.room, message, self.config.chat_history)
        await self.send("chat", message, to=room_channel(session.room), skip_sid=sid)
        return ChatReply(message=message)

    async def media(self, sid: str, request: Media) -> MediaReply:
        changes: dict[str, object] = dict(request.changes())
        if not changes:
            raise bad_request("send at least one of audio, video, screen, hand as true or false")
        session = self._session(sid)
        if "hand" in changes:  # a hand keeps its place in the queue until it is lowered
            member = await self.store.member(session.peer_id)
            if member is not None and changes["hand"] != member.peer.hand:
                changes["handAt"] = int(time.time() * 1000) if changes["hand"] else None
        peer = await self.store.update_peer(session.peer_id, changes)
        if peer is None:
            raise ProtocolError("not-in-room", "join a room first")
        state = MediaState.of(peer)
        await self.send("media", state, to=room_channel(session.room), skip_sid=sid)
        return MediaReply(state=state)

    async def reaction(self, sid: str, request: Reaction) -> Ok:
        if request.emoji not in REACTIONS:
            raise bad_request(f"a reaction is one of {' '.join(REACTIONS)}")
        session = self._session(sid)
        message = ReactionMessage(from_=session.peer_id, emoji=request.emoji)
        await self.send("reaction", message, to=room_channel(session.room), skip_sid=sid)
        return OK

    async def rename(self, sid: str, request: Rename) -> Ok:
        name = check_name(request.name, self.config.limits)
        session = self._session(sid)
        if await self.store.update_peer(session.peer_id, {"name": name}) is None:
            raise ProtocolError("not-in-room", "join a room first")
        session.name = name
        renamed = Renamed(peer_id=session.peer_id, name=name)
        await self.send("peer-renamed", renamed, to=room_channel(session.room), skip_sid=sid)
        return OK

    async def rooms(self, sid: str, request: Empty) -> RoomsReply:
        return RoomsReply(rooms=await self.store.rooms())

    # ---- room authority: who may do what (docs/protocol.md §4a) ----------------------------------

    async def member_state(self, sid: str) -> tuple[Session, RoomState]:
        """The sender's session and its room's current state; the sender must be in a room."""
        session = self._session(sid)
        state = await self.store.state(session.room)
        if state is None:
            raise ProtocolError("not-in-room", "join a room first")
        return session, state

    async def refresh_ice_servers(self, sid: str, request: Empty) -> IceServersReply:
        session = self._session(sid)
        return IceServersReply(ice_servers=self.ice_servers(session.peer_id))

    async def recording_start(self, sid: str, request: Empty) -> Ok:
        session, _ = await self.member_state(sid)
        if session.kind != "human":
            raise not_allowed("only people in the call can start a recording")
        if self.bots is None:
            raise ProtocolError("no-bots", "this server does not record calls: ask its operator to run bots")
        info = RecordingInfo(by=session.peer_id, name=session.name, since=int(time.time() * 1000))
        if not await self.store.claim_recording(session.room, info):
            raise ProtocolError("already-recording", "this call is already being recorded")
        try:
            await self.bots.start_recorder(self._connection(sid).server_url, session.room)
        except ProtocolError:
            await self.store.update_state(session.room, {"recording": None})
            raise
        except Exception:
            await self.store.update_state(session.room, {"recording": None})
            log.exception("the recorder for room %s did not start", session.room)
            raise ProtocolError("busy", "the recorder could not start: try again in a moment") from None
        state = await self.store.state(session.room)
        if state is not None and state.recording == info:
            await self.send("room-state", state, to=room_channel(session.room))
        log.info("room %s: %s started a recording", session.room, session.peer_id)
        return OK

    async def recording_stop(self, sid: str, request: Empty) -> Ok:
        session, state = await self.member_state(sid)
        if state.recording is None:
            raise ProtocolError("not-recording", "this call is not being recorded")
        if session.peer_id not in (state.host, state.recording.by):
            raise not_allowed("only the host or whoever started the recording can stop it")
        recorders = [p for p in await self.store.peers(session.room) if p.role == "recorder"]
        if not recorders:
            raise ProtocolError("not-recording", "the recording is still starting: try again in a moment")
        for recorder in recorders:
            # Through its own channel, so the stop reaches whichever process runs the recorder.
            await self.send("recording-stop", Empty(), to=peer_channel(recorder.peer_id))
        log.info("room %s: %s stopped the recording", session.room, session.peer_id)
        return OK

    async def echo_start(self, sid: str, request: Empty) -> EchoReply:
        if sid in self.sessions:
            raise bad_request("leave your call before testing your camera and microphone")
        connection = self._connection(sid)
        if connection.bot:
            raise not_allowed("bots do not take echo tests")
        if self.bots is None:
            raise ProtocolError("no-bots", "this server runs no echo tests: ask its operator to run bots")
        echo = await self.bots.start_echo(connection.server_url, sid, connection.address)
        return EchoReply(room=echo.room, password=echo.password)
