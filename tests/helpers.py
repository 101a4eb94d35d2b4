"""Test helpers: a real Noom server on an ephemeral port and a protocol client that records what it receives."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import defaultdict
from typing import Any

import socketio
from aiohttp import web

from signaling.app import make_app
from signaling.config import Config

SERVER_EVENTS = ("peer-joined", "peer-left", "offer", "answer", "ice", "chat", "media", "peer-renamed", "rooms")


class RunningServer:
    """``make_app`` served by aiohttp on 127.0.0.1 with an ephemeral port, in the test's event loop."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.app = make_app(config)
        self.runner = web.AppRunner(self.app)
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


def test_config(**overrides: Any) -> Config:
    return dataclasses.replace(Config(host="127.0.0.1", port=0), **overrides)


class Client:
    """A python-socketio client of protocol v1 that queues every server event it receives."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sio = socketio.AsyncClient(reconnection=False)
        self.received: dict[str, asyncio.Queue[Any]] = defaultdict(asyncio.Queue)
        self.peer_id: str | None = None
        for event in SERVER_EVENTS:
            self.sio.on(event, self._recorder(event))

    def _recorder(self, event: str):
        async def record(data: Any = None) -> None:
            self.received[event].put_nowait(data)

        return record

    async def connect(self, transports: list[str] | None = None) -> Client:
        await self.sio.connect(self.url, transports=transports or ["websocket"], wait_timeout=10)
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

    async def nothing(self, event: str, within: float = 0.3) -> None:
        """Assert that ``event`` does not arrive within ``within`` seconds."""
        await asyncio.sleep(within)
        assert self.received[event].empty(), f"unexpected {event}: {self.received[event].get_nowait()}"

    def drain(self, event: str) -> list[Any]:
        items = []
        while not self.received[event].empty():
            items.append(self.received[event].get_nowait())
        return items

    async def close(self) -> None:
        await self.sio.disconnect()
