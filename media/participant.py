"""The one aiortc client of protocol v1 that every bot is built on.

A ``Participant`` joins a room with ``kind: "bot"`` and its ``role``, keeps one ``RTCPeerConnection``
per remote peer and follows the negotiation rule: a newcomer offers to every peer in its join ack; a
bot is the impolite side, so it never rolls back and never renegotiates on its own — an offer that
arrives while its own offer is pending is ignored (the browser, being polite, rolls back and answers).
Browsers trickle ICE to us; our own candidates travel inside our SDP because aiortc gathers before it
returns ``localDescription``. ICE servers come only from the join ack: a peer connection is never
created without an ``RTCConfiguration``, so aiortc never falls back to its built-in public STUN server.

Bots customise it through hooks: ``outgoing_tracks`` (what to send to a peer), ``on_track`` (what a
peer sends us), ``on_connection`` (e.g. data channels) and ``on_peer_gone``.

A bot proves it is one of the server's own with ``bot_credential`` (``ServerSecret.bot_credential()``), sent as
the Socket.IO connect ``auth``; the server refuses ``kind: "bot"`` without it. Every event handler, of the
Socket.IO client and of the peer connections, is registered through ``guarded``: python-socketio and pyee run
handlers as tasks nobody awaits, so an exception in one would otherwise surface only as "Task exception was
never retrieved", without saying which bot, room or event it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec
import socketio
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.sdp import candidate_from_sdp

from noom.protocol import (
    Answer,
    BotRole,
    Chat,
    ChatReply,
    Empty,
    IceMessage,
    IceServer,
    Join,
    JoinReply,
    MediaState,
    Offer,
    Ok,
    Peer,
    PeerLeft,
    ProtocolError,
    Renamed,
    SdpMessage,
    decode_reply,
    to_wire,
)

log = logging.getLogger(__name__)

VIEW_CHANNEL = "noom-view"


class JoinError(Exception):
    """The server refused our join; the message says why and what to do."""


class ConnectRefused(JoinError):
    """The server refused the connection itself (e.g. a wrong bot credential); the message is the server's."""


Handler = TypeVar("Handler", bound=Callable[..., Any])
R = TypeVar("R", bound=Ok)


def guarded(handler: Handler, context: Callable[[], str], what: str) -> Handler:
    """``handler`` with any exception logged, with ``context()`` (which bot, where) and ``what`` (which event),
    instead of escaping into a task nobody awaits. Coroutine functions stay coroutine functions: python-socketio
    and pyee decide how to call a handler by looking at it."""
    if inspect.iscoroutinefunction(handler):

        @functools.wraps(handler)
        async def run_async(*args: Any) -> Any:
            try:
                return await handler(*args)
            except Exception:
                log.exception("%s: the %s handler failed", context(), what)
                return None

        return run_async  # type: ignore[return-value]

    @functools.wraps(handler)
    def run(*args: Any) -> Any:
        try:
            return handler(*args)
        except Exception:
            log.exception("%s: the %s handler failed", context(), what)
            return None

    return run  # type: ignore[return-value]


def ice_configuration(ice_servers: list[IceServer]) -> RTCConfiguration:
    """The join ack's RTCIceServer dicts as aiortc's configuration (an empty list means host candidates only)."""
    return RTCConfiguration(
        iceServers=[
            RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
            for s in ice_servers
        ]
    )


def ice_candidate(data: dict[str, Any]) -> Any:
    """A browser's RTCIceCandidateInit as aiortc's RTCIceCandidate."""
    text = str(data.get("candidate", ""))
    if text.startswith("candidate:"):
        text = text[len("candidate:") :]
    candidate = candidate_from_sdp(text)
    candidate.sdpMid = data.get("sdpMid")
    candidate.sdpMLineIndex = data.get("sdpMLineIndex")
    return candidate


@dataclass(eq=False)
class RemotePeer:
    """A peer in our room and our connection to it."""

    info: Peer
    pc: RTCPeerConnection
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Candidates that arrived before the remote description they belong to.
    pending_ice: list[Any] = field(default_factory=list)
    # The view channel (see ``Participant.wanted_view``), when we tell this peer how we show its video.
    view: RTCDataChannel | None = None


class Participant:
    """A bot in one room: override the hooks to send and receive media."""

    role: BotRole = "probe"
    # Whether a room this bot creates stays out of the lobby's list (echo tests are private).
    unlisted: bool = False

    def __init__(
        self, url: str, room: str, name: str, password: str | None = None, *, bot_credential: str | None = None
    ) -> None:
        self.url = url
        self.room = room
        self.name = name
        self.password = password
        # Never logged, never in an exception message: it is what makes the server trust this bot.
        self._bot_credential = bot_credential
        self._refused: str | None = None  # the server's reason when it refused our connection
        self.peer_id: str | None = None
        self.peers: dict[str, RemotePeer] = {}
        # Everyone in the room we know of, connected or not yet (a newcomer's offer may follow its join).
        self._known: dict[str, Peer] = {}
        self.ice_servers: list[dict[str, Any]] = []
        self.sio = socketio.AsyncClient(reconnection=True, reconnection_delay=0.5, reconnection_delay_max=5)
        self._joined_once = False
        self._closing = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self.on("connect", self._on_connect)
        self.on("connect_error", self._on_connect_error)
        self.on("peer-joined", self._on_peer_joined)
        self.on("peer-left", self._on_peer_left)
        self.on("offer", self._on_offer)
        self.on("answer", self._on_answer)
        self.on("ice", self._on_ice)
        self.on("media", self._on_media)
        self.on("peer-renamed", self._on_renamed)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.role} {self.name!r} in room {self.room!r} as {self.peer_id})"

    def on(self, event: str, handler: Callable[..., Any]) -> None:
        """Handle the server event ``event`` (every handler of a bot is registered here, guarded)."""
        self.sio.on(event, guarded(handler, self.__repr__, f"{event!r} event"))

    def on_pc(
        self, pc: RTCPeerConnection | RTCDataChannel, event: str, peer: Peer, handler: Callable[..., Any]
    ) -> None:
        """Handle the event ``event`` of our connection to ``peer`` (or of its data channel), guarded."""
        pc.on(event, guarded(handler, lambda: f"{self!r}, connection to {peer.peer_id}", f"{event!r} callback"))

    # ---- hooks ------------------------------------------------------------------------------------

    def outgoing_tracks(self, peer: Peer) -> list[MediaStreamTrack]:
        """Tracks to send to ``peer``; called once per connection, before the first offer or answer."""
        return []

    def receive_kinds(self, peer: Peer) -> list[str]:
        """Kinds we want to receive when we offer (a recv-only transceiver is added for each one not sent)."""
        return ["audio", "video"]

    def on_connection(self, peer: Peer, pc: RTCPeerConnection, offering: bool) -> None:
        """Called when the connection to ``peer`` is created (before any description is set)."""

    def on_track(self, peer: Peer, track: MediaStreamTrack) -> None:
        """``peer`` sends us ``track``."""

    def wanted_view(self, peer: Peer) -> tuple[int, int] | None:
        """The size (px) at which we use ``peer``'s video, told to its browser over the connection's view
        channel (docs/web-client.md, receiver-driven sizing) so that it sends no more than that; None: say
        nothing, and get the browser's full quality. Call ``refresh_views`` when the answer changes."""
        return None

    def on_peer_gone(self, peer: Peer) -> None:
        """``peer`` left the room or its connection was closed."""

    def on_peer_changed(self, peer: Peer) -> None:
        """``peer`` toggled audio/video or renamed itself."""

    # ---- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> JoinReply:
        """Connect and join; raises ``JoinError`` if the server refuses."""
        auth = {"botSecret": self._bot_credential} if self._bot_credential is not None else None
        self._refused = None
        try:
            await self.sio.connect(self.url, transports=["websocket"], wait_timeout=10, auth=auth)
        except socketio.exceptions.ConnectionError:
            await self._close_http()
            if self._refused is not None:
                raise ConnectRefused(f"the server refused the connection: {self._refused}") from None
            raise
        except BaseException:
            await self._close_http()
            raise
        try:
            ack = await self._join()
        except BaseException:
            await self.sio.disconnect()
            raise
        self._joined_once = True
        return ack

    async def stop(self, farewell: bool = True) -> None:
        """Leave the room cleanly and disconnect; ``farewell=False`` when the server is going away and
        will not answer any more (its shutdown drops our socket anyway)."""
        if self._closing:
            return
        self._closing = True
        self.sio.reconnection = False  # leaving: a dropped connection now is not worth coming back for
        if farewell and self.sio.connected and self.peer_id is not None:
            with contextlib.suppress(Exception):
                await self.request("leave", Empty(), Ok, timeout=2)
        await self._close_all()
        for task in list(self._tasks):
            task.cancel()
        # Bounded: a server that is shutting down never completes the WebSocket closing handshake.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.sio.disconnect(), 2 if farewell else 0.2)
        await self._close_http()

    async def _close_http(self) -> None:
        # engine.io's own aiohttp session, which a failed connect or a cut-short close leaves open.
        http = getattr(self.sio.eio, "http", None)
        if http is not None and not http.closed:
            await http.close()

    async def __aenter__(self) -> Participant:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def request(self, event: str, payload: msgspec.Struct, reply: type[R], timeout: float = 10) -> R:
        """Send client event ``event`` and decode its ack into ``reply``; a refusal raises ``ProtocolError``."""
        return decode_reply(reply, await self.sio.call(event, to_wire(payload), timeout=timeout))

    async def send_chat(self, text: str) -> None:
        try:
            await self.request("chat", Chat(text=text), ChatReply)
        except ProtocolError as exc:
            raise RuntimeError(f"the server refused our chat message: {exc.message}") from None

    async def _join(self) -> JoinReply:
        join = Join(
            room=self.room, name=self.name, kind="bot", role=self.role, unlisted=self.unlisted, password=self.password
        )
        try:
            ack = await self.request("join", join, JoinReply, timeout=15)
        except ProtocolError as exc:
            raise JoinError(f"could not join room {self.room!r}: {exc.message}") from None
        self.peer_id = ack.peer_id
        self.ice_servers = ack.ice_servers
        log.info("%s joined room %s as %s with %d peer(s)", self.role, self.room, ack.peer_id, len(ack.peers))
        # The newcomer offers to everyone already there.
        self._known = {info.peer_id: info for info in ack.peers}
        for info in ack.peers:
            self._spawn(self._offer_to(info))
        return ack

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        """Run ``coro`` until it ends or the bot stops; its failure is logged, with the bot it belongs to."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%r: a task failed", self, exc_info=task.exception())

    async def _on_connect_error(self, data: Any = None) -> None:
        # The server's refusal is {"message": ...}; a plain string is python-socketio's own for a server it
        # could not reach, which ``start`` reports as such.
        if isinstance(data, dict) and data.get("message"):
            self._refused = str(data["message"])[:200]
            # Info only: ``start`` raises ConnectRefused with it, and whoever started the bot reports that.
            log.info("%r: the server refused the connection: %s", self, self._refused)

    async def _on_connect(self) -> None:
        if not self._joined_once or self._closing:
            return
        # A reconnect: the server dropped our old peer id; start over as a newcomer.
        log.info("reconnected to %s; joining room %s again", self.url, self.room)
        await self._close_all()
        self._spawn(self._join())

    async def _close_all(self) -> None:
        peers = list(self.peers.values())
        self.peers.clear()
        for peer in peers:
            await self._close_peer(peer)

    async def _close_peer(self, peer: RemotePeer) -> None:
        with contextlib.suppress(Exception):
            await peer.pc.close()
        self.on_peer_gone(peer.info)

    # ---- peer connections -------------------------------------------------------------------------

    def _connection(self, info: Peer, offering: bool) -> RemotePeer:
        existing = self.peers.get(info.peer_id)
        if existing is not None:
            return existing
        pc = RTCPeerConnection(configuration=ice_configuration(self.ice_servers))
        remote = RemotePeer(info=info, pc=pc)
        self.peers[info.peer_id] = remote

        def on_track(track: MediaStreamTrack) -> None:
            self.on_track(remote.info, track)

        async def on_state() -> None:
            log.debug("connection to %s: %s", remote.info.peer_id, pc.connectionState)
            if pc.connectionState == "failed" and self.peers.get(remote.info.peer_id) is remote:
                log.warning("connection to %s (%s) failed", remote.info.name, remote.info.peer_id)

        self.on_pc(pc, "track", info, on_track)
        self.on_pc(pc, "connectionstatechange", info, on_state)

        self.on_connection(info, pc, offering)
        if offering and self.wanted_view(info) is not None:
            self._open_view(remote)  # before the offer, so that it carries the SCTP m-line
        sending = set()
        for track in self.outgoing_tracks(info):
            pc.addTrack(track)
            sending.add(track.kind)
        if offering:
            for kind in self.receive_kinds(info):
                if kind not in sending:
                    pc.addTransceiver(kind, direction="recvonly")
        return remote

    def _open_view(self, remote: RemotePeer) -> None:
        # Negotiated with the same label and id as the browser's (web/static/js/mesh.js): no announcement.
        remote.view = remote.pc.createDataChannel(VIEW_CHANNEL, negotiated=True, id=0)
        self.on_pc(remote.view, "open", remote.info, lambda: self._send_view(remote))

    def _send_view(self, remote: RemotePeer) -> None:
        size = self.wanted_view(remote.info)
        if remote.view is None or remote.view.readyState != "open" or size is None:
            return
        width, height = size
        remote.view.send(
            msgspec.json.encode({"type": "view", "width": width, "height": height, "visible": True}).decode()
        )

    def refresh_views(self) -> None:
        """Tell every peer again how we use its video (after ``wanted_view``'s answers changed)."""
        for remote in list(self.peers.values()):
            self._send_view(remote)

    async def _offer_to(self, info: Peer) -> None:
        remote = self._connection(info, offering=True)
        async with remote.lock:
            await remote.pc.setLocalDescription(await remote.pc.createOffer())
            await self._relay("offer", Offer(to=info.peer_id, sdp=remote.pc.localDescription.sdp))

    async def _relay(self, event: str, payload: Offer | Answer) -> None:
        try:
            await self.request(event, payload, Ok)
        except ProtocolError as exc:  # the peer left meanwhile, most likely
            log.warning("%s to %s refused: %s", event, payload.to, exc.message)

    async def _peer_info(self, peer_id: str) -> Peer:
        remote = self.peers.get(peer_id)
        return remote.info if remote else Peer(peer_id=peer_id, name=peer_id)

    # ---- server events ----------------------------------------------------------------------------

    async def _on_peer_joined(self, data: Any) -> None:
        info = msgspec.convert(data, Peer)
        log.info("peer %s (%s) joined; waiting for its offer", info.peer_id, info.name)
        # The newcomer offers; we only remember who it is so its offer finds a name.
        self._known[info.peer_id] = info

    async def _on_peer_left(self, data: Any) -> None:
        left = msgspec.convert(data, PeerLeft)
        self._known.pop(left.peer_id, None)
        remote = self.peers.pop(left.peer_id, None)
        if remote is not None:
            await self._close_peer(remote)

    async def _on_offer(self, data: Any) -> None:
        message = msgspec.convert(data, SdpMessage)
        info = self._known.get(message.from_) or (await self._peer_info(message.from_))
        remote = self._connection(info, offering=False)
        async with remote.lock:
            pc = remote.pc
            if pc.signalingState == "have-local-offer":
                # Glare: we are impolite and keep our offer; the browser rolls back and answers it.
                log.info("ignored an offer from %s that collided with ours", message.from_)
                return
            await pc.setRemoteDescription(RTCSessionDescription(sdp=message.sdp, type="offer"))
            await self._flush_ice(remote)
            if remote.view is None and "\nm=application " in message.sdp and self.wanted_view(info) is not None:
                self._open_view(remote)
            await pc.setLocalDescription(await pc.createAnswer())
            await self._relay("answer", Answer(to=message.from_, sdp=pc.localDescription.sdp))

    async def _on_answer(self, data: Any) -> None:
        message = msgspec.convert(data, SdpMessage)
        remote = self.peers.get(message.from_)
        if remote is None:
            return
        async with remote.lock:
            if remote.pc.signalingState != "have-local-offer":
                log.info("ignored an answer from %s: no offer of ours is pending", message.from_)
                return
            await remote.pc.setRemoteDescription(RTCSessionDescription(sdp=message.sdp, type="answer"))
            await self._flush_ice(remote)

    async def _on_ice(self, data: Any) -> None:
        message = msgspec.convert(data, IceMessage)
        remote = self.peers.get(message.from_)
        if remote is None:
            return
        async with remote.lock:
            candidate = None
            if message.candidate is not None:
                if not message.candidate.get("candidate"):
                    # End of candidates for one m-line only. Firefox sends one per m-line as each finishes
                    # gathering, some before the bundle's own candidates: taken as the end of them all (aiortc
                    # knows no other), it dropped those and ICE failed. The final null ends them.
                    return
                try:
                    candidate = ice_candidate(message.candidate)
                except (AssertionError, ValueError, IndexError):
                    log.warning("ignored a malformed ICE candidate from %s", message.from_)
                    return
            if remote.pc.remoteDescription is None:
                remote.pending_ice.append(candidate)
                return
            await self._add_ice(remote, candidate)

    async def _flush_ice(self, remote: RemotePeer) -> None:
        pending, remote.pending_ice = remote.pending_ice, []
        for candidate in pending:
            await self._add_ice(remote, candidate)

    async def _add_ice(self, remote: RemotePeer, candidate: Any) -> None:
        try:
            await remote.pc.addIceCandidate(candidate)
        except Exception as exc:  # a candidate we cannot use must not break the connection
            log.debug("could not add ICE candidate from %s: %s", remote.info.peer_id, exc)

    async def _on_media(self, data: Any) -> None:
        state = msgspec.convert(data, MediaState)
        changes = {k: v for k in ("audio", "video") if (v := getattr(state, k)) is not None}
        remote = self.peers.get(state.peer_id)
        info = remote.info if remote else self._known.get(state.peer_id)
        if info is not None:
            updated = msgspec.structs.replace(info, **changes)
            self._set_info(state.peer_id, updated)
            self.on_peer_changed(updated)

    async def _on_renamed(self, data: Any) -> None:
        renamed = msgspec.convert(data, Renamed)
        remote = self.peers.get(renamed.peer_id)
        info = remote.info if remote else self._known.get(renamed.peer_id)
        if info is not None:
            updated = msgspec.structs.replace(info, name=renamed.name)
            self._set_info(renamed.peer_id, updated)
            self.on_peer_changed(updated)

    def _set_info(self, peer_id: str, info: Peer) -> None:
        if peer_id in self._known:
            self._known[peer_id] = info
        remote = self.peers.get(peer_id)
        if remote is not None:
            remote.info = info
