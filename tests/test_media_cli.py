"""``noom probe`` and ``noom record`` as a person runs them, against a live server with an echo bot."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import av

from noom.media.echo import EchoBot

from .helpers import RunningServer
from .media_helpers import bot_credential, known_secret


async def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    # The bots' secret comes from the arguments only, unless a test gives it in the environment.
    base = {k: v for k, v in os.environ.items() if k != "NOOM_SERVER_SECRET"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "noom.cli", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=base | (env or {}),
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 90)
    return process.returncode or 0, out.decode(), err.decode()


async def test_probe_and_record_commands(server: RunningServer, tmp_path: Path) -> None:
    secret = known_secret(server)
    echo = EchoBot(server.url, "cli", bot_credential=bot_credential(server))
    await echo.start()
    out = tmp_path / "cli.mp4"
    try:
        (probe_code, probe_out, probe_err), (record_code, _, record_err) = await asyncio.gather(
            run("probe", "--url", server.url, "--room", "cli", "--duration", "6", "--fps", "15", "--json",
                "--server-secret", secret),
            run("record", "--url", server.url, "--room", "cli", "--out", str(out), "--duration", "4",
                "--width", "640", "--height", "360", env={"NOOM_SERVER_SECRET": secret}),
        )  # fmt: skip
    finally:
        await echo.stop()
    assert probe_code == 0, probe_err
    report = json.loads(probe_out)
    [echoed] = [p for p in report["peers"] if p["name"] == "Echo"]
    assert echoed["own_frames"] > 0 and echoed["latency"]["count"] == echoed["own_frames"]
    assert record_code == 0, record_err
    assert "REC 00:0" in record_err and "Saved" in record_err
    with av.open(str(out)) as container:
        assert 3 <= container.duration / av.time_base <= 5


async def test_probe_says_why_it_cannot_join(make_server) -> None:
    # Our own bots pass a room's password (they are the server's), but not its capacity.
    server: RunningServer = await make_server(capacity=1)
    secret = known_secret(server)
    holder = EchoBot(server.url, "full", bot_credential=bot_credential(server))
    await holder.start()
    try:
        code, _, err = await run(
            "probe", "--url", server.url, "--room", "full", "--duration", "1", "--server-secret", secret
        )
    finally:
        await holder.stop()
    assert code == 1 and "already has 1 participants" in err and "Traceback" not in err, err


async def test_bots_say_in_one_line_when_the_server_refuses_their_secret(server: RunningServer) -> None:
    known_secret(server)
    code, _, err = await run(
        "probe", "--url", server.url, "--room", "r", "--duration", "1", "--server-secret", "not-the-server-secret"
    )
    assert code == 1 and "refused" in err and "--server-secret" in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err


async def test_record_says_when_the_server_is_not_there(tmp_path: Path) -> None:
    code, _, err = await run(
        "record", "--url", "http://127.0.0.1:9", "--room", "r", "--out", str(tmp_path / "x.mp4"),
        "--server-secret", "s" * 32,
    )  # fmt: skip
    assert code == 1 and "could not reach the Noom server" in err and "Traceback" not in err


async def test_bots_say_in_one_line_that_they_need_the_server_secret(tmp_path: Path) -> None:
    for command in (["probe", "--duration", "1"], ["bot", "echo"], ["record", "--out", str(tmp_path / "x.mp4")]):
        code, _, err = await run(*command, "--url", "http://127.0.0.1:9", "--room", "r")
        assert code == 2 and "--server-secret" in err and "NOOM_SERVER_SECRET" in err, err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    code, _, err = await run("probe", "--url", "http://127.0.0.1:9", "--room", "r", "--duration", "1",
                             "--server-secret", "short")  # fmt: skip
    assert code == 2 and "at least 16 characters" in err and len(err.strip().splitlines()) == 1, err
