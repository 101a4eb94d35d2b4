"""Tools of the hostile-input tests: a raw Engine.IO websocket client that can send any bytes, a log watch
that fails a test on any traceback, and the room-state consistency check."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from typing import Any, get_args

import aiohttp
import msgspec

from noom.protocol import CLIENT_EVENTS, ErrorCode, to_wire
from noom.signaling.channels import LOBBY, peer_channel, room_channel, waiting_channel
from noom.signaling.server import SignalingServer

ERROR_CODES = set(get_args(ErrorCode))


def assert_ack_shape(ack: Any, event: str | None = None) -> None:
    """Every ack is ``{"ok": true, ...}`` or ``{"ok": false, "error": {"code", "message"}}`` (docs/protocol.md);
    a success ack of a table ``event`` is exactly its reply struct: every field, and nothing else."""
    assert isinstance(ack, dict) and isinstance(ack.get("ok"), bool), ack
    if ack["ok"]:
        if event in CLIENT_EVENTS:
            assert to_wire(msgspec.convert(ack, CLIENT_EVENTS[event].reply)) == ack, ack
        return
    error = ack.get("error")
    # Only a join that waits for the host carries more: the id of its place in the queue.
    extra = {"waitId"} if isinstance(error, dict) and error.get("code") == "waiting" else set()
    assert set(ack) == {"ok", "error"} | extra, ack
    assert isinstance(error, dict) and set(error) == {"code", "message"}, ack
    assert error["code"] in ERROR_CODES, ack
    assert isinstance(error["message"], str) and error["message"], ack


class LogWatch(logging.Handler):
    """Records every log line at ERROR or above, and every line carrying a traceback or failing to format."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.bad: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception as exc:  # a log line that cannot even be formatted is a bug too
            self.bad.append(f"unformattable log record from {record.name}: {exc!r}")
            return
        if record.levelno >= logging.ERROR or record.exc_info:
            self.bad.append(text)

    def check(self) -> None:
        assert not self.bad, "the server logged errors:\n" + "\n".join(self.bad[:5])


class RawSocket:
    """A Socket.IO client speaking the wire format by hand over a websocket, so a test can send packets
    no well-behaved client library would: malformed JSON, deep nesting, bogus binary placeholders."""

    def __init__(self, url: str) -> None:
        self.url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        self.session: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.ids = itertools.count(1000)  # tests hand-write ids below 1000
        self.events: list[tuple[str, Any]] = []
        self.other_acks: list[str] = []  # acks for ids other than the awaited one
        self.peer_id: str | None = None
        self.sid: str | None = None  # the Socket.IO session id the server gave
        self.removed = False  # the server ended this socket's session (a host removed it, or ended the call)

    @property
    def open(self) -> bool:
        return self.ws is not None and not self.ws.closed

    async def connect(self) -> RawSocket:
        await self.close()
        self.session = aiohttp.ClientSession()
        self.ws = await self.session.ws_connect(self.url, max_msg_size=0, timeout=aiohttp.ClientWSTimeout(ws_close=2))
        handshake = await self._receive(10)
        assert isinstance(handshake, str) and handshake.startswith("0"), handshake
        await self.ws.send_str("40")
        while True:
            packet = await self._receive(10)
            assert isinstance(packet, str), packet
            if packet.startswith("40"):
                self.sid = json.loads(packet[2:])["sid"]
                break
        self.peer_id = None
        self.removed = False
        return self

    async def _receive(self, timeout: float) -> str | bytes | None:
        """The next Engine.IO message (answering pings on the way), or None once the server closed."""
        assert self.ws is not None
        while True:
            message = await asyncio.wait_for(self.ws.receive(), timeout)
            if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                return None
            if message.type == aiohttp.WSMsgType.TEXT and message.data == "2":
                await self.ws.send_str("3")
                continue
            if message.type == aiohttp.WSMsgType.TEXT and message.data == "1":  # Engine.IO close
                await self.ws.close()
                return None
            if message.type == aiohttp.WSMsgType.TEXT and message.data == "41":  # the server disconnected us
                self.removed = True
                await self.ws.close()
                return None
            return message.data

    async def send(self, text: str, attachments: tuple[bytes, ...] = ()) -> None:
        assert self.ws is not None
        try:
            await self.ws.send_str(text)
            for attachment in attachments:
                await self.ws.send_bytes(attachment)
        except (ConnectionResetError, aiohttp.ClientConnectionResetError):
            pass  # the server closed the connection first: the caller sees it in the next receive

    async def call(self, body: str, attachments: tuple[bytes, ...] = (), timeout: float = 10) -> Any:
        """Send ``body`` (the JSON array of an event) with an ack id; the ack's arguments, or None if the
        server closed the connection instead."""
        ack_id = next(self.ids)
        head = f"45{len(attachments)}-{ack_id}" if attachments else f"42{ack_id}"
        await self.send(head + body, attachments)
        return await self.wait_ack(ack_id, timeout)

    async def wait_ack(self, ack_id: int, timeout: float = 10) -> Any:
        prefix = f"43{ack_id}"
        while True:
            packet = await self._receive(timeout)
            if packet is None:
                return None
            assert isinstance(packet, str), f"the server sent binary: {packet!r}"
            if packet.startswith(prefix) and packet[len(prefix) : len(prefix) + 1] == "[":
                return json.loads(packet[len(prefix) :])
            if packet.startswith("42"):
                event, *args = json.loads(packet[2:])
                self.events.append((event, args[0] if args else None))
            elif packet.startswith("43"):
                self.other_acks.append(packet)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.session is not None:
            await self.session.close()
        self.ws = self.session = None


async def check_consistency(signaling: SignalingServer) -> None:
    """The room state agrees with itself, read through the RoomStore interface and the server's session
    table: every peer in exactly one room, counts right, no empty (orphan) room, every in-call socket in
    its room's and its peer's channel and nowhere else, every other socket in the lobby."""
    store = signaling.store
    summaries = await store.rooms()
    assert len({s.room for s in summaries}) == len(summaries), summaries
    room_of_peer: dict[str, str] = {}
    for summary in summaries:
        peers = await store.peers(summary.room)
        assert peers, f"orphan room {summary.room!r} has no peers"
        assert summary.count == len(peers), (summary, peers)
        for peer in peers:
            assert peer.peer_id not in room_of_peer, f"peer {peer.peer_id} is in two rooms"
            room_of_peer[peer.peer_id] = summary.room
            assert await store.room_of(peer.peer_id) == summary.room
    sessions = signaling.sessions
    assert {s.peer_id: s.room for s in sessions.values()} == room_of_peer, (sessions, room_of_peer)
    assert len({s.peer_id for s in sessions.values()}) == len(sessions)
    assert set(sessions) <= set(signaling.connections)
    assert sum(signaling.gate.counter.open.values()) == len(signaling.connections)
    for sid, connection in signaling.connections.items():
        channels = set(signaling.sio.rooms(sid)) - {sid}
        session = sessions.get(sid)
        expected = {room_channel(session.room), peer_channel(session.peer_id)} if session else {LOBBY}
        if connection.waiting is not None:  # in the lobby, and waiting to be let into a room
            expected = {LOBBY, waiting_channel(connection.waiting[1])}
        assert channels == expected, (sid, channels, expected)


async def eventually_consistent(signaling: SignalingServer, timeout: float = 10) -> None:
    """``check_consistency`` once the server has finished handling disconnects still in progress."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            await check_consistency(signaling)
            return
        except AssertionError:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.05)
