"""A small network lab for browser tests: one network namespace per participant, each joined to the test's
own namespace (where the server listens) by a veth pair on one bridge, and ``tc`` impairments on a link.

Layout (inside the namespace scripts/netns.sh made, so nothing here can reach the outside world):

    test namespace: bridge ``nlbr`` 10.98.0.1/24, the server listens there
    participant i:  namespace ``noom<pid>p<i>``, veth ``nlp<i>`` 10.98.0.<10+i>/24 (its host end ``nlh<i>`` is a
                    bridge port), so participants reach the server and each other without routing.

Namespace names live in /run/netns, which other test runs on the machine share, hence the pid in them.
Chromium is started inside a namespace through a wrapper executable (``exec ip netns exec NAME chromium``),
which Playwright launches as its ``executable_path``.

Impairments: bandwidth by ``tc`` (tbf), an outage by iptables DROP rules, delay and random loss by the
kernel's netem qdisc where it has one and otherwise by ``tests/nfqueue_netem.py`` (the same, in user space,
over NFQUEUE) — this project's CI kernel has no ``sch_netem``.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .services import ROOT
from .support import CHROMIUM

log = logging.getLogger(__name__)

SERVER_HOST = "10.98.0.1"  # 10.99.0.0/24 is scripts/netns.sh's
BRIDGE = "nlbr"


def run(*args: str) -> None:
    """Run an ``ip``/``tc`` command; fail with its stderr (a missing kernel module says so there)."""
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")


@dataclass
class Participant:
    """One participant's namespace and link. Impairments apply to egress on each end of its veth:
    ``up`` is what it sends (inside its namespace), ``down`` what it receives (the bridge-side end)."""

    index: int
    netns: str
    address: str
    wrapper: Path
    host_dev: str = field(init=False)
    dev: str = field(init=False)
    # The user-space netem (tests/nfqueue_netem.py) while one runs for this participant.
    _delayer: subprocess.Popen[str] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.host_dev = f"nlh{self.index}"
        self.dev = f"nlp{self.index}"

    def _tc(self, direction: str, *args: str) -> None:
        if direction == "up":
            run("ip", "netns", "exec", self.netns, "tc", "qdisc", *args[:1], "dev", self.dev, "root", *args[1:])
        else:
            run("tc", "qdisc", *args[:1], "dev", self.host_dev, "root", *args[1:])

    def impair(self, direction: str, *qdisc: str) -> None:
        """Replace the root qdisc of one direction (``"up"`` or ``"down"``): e.g.
        ``impair("up", "tbf", "rate", "500kbit", "burst", "16kb", "latency", "200ms")``."""
        assert direction in ("up", "down"), direction
        log.info("impairing %s of participant %d: %s", direction, self.index, " ".join(qdisc))
        self._tc(direction, "replace", *qdisc)

    def has_qdisc(self, kind: str, *args: str) -> bool:
        """Whether this kernel has the ``kind`` qdisc (netem is a module some kernels, e.g. CI VMs, lack)."""
        try:
            self.impair("down", kind, *args)
        except RuntimeError as exc:
            if "qdisc kind is unknown" in str(exc):
                return False
            raise
        self.clear("down")
        return True

    def _iptables(self, *args: str) -> None:
        run("ip", "netns", "exec", self.netns, "iptables", "-w", *args)

    def _filter_both_ways(self, *target: str) -> None:
        """Send everything that crosses this participant's link, both ways, to ``target`` (loopback untouched)."""
        self._iptables("-A", "OUTPUT", "-o", self.dev, "-j", *target)
        self._iptables("-A", "INPUT", "-i", self.dev, "-j", *target)

    def outage(self) -> None:
        """Drop what crosses the link both ways, with the link itself up (as when a router's uplink dies)."""
        log.info("participant %d's link drops everything", self.index)
        self._filter_both_ways("DROP")

    def netem(self, delay_ms: int, loss: float) -> None:
        """Delay each packet by ``delay_ms`` and drop a ``loss`` share of them, each way: by the kernel's netem
        where it has one, else by the user-space one (nfqueue_netem, held packets in the kernel's queue)."""
        if self.has_qdisc("netem", "loss", "0%"):
            for direction in ("up", "down"):
                self.impair(direction, "netem", "delay", f"{delay_ms}ms", "loss", f"{100 * loss:g}%")
            return
        log.info("participant %d: %d ms, %g%% loss each way in user space", self.index, delay_ms, 100 * loss)
        command = [sys.executable, "-m", "tests.nfqueue_netem", "--delay-ms", str(delay_ms), "--loss", str(loss)]
        # Ahead of the browsers for the CPU, as the kernel's qdisc would be: on 2 busy cores a starved delayer
        # would add its own late packets to the impairment under test.
        self._delayer = subprocess.Popen(
            ["nice", "-n", "-10", "ip", "netns", "exec", self.netns, *command],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._delayer.stdout is not None
        if self._delayer.stdout.readline().strip() != "ready":
            raise RuntimeError(f"tests/nfqueue_netem.py did not start (exit code {self._delayer.wait(5)})")
        self._filter_both_ways("NFQUEUE", "--queue-num", "0", "--queue-bypass")

    def clear(self, direction: str | None = None) -> None:
        """Back to the default qdisc (one direction, or both), and no filter rules or user-space netem."""
        for d in (direction,) if direction else ("up", "down"):
            try:
                self._tc(d, "del")
            except RuntimeError as exc:  # nothing to delete: already clear
                if "No such file" not in str(exc) and "Cannot delete qdisc with handle of zero" not in str(exc):
                    raise
        if direction is None:
            self._iptables("-F")
            if self._delayer is not None:
                self._delayer.terminate()
                self._delayer.wait(5)
                self._delayer = None
        log.info("participant %d's link is clear", self.index)

    def chromium_args(self, server_url: str) -> list[str]:
        """Flags for this participant's Chromium: the server's plain-http origin counts as secure (cameras)."""
        return [f"--unsafely-treat-insecure-origin-as-secure={server_url}"]


class NetLab:
    def __init__(self, count: int) -> None:
        self.count = count
        self.prefix = f"noom{os.getpid()}p"
        self.dir = Path(tempfile.mkdtemp(prefix="noom-netlab-"))
        self.participants: list[Participant] = []

    def up(self) -> list[Participant]:
        run("ip", "link", "add", BRIDGE, "type", "bridge")
        run("ip", "addr", "add", f"{SERVER_HOST}/24", "dev", BRIDGE)
        run("ip", "link", "set", BRIDGE, "up")
        for i in range(self.count):
            netns = f"{self.prefix}{i}"
            wrapper = self.dir / f"chromium-{netns}"
            wrapper.write_text(f'#!/bin/sh\nexec ip netns exec {netns} {CHROMIUM} "$@"\n')
            wrapper.chmod(0o755)
            p = Participant(i, netns, f"10.98.0.{10 + i}", wrapper)
            run("ip", "netns", "add", netns)
            self.participants.append(p)  # from here on, down() removes it
            run("ip", "link", "add", p.host_dev, "type", "veth", "peer", "name", p.dev, "netns", netns)
            run("ip", "link", "set", p.host_dev, "master", BRIDGE)
            run("ip", "link", "set", p.host_dev, "up")
            inside = ("ip", "netns", "exec", netns, "ip")
            run(*inside, "link", "set", "lo", "up")
            run(*inside, "addr", "add", f"{p.address}/24", "dev", p.dev)
            run(*inside, "link", "set", p.dev, "up")
            # A default route so that browsers gather candidates as on a real network; there is nowhere
            # beyond the bridge for packets to go.
            run(*inside, "route", "add", "default", "via", SERVER_HOST)
        return self.participants

    def down(self) -> None:
        for p in self.participants:
            if p._delayer is not None:
                p._delayer.kill()
                p._delayer.wait()
            for args in (("ip", "link", "del", p.host_dev), ("ip", "netns", "del", p.netns)):
                try:
                    run(*args)
                except RuntimeError as exc:
                    log.warning("netlab clean-up: %s", exc)
        self.participants = []
        try:
            run("ip", "link", "del", BRIDGE)
        except RuntimeError as exc:
            log.warning("netlab clean-up: %s", exc)
        for f in self.dir.iterdir():
            f.unlink()
        self.dir.rmdir()


@contextmanager
def netlab(count: int) -> Iterator[list[Participant]]:
    """``count`` participant namespaces on a bridge at SERVER_HOST, removed again however the test ends."""
    if not os.environ.get("NOOM_TEST_NETNS"):
        raise RuntimeError("netlab changes network namespaces: run the tests through scripts/netns.sh (see README)")
    lab = NetLab(count)
    try:
        yield lab.up()
    finally:
        lab.down()
