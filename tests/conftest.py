from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from .helpers import Client, RunningServer, test_config

# Playwright fixtures for the browser tests live in their own module.
pytest_plugins = ["tests.browser_fixtures"]


@pytest.fixture
async def make_server() -> AsyncIterator[Callable[..., Awaitable[RunningServer]]]:
    """Start servers with config overrides: ``await make_server(capacity=2)``."""
    servers: list[RunningServer] = []

    async def start(**overrides: Any) -> RunningServer:
        server = await RunningServer(test_config(**overrides)).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.stop()


@pytest.fixture
async def server(make_server: Callable[..., Awaitable[RunningServer]]) -> RunningServer:
    return await make_server()


@pytest.fixture
async def connect() -> AsyncIterator[Callable[..., Awaitable[Client]]]:
    """Connected protocol clients of any server: ``alice = await connect(server, transports=["polling"])``."""
    made: list[Client] = []

    async def start(server: RunningServer, auth: dict[str, str] | None = None, **kwargs: Any) -> Client:
        client = await Client(server.url, auth).connect(**kwargs)
        made.append(client)
        return client

    yield start
    for client in made:
        await client.close()


@pytest.fixture
async def clients(server: RunningServer, connect: Callable[..., Awaitable[Client]]) -> Callable[..., Awaitable[Client]]:
    """Connected protocol clients of ``server``: ``alice = await clients()``."""

    async def start(**kwargs: Any) -> Client:
        return await connect(server, **kwargs)

    return start


@pytest.fixture
async def joined(clients: Callable[..., Awaitable[Client]]) -> Callable[..., Awaitable[Client]]:
    """A client of ``server`` that connected and joined ``room``: ``alice = await joined("demo", "Alice")``.

    Connecting right before joining keeps the client out of the lobby while others join, so it gets no
    ``rooms`` pushes a test did not ask for.
    """

    async def start(room: str, name: str = "Alice", **extra: Any) -> Client:
        client = await clients()
        await client.join(room, name, **extra)
        return client

    return start
