"""python-socketio tuned for relaying signaling messages, without changing what goes on the wire.

Profiling the relay path (docs/benchmarks.md) showed most of the time outside our handlers: zlib for
websocket permessage-deflate, the stdlib JSON codec, a recursive scan of every outgoing payload for
binary parts, and a task created per recipient of each emit. Each piece here removes one of those
through python-socketio's own extension points (``serializer=``, ``client_manager``) or engineio's
websocket driver table. Where that means overriding or calling python-socketio's private methods, the
overrides act only once ``socketio_patch.install()`` has checked upstream's code; the replaced Engine.IO
socket loops and websocket driver live in ``engineio_patch``. Both are installed by the app factory.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
import socketio
from engineio import packet as eio_packet
from socketio import packet as sio_packet

from . import engineio_patch, socketio_patch

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
        except RecursionError:  # msgspec refuses nesting deeper than about 1000 levels this way
            raise ValueError("JSON nested too deeply") from None


class Packet(sio_packet.Packet):
    """Socket.IO packets encoded with msgspec. The server never sends binary attachments (every payload
    it emits was validated as JSON at the edge), so the recursive scan of each outgoing payload for
    ``bytes`` is skipped; binary packets from clients still decode, and validation refuses them."""

    json = MsgspecJSON
    uses_binary_events = False

    # python-socketio's decoder raises whatever its parsing trips on (TypeError on a binary frame where text
    # belongs, IndexError on a placeholder numbered past the attachments, RecursionError on deep nesting):
    # every one of them is a malformed packet from the client, reported as ``MalformedPacket``.
    def decode(self, encoded_packet: Any) -> int:
        # Engine.IO hands over its message JSON-decoded when it can ("4true" arrives as True, which
        # python-socketio would read as packet type 1, a namespace disconnect): a Socket.IO packet is text.
        if not isinstance(encoded_packet, str):
            raise MalformedPacket(f"a Socket.IO packet is text, not {type(encoded_packet).__name__}")
        try:
            return super().decode(encoded_packet)
        except (ValueError, TypeError, IndexError, KeyError, AttributeError, RecursionError) as exc:
            raise MalformedPacket(f"undecodable Socket.IO packet: {str(exc)[:100]}") from None

    def add_attachment(self, attachment: Any) -> bool:
        if not isinstance(attachment, bytes):  # a text packet where the announced attachment belongs
            raise MalformedPacket("expected a binary attachment")
        try:
            return super().add_attachment(attachment)
        except (ValueError, TypeError, IndexError, KeyError, AttributeError, RecursionError) as exc:
            raise MalformedPacket(f"bad binary attachment: {str(exc)[:100]}") from None


class MalformedPacket(ValueError):
    """A client sent bytes that are not a Socket.IO packet."""


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
        if callback is not None or namespace not in self.rooms or not socketio_patch.installed():
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


class Server(socketio.AsyncServer):
    """``AsyncServer`` with the pieces above, and reserved event names refused."""

    def __init__(self, client_manager: socketio.AsyncManager | None = None, **kwargs: Any) -> None:
        # serializer=, not json=: python-socketio's json= rewrites the json of the stock Packet classes
        # (socketio's and engineio's) for every client in the process; our subclass carries its own.
        super().__init__(client_manager=client_manager or Manager(), serializer=Packet, **kwargs)
        plain = engineio_patch.plain_websocket()
        if plain is not None:
            self.eio._async = {**self.eio._async, "websocket": plain}

    async def _handle_event(self, eio_sid: str, namespace: str, id: int | None, data: Any) -> None:
        # python-socketio dispatches a client-sent "disconnect" event to the disconnect handler, which
        # would drop a peer whose socket is still open. Reserved names are never client events. An event
        # is a list starting with its name: a packet like 42"join" would otherwise run "j" with "o", "i", "n".
        if not socketio_patch.installed():
            await super()._handle_event(eio_sid, namespace, id, data)
            return
        if not isinstance(data, list) or not data or not isinstance(data[0], str) or data[0] in RESERVED_EVENTS:
            name = data[0] if isinstance(data, list) and data and isinstance(data[0], str) else type(data).__name__
            log.warning("ignored a client event with a reserved or invalid name: %r", name[:64])
            return
        await super()._handle_event(eio_sid, namespace, id, data)

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        # Event handlers never raise (SignalingServer guards them), so a ValueError here is python-socketio
        # refusing the packet itself (undecodable, unexpected binary, unknown type). Close the connection,
        # as the JavaScript server does, with a warning instead of engineio's traceback.
        if not socketio_patch.installed():
            await super()._handle_eio_message(eio_sid, data)
            return
        try:
            await super()._handle_eio_message(eio_sid, data)
        except ValueError as exc:
            self._binary_packet.pop(eio_sid, None)
            log.warning("closing a connection that sent a malformed packet: %s", str(exc)[:200])
            socket = self.eio.sockets.pop(eio_sid, None)
            if socket is not None:
                await socket.close(wait=False, reason=self.eio.reason.SERVER_DISCONNECT)
