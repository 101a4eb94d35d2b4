"""``noom probe`` and ``noom record`` as a person runs them, against a live server with an echo bot."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import av

from media.echo import EchoBot

from .helpers import RunningServer


async def run(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "signaling.cli", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 90)
    return process.returncode or 0, out.decode(), err.decode()


async def test_probe_and_record_commands(server: RunningServer, tmp_path: Path) -> None:
    echo = EchoBot(server.url, "cli")
    await echo.start()
    out = tmp_path / "cli.mp4"
    try:
        (probe_code, probe_out, probe_err), (record_code, _, record_err) = await asyncio.gather(
            run("probe", "--url", server.url, "--room", "cli", "--duration", "6", "--fps", "15", "--json"),
            run("record", "--url", server.url, "--room", "cli", "--out", str(out), "--duration", "4",
                "--width", "640", "--height", "360"),
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


async def test_probe_says_why_it_cannot_join(server: RunningServer) -> None:
    holder = EchoBot(server.url, "locked", password="secret")
    await holder.start()
    try:
        code, _, err = await run("probe", "--url", server.url, "--room", "locked", "--duration", "1")
    finally:
        await holder.stop()
    assert code == 1 and "password" in err


async def test_record_says_when_the_server_is_not_there(tmp_path: Path) -> None:
    code, _, err = await run("record", "--url", "http://127.0.0.1:9", "--room", "r", "--out", str(tmp_path / "x.mp4"))
    assert code == 1 and "could not reach the Noom server" in err and "Traceback" not in err
