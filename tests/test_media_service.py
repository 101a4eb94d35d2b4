"""The bots as the server runs them: recordings over HTTP, echo sessions and their cap."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import av

from media.probe import ProbeBot
from media.service import MEDIA_KEY

from .helpers import Client, RunningServer
from .media_helpers import wait_until


async def test_recording_started_and_stopped_over_http_is_downloadable(make_server, tmp_path: Path) -> None:
    server: RunningServer = await make_server(recordings_dir=str(tmp_path / "recordings"))
    watcher = await Client(server.url).connect()
    await watcher.join("meeting", "Watcher")
    a = ProbeBot(server.url, "meeting", "probe-a", tone_hz=700, width=320, height=240, fps=15)
    b = ProbeBot(server.url, "meeting", "probe-b", tone_hz=1300, width=320, height=240, fps=15)
    await a.start()
    await b.start()
    try:
        async with aiohttp.ClientSession(server.url) as http:
            async with http.post("/api/rooms/nobody-here/recording") as response:
                assert response.status == 404
                assert "join it first" in (await response.json())["error"]["message"]
            async with http.post("/api/rooms/meeting/recording") as response:
                assert response.status == 200, await response.text()
            async with http.post("/api/rooms/meeting/recording") as response:
                assert response.status == 409
                assert (await response.json())["error"]["code"] == "already-recording"
            # Everyone in the room sees the recorder as a bot with its role (the call UI shows REC for it).
            joined = [await watcher.next("peer-joined", timeout=10) for _ in range(3)]
            assert ("bot", "recorder") in [(p["kind"], p["role"]) for p in joined]
            service = server.app[MEDIA_KEY]
            recorder = service.recordings["meeting"].bot
            await wait_until(
                lambda: sum(t.frame is not None for t in recorder.tiles.values()) == 2, 30, "frames from both probes"
            )
            await asyncio.sleep(max(0.0, 3 - recorder.elapsed))
            async with http.delete("/api/rooms/meeting/recording") as response:
                assert response.status == 200, await response.text()
                stopped = await response.json()
            assert stopped["ok"] and stopped["url"].startswith("/recordings/") and stopped["seconds"] >= 3
            chat = await watcher.next("chat", timeout=10)
            assert stopped["url"] in chat["text"]
            async with http.delete("/api/rooms/meeting/recording") as response:
                assert response.status == 404
            async with http.get(stopped["url"]) as response:
                assert response.status == 200
                assert response.headers["Content-Type"] == "video/mp4"
                data = await response.read()
            async with http.get("/recordings/not-a-recording.mp4") as response:
                assert response.status == 404
    finally:
        await a.stop()
        await b.stop()
        await watcher.close()
    path = tmp_path / "download.mp4"
    path.write_bytes(data)
    with av.open(str(path)) as container:
        assert [s.codec_context.name for s in container.streams] in (["h264", "aac"], ["aac", "h264"])
        assert container.duration / av.time_base >= 2.5
        assert any(frame.width == 1280 for frame in container.decode(video=0))


async def test_echo_sessions_are_private_and_capped(make_server) -> None:
    server: RunningServer = await make_server(echo_max_sessions=1)
    async with aiohttp.ClientSession(server.url) as http:
        async with http.post("/api/echo") as response:
            assert response.status == 200
            echo = await response.json()
        async with http.post("/api/echo") as response:
            assert response.status == 503
            busy = await response.json()
        async with http.get("/echo") as response:
            assert response.status == 200 and "Test your camera and mic" in await response.text()
        # Another site cannot start bots with its visitors' browsers.
        async with http.post("/api/echo", headers={"Origin": "https://evil.example"}) as response:
            assert response.status == 403
    assert busy["error"]["code"] == "busy" and "try again" in busy["error"]["message"]
    assert echo["room"].startswith("echo-") and len(echo["room"]) > 20
    # The room is locked: without the password nobody gets in; with it, the echo bot is there.
    stranger = await Client(server.url).connect()
    guest = await Client(server.url).connect()
    try:
        assert (await stranger.call("rooms"))["rooms"] == []  # the lobby does not list echo tests
        refused = await stranger.call("join", {"room": echo["room"], "name": "Mallory"})
        assert refused["error"]["code"] == "wrong-password"
        ack = await guest.join(echo["room"], "Guest", password=echo["password"])
        assert [(p["kind"], p["role"]) for p in ack["peers"]] == [("bot", "echo")]
    finally:
        await stranger.close()
        await guest.close()
