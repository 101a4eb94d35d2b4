"""Engine.IO sessions per client address are counted from the handshake (issue 10): raw websockets that
never send the Socket.IO connect are capped and closed after ``--connect-timeout``; a refused client is
told why."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
import socketio

from noom.app import SIGNALING_KEY
from noom.signaling.gate import GRACE_SESSIONS, REFUSAL, ConnectionGate
from noom.signaling.server import SignalingServer

from .helpers import Client, RunningServer
from .support import eventually


def signaling_of(server: RunningServer) -> SignalingServer:
    return server.app[SIGNALING_KEY]


async def raw_websocket(http: aiohttp.ClientSession, server: RunningServer) -> aiohttp.ClientWebSocketResponse | None:
    """An Engine.IO websocket that never sends the Socket.IO connect ``40``; None when refused at the handshake."""
    url = server.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    try:
        return await http.ws_connect(url)
    except aiohttp.WSServerHandshakeError as exc:
        assert exc.status == 401, exc
        return None


async def until_closed(ws: aiohttp.ClientWebSocketResponse) -> None:
    async for _ in ws:  # ends when the server closes the websocket
        pass


async def test_raw_engineio_sockets_are_capped_per_address_at_the_handshake(make_server, caplog) -> None:
    # A long connect deadline: what closes the sockets over the cap here is the gate, not the deadline.
    server = await make_server(max_connections_per_address=32, connect_timeout=120)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        with caplog.at_level(logging.WARNING, logger="noom.signaling.gate"):
            sockets = await asyncio.gather(*(raw_websocket(http, server) for _ in range(120)))
        opened = [ws for ws in sockets if ws is not None]
        readers = [asyncio.ensure_future(until_closed(ws)) for ws in opened]
        # The handshake admits the cap and a couple of short-lived refusal sessions (for a readable refusal).
        assert len(opened) <= 32 + GRACE_SESSIONS
        await eventually(lambda: sum(not r.done() for r in readers) == 32, timeout=15, what="32 sockets left open")
        assert len(signaling_of(server).sio.eio.sockets) == 32
        assert signaling_of(server).gate.counter.open == {"127.0.0.1": 32}
        refusals = [r for r in caplog.records if "refusing connections from 127.0.0.1" in r.getMessage()]
        assert len(refusals) == 1  # one line per address per minute, not one per refused socket
        for ws in opened:
            await ws.close()
        await asyncio.gather(*readers)
    await eventually(lambda: not signaling_of(server).gate.counter.open, what="the places freed")
    client = await Client(server.url).connect()  # and the address may connect again
    await client.close()


async def test_a_session_that_sends_no_socketio_connect_is_closed(make_server) -> None:
    server = await make_server(connect_timeout=1.5)
    signaling = signaling_of(server)
    async with aiohttp.ClientSession() as http:
        ws = await raw_websocket(http, server)
        assert ws is not None
        opening = await ws.receive()
        assert opening.type == aiohttp.WSMsgType.TEXT and opening.data.startswith("0{")
        # Long-polling too: its handshake opens a session that must be followed by "40" as well.
        async with http.get(server.url + "/socket.io/?EIO=4&transport=polling") as response:
            assert response.status == 200 and (await response.text()).startswith("0{")
        await asyncio.wait_for(until_closed(ws), 15)
        await eventually(lambda: not signaling.sio.eio.sockets, timeout=15, what="the polling session closed")
    assert not signaling.gate.sessions and not signaling.gate.counter.open
    # A real client sends "40" right after the handshake and is not closed by the deadline.
    client = await Client(server.url).connect()
    await asyncio.sleep(2.5)
    assert client.sio.connected and (await client.call("rooms", {}))["ok"]
    await client.close()


async def test_a_refused_client_reads_why_on_either_transport(make_server) -> None:
    server = await make_server(max_connections_per_address=1)
    first = await Client(server.url).connect()
    for transport in ("websocket", "polling"):
        refused = Client(server.url)
        reasons: list[object] = []
        refused.sio.on("connect_error", reasons.append)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await refused.connect(transports=[transport])
        assert REFUSAL in str(reasons), (transport, reasons)
    await eventually(lambda: len(signaling_of(server).sio.eio.sockets) == 1, what="the refusal sessions closed")
    await first.close()


async def test_the_gate_counts_per_address_and_exempts_bots() -> None:
    gate = ConnectionGate(cap=1, connect_timeout=60, trust_proxy=True, grace=1)

    def environ(address: str, forwarded: str | None = None) -> dict[str, Any]:
        env: dict[str, Any] = {
            "aiohttp.request": SimpleNamespace(remote=address),
            "QUERY_STRING": "EIO=4&transport=websocket",
        }
        if forwarded:
            env["HTTP_X_FORWARDED_FOR"] = forwarded
        return env

    assert gate.open("a", environ("10.0.0.1")) is None
    assert gate.open("b", environ("10.0.0.1")) is None  # over the cap: a refusal session
    assert gate.open("c", environ("10.0.0.1")) == {"message": REFUSAL}  # past the refusal sessions too
    # Behind our proxy: the last X-Forwarded-For entry is the one the proxy added; the first is a claim.
    assert gate.open("d", environ("10.0.0.1", forwarded="10.0.0.1, 203.0.113.7")) is None
    assert gate.address("d") == "203.0.113.7"
    assert gate.connected("a")
    assert not gate.connected("b")
    gate.exempt("a")  # one of our bots: its place goes back to the address
    assert "10.0.0.1" not in gate.counter.open
    assert gate.open("e", environ("10.0.0.2")) is None and gate.connected("e")
    gate.release("a")
    gate.release("a")  # idempotent
    # b's close is scheduled (no engineio server here: it only forgets b).
    await eventually(lambda: "b" not in gate.sessions, what="the refusal session closed")
    assert set(gate.sessions) == {"d", "e"}
    assert gate.refusals == {}
