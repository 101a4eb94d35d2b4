"""Test helpers: a real Noom server on an ephemeral port and a protocol client that records what it receives."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import defaultdict
from typing import Any

import socketio
from aiohttp import web
from socketio import packet as socketio_packet

from noom.app import make_app
from noom.config import RATE_FIELDS, Config, Rate
from noom.protocol import SERVER_EVENTS
from noom.secret import SECRET_KEY


class RunningServer:
    """``make_app`` served by aiohttp on 127.0.0.1 with an ephemeral port, in the test's event loop."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.app = make_app(config)
        # A long-poll request stays open on the server after its client closed (see Client.close); do not
        # wait the default 60 s for it when the test ends.
        self.runner = web.AppRunner(self.app, shutdown_timeout=1)
        self.url = ""

    async def start(self) -> RunningServer:
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.config.host, 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://{self.config.host}:{port}"
        return self

    async def stop(self) -> None:
        await self.runner.cleanup()

    @property
    def bot_auth(self) -> dict[str, str]:
        """The connect ``auth`` of this server's own bots."""
        return {"botSecret": self.app[SECRET_KEY].bot_credential()}


# Protocol tests send far faster than any person; they run with the abuse limits out of the way.
# tests/test_limits.py checks the limits at their real defaults (``DEFAULT_RATES``).
UNLIMITED = Rate(1e6, 1_000_000)
GENEROUS_RATES = {field: UNLIMITED for field in RATE_FIELDS}
DEFAULT_RATES = {field: getattr(Config(), field) for field in RATE_FIELDS}


# Test servers share one known secret, so that bots run as separate processes (``noom bot``, ``noom record``)
# can authenticate to them with ``--server-secret`` / NOOM_SERVER_SECRET.
TEST_SERVER_SECRET = "test-server-secret-not-for-production"


def test_config(**overrides: Any) -> Config:
    """The config of test servers: rate limits out of the way and every room-list change pushed at once
    (test_signaling_rooms.py checks the folding of pushes at the default interval)."""
    defaults = {**GENEROUS_RATES, "rooms_push_interval": 0.0, "server_secret": TEST_SERVER_SECRET}
    return dataclasses.replace(Config(host="127.0.0.1", port=0), **{**defaults, **overrides})


class Client:
    """A python-socketio client of protocol v1 that queues every server event it receives."""

    def __init__(self, url: str, auth: dict[str, str] | None = None) -> None:
        self.url = url
        self.auth = auth
        self.sio = socketio.AsyncClient(reconnection=False)
        self.received: dict[str, asyncio.Queue[Any]] = defaultdict(asyncio.Queue)
        self.peer_id: str | None = None
        for event in SERVER_EVENTS:
            self.sio.on(event, self._recorder(event))

    def _recorder(self, event: str):
        async def record(data: Any = None) -> None:
            self.received[event].put_nowait(data)

        return record

    async def connect(self, transports: list[str] | None = None, headers: dict[str, str] | None = None) -> Client:
        await self.sio.connect(
            self.url, transports=transports or ["websocket"], auth=self.auth, headers=headers or {}, wait_timeout=10
        )
        return self

    async def call(self, event: str, *args: Any, timeout: float = 10) -> Any:
        """Emit with an acknowledgement and return the ack."""
        return await self.sio.call(event, args[0] if len(args) == 1 else (args or None), timeout=timeout)

    async def join(self, room: str, name: str = "Alice", **extra: Any) -> dict[str, Any]:
        ack = await self.call("join", {"room": room, "name": name, **extra})
        assert ack["ok"], ack
        self.peer_id = ack["peerId"]
        return ack

    async def next(self, event: str, timeout: float = 5) -> Any:
        return await asyncio.wait_for(self.received[event].get(), timeout)

    async def nothing(self, event: str, within: float) -> None:
        """Assert that ``event`` does not arrive within ``within`` seconds: for what no sentinel can prove
        (``assert_silent``), such as a timer that would fire or a bot that would decide on its own time."""
        await asyncio.sleep(within)
        assert self.received[event].empty(), f"unexpected {event}: {self.received[event].get_nowait()}"

    def drain(self, event: str) -> list[Any]:
        items = []
        while not self.received[event].empty():
            items.append(self.received[event].get_nowait())
        return items

    def drain_all(self) -> dict[str, list[Any]]:
        """Every event received and not consumed yet, by event name (empty ones left out)."""
        return {event: items for event in list(self.received) if (items := self.drain(event))}

    async def refused(self, event: str, *args: Any) -> str:
        """Emit a request the server must refuse; check the failure ack's shape and return its code."""
        ack = await self.call(event, *args)
        assert isinstance(ack, dict) and ack.get("ok") is False and set(ack) == {"ok", "error"}, ack
        error = ack["error"]
        assert set(error) == {"code", "message"} and isinstance(error["message"], str) and error["message"], ack
        return error["code"]

    async def close(self) -> None:
        if self.sio.connected and self.sio.transport() == "polling":
            # python-engineio's server answers a long-poll still pending after the client's close packet only
            # at its ping timeout, and its client waits for that answer. Post the goodbye, wait until it is
            # sent, and walk away, as a browser does.
            await self.sio._send_packet(self.sio.packet_class(socketio_packet.DISCONNECT, namespace="/"))
            await asyncio.wait_for(self.sio.eio.queue.join(), 10)
            await self.sio.eio.disconnect(abort=True)
            return
        await self.sio.disconnect()


def peer(peer_id: str | None, name: str, **state: Any) -> dict[str, Any]:
    """The wire form of a Peer: a human with the initial media state unless ``state`` says otherwise."""
    wire = {"peerId": peer_id, "name": name, "kind": "human", "role": None}
    wire |= {"audio": True, "video": True, "screen": False, "hand": False, "handAt": None}
    return wire | state


async def flush(*clients: Client) -> None:
    """Return once everything the server had queued for ``clients`` has arrived.

    Each client sends a sentinel, ``rooms`` (acked, answered from anywhere, with no effect on anyone), and
    waits for its ack. The server handles one socket's events in order and writes its packets in order, and
    a handler queues what it sends others before its own ack: so once an action's ack is in, whatever it
    made the server send a client is ahead of that client's sentinel ack. Two rounds, so that events sent
    without an ack (by any of ``clients``) are handled before the second round's sentinels. This proves
    nothing about other processes (Redis), timers or bots, which act on their own time.
    """
    for _ in range(2):
        acks = await asyncio.gather(*(client.call("rooms") for client in clients))
        assert all(isinstance(ack, dict) and "ok" in ack for ack in acks), acks


async def assert_silent(*clients: Client) -> None:
    """Assert that none of ``clients`` has received anything not consumed yet, including anything the actions
    acknowledged so far made the server send (see ``flush``), and clear what was seen."""
    await flush(*clients)
    leftovers = {
        client.peer_id or f"client {i}": got for i, client in enumerate(clients) if (got := client.drain_all())
    }
    assert not leftovers, f"unexpected events: {leftovers}"
