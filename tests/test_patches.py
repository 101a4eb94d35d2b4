"""Third-party internals are replaced only by an explicit, version-checked install(): on the versions the
replacements were written for they go in; when upstream's code changed, install() refuses with one warning
line and the server runs on upstream's code."""

from __future__ import annotations

import logging

import engineio.async_drivers.aiohttp as eio_aiohttp
import pytest
import socketio
from aiortc import jitterbuffer, rtcrtpreceiver, rtp
from engineio.async_socket import AsyncSocket

from noom.app import SIGNALING_KEY
from noom.media import rtp_fastpath
from noom.signaling import engineio_patch, socketio_patch

from .helpers import RunningServer


def test_the_engineio_patch_is_in_place_on_the_tested_version(server: RunningServer) -> None:
    # Fails when python-engineio changed one of the methods: re-check engineio_patch.py, then its digests.
    assert engineio_patch.install()
    assert AsyncSocket.send is engineio_patch._send
    assert AsyncSocket._websocket_handler is engineio_patch._websocket_handler


async def test_a_changed_engineio_method_leaves_upstream_in_place(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, make_server, connect
) -> None:
    engineio_patch.uninstall()  # the next make_app installs it again for the other tests
    upstream_send, upstream_poll = AsyncSocket.send, AsyncSocket.poll

    async def changed_poll(self: AsyncSocket) -> list:  # a new upstream release, say
        return await upstream_poll(self)

    monkeypatch.setattr(AsyncSocket, "poll", changed_poll)
    with caplog.at_level(logging.WARNING, logger=engineio_patch.__name__):
        server: RunningServer = await make_server()
    warnings = [r.getMessage() for r in caplog.records if r.name == engineio_patch.__name__]
    assert len(warnings) == 1 and "AsyncSocket.poll" in warnings[0] and "unchanged" in warnings[0], warnings
    assert AsyncSocket.send is upstream_send and AsyncSocket.poll is changed_poll
    # The server works on upstream's loops: two people join and relay to each other.
    alice = await connect(server)
    bob = await connect(server)
    await alice.join("upstream-loops", "Alice")
    await bob.join("upstream-loops", "Bob")
    assert await bob.call("ice", {"to": alice.peer_id, "candidate": None}) == {"ok": True}
    assert (await alice.next("ice"))["from"] == bob.peer_id


def test_a_changed_aiortc_function_leaves_aiortc_in_place(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def changed_level(frame) -> int:  # a new aiortc release, say
        return rtp_fastpath.aiortc_audio_level_dbov(frame)

    monkeypatch.setattr(rtp_fastpath, "_installed", False)
    monkeypatch.setattr(rtcrtpreceiver, "JitterBuffer", jitterbuffer.JitterBuffer)
    monkeypatch.setattr(rtp, "compute_audio_level_dbov", changed_level)
    with caplog.at_level(logging.WARNING, logger=rtp_fastpath.__name__):
        assert not rtp_fastpath.install()
    warnings = [r.getMessage() for r in caplog.records if r.name == rtp_fastpath.__name__]
    assert len(warnings) == 1 and "rtp.compute_audio_level_dbov" in warnings[0], warnings
    assert rtcrtpreceiver.JitterBuffer is jitterbuffer.JitterBuffer and rtp.compute_audio_level_dbov is changed_level


def test_the_server_leaves_other_socketio_clients_codecs_alone(server: RunningServer) -> None:
    import engineio.json
    import engineio.packet
    import socketio.packet

    from noom.signaling.engine import MsgspecJSON, Packet

    assert server.app[SIGNALING_KEY].sio.packet_class is Packet and Packet.json is MsgspecJSON
    # Bots' and tests' clients in this process keep the stock codecs.
    assert socketio.packet.Packet.json is not MsgspecJSON and engineio.packet.Packet.json is engineio.json


def test_the_socketio_overrides_and_the_plain_websocket_are_in_place_on_the_tested_versions(
    server: RunningServer,
) -> None:
    # Fails when python-socketio changed a method signaling/engine.py overrides or calls: re-check engine.py,
    # then socketio_patch's digests (likewise engineio's websocket driver and engineio_patch).
    assert socketio_patch.install() and socketio_patch.installed()
    assert server.app[SIGNALING_KEY].sio.eio._async["websocket"] is engineio_patch.PlainWebSocket


async def test_a_changed_socketio_method_leaves_upstream_in_place(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, make_server, connect
) -> None:
    socketio_patch.uninstall()  # the next make_app installs it again for the other tests
    upstream_handle_event = socketio.AsyncServer._handle_event

    async def changed_handle_event(self, eio_sid, namespace, id, data):  # a new upstream release, say
        return await upstream_handle_event(self, eio_sid, namespace, id, data)

    monkeypatch.setattr(socketio.AsyncServer, "_handle_event", changed_handle_event)
    with caplog.at_level(logging.WARNING, logger=socketio_patch.__name__):
        server: RunningServer = await make_server()
    warnings = [r.getMessage() for r in caplog.records if r.name == socketio_patch.__name__]
    assert len(warnings) == 1 and "AsyncServer._handle_event" in warnings[0] and "unchanged" in warnings[0], warnings
    assert not socketio_patch.installed()
    # The server works on upstream's dispatch and emit: two people join, relay and chat.
    alice = await connect(server)
    bob = await connect(server)
    await alice.join("upstream-dispatch", "Alice")
    await bob.join("upstream-dispatch", "Bob")
    assert await bob.call("ice", {"to": alice.peer_id, "candidate": None}) == {"ok": True}
    assert (await alice.next("ice"))["from"] == bob.peer_id
    assert (await bob.call("chat", {"text": "hi"}))["ok"]
    assert (await alice.next("chat"))["text"] == "hi"


async def test_a_changed_websocket_driver_leaves_engineios_in_place(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, make_server, connect
) -> None:
    upstream_call = eio_aiohttp.WebSocket.__call__

    async def changed_call(self, environ):  # a new upstream release, say
        return await upstream_call(self, environ)

    monkeypatch.setattr(eio_aiohttp.WebSocket, "__call__", changed_call)
    with caplog.at_level(logging.WARNING, logger=engineio_patch.__name__):
        server: RunningServer = await make_server()
    warnings = [r.getMessage() for r in caplog.records if r.name == engineio_patch.__name__]
    assert len(warnings) == 1 and "WebSocket.__call__" in warnings[0], warnings
    assert server.app[SIGNALING_KEY].sio.eio._async["websocket"] is eio_aiohttp.WebSocket
    alice = await connect(server)
    await alice.join("upstream-driver", "Alice")
    assert (await alice.call("rooms"))["ok"]
