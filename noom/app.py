"""The aiohttp application: web pages, static files and the Socket.IO server, with explicit start-up
and clean-up hooks. ``make_app`` is the one place that wires them together."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket

import aiohttp_jinja2
from aiohttp import web

from noom.config import Config
from noom.secret import SECRET_KEY, ServerSecret, new_secret
from noom.signaling import engineio_patch, socketio_patch
from noom.signaling.cluster import Cluster
from noom.signaling.engine import RedisManager
from noom.signaling.memory import MemoryRoomStore
from noom.signaling.ops import DRAINING, setup_ops
from noom.signaling.server import SignalingServer
from noom.signaling.state import RoomStore
from noom.web.routes import setup_web

log = logging.getLogger(__name__)

SIGNALING_KEY = web.AppKey("signaling", SignalingServer)
CONFIG_KEY = web.AppKey("config", Config)
# Where processes sharing a Redis agree on one secret when the operator set none.
SECRET_REDIS_KEY = "noom:server-secret"
# python-socketio's queue channel; every process of one deployment must use the same.
QUEUE_CHANNEL = "noom-socketio"


def new_process_id() -> str:
    """Unique per process and readable in logs: host, pid and a random suffix (pids get reused)."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


def make_app(config: Config, store: RoomStore | None = None) -> web.Application:
    # Version-checked: upstream's code stays in charge when python-engineio or python-socketio changed.
    engineio_patch.install()
    socketio_patch.install()
    app = web.Application()
    process_id = new_process_id()
    cluster: Cluster | None = None
    secret = ServerSecret(config.server_secret or new_secret())
    if config.redis_url and store is None:
        from noom.signaling.redis_store import RedisRoomStore

        redis_store = RedisRoomStore(config.redis_url, process_id)
        # The queue carries JSON (python-socketio >= 5.14 never unpickles), but anyone who can publish to it
        # can emit to any client: keep Redis private (see docs/deploy.md, CVE-2025-61765).
        manager = RedisManager(config.redis_url, channel=QUEUE_CHANNEL, logger=log)
        from noom.signaling.redis_guard import RedisPasswordGuard

        signaling = SignalingServer(
            config, redis_store, manager, secret=secret, passwords=RedisPasswordGuard(redis_store.redis)
        )
        cluster = Cluster(signaling, redis_store, config.redis_url, config.heartbeat_ttl)
        if config.server_secret is None:

            async def agree_on_secret(app: web.Application) -> None:
                # The first process to start writes its secret; every later one adopts it.
                await redis_store.redis.set(SECRET_REDIS_KEY, new_secret(), nx=True)
                secret.replace(await redis_store.redis.get(SECRET_REDIS_KEY))

            app.on_startup.append(agree_on_secret)
    else:
        signaling = SignalingServer(config, store or MemoryRoomStore(), secret=secret)
    signaling.sio.attach(app, socketio_path="socket.io")
    app[SIGNALING_KEY] = signaling
    app[CONFIG_KEY] = config
    app[SECRET_KEY] = secret
    setup_web(app)
    if config.bots:  # aiortc and PyAV load here, and only here
        from noom.media import rtp_fastpath
        from noom.media.service import setup_media

        rtp_fastpath.install()
        signaling.bots = setup_media(app, config, secret)
    # Pages tell the browser client which Socket.IO transports this deployment accepts.
    aiohttp_jinja2.get_env(app).globals["socket_transports"] = (
        "websocket" if config.websocket_only else "websocket,polling"
    )
    setup_ops(app, signaling, process_id, cluster)

    async def start_cluster(app: web.Application) -> None:
        if cluster is not None:
            await cluster.start()

    async def drain(app: web.Application) -> None:
        # Runs after the listening sockets closed (aiohttp stops its sites first): nobody new arrives.
        app[DRAINING].append(True)
        try:
            await asyncio.wait_for(app[SIGNALING_KEY].disconnect_all(), config.shutdown_timeout)
        except TimeoutError:
            log.warning("clients still connected after %.0fs: closing anyway", config.shutdown_timeout)
        if cluster is not None:
            await cluster.stop()

    async def close_store(app: web.Application) -> None:
        await app[SIGNALING_KEY].store.close()

    app.on_startup.append(start_cluster)
    app.on_shutdown.append(drain)
    app.on_cleanup.append(close_store)
    return app
