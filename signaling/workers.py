"""``noom serve --workers N``: N processes of ``noom serve`` on one port (SO_REUSEPORT), sharing Redis.

The kernel spreads new connections over the workers; without sticky sessions a long-polling client's
requests would land on different workers, so in this mode the server accepts the websocket transport
only (pages tell the browser client so). The supervisor restarts a worker that dies and, on SIGTERM or
SIGINT, passes the signal on and waits for the workers' graceful stop.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from noom.config import Config

from .tls import write_self_signed

log = logging.getLogger(__name__)

WORKER_ENV = "NOOM_WORKER_INDEX"
# A worker that dies sooner than this after starting is not restarted in a tight loop.
RESTART_DELAY = 1.0


def is_worker() -> bool:
    return WORKER_ENV in os.environ


def die_with_supervisor() -> None:
    """Ask Linux to SIGTERM this worker when its supervisor dies, even by SIGKILL: no orphans hold the port."""
    if sys.platform != "linux":
        return
    import ctypes

    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
    if os.getppid() == 1:  # the supervisor died before we asked
        os.kill(os.getpid(), signal.SIGTERM)


def supervise(config: Config, argv: list[str]) -> int:
    if not config.redis_url:
        print("noom: --workers above 1 needs --redis-url so the workers share rooms", file=sys.stderr)
        return 2
    if config.port == 0:
        print("noom: --workers above 1 needs a fixed --port to share", file=sys.stderr)
        return 2
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="noom-tls-") as tmp:
        if config.tls_self_signed and not config.tls_cert:
            # One certificate for all workers, or a browser would see a different one per connection.
            cert, key, print_ = write_self_signed(Path(tmp))
            env.update(NOOM_TLS_CERT=str(cert), NOOM_TLS_KEY=str(key))
            print(f"self-signed certificate SHA-256 {print_}", file=sys.stderr, flush=True)
        return _run(config, argv, env)


def _run(config: Config, argv: list[str], env: dict[str, str]) -> int:
    command = [sys.executable, "-m", "noom.cli", *argv]
    stopping = False

    def spawn(index: int) -> subprocess.Popen[bytes]:
        return subprocess.Popen(command, env={**env, WORKER_ENV: str(index)})

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    children = [spawn(i) for i in range(config.workers)]
    started = [time.monotonic()] * config.workers
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"Noom supervisor {os.getpid()}: {config.workers} workers on port {config.port}", file=sys.stderr, flush=True)
    while not stopping:
        time.sleep(0.2)
        for i, child in enumerate(children):
            if child.poll() is not None and not stopping:
                print(f"noom: worker {i} exited with {child.returncode}; restarting", file=sys.stderr, flush=True)
                time.sleep(max(0.0, RESTART_DELAY - (time.monotonic() - started[i])))
                children[i] = spawn(i)
                started[i] = time.monotonic()
    deadline = time.monotonic() + config.shutdown_timeout + 5
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    return 0
