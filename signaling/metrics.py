"""Prometheus metrics of one Noom process, in a registry of its own (tests run several servers per process)."""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)

from noom.protocol import RoomSummary

CONTENT_TYPE = CONTENT_TYPE_LATEST
# The *_created samples only add noise to every counter and histogram.
disable_created_metrics()


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        # process_resident_memory_bytes, process_cpu_seconds_total, open fds...
        ProcessCollector(registry=self.registry)
        registry = self.registry
        self.sockets = Gauge("noom_connected_sockets", "Socket.IO connections open on this process", registry=registry)
        self.local_peers = Gauge("noom_local_peers", "peers in a room connected to this process", registry=registry)
        self.rooms = Gauge("noom_rooms", "rooms with at least one peer (all processes)", registry=self.registry)
        self.peers = Gauge("noom_peers", "peers in rooms (all processes)", registry=self.registry)
        self.events = Counter("noom_events", "client events handled", ["event"], registry=self.registry)
        self.errors = Counter("noom_errors", "error acks sent", ["code"], registry=self.registry)
        self.relay_latency = Histogram(
            "noom_relay_latency_seconds",
            "from receiving an offer/answer/ice to handing it to the fan-out (store lookup and queue publish included)",
            registry=self.registry,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
        )

    def render(self, rooms: list[RoomSummary], local_peers: int) -> bytes:
        self.rooms.set(len(rooms))
        self.peers.set(sum(r.count for r in rooms))
        self.local_peers.set(local_peers)
        return generate_latest(self.registry)
