"""Operations endpoints: ``GET /healthz`` for load balancers and ``GET /metrics`` for Prometheus."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from .cluster import Cluster
from .metrics import CONTENT_TYPE
from .server import SignalingServer

SIGNALING = web.AppKey("ops-signaling", SignalingServer)
CLUSTER = web.AppKey("ops-cluster", Cluster)
PROCESS_ID = web.AppKey("ops-process-id", str)
# Set when a graceful stop begins: the balancer must stop sending new clients here.
DRAINING = web.AppKey("ops-draining", list)
STARTED = web.AppKey("ops-started", float)


async def healthz(request: web.Request) -> web.Response:
    signaling = request.app[SIGNALING]
    body: dict[str, Any] = {
        "status": "ok",
        "process": request.app[PROCESS_ID],
        "uptime": round(time.time() - request.app[STARTED], 1),
        "sockets": sum(1 for _ in signaling.sio.manager.get_participants("/", None)),
        "peers": len(signaling.sessions),
        "redis": None,
    }
    cluster = request.app.get(CLUSTER)
    if cluster is not None:
        body["redis"] = await cluster.health()
        if not body["redis"]["ok"]:
            body["status"] = "redis-unavailable"
    if request.app[DRAINING]:
        body["status"] = "draining"
    return web.json_response(body, status=200 if body["status"] == "ok" else 503)


async def metrics(request: web.Request) -> web.Response:
    signaling = request.app[SIGNALING]
    try:
        rooms = await signaling.store.rooms()
    except Exception:  # Redis down: still serve this process's own counters
        rooms = []
    body = signaling.metrics.render(rooms, len(signaling.sessions))
    response = web.Response(body=body)
    response.headers["Content-Type"] = CONTENT_TYPE
    return response


def setup_ops(app: web.Application, signaling: SignalingServer, process_id: str, cluster: Cluster | None) -> None:
    app[SIGNALING] = signaling
    app[PROCESS_ID] = process_id
    app[DRAINING] = []
    app[STARTED] = time.time()
    if cluster is not None:
        app[CLUSTER] = cluster
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
