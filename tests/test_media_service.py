"""The bots as the server runs them (``MediaService``, the server's ``BotLauncher``): recordings of a room and
their signed links, the caps on recorders and echo tests, and what happens to the files afterwards."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import secrets
import time
from pathlib import Path

import aiohttp
import av
import pytest

from noom.app import SIGNALING_KEY
from noom.config import Config
from noom.media.probe import ProbeBot
from noom.media.service import MEDIA_KEY, MediaService
from noom.protocol import ProtocolError
from noom.secret import SECRET_KEY, ServerSecret
from noom.signaling.server import peer_channel

from .helpers import Client, RunningServer
from .media_helpers import bot_credential
from .support import eventually

LINK_RE = re.compile(r"/recordings/[A-Za-z0-9_-]+\.[0-9]+\.[A-Za-z0-9_-]+")


async def ask_to_stop(server: RunningServer, service: MediaService, room: str) -> None:
    """What the server does on a member's ``recording-stop``: the event to the recorder bot's own socket."""
    bot = service.recordings[room].bot
    await server.app[SIGNALING_KEY].sio.emit("recording-stop", {}, to=peer_channel(bot.peer_id))


async def test_recording_of_a_room_is_downloadable_only_by_its_signed_link(make_server, tmp_path: Path) -> None:
    directory = tmp_path / "recordings"
    server: RunningServer = await make_server(recordings_dir=str(directory))
    service = server.app[MEDIA_KEY]
    secret = server.app[SECRET_KEY]
    watcher = await Client(server.url).connect()
    await watcher.join("meeting", "Watcher")
    credential = bot_credential(server)
    a = ProbeBot(
        server.url, "meeting", "probe-a", tone_hz=700, width=320, height=240, fps=15, bot_credential=credential
    )
    b = ProbeBot(
        server.url, "meeting", "probe-b", tone_hz=1300, width=320, height=240, fps=15, bot_credential=credential
    )
    await a.start()
    await b.start()
    try:
        # Started from the room by a member, through the server (which calls service.start_recorder).
        assert (await watcher.call("recording-start", {}))["ok"]
        assert await watcher.refused("recording-start", {}) == "already-recording"
        with pytest.raises(ProtocolError) as again:  # the service keeps to one per room by itself too
            await service.start_recorder(server.url, "meeting")
        assert again.value.code == "already-recording"
        # Everyone in the room sees the recorder as a bot with its role (the call UI shows REC for it).
        joined = [await watcher.next("peer-joined", timeout=10) for _ in range(3)]
        assert ("bot", "recorder") in [(p["kind"], p["role"]) for p in joined]
        recording = service.recordings["meeting"]
        recorder = recording.bot
        await eventually(
            lambda: sum(t.frame is not None for t in recorder.tiles.values()) == 2, "frames from both probes", 30
        )
        async with aiohttp.ClientSession(server.url) as http:
            # A valid link to a recording still being written: not yet.
            async with http.get("/recordings/" + secret.sign("recording", recording.stem, 60)) as response:
                assert response.status == 409 and "in progress" in await response.text()
            await asyncio.sleep(max(0.0, 3 - recorder.elapsed))
            # Stopped by whoever started it: the server sends the recorder bot recording-stop.
            assert (await watcher.call("recording-stop", {}))["ok"]
            chat = await watcher.next("chat", timeout=20)
            [link] = LINK_RE.findall(chat["text"])
            assert chat["text"].startswith("Recording saved (") and "24 h" in chat["text"]
            await eventually(lambda: "meeting" not in service.recordings, "the recorder to leave", 10)
            async with http.get(link) as response:
                assert response.status == 200
                assert response.headers["Content-Type"] == "video/mp4"
                assert response.headers["Content-Disposition"].startswith("attachment;")
                data = await response.read()
            # The file's name, a link signed for another purpose, a forged, an expired or an unknown one: 404.
            stem = recording.stem
            token = link.removeprefix("/recordings/")
            payload, expires, signature = token.split(".")
            forged = f"{payload}.{int(expires) + 3600}.{signature}"
            refused = [
                f"{stem}.mp4",
                stem,
                secret.sign("admission", stem, 60),
                forged,
                f"{payload}.{expires}.{'A' * len(signature)}",
                ServerSecret("another-deployment-secret").sign("recording", stem, 60),
                secret.sign("recording", stem, 60, now=time.time() - 120),
                secret.sign("recording", secrets.token_urlsafe(18), 60),
                secret.sign("recording", "notes", 60),  # signed, but not a recording's name
            ]
            for bad in refused:
                async with http.get("/recordings/" + bad) as response:
                    assert response.status == 404, bad
                    assert "Traceback" not in await response.text()
    finally:
        await a.stop()
        await b.stop()
        await watcher.close()
    # Nothing lists the files; the one recording is there under its unguessable name.
    assert [p.name for p in directory.iterdir()] == [f"{stem}.mp4"]
    path = tmp_path / "download.mp4"
    path.write_bytes(data)
    with av.open(str(path)) as container:
        assert [s.codec_context.name for s in container.streams] in (["h264", "aac"], ["aac", "h264"])
        assert container.duration / av.time_base >= 2.5
        assert any(frame.width == 1280 for frame in container.decode(video=0))


async def test_recorders_are_capped(make_server, tmp_path: Path) -> None:
    server: RunningServer = await make_server(recorders_max=1, recordings_dir=str(tmp_path))
    service = server.app[MEDIA_KEY]
    await service.start_recorder(server.url, "first")
    with pytest.raises(ProtocolError) as busy:
        await service.start_recorder(server.url, "second")
    assert busy.value.code == "busy" and "try again when another recording has ended" in busy.value.message
    await ask_to_stop(server, service, "first")
    await eventually(lambda: not service.recordings, "the first recording to end", 20)
    await service.start_recorder(server.url, "second")  # its place is free again
    await ask_to_stop(server, service, "second")
    await eventually(lambda: not service.recordings, "the second recording to end", 20)


async def test_recorder_stops_when_no_human_sends_media(make_server, tmp_path: Path) -> None:
    server: RunningServer = await make_server(recordings_dir=str(tmp_path))
    service = server.app[MEDIA_KEY]
    service.recording_idle_seconds = 3.0
    # An idle socket in the room (it never answers the recorder's offer) and a bot that does send media:
    # neither is a person taking part, so neither keeps the recording going.
    idle = await Client(server.url).connect()
    await idle.join("quiet", "Idle")
    probe = ProbeBot(server.url, "quiet", "probe", width=160, height=120, fps=15, bot_credential=bot_credential(server))
    await probe.start()
    try:
        await service.start_recorder(server.url, "quiet")
        recorder = service.recordings["quiet"].bot
        await eventually(lambda: any(t.frame is not None for t in recorder.tiles.values()), "the probe's frames", 30)
        await eventually(lambda: "quiet" not in service.recordings, "the recorder to stop by itself", 20)
        assert 3.0 <= recorder.elapsed < 15.0
        chat = await idle.next("chat", timeout=10)
        assert LINK_RE.search(chat["text"])
    finally:
        await probe.stop()
        await idle.close()


def test_recorder_counts_human_media_only() -> None:
    from noom.media.recorder import RecorderBot, Tile
    from noom.protocol import Peer

    bot = RecorderBot("http://192.0.2.1:9", "r", Path("unused.mp4"))
    try:
        bot.human_media_at -= 100
        bot._received(Tile(Peer(peer_id="b", name="probe", kind="bot", role="probe")))
        assert bot.human_idle >= 100
        bot._received(Tile(Peer(peer_id="h", name="Ada")))
        assert bot.human_idle < 5
    finally:
        bot._worker.shutdown(wait=False)


def service_for(directory: Path, **overrides: object) -> MediaService:
    config = dataclasses.replace(Config(), recordings_dir=str(directory), **overrides)
    return MediaService(config, ServerSecret(secrets.token_urlsafe(32)))


def stored(directory: Path, suffix: str, size: int, age: float) -> Path:
    path = directory / (secrets.token_urlsafe(18) + suffix)
    path.write_bytes(b"\0" * size)
    when = time.time() - age
    os.utime(path, (when, when))
    return path


def test_retention_deletes_old_recordings_only(tmp_path: Path) -> None:
    service = service_for(tmp_path, recordings_retention=3600.0)
    old = stored(tmp_path, ".mp4", 10, age=7200)
    abandoned = stored(tmp_path, ".mp4.part", 10, age=7200)  # a crashed process's unfinished file
    recent = stored(tmp_path, ".mp4", 10, age=60)
    writing = stored(tmp_path, ".mp4.part", 10, age=1)
    theirs = tmp_path / "notes.txt"  # not one of ours: left alone
    theirs.write_text("keep")
    os.utime(theirs, (0, 0))
    service.sweep()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in (recent, writing, theirs))
    assert not old.exists() and not abandoned.exists()


def test_byte_cap_deletes_the_oldest_finished_recordings_first(tmp_path: Path) -> None:
    service = service_for(tmp_path, recordings_max_bytes=2500)
    oldest = stored(tmp_path, ".mp4", 1000, age=300)
    writing = stored(tmp_path, ".mp4.part", 1000, age=250)  # older, but still being written: kept
    middle = stored(tmp_path, ".mp4", 1000, age=200)
    newest = stored(tmp_path, ".mp4", 1000, age=100)
    assert service.make_room() == 2000
    assert not oldest.exists() and not middle.exists()
    assert writing.exists() and newest.exists()


async def test_no_recording_starts_when_the_directory_is_full_of_unfinished_ones(make_server, tmp_path: Path) -> None:
    server: RunningServer = await make_server(recordings_dir=str(tmp_path), recordings_max_bytes=1000)
    service = server.app[MEDIA_KEY]
    stored(tmp_path, ".mp4.part", 1500, age=1)  # another process's recording, still being written
    with pytest.raises(ProtocolError) as busy:
        await service.start_recorder(server.url, "full")
    assert busy.value.code == "busy" and "no space left for recordings" in busy.value.message
    assert not service.recordings


async def test_old_recordings_are_deleted_at_start_up(make_server, tmp_path: Path) -> None:
    old = stored(tmp_path, ".mp4", 10, age=8 * 86400)  # older than the default 7 days
    kept = stored(tmp_path, ".mp4", 10, age=86400)
    await make_server(recordings_dir=str(tmp_path))
    await eventually(lambda: not old.exists(), "the start-up sweep", 10)
    assert kept.exists()


async def test_echo_sessions_are_private_one_per_address_and_capped(make_server) -> None:
    server: RunningServer = await make_server(echo_max_sessions=2)
    service = server.app[MEDIA_KEY]
    service.echo_join_timeout = 60.0
    echo = await service.start_echo(server.url, "sid-1", "192.0.2.1")
    with pytest.raises(ProtocolError) as same_address:
        await service.start_echo(server.url, "sid-2", "192.0.2.1")
    assert same_address.value.code == "busy" and "already running" in same_address.value.message
    await service.start_echo(server.url, "sid-3", "192.0.2.2")
    with pytest.raises(ProtocolError) as full:
        await service.start_echo(server.url, "sid-4", "192.0.2.3")
    assert full.value.code == "busy" and "try again" in full.value.message
    assert echo.room.startswith("echo-") and len(echo.room) > 20
    # The room is locked: without the password nobody gets in; with it, the echo bot is there.
    stranger = await Client(server.url).connect()
    guest = await Client(server.url).connect()
    try:
        assert (await stranger.call("rooms"))["rooms"] == []  # the lobby does not list echo tests
        refused = await stranger.call("join", {"room": echo.room, "name": "Mallory"})
        assert refused["error"]["code"] == "wrong-password"
        ack = await guest.join(echo.room, "Guest", password=echo.password)
        assert [(p["kind"], p["role"]) for p in ack["peers"]] == [("bot", "echo")]
        bot = service.echo_sessions["sid-1"].bot
        # The socket that asked went away: its test ends, and its address may start another.
        await service.end_echo("sid-1")
        await eventually(lambda: "sid-1" not in service.echo_sessions, "the echo session to end", 10)
        left = await guest.next("peer-left", timeout=10)
        assert left["peerId"] == bot.peer_id
        await service.start_echo(server.url, "sid-5", "192.0.2.1")
    finally:
        await stranger.close()
        await guest.close()


async def test_echo_session_belongs_to_the_socket_that_asked(make_server) -> None:
    server: RunningServer = await make_server(echo_max_sessions=4)
    service = server.app[MEDIA_KEY]
    service.echo_join_timeout = 60.0  # only the socket's going may end it here
    asker = await Client(server.url).connect()
    other = await Client(server.url).connect()  # another tab from the same address
    try:
        echo = await asker.call("echo-start", {})
        assert echo["ok"] and echo["room"].startswith("echo-") and echo["password"], echo
        assert await other.refused("echo-start", {}) == "busy"
        [session] = service.echo_sessions.values()
        assert session.room == echo["room"]
        await asker.close()
        await eventually(lambda: not service.echo_sessions, "the echo session to end with its socket", 10)
        await eventually(lambda: not session.bot.sio.connected, "the echo bot to leave", 10)
        assert (await other.call("echo-start", {}))["ok"]  # the address's one test is free again
    finally:
        await asker.close()
        await other.close()


async def test_echo_session_nobody_joins_ends(make_server) -> None:
    server: RunningServer = await make_server()
    service = server.app[MEDIA_KEY]
    service.echo_join_timeout = 1.0
    await service.start_echo(server.url, "sid-1", "192.0.2.1")
    await eventually(lambda: not service.echo_sessions, "the unvisited echo session to end", 10)


async def test_echo_page_is_served_and_the_old_http_api_is_gone(server: RunningServer) -> None:
    async with aiohttp.ClientSession(server.url) as http:
        async with http.get("/echo") as response:
            assert response.status == 200 and "Test your camera and mic" in await response.text()
        for method, path in (("POST", "/api/echo"), ("POST", "/api/rooms/r/recording"),
                             ("DELETE", "/api/rooms/r/recording")):  # fmt: skip
            async with http.request(method, path) as response:
                assert response.status in (404, 405), (method, path)


async def test_a_bot_that_cannot_start_is_busy_without_exception_text(
    make_server, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server: RunningServer = await make_server(recordings_dir=str(tmp_path))
    service = server.app[MEDIA_KEY]
    nowhere = "http://127.0.0.1:9"  # nothing listens there: the bot's connect fails
    with pytest.raises(ProtocolError) as echo:
        await service.start_echo(nowhere, "sid-1", "192.0.2.1")
    with pytest.raises(ProtocolError) as recorder:
        await service.start_recorder(nowhere, "room")
    # What the client sees is a sentence of ours; the exception goes to the log, with what failed.
    assert (echo.value.code, echo.value.message) == ("busy", "The echo test could not start: try again in a moment.")
    assert (recorder.value.code, recorder.value.message) == (
        "busy",
        "The recorder could not join: try again in a moment.",
    )
    logged = [r for r in caplog.records if r.name == "noom.media.service" and r.exc_info]
    assert [r.getMessage() for r in logged] == ["could not start an echo bot for 192.0.2.1",
                                                "could not start a recorder in room room"]  # fmt: skip
    assert not service.echo_sessions and not service.recordings and not os.listdir(tmp_path)
