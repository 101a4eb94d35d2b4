"""Shared pieces of the benchmark scripts: process sampling from /proc, running inside a private network
namespace, and writing results into docs/benchmarks.md between markers so every table there comes from a run.
Ports and polling come from tests/support.py, as in the tests."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
