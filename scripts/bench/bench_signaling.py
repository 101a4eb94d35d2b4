"""Signaling benchmark: Noom against a plain Node.js socket.io server speaking the same protocol subset.

For each client count N and window W, a socket.io-client load generator on Node.js (core 1) drives a
fresh server (core 0): N clients join rooms of two and keep W ``ice`` messages in flight to their partner.
Servers alternate A B A B over the rounds; the tables report the median over rounds and Noom/reference
ratios. Results go to docs/bench/signaling.json and into docs/benchmarks.md with plots.

    .venv/bin/python scripts/bench/bench_signaling.py [--clients 20,200,1000] [--windows 1,8] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from common import DOCS, ROOT, cpu_seconds, machine_description, memory_kib, pinned, write_section
from variant_server import LEVERS

from tests.support import free_port, wait_for_port

NODE_DIR = ROOT / "scripts" / "bench" / "node"
SERVER_CORE, LOADGEN_CORE = 0, 1


@dataclass
class Sample:
    server: str
    clients: int
    window: int
    round: int
    rate: float
    relays_per_cpu_s: float
    p50_ms: float
    p99_ms: float
    join_p50_ms: float
    join_p99_ms: float
    lost: int
    duplicated: int
    misrouted: int
    refused: int
    peak_rss_mib: float
    idle_kib_per_conn: float


def server_command(server: str, port: int) -> list[str]:
    if server.startswith("variant:"):  # Noom with only some fast-path levers (scripts/bench/variant_server.py)
        variant = [str(ROOT / ".venv" / "bin" / "python"), str(ROOT / "scripts" / "bench" / "variant_server.py")]
        return [*variant, server.removeprefix("variant:"), "--", *server_command("noom", port)[2:]]
    if server == "noom":
        # The generator sends far faster than any real client, and every client comes from 127.0.0.1:
        # the per-socket relay and join limits and the per-address connection cap are raised for it.
        return [
            str(ROOT / ".venv" / "bin" / "noom"), "serve", "--port", str(port), "--log-level", "warning",
            "--rate-relay", "1000000:1000000", "--rate-join", "1000:1000", "--max-connections-per-address", "100000",
        ]  # fmt: skip
    return ["node", str(NODE_DIR / "reference_server.mjs"), str(port)]


def measure(server: str, clients: int, window: int, seconds: float, round_: int) -> Sample:
    port = free_port()
    proc = subprocess.Popen(
        pinned(SERVER_CORE, server_command(server, port)), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        asyncio.run(wait_for_port(port, proc))
        time.sleep(0.5)
        rss_before = memory_kib(proc.pid)
        gen = subprocess.Popen(
            pinned(
                LOADGEN_CORE,
                [
                    "node",
                    str(NODE_DIR / "loadgen.mjs"),
                    f"http://127.0.0.1:{port}",
                    str(clients),
                    str(window),
                    str(seconds),
                    "1",
                ],
            ),
            stdout=subprocess.PIPE,
            text=True,
        )
        assert gen.stdout is not None
        idle_per_conn = cpu_start = cpu_end = 0.0
        result: dict = {}
        deadline = time.monotonic() + 240
        for line in gen.stdout:
            line = line.strip()
            if line == "CONNECTED":
                idle_per_conn = (memory_kib(proc.pid) - rss_before) / clients
            elif line == "MEASURE_START":
                cpu_start = cpu_seconds(proc.pid)
            elif line == "MEASURE_END":
                cpu_end = cpu_seconds(proc.pid)
            elif line.startswith("RESULT "):
                result = json.loads(line[len("RESULT ") :])
            if time.monotonic() > deadline:
                gen.kill()
                raise TimeoutError("the load generator ran past its time bound")
        if gen.wait(timeout=60) != 0 or not result:
            raise RuntimeError(f"the load generator failed against {server} (N={clients}, W={window})")
        peak = memory_kib(proc.pid, "VmHWM") / 1024
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    cpu = max(cpu_end - cpu_start, 1e-6)
    return Sample(
        server=server, clients=clients, window=window, round=round_, rate=result["rate"],
        relays_per_cpu_s=result["relayed"] / cpu, p50_ms=result["p50"], p99_ms=result["p99"],
        join_p50_ms=result["join_p50"], join_p99_ms=result["join_p99"], lost=result["lost"],
        duplicated=result["duplicated"], misrouted=result["misrouted"], refused=result["refused"],
        peak_rss_mib=peak, idle_kib_per_conn=idle_per_conn,
    )  # fmt: skip


def median_of(samples: list[Sample], server: str, clients: int, window: int, field: str) -> float:
    values = [getattr(s, field) for s in samples if (s.server, s.clients, s.window) == (server, clients, window)]
    return statistics.median(values)


def report(samples: list[Sample], command: str) -> str:
    sizes = sorted({(s.clients, s.window) for s in samples})
    rounds = max(s.round for s in samples) + 1
    lines = [
        f"Machine: {machine_description()}. Command: `{command}` ({rounds} rounds, servers alternating;",
        "medians over rounds; server on core 0, generator on core 1; websocket transport).",
        "",
        "| clients | window | relays/s Noom | relays/s Node | ratio | relays per server CPU-s Noom | Node | ratio "
        "| p50 ms Noom / Node | p99 ms Noom / Node | p99 ratio | join p50 ms Noom / Node | lost+dup+misrouted "
        "| peak RSS MiB Noom / Node | idle KiB/conn Noom / Node |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for clients, window in sizes:

        def m(server: str, field: str, c: int = clients, w: int = window) -> float:
            return median_of(samples, server, c, w, field)

        faults = sum(s.lost + s.duplicated + s.misrouted for s in samples if (s.clients, s.window) == (clients, window))
        lines.append(
            f"| {clients} | {window} | {m('noom', 'rate'):,.0f} | {m('node', 'rate'):,.0f} "
            f"| {m('noom', 'rate') / m('node', 'rate'):.2f}× "
            f"| {m('noom', 'relays_per_cpu_s'):,.0f} | {m('node', 'relays_per_cpu_s'):,.0f} "
            f"| {m('noom', 'relays_per_cpu_s') / m('node', 'relays_per_cpu_s'):.2f}× "
            f"| {m('noom', 'p50_ms'):.1f} / {m('node', 'p50_ms'):.1f} "
            f"| {m('noom', 'p99_ms'):.1f} / {m('node', 'p99_ms'):.1f} "
            f"| {m('noom', 'p99_ms') / m('node', 'p99_ms'):.2f}× "
            f"| {m('noom', 'join_p50_ms'):.1f} / {m('node', 'join_p50_ms'):.1f} | {faults} "
            f"| {m('noom', 'peak_rss_mib'):.0f} / {m('node', 'peak_rss_mib'):.0f} "
            f"| {m('noom', 'idle_kib_per_conn'):.1f} / {m('node', 'idle_kib_per_conn'):.1f} |"
        )
    lines += ["", "![relays per second](bench/signaling-throughput.png) ![p99 latency](bench/signaling-p99.png)"]
    return "\n".join(lines)


def plot(samples: list[Sample], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    windows = sorted({s.window for s in samples})
    for field, label, name in (
        ("rate", "relayed messages / s", "signaling-throughput.png"),
        ("p99_ms", "p99 relay latency (ms)", "signaling-p99.png"),
    ):
        fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
        for server, style in (("noom", "-o"), ("node", "--s")):
            for window in windows:
                xs = sorted({s.clients for s in samples if s.window == window})
                ys = [median_of(samples, server, x, window, field) for x in xs]
                ax.plot(xs, ys, style, label=f"{'Noom' if server == 'noom' else 'Node socket.io'}, W={window}")
        ax.set_xscale("log")
        ax.set_xlabel("clients")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / name)
        plt.close(fig)


ABLATION_STEPS = ["none", "no-deflate", "msgspec", "direct-emit", "engineio-loops", "uvloop"]


def ablation(clients: int, windows: list[int], rounds: int, seconds: float) -> str:
    """Noom with its relay levers switched on one after another, every step measured in the same run."""
    variants = ["variant:" + ",".join(ABLATION_STEPS[1 : i + 1]) if i else "variant:none" for i in range(6)]
    samples: list[Sample] = []
    started = time.monotonic()
    total = rounds * len(windows) * len(variants)
    for round_ in range(rounds):
        for window in windows:
            for variant in variants if round_ % 2 == 0 else variants[::-1]:
                sample = measure(variant, clients, window, seconds, round_)
                samples.append(sample)
                print(
                    f"[{len(samples)}/{total} {time.monotonic() - started:5.0f}s] {variant:60} W={window} "
                    f"{sample.relays_per_cpu_s:8,.0f}/cpu-s p99 {sample.p99_ms:7.1f} ms",
                    flush=True,
                )
    lines = [
        f"Levers switched on one after another, {clients} clients, {rounds} rounds (medians), same run:",
        "",
        "| step | what it adds | " + " | ".join(f"relays/CPU-s W={w} | × defaults" for w in windows) + " |",
        "|---|---|" + "---|---|" * len(windows),
    ]
    for step, variant in zip(ABLATION_STEPS, variants, strict=True):
        what = "python-socketio + engineio defaults on asyncio" if step == "none" else LEVERS[step]
        cells = []
        for window in windows:
            value = median_of(samples, variant, clients, window, "relays_per_cpu_s")
            base = median_of(samples, variants[0], clients, window, "relays_per_cpu_s")
            cells.append(f"{value:,.0f} | {value / base:.2f}×")
        lines.append(f"| {step if step == 'none' else '+ ' + step} | {what} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", default="20,200,1000")
    parser.add_argument("--windows", default="1,8")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per run")
    parser.add_argument("--no-docs", action="store_true", help="print results without writing docs/")
    parser.add_argument(
        "--ablation", type=int, metavar="N", help="instead: measure each fast-path lever's share with N clients"
    )
    args = parser.parse_args()
    if not (NODE_DIR / "node_modules").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=NODE_DIR, check=True)
    if args.ablation:
        text = ablation(args.ablation, [int(w) for w in args.windows.split(",")], args.rounds, args.seconds)
        print(text)
        if not args.no_docs:
            command = "python scripts/bench/bench_signaling.py " + " ".join(sys.argv[1:])
            write_section("signaling-levers", f"{text}\n\nCommand: `{command}`")
        return 0
    sizes = [(int(c), int(w)) for c in args.clients.split(",") for w in args.windows.split(",")]
    total = len(sizes) * 2 * args.rounds
    samples: list[Sample] = []
    started = time.monotonic()
    for round_ in range(args.rounds):
        for clients, window in sizes:
            for server in ("noom", "node") if round_ % 2 == 0 else ("node", "noom"):
                sample = measure(server, clients, window, args.seconds, round_)
                samples.append(sample)
                print(
                    f"[{len(samples)}/{total} {time.monotonic() - started:5.0f}s] {server:4} N={clients:<4} W={window} "
                    f"{sample.rate:8,.0f}/s {sample.relays_per_cpu_s:8,.0f}/cpu-s p99 {sample.p99_ms:7.1f} ms "
                    f"lost {sample.lost} rss {sample.peak_rss_mib:.0f} MiB",
                    flush=True,
                )
    command = "python scripts/bench/bench_signaling.py " + " ".join(sys.argv[1:])
    text = report(samples, command.strip())
    print(text)
    if not args.no_docs:
        out = DOCS / "bench"
        out.mkdir(parents=True, exist_ok=True)
        (out / "signaling.json").write_text(json.dumps([asdict(s) for s in samples], indent=1))
        plot(samples, out)
        write_section("signaling", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
