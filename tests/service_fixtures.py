"""Fixtures for tests that need services: Redis, ``noom serve`` processes, a room store (a pytest plugin, see
conftest.py). Each stops what it started when the test ends, however it ends.

``redis_server`` is a fresh Redis for one test (which may stop and start it); ``noom_processes`` makes
``noom serve`` subprocesses; ``store`` runs a test once against each ``RoomStore``, the in-process one and
the Redis one (on a Redis shared by the module's tests, emptied before each), so both keep one contract.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from noom.protocol import BotRole, Peer, ProtocolError
from noom.signaling.memory import MemoryRoomStore
from noom.signaling.redis_store import RedisRoomStore
from noom.signaling.state import RoomStore

from .services import NoomProcess, RedisServer


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def noom_processes(tmp_path: Path) -> Iterator[Callable[..., NoomProcess]]:
    """``make(*flags, **options)``: a ``NoomProcess`` (not started yet) logging to the test's folder."""
    made: list[NoomProcess] = []

    def make(*flags: str, **options: Any) -> NoomProcess:
        process = NoomProcess(*flags, log=tmp_path / f"noom-{len(made)}.log", **options)
        made.append(process)
        return process

    yield make
    for process in made:
        process.stop()


@pytest.fixture(scope="module")
def module_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(Path(tmp_path_factory.mktemp("redis"))).start()
    yield server
    server.stop()


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[RoomStore]:
    if request.param == "memory":
        yield MemoryRoomStore()
        return
    redis: RedisServer = request.getfixturevalue("module_redis")
    made = RedisRoomStore(redis.url, "proc-" + secrets.token_hex(3))
    await made.redis.flushdb()
    yield made
    await made.close()


def human(peer_id: str) -> Peer:
    return Peer(peer_id=peer_id, name=peer_id.title())


def bot(peer_id: str, role: BotRole = "recorder") -> Peer:
    return Peer(peer_id=peer_id, name=peer_id.title(), kind="bot", role=role)


async def refusal(code: str, joining: Awaitable[object]) -> None:
    with pytest.raises(ProtocolError) as caught:
        await joining
    assert caught.value.code == code
