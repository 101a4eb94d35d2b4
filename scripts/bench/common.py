"""Shared pieces of the benchmark scripts: process sampling from /proc, running inside a private network
namespace, and writing results into docs/benchmarks.md between markers so every table there comes from a run.
Ports and polling come from tests/support.py, as in the tests. For the browser benchmarks: every
RTCPeerConnection of a page collected, the Chromium processes' CPU, and one measured window over the pages."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PYTHON = str(ROOT / ".venv" / "bin" / "python")
NOOM = str(ROOT / ".venv" / "bin" / "noom")


def cpu_seconds(pid: int, tid: int | None = None) -> float:
    """User + system CPU time of a process so far (or of one of its threads, by native id)."""
    stat = Path(f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat")
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def memory_kib(pid: int, field: str = "VmRSS") -> int:
    """A memory figure of /proc/PID/status in KiB: VmRSS now, or VmHWM (peak)."""
    match = re.search(rf"^{field}:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M)
    return int(match.group(1)) if match else 0


def rerun_in_namespace(script: str) -> int | None:
    """Outside a private network namespace, run ``script`` again (with this process's arguments) inside one,
    as the test suite runs (``unshare --net`` + scripts/netns.sh: nothing outside is reachable, and aiortc gets
    the non-loopback interface it needs), and return its exit code; inside one, return None."""
    if os.environ.get("NOOM_TEST_NETNS") == "1":
        return None
    unshare = ["unshare", "--net"] + ([] if os.getuid() == 0 else ["--map-root-user"])
    argv = [*unshare, "--", str(ROOT / "scripts" / "netns.sh"), PYTHON, script, *sys.argv[1:]]
    return subprocess.run(argv, check=False).returncode


def pinned(core: int, argv: list[str]) -> list[str]:
    """Run ``argv`` on one core so server and load generator do not compete."""
    return ["taskset", "-c", str(core), *argv]


def machine_description() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem_gib:.0f} GiB RAM, Linux {os.uname().release}"


def write_section(name: str, body: str, path: Path = DOCS / "benchmarks.md") -> None:
    """Replace the text between ``<!-- name:begin -->`` and ``<!-- name:end -->`` in docs/benchmarks.md."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    text = path.read_text() if path.exists() else ""
    block = f"{begin}\n{body.rstrip()}\n{end}"
    if begin in text and end in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)


@contextmanager
def noom_server(*flags: str) -> Iterator[str]:
    """``noom serve`` on a free port with its own recordings folder, for the browsers of a benchmark; yields its URL
    and stops it afterwards."""
    sys.path.insert(0, str(ROOT))
    from tests.support import free_port, wait_for_port

    port = free_port()
    argv = [NOOM, "serve", "--port", str(port), "--log-level", "warning"]
    argv += ["--recordings-dir", tempfile.mkdtemp(prefix="noom-bench-rec-"), *flags]
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        asyncio.run(wait_for_port(port, server))
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


# An init script for a page: its RTCPeerConnections, kept in window.__benchPcs for the snapshots' getStats.
COLLECT_PCS_JS = """(() => {
  const Native = window.RTCPeerConnection;
  window.__benchPcs = [];
  window.RTCPeerConnection = function (...args) {
    const pc = new Native(...args);
    window.__benchPcs.push(pc);
    return pc;
  };
  window.RTCPeerConnection.prototype = Native.prototype;
  Object.setPrototypeOf(window.RTCPeerConnection, Native);
})();"""


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def chromium_pids() -> list[int]:
    """Every Chromium process descended from this script (Playwright's driver starts them)."""
    parents: dict[int, int] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        pid = int(entry.name)
        names[pid] = stat[stat.index("(") + 1 : stat.rindex(")")]
        parents[pid] = int(stat.rsplit(")", 1)[1].split()[1])
    me, found = os.getpid(), []
    for pid in parents:
        p = pid
        while p > 1 and p != me:
            p = parents.get(p, 1)
        if p == me and "chrom" in names[pid].lower():
            found.append(pid)
    return found


def browsers_cpu() -> float:
    total = 0.0
    for pid in chromium_pids():
        try:
            total += cpu_seconds(pid)
        except OSError:
            pass
    return total


async def measured_window(
    pages: list[Any], snapshot_js: str, warmup: float, seconds: float
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], float, float]:
    """After ``warmup`` s, each page's ``snapshot_js`` at the start and the end of a ``seconds``-long window:
    (first snapshots, last snapshots, the window's length in s, the browsers' CPU seconds in it)."""
    await asyncio.sleep(warmup)
    first = [await p.evaluate(snapshot_js) for p in pages]
    cpu0, t0 = browsers_cpu(), time.monotonic()
    await asyncio.sleep(seconds)
    last = [await p.evaluate(snapshot_js) for p in pages]
    return first, last, time.monotonic() - t0, browsers_cpu() - cpu0
