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
async def clients(server: RunningServer) -> AsyncIterator[Callable[..., Awaitable[Client]]]:
    """Connected protocol clients of ``server``: ``alice = await clients()``."""
    made: list[Client] = []

    async def connect(**kwargs: Any) -> Client:
        client = await Client(server.url).connect(**kwargs)
        made.append(client)
        return client

    yield connect
    for client in made:
        await client.close()
