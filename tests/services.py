"""Real services for the scale-out tests: redis-server, coturn and ``noom serve`` processes.

Each one is a subprocess on a loopback (or the namespace's veth) address, started and stopped by the test
that uses it; readiness is waited for by polling, with a deadline, never by sleeping a fixed time.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

from .support import eventually, free_port

ROOT = Path(__file__).resolve().parent.parent


class RedisServer:
    """redis-server on 127.0.0.1 with persistence off, so a restart really starts empty."""

    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.tmp = tmp
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisServer:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.tmp),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


class NoomProcess:
    """``noom serve`` as a subprocess on its own port, with the given flags (by default this checkout's Noom;
    ``python``/``cwd`` run another install, e.g. a wheel in a fresh venv)."""

    def __init__(
        self,
        *flags: str,
        log: Path,
        env: dict[str, str] | None = None,
        https: bool = False,
        python: str = sys.executable,
        cwd: Path = ROOT,
    ) -> None:
        self.python = python
        self.cwd = cwd
        self.port = free_port()
        self.url = f"{'https' if https else 'http'}://127.0.0.1:{self.port}"
        self.flags = flags
        self.log = log
        self.env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> NoomProcess:
        self.spawn()
        await eventually(self.healthy, f"noom serve on {self.url} healthy")
        return self

    def spawn(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [self.python, "-m", "noom.cli", "serve", "--port", str(self.port), *self.flags],
                cwd=self.cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **self.env},
                start_new_session=True,  # its own process group, for killpg
            )

    async def health(self) -> tuple[int, dict[str, Any]]:
        # Readiness only: certificate checks are the TLS tests' business.
        async with aiohttp.ClientSession() as http, http.get(self.url + "/healthz", ssl=False) as response:
            return response.status, await response.json()

    async def healthy(self) -> dict[str, Any] | None:
        assert self.proc and self.proc.poll() is None, f"noom serve exited: {self.log.read_text()[-2000:]}"
        status, body = await self.health()
        return body if status == 200 else None

    async def metrics(self) -> str:
        async with aiohttp.ClientSession() as http, http.get(self.url + "/metrics") as response:
            assert response.status == 200
            return await response.text()

    def signal(self, signum: int) -> None:
        assert self.proc
        self.proc.send_signal(signum)

    def stop(self) -> None:
        """Stop gracefully (a --workers supervisor stops its workers), or kill the whole process group."""
        if not self.proc or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


class TurnServer:
    """coturn with the TURN REST API secret, listening and relaying on the namespace's veth address."""

    def __init__(self, tmp: Path, secret: str, host: str = "10.99.0.1") -> None:
        self.host = host
        self.port = free_port(host, socket.SOCK_DGRAM)
        self.secret = secret
        self.tmp = tmp
        self.url = f"turn:{host}:{self.port}?transport=udp"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> TurnServer:
        self.proc = subprocess.Popen(
            [
                "turnserver",
                "-n",
                "--use-auth-secret",
                f"--static-auth-secret={self.secret}",
                "--realm",
                "noom",
                "--listening-ip",
                self.host,
                "--relay-ip",
                self.host,
                "--listening-port",
                str(self.port),
                "--no-tls",
                "--no-dtls",
                "--no-cli",
                "--allow-loopback-peers",
                "--log-file",
                "stdout",
                "--simple-log",
                "--db",
                str(self.tmp / "turndb"),
                "--pidfile",
                str(self.tmp / "turnserver.pid"),
            ],
            stdout=(self.tmp / "turnserver.log").open("ab"),
            stderr=subprocess.STDOUT,
        )
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
