"""python-socketio tuned for relaying signaling messages, without changing what goes on the wire.

Profiling the relay path (docs/benchmarks.md) showed most of the time outside our handlers: zlib for
websocket permessage-deflate, the stdlib JSON codec, a recursive scan of every outgoing payload for
binary parts, and a task created per recipient of each emit. Each piece here removes one of those
through python-socketio's own extension points (``json=``, ``packet_class``, ``client_manager``) or
engineio's websocket driver table.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import engineio.async_drivers.aiohttp as eio_aiohttp
import msgspec
import socketio
from aiohttp.web import WebSocketResponse
from engineio import async_socket as eio_async_socket
from engineio import exceptions as eio_exceptions
from engineio import packet as eio_packet
from socketio import packet as sio_packet

log = logging.getLogger(__name__)

# Names python-socketio gives special meaning; a client must not be able to trigger them as events.
RESERVED_EVENTS = frozenset({"connect", "disconnect", "connect_error", "message", "*"})


class MsgspecJSON:
    """A ``json``-module lookalike for python-socketio and python-engineio, backed by msgspec (C)."""

    _encoder = msgspec.json.Encoder()
    _decoder = msgspec.json.Decoder()

    @classmethod
    def dumps(cls, obj: Any, **_: Any) -> str:
        return cls._encoder.encode(obj).decode()

    @classmethod
    def loads(cls, text: str | bytes, **_: Any) -> Any:
        try:
            return cls._decoder.decode(text)
        except msgspec.DecodeError as exc:
            raise ValueError(str(exc)) from None


class Packet(sio_packet.Packet):
    """Socket.IO packets encoded with msgspec. The server never sends binary attachments (every payload
    it emits was validated as JSON at the edge), so the recursive scan of each outgoing payload for
    ``bytes`` is skipped; binary packets from clients still decode, and validation refuses them."""

    json = MsgspecJSON
    uses_binary_events = False


class DirectEmit(socketio.AsyncManager):
    """Emit without a task per recipient: each send only queues on that socket's writer, so awaiting
    them in turn is cheaper than ``create_task`` + ``asyncio.wait`` and keeps per-socket order.
    This is also the in-process client manager."""

    async def emit(  # type: ignore[override]
        self,
        event: str,
        data: Any,
        namespace: str,
        room: str | None = None,
        skip_sid: str | list[str] | None = None,
        callback: Any = None,
        to: str | None = None,
        **kwargs: Any,
    ) -> None:
        if callback is not None or namespace not in self.rooms:
            await super().emit(event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, to=to, **kwargs)
            return
        args = list(data) if isinstance(data, tuple) else ([] if data is None else [data])
        skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        encoded = self.server.packet_class(sio_packet.EVENT, namespace=namespace, data=[event, *args]).encode()
        packets = [
            eio_packet.Packet(eio_packet.MESSAGE, p) for p in (encoded if isinstance(encoded, list) else [encoded])
        ]
        for sid, eio_sid in list(self.get_participants(namespace, to or room)):
            if sid not in skip:
                for p in packets:
                    await self.server._send_eio_packet(eio_sid, p)


Manager = DirectEmit


class RedisManager(socketio.AsyncRedisManager, DirectEmit):
    """python-socketio's Redis queue manager; what it delivers to this process's own sockets goes out
    through ``DirectEmit`` (the method order puts it between the queue and ``AsyncManager``)."""


class _PlainWebSocket(eio_aiohttp.WebSocket):
    """engineio's aiohttp websocket without permessage-deflate: Socket.IO's messages are small JSON,
    where zlib cost 8-37% of relay throughput and about 3× the memory per connection."""

    async def __call__(self, environ: dict[str, Any]) -> WebSocketResponse:
        request = environ["aiohttp.request"]
        self._sock = WebSocketResponse(max_msg_size=self.server.max_http_buffer_size, compress=False)
        await self._sock.prepare(request)
        self.environ = environ
        await self.handler(self)
        return self._sock


class Server(socketio.AsyncServer):
    """``AsyncServer`` with the pieces above, and reserved event names refused."""

    def __init__(self, client_manager: socketio.AsyncManager | None = None, **kwargs: Any) -> None:
        super().__init__(client_manager=client_manager or Manager(), json=MsgspecJSON, **kwargs)
        self.packet_class = Packet
        self.eio._async = {**self.eio._async, "websocket": _PlainWebSocket}

    async def _handle_event(self, eio_sid: str, namespace: str, id: int | None, data: list[Any]) -> None:
        # python-socketio dispatches a client-sent "disconnect" event to the disconnect handler, which
        # would drop a peer whose socket is still open. Reserved names are never client events.
        if not data or not isinstance(data[0], str) or data[0] in RESERVED_EVENTS:
            log.warning("ignored a client event with a reserved or invalid name: %r", data[:1])
            return
        await super()._handle_event(eio_sid, namespace, id, data)


_upstream_poll = eio_async_socket.AsyncSocket.poll


async def _poll_without_task(self: eio_async_socket.AsyncSocket) -> list[eio_packet.Packet]:
    """``AsyncSocket.poll`` with ``asyncio.timeout`` instead of ``wait_for``: the same wait for the next
    outgoing packets, without wrapping ``queue.get()`` in a new task at every wake-up."""
    try:
        async with asyncio.timeout(self.server.ping_interval + self.server.ping_timeout):
            first = await self.queue.get()
        self.queue.task_done()
    except (TimeoutError, asyncio.CancelledError):
        raise eio_exceptions.QueueEmpty() from None
    if first is None:
        return []
    packets = [first]
    while not self.queue.empty():
        pkt = self.queue.get_nowait()
        self.queue.task_done()
        if pkt is None:
            self.queue.put_nowait(None)
            break
        packets.append(pkt)
    return packets


_upstream_websocket_handler = eio_async_socket.AsyncSocket._websocket_handler


async def _websocket_handler(self: eio_async_socket.AsyncSocket, ws: eio_aiohttp.WebSocket) -> None:
    """``AsyncSocket._websocket_handler`` for sockets that open on websocket directly (what our bots,
    the benchmark and websocket-only deployments do): the same protocol, but each received message is
    awaited under ``asyncio.timeout`` instead of ``ensure_future`` + ``wait_for``, two task hand-offs
    fewer per message. Upgrades from polling keep engineio's own handler."""
    if self.connected:
        await _upstream_websocket_handler(self, ws)
        return
    self.connected = True
    self.upgraded = True
    limit = self.server.max_http_buffer_size
    idle = self.server.ping_interval + self.server.ping_timeout

    async def writer() -> None:
        while True:
            try:
                packets = await self.poll()
            except eio_exceptions.QueueEmpty:
                # A quiet queue is normal here: pings and most messages go out directly in ``_send``.
                # Liveness is the reader's job (it stops this writer with None); only a socket closed
                # meanwhile ends the writer.
                if self.closed:
                    break
                continue
            if not packets:
                break
            self.writer_busy = True
            try:
                for pkt in packets:
                    await ws.send(pkt.encode())
            except Exception:
                break
            finally:
                self.writer_busy = False
        self.direct_ws = None
        await ws.close()

    writer_task = asyncio.ensure_future(writer())
    self.direct_ws = ws._sock
    while True:
        try:
            async with asyncio.timeout(idle):
                data = await ws.wait()
        except (Exception, asyncio.CancelledError):
            break
        if data is None:
            break
        if len(data) > limit:
            self.server.logger.info("%s: packet is too large, closing", self.sid)
            break
        try:
            await self.receive(eio_packet.Packet(encoded_packet=data))
        except eio_exceptions.UnknownPacketError:
            pass
        except eio_exceptions.SocketIsClosedError:
            break
        except Exception:
            self.server.logger.exception("Unknown receive error")
    self.direct_ws = None
    await self.queue.put(None)  # unlock the writer task so it can exit
    await writer_task
    await self.close(wait=False, abort=True, reason=self.server.reason.TRANSPORT_CLOSE)


_upstream_send = eio_async_socket.AsyncSocket.send


async def _send(self: eio_async_socket.AsyncSocket, pkt: eio_packet.Packet) -> None:
    """Write straight to the websocket when nothing is queued before this packet and the connection is
    not applying backpressure; otherwise queue it for the writer task as engineio does. This saves the
    writer task a wake-up per message without reordering anything or blocking on a slow reader."""
    ws = getattr(self, "direct_ws", None)
    if (
        ws is None
        or self.closing
        or self.closed
        or getattr(self, "writer_busy", False)
        or not self.queue.empty()
        or ws._writer is None
        or ws._writer.protocol._paused
    ):
        await _upstream_send(self, pkt)
        return
    if not await self.check_ping_timeout():
        return
    data = pkt.encode()
    try:
        if isinstance(data, str):
            await ws.send_str(data)
        else:
            await ws.send_bytes(data)
    except Exception:  # the reader notices the closed connection and cleans up
        self.server.logger.info("%s: direct send failed, connection closing", self.sid)


eio_async_socket.AsyncSocket.send = _send  # type: ignore[method-assign]
eio_async_socket.AsyncSocket.poll = _poll_without_task  # type: ignore[method-assign]
eio_async_socket.AsyncSocket._websocket_handler = _websocket_handler  # type: ignore[method-assign]
