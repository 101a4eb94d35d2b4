"""Liveness of one Noom process among many sharing a Redis: heartbeat, sweeper and Redis health.

Every ``heartbeat_ttl / 3`` seconds each process renews its heartbeat key (TTL ``heartbeat_ttl``) and
sweeps processes whose key expired: their peers leave their rooms and the others get ``peer-left``
(reason ``disconnected``). A dead process's peers are therefore gone within about 4/3 of the TTL.

Redis outages: commands fail fast, the loop logs the outage once and keeps beating; the first beat
that succeeds logs the reconnection. If Redis came back empty (a restart without persistence), our
heartbeat key is missing and no tombstone exists, so this process writes its live peers back: rooms
of peers who stay connected survive. If instead another process swept us as dead (we stalled past
the TTL), a tombstone says so and our clients are disconnected, to reconnect and re-join.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError

from .redis_store import RedisRoomStore, describe

if TYPE_CHECKING:
    from .server import SignalingServer

log = logging.getLogger(__name__)


class Cluster:
    def __init__(self, server: SignalingServer, store: RedisRoomStore, url: str, ttl: float) -> None:
        self.server = server
        self.store = store
        self.url = url
        self.ttl = ttl
        self.redis_ok = False
        self.reconnects = 0
        self.restored = 0
        self.last_error: str | None = None
        self.down_since: float | None = None
        self._task: asyncio.Task[None] | None = None
        self._beats = 0

    async def start(self) -> None:
        await self.beat()
        self._task = asyncio.create_task(self._run(), name="noom-heartbeat")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.store.local_peer_count():
            # Some peers could not be removed (Redis down?): keep the registration so that, once the
            # heartbeat expires, another process sweeps them and tells their rooms.
            log.warning("stopping with %d peer(s) still registered in Redis", self.store.local_peer_count())
            return
        with contextlib.suppress(RedisError, OSError, TimeoutError):
            await asyncio.wait_for(self.store.unregister(), 3)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.ttl / 3)
            try:
                await self.beat()
            except Exception:  # the loop must outlive any single failure
                log.exception("heartbeat failed")

    def _down(self, exc: BaseException) -> None:
        self.last_error = f"{type(exc).__name__}: {exc}"
        if self.redis_ok or self._beats == 0:
            self.down_since = time.time()
            log.error(
                "Redis at %s is unreachable (%s); retrying every %.1fs", describe(self.url)["url"], exc, self.ttl / 3
            )
        self.redis_ok = False

    async def beat(self) -> None:
        try:
            beat = await self.store.heartbeat(self.ttl)
        except (RedisError, OSError) as exc:
            self._down(exc)
            self._beats += 1
            return
        if not self.redis_ok and self._beats > 0:
            self.reconnects += 1
            log.warning("Redis is reachable again after %.1fs", time.time() - (self.down_since or time.time()))
        self.redis_ok = True
        self.down_since = None
        self._beats += 1
        if beat.lost and self.store.local_peer_count():
            if beat.swept:
                peer_ids = await self.store.forget_swept()
                log.warning(
                    "another process declared this one dead: disconnecting %d peer(s) to re-join", len(peer_ids)
                )
                await self.server.disconnect_peers(peer_ids)
            else:
                self.restored = await self.store.restore()
                log.warning("Redis lost this process's registration (restart?): restored %d peer(s)", self.restored)
                await self.server.push_rooms()
        gone = await self.store.sweep()
        if gone:
            await self.server.drop_peers(gone, self.store.take_swept_states())

    async def health(self) -> dict[str, Any]:
        """Redis status for /healthz, with a live ping so an outage shows at once."""
        try:
            ok = await asyncio.wait_for(self.store.ping(), 2)
        except (RedisError, OSError, TimeoutError) as exc:
            ok = False
            self._down(exc)
        return {
            **describe(self.url),
            # Serving needs Redis now and this process registered in it (restored after a restart).
            "ok": ok and self.redis_ok,
            "heartbeatOk": self.redis_ok,
            "reconnects": self.reconnects,
            "restoredPeers": self.restored,
            "lastError": self.last_error,
        }
