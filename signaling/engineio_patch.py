"""Faster Engine.IO socket loops for python-engineio's ``AsyncSocket``, installed by ``install()`` only.

Profiling the relay path (docs/benchmarks.md) showed two task hand-offs per received message and a writer
wake-up per sent one. ``install()`` replaces ``AsyncSocket.send``, ``poll`` and ``_websocket_handler`` with
the versions below, which keep the protocol and the order of packets, but only when upstream's source of
each is exactly what they were written for (``UPSTREAM_DIGESTS``, python-engineio 4.15.1); otherwise it logs
one warning and leaves python-engineio as it is. The three go together (``send`` writes directly only to
sockets the replaced handler opened), so it is all or nothing. The same check guards ``PlainWebSocket``, the
websocket driver without permessage-deflate that ``signaling.engine.Server`` puts in its own driver table.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
from collections.abc import Callable
from importlib import metadata
from typing import Any

import engineio.async_drivers.aiohttp as eio_aiohttp
from aiohttp.web import WebSocketResponse
from engineio import async_socket as eio_async_socket
from engineio import exceptions as eio_exceptions
from engineio import packet as eio_packet

log = logging.getLogger(__name__)

# sha256 of inspect.getsource of each replaced upstream method (python-engineio 4.15.1).
UPSTREAM_DIGESTS = {
    "send": "0437276ccba7ab091471e29f4bc6a0f178da7b16a590c707d6c69a97609e6d14",
    "poll": "826f58a9f3606db208e5d1266f075ad655b6eeda47b0a5616748624899ca5954",
    "_websocket_handler": "27f120df4d717a24478b7b0f7389ce19eea8a881dd07e2c81fb1cf2493e006a5",
}
# Upstream's methods as found by install(), which the replacements fall back to.
_UPSTREAM: dict[str, Callable[..., Any]] = {}
# engineio's aiohttp websocket driver (python-engineio 4.15.1), which ``PlainWebSocket`` replaces per server.
WEBSOCKET_CALL_DIGEST = "71f9a94476d737c35a2971f606da0937fc1ac8704d717cb5bac44960864c4453"
_plain_driver_ok = False


def source_digest(function: Callable[..., Any]) -> str:
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()


def _cancelling() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


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


async def _websocket_handler(self: eio_async_socket.AsyncSocket, ws: eio_aiohttp.WebSocket) -> None:
    """``AsyncSocket._websocket_handler`` for sockets that open on websocket directly (what our bots,
    the benchmark and websocket-only deployments do): the same protocol, but each received message is
    awaited under ``asyncio.timeout`` instead of ``ensure_future`` + ``wait_for``, two task hand-offs
    fewer per message. Upgrades from polling keep engineio's own handler."""
    if self.connected:
        await _UPSTREAM["_websocket_handler"](self, ws)
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
                # With the direct path (``_send``) pings and messages skip the queue, so a queue idle for
                # the ping interval + timeout says nothing about the connection: the reader ends it.
                # Cancelled (our poll, like upstream's, turns that into QueueEmpty) or closed: end, as upstream.
                if self.closed or _cancelling():
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
        if self.closed:  # the server closed it, e.g. after a malformed packet
            break
    self.direct_ws = None
    await self.queue.put(None)  # unlock the writer task so it can exit
    await writer_task
    await self.close(wait=False, abort=True, reason=self.server.reason.TRANSPORT_CLOSE)


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
        await _UPSTREAM["send"](self, pkt)
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


class PlainWebSocket(eio_aiohttp.WebSocket):
    """engineio's aiohttp websocket without permessage-deflate: Socket.IO's messages are small JSON,
    where zlib cost 8-37% of relay throughput and about 3× the memory per connection."""

    async def __call__(self, environ: dict[str, Any]) -> WebSocketResponse:
        request = environ["aiohttp.request"]
        self._sock = WebSocketResponse(max_msg_size=self.server.max_http_buffer_size, compress=False)
        await self._sock.prepare(request)
        self.environ = environ
        await self.handler(self)
        return self._sock


def plain_websocket() -> type[eio_aiohttp.WebSocket] | None:
    """The websocket driver a server should use in place of engineio's: ours once ``install()`` found upstream's
    driver to be the one ``PlainWebSocket`` was written against."""
    return PlainWebSocket if _plain_driver_ok else None


def install() -> bool:
    """Replace the three ``AsyncSocket`` methods, and let servers use ``PlainWebSocket``, where upstream is the
    code each was written for (idempotent; the loops are all or nothing, the driver stands alone). Returns
    whether everything is in place; what changed upstream is logged in one warning line."""
    changed = _install_driver() + _install_loops()
    if changed:
        log.warning(
            "python-engineio %s: %s is not the code signaling/engineio_patch.py was written for; "
            "running upstream's code for it unchanged",
            metadata.version("python-engineio"),
            ", ".join(changed),
        )
    return not changed


def _install_driver() -> list[str]:
    global _plain_driver_ok
    _plain_driver_ok = source_digest(eio_aiohttp.WebSocket.__call__) == WEBSOCKET_CALL_DIGEST
    return [] if _plain_driver_ok else ["async_drivers.aiohttp.WebSocket.__call__"]


def _install_loops() -> list[str]:
    socket_class = eio_async_socket.AsyncSocket
    if _UPSTREAM:
        return []
    changed = [name for name, want in UPSTREAM_DIGESTS.items() if source_digest(getattr(socket_class, name)) != want]
    if changed:
        return [f"AsyncSocket.{name}" for name in changed]
    _UPSTREAM.update({name: getattr(socket_class, name) for name in UPSTREAM_DIGESTS})
    socket_class.send = _send  # type: ignore[method-assign]
    socket_class.poll = _poll_without_task  # type: ignore[method-assign]
    socket_class._websocket_handler = _websocket_handler  # type: ignore[method-assign]
    return []


def uninstall() -> None:
    """Put upstream's methods back (benchmarks compare both)."""
    for name, method in _UPSTREAM.items():
        setattr(eio_async_socket.AsyncSocket, name, method)
    _UPSTREAM.clear()
