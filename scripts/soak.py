"""Soak test: joins, leaves, relays, chat, media changes and reconnects in a loop against a `noom serve`
process, for 10 minutes by default, watching the server's memory. Once warm (after the first fifth of the
run, at most two minutes) the server's RSS is sampled; at the end it is sampled again under the same load,
and the ratio after/before must stay at or below 1.1 (no leak per join, relay or connection).

    .venv/bin/python scripts/soak.py [--minutes 10] [--clients 40] [--rooms 12] [--no-write]

The result goes into docs/benchmarks.md between the soak markers (scripts/bench/common.py: write_section).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import socketio

sys.path.insert(0, str(Path(__file__).resolve().parent / "bench"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import ROOT, cpu_seconds, machine_description, memory_kib, write_section

from tests.support import free_port, wait_for_port

RATIO_TARGET = 1.1


@dataclasses.dataclass
class Stats:
    connections: int = 0
    joins: int = 0
    leaves: int = 0
    relays: int = 0
    chats: int = 0
    received: int = 0
    refused: dict[str, int] = dataclasses.field(default_factory=dict)

    def refuse(self, ack: dict) -> None:
        code = ack.get("error", {}).get("code", "?")
        self.refused[code] = self.refused.get(code, 0) + 1


async def worker(url: str, index: int, rooms: int, stop: asyncio.Event, stats: Stats) -> None:
    """One client: connect, then a few rounds of join - relay to room-mates - chat - media - leave, then
    disconnect and start over, until ``stop``."""
    rng = random.Random(index)
    while not stop.is_set():
        sio = socketio.AsyncClient(reconnection=False)
        mates: set[str] = set()

        def count(*_: object) -> None:
            stats.received += 1

        sio.on("peer-joined", lambda peer, mates=mates: mates.add(peer["peerId"]))
        sio.on("peer-left", lambda left, mates=mates: mates.discard(left["peerId"]))
        for event in ("ice", "offer", "chat", "media"):
            sio.on(event, count)
        await sio.connect(url, transports=["websocket"], wait_timeout=30)
        stats.connections += 1
        for _ in range(rng.randint(1, 5)):
            if stop.is_set():
                break
            ack = await sio.call("join", {"room": f"soak-{rng.randrange(rooms)}", "name": f"soak{index}"}, timeout=30)
            if not ack["ok"]:
                stats.refuse(ack)
                await asyncio.sleep(0.5)
                continue
            stats.joins += 1
            mates.clear()
            mates.update(peer["peerId"] for peer in ack["peers"])
            for k in range(rng.randint(10, 60)):
                if not mates:
                    await asyncio.sleep(0.05)
                    continue
                to = rng.choice(sorted(mates))
                if k % 10 == 0:
                    ack = await sio.call("offer", {"to": to, "sdp": "v=0\r\n" + "a=x\r\n" * 50}, timeout=30)
                else:
                    candidate = {"candidate": f"candidate:{k} 1 udp 2122260223 10.0.0.1 {50000 + k} typ host"}
                    ack = await sio.call("ice", {"to": to, "candidate": candidate | {"sdpMid": "0"}}, timeout=30)
                stats.relays += ack["ok"]
                if not ack["ok"]:
                    stats.refuse(ack)
            ack = await sio.call("chat", {"text": f"hello from {index}"}, timeout=30)
            stats.chats += ack["ok"]
            await sio.call("media", {"audio": rng.random() < 0.5, "hand": rng.random() < 0.2}, timeout=30)
            await asyncio.sleep(rng.uniform(0.05, 0.5))  # time in the call
            ack = await sio.call("leave", timeout=30)
            stats.leaves += ack["ok"]
        await sio.disconnect()


async def sample_rss(pid: int, samples: int = 5, every: float = 1.0) -> int:
    """Median RSS (KiB) over a few seconds, so one garbage-collection moment does not decide."""
    values = []
    for _ in range(samples):
        values.append(memory_kib(pid))
        await asyncio.sleep(every)
    return int(statistics.median(values))


async def soak(url: str, pid: int, minutes: float, clients: int, rooms: int) -> dict[str, object]:
    stats, stop = Stats(), asyncio.Event()
    duration = minutes * 60
    warm_after = min(120.0, duration / 5)
    start = time.monotonic()
    tasks = [asyncio.create_task(worker(url, i, rooms, stop, stats)) for i in range(clients)]
    rss_start = memory_kib(pid)
    rss_warm: int | None = None
    next_report, last_cpu = 0.0, cpu_seconds(pid)
    try:
        while (elapsed := time.monotonic() - start) < duration:
            if rss_warm is None and elapsed >= warm_after:
                rss_warm = await sample_rss(pid)
                print(f"[{elapsed:6.0f} s] warm: server RSS {rss_warm / 1024:.1f} MiB", flush=True)
            if elapsed >= next_report:
                cpu = cpu_seconds(pid)
                print(
                    f"[{elapsed:6.0f} s / {duration:.0f} s] connections {stats.connections}, joins {stats.joins}, "
                    f"relays {stats.relays}, received {stats.received}, server RSS {memory_kib(pid) / 1024:.1f} MiB, "
                    f"server CPU {cpu:.0f} s ({(cpu - last_cpu) / 15:.0%} of a core), "
                    f"load average {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
                next_report, last_cpu = elapsed + 15, cpu
            for task in tasks:
                if task.done() and task.exception():
                    raise task.exception()  # type: ignore[misc]
            await asyncio.sleep(0.5)
        rss_end = await sample_rss(pid)  # under the same load as the warm sample
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 60)
    await asyncio.sleep(2)
    assert rss_warm is not None
    return {
        "minutes": minutes,
        "clients": clients,
        "rooms": rooms,
        "stats": stats,
        "rss_start_kib": rss_start,
        "rss_warm_kib": rss_warm,
        "rss_end_kib": rss_end,
        "rss_idle_kib": memory_kib(pid),
        "ratio": rss_end / rss_warm,
        "elapsed": time.monotonic() - start,
        "server_cpu": cpu_seconds(pid),
        "load": os.getloadavg()[0],
    }


def report(result: dict[str, object]) -> str:
    stats: Stats = result["stats"]  # type: ignore[assignment]
    ratio: float = result["ratio"]  # type: ignore[assignment]
    mib = {k: result[k] / 1024 for k in ("rss_start_kib", "rss_warm_kib", "rss_end_kib", "rss_idle_kib")}  # type: ignore[operator]
    verdict = "within" if ratio <= RATIO_TARGET else "OVER"
    refused = ", ".join(f"{code} {n}" for code, n in sorted(stats.refused.items())) or "none"
    return f"""## Soak: memory under churn

`scripts/soak.py --minutes {result["minutes"]:g}` ({datetime.date.today().isoformat()}, {machine_description()}):
{result["clients"]} python-socketio clients against a `noom serve` process, each connecting, joining one of
{result["rooms"]} rooms, relaying offers and ICE candidates to its room-mates, chatting, changing media state,
leaving, and after a few rounds disconnecting and starting over, for {result["elapsed"] / 60:.1f} minutes
(server CPU {result["server_cpu"]:.0f} s; the machine was shared, load average {result["load"]:.1f} at the end).

| | |
|---|---|
| connections opened | {stats.connections} |
| joins / leaves | {stats.joins} / {stats.leaves} |
| relays acked / chat messages | {stats.relays} / {stats.chats} |
| events received by clients | {stats.received} |
| refusals (peer left meanwhile, …) | {refused} |
| server RSS at start | {mib["rss_start_kib"]:.1f} MiB |
| server RSS once warm | {mib["rss_warm_kib"]:.1f} MiB |
| server RSS at the end (same load) | {mib["rss_end_kib"]:.1f} MiB |
| server RSS after the clients left | {mib["rss_idle_kib"]:.1f} MiB |
| **end / warm** | **{ratio:.3f}** ({verdict} the target of {RATIO_TARGET}) |
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to run (default 10)")
    parser.add_argument("--clients", type=int, default=40, help="concurrent clients (default 40)")
    parser.add_argument("--rooms", type=int, default=12, help="room names the clients pick from (default 12)")
    parser.add_argument("--no-write", action="store_true", help="do not write the result into docs/benchmarks.md")
    args = parser.parse_args()
    port = free_port()
    # The clients churn far faster than people do, all from 127.0.0.1: the join and relay limits are raised.
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "noom"), "serve", "--port", str(port), "--log-level", "warning",
         "--rate-join", "1000:1000", "--rate-relay", "100000:100000", "--rate-chat", "1000:1000",
         "--rate-media", "1000:1000"],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        asyncio.run(wait_for_port(port, server))
        print(f"soaking http://127.0.0.1:{port} for {args.minutes:g} minutes with {args.clients} clients", flush=True)
        result = asyncio.run(soak(f"http://127.0.0.1:{port}", server.pid, args.minutes, args.clients, args.rooms))
    finally:
        server.terminate()
        _, log = server.communicate(timeout=30)
    if "Traceback" in log or " ERROR " in log:
        print("the server logged errors:\n" + log[-3000:], file=sys.stderr)
        return 1
    text = report(result)
    print(text)
    if not args.no_write:
        write_section("soak", text)
    return 0 if result["ratio"] <= RATIO_TARGET else 1  # type: ignore[operator]


if __name__ == "__main__":
    sys.exit(main())
