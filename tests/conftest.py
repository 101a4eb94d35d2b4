from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from .helpers import Client, RunningServer, test_config

# Fixtures live in their own modules: Playwright's Chromium, Firefox, and services (Redis, noom processes, stores).
pytest_plugins = ["tests.browser_fixtures", "tests.firefox", "tests.service_fixtures"]


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


# Test tiers, so a change can be checked quickly (`bash scripts/test.sh -m unit`) and CI runs everything.
# Every module gets its tier from its name; the few that cross tiers are listed. A test is also `unit` when
# it uses no server, socket, browser or Redis fixture (HEAVY_FIXTURES) and runs in-process in moments.
MODULE_TIERS: dict[str, tuple[str, ...]] = {
    "test_media_echo_page": ("media", "browser"),
    "test_media_browser_recording": ("media", "browser"),
    "test_scale_browser": ("scale", "browser"),
    "test_load": ("scale",),
    "test_faults": ("scale",),
    "test_wheel": ("scale", "browser"),  # builds and installs the wheel, then holds a call on it
    "test_no_bots": ("signaling",),
}
TIER_PREFIXES = {"test_browser_": "browser", "test_media_": "media", "test_scale_": "scale"}
HEAVY_FIXTURES = {"server", "make_server", "connect", "clients", "joined", "browsers", "redis_server", "redis_url"}


def tiers_of(module: str) -> tuple[str, ...]:
    if module in MODULE_TIERS:
        return MODULE_TIERS[module]
    for prefix, tier in TIER_PREFIXES.items():
        if module.startswith(prefix):
            return (tier,)
    return ("signaling",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1] if isinstance(item, pytest.Function) else ""
        tiers = tiers_of(module)
        for tier in tiers:
            item.add_marker(tier)
        fixtures = set(getattr(item, "fixturenames", ()))
        callspec = getattr(item, "callspec", None)
        on_redis = callspec is not None and "redis" in callspec.params.values()  # a store run against both
        if not fixtures & HEAVY_FIXTURES and not on_redis and not {"browser", "scale"} & set(tiers):
            item.add_marker("unit")
