"""/healthz and /metrics follow what happens on the server; /healthz turns 503 while Redis is down."""

from __future__ import annotations

import json
from collections.abc import Callable

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from noom.signaling.cluster import Cluster

from .helpers import Client
from .services import NoomProcess, RedisServer
from .support import eventually


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.text()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text exposition, keyed by name and sorted labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_health_and_metrics_follow_a_join_and_a_leave(server, clients) -> None:
    status, text = await get(server.url + "/healthz")
    assert status == 200
    health = json.loads(text)
    assert health["status"] == "ok" and health["redis"] is None and health["peers"] == 0

    alice = await clients()
    await alice.join("metered", "Alice")
    bad = await alice.call("offer", {"to": "nobody", "sdp": "v=0"})
    assert bad["error"]["code"] == "unknown-peer"
    bob = await clients()
    await bob.join("metered", "Bob")
    assert (await bob.call("offer", {"to": alice.peer_id, "sdp": "v=0"}))["ok"]

    health = json.loads((await get(server.url + "/healthz"))[1])
    assert health["peers"] == 2 and health["sockets"] == 2
    during = samples((await get(server.url + "/metrics"))[1])
    assert during[("noom_peers", ())] == 2
    assert during[("noom_rooms", ())] == 1
    assert during[("noom_local_peers", ())] == 2
    assert during[("noom_connected_sockets", ())] == 2
    assert during[("noom_events_total", (("event", "join"),))] == 2
    assert during[("noom_events_total", (("event", "offer"),))] == 2
    assert during[("noom_errors_total", (("code", "unknown-peer"),))] == 1
    assert during[("noom_relay_latency_seconds_count", ())] == 1
    assert during[("process_resident_memory_bytes", ())] > 0

    assert (await bob.call("leave", {}))["ok"]
    await alice.close()

    async def emptied() -> bool:
        after = samples((await get(server.url + "/metrics"))[1])
        return after[("noom_peers", ())] == 0 and after[("noom_connected_sockets", ())] == 1

    await eventually(emptied, what="metrics back to no peers after leave and disconnect")
    after = samples((await get(server.url + "/metrics"))[1])
    assert after[("noom_rooms", ())] == 0
    assert after[("noom_events_total", (("event", "leave"),))] == 1
    health = json.loads((await get(server.url + "/healthz"))[1])
    assert health["peers"] == 0 and health["sockets"] == 1


async def test_healthz_is_503_while_redis_is_down(
    redis_server: RedisServer, noom_processes: Callable[..., NoomProcess]
) -> None:
    redis = redis_server
    noom = noom_processes("--redis-url", redis.url, "--heartbeat-ttl", "1.5", "--log-format", "json")
    await noom.start()
    body = await noom.healthy()
    assert body and body["redis"]["ok"] and body["redis"]["url"] == redis.url
    redis.stop()
    status, body = await noom.health()
    assert status == 503 and body["status"] == "redis-unavailable" and body["redis"]["lastError"]
    redis.start()
    body = await eventually(noom.healthy, what="healthy after Redis came back")
    assert body["redis"]["reconnects"] >= 1
    # A client can use the server again.
    client = await Client(noom.url).connect()
    try:
        await client.join("after", "Alice")
    finally:
        await client.close()
    noom.stop()
    # --log-format json: one object per line, and the outage and the recovery were logged.
    entries = [json.loads(line) for line in noom.log.read_text().splitlines() if line.startswith("{")]
    messages = " | ".join(e["message"] for e in entries)
    assert all({"ts", "level", "logger", "message"} <= e.keys() for e in entries)
    assert "unreachable" in messages and "reachable again" in messages


async def test_health_shows_no_exception_text() -> None:
    # /healthz is public: an exception's text (addresses, errno, paths) goes to the log only.
    class DownStore:
        async def ping(self) -> bool:
            raise OSError("Error 111 connecting to 10.20.30.40:6379. Connection refused.")

    cluster = Cluster(None, DownStore(), "redis://:hunter2@10.20.30.40:6379/0", 1.5)  # type: ignore[arg-type]
    health = await cluster.health()
    assert not health["ok"] and health["lastError"] == "Redis is unreachable"
