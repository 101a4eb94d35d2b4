"""The aiohttp application: web pages, static files and the Socket.IO server, with explicit start-up
and clean-up hooks. ``make_app`` is the one place that wires them together."""

from __future__ import annotations

import logging

from aiohttp import web

from media.service import setup_media
from web.routes import setup_web

from .config import Config
from .memory import MemoryRoomStore
from .server import SignalingServer
from .state import RoomStore

log = logging.getLogger(__name__)

SIGNALING_KEY = web.AppKey("signaling", SignalingServer)
CONFIG_KEY = web.AppKey("config", Config)


def make_app(config: Config, store: RoomStore | None = None) -> web.Application:
    app = web.Application()
    signaling = SignalingServer(config, store or MemoryRoomStore())
    signaling.sio.attach(app, socketio_path="socket.io")
    app[SIGNALING_KEY] = signaling
    app[CONFIG_KEY] = config
    setup_web(app)
    setup_media(app, config, signaling.store)

    async def close_store(app: web.Application) -> None:
        await app[SIGNALING_KEY].store.close()

    app.on_cleanup.append(close_store)
    return app
