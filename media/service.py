"""The server side of the bots: the ``BotLauncher`` the signaling server starts recorders and echo tests
through, and the recorded files.

The server runs its bots in-process as Socket.IO clients of itself (at the ``server_url`` it passes, its own
listening address), so a bot is an ordinary peer of the room and everything scales out like any other client.
Every bot authenticates with the deployment's bot credential (``ServerSecret.bot_credential()``).

``SignalingServer`` decides *who may* start one (a member of the room, a socket not in a room); this module
decides *whether it can*, and says ``busy`` past its caps:

- ``start_recorder``: one recorder per room, at most ``--recorders-max`` in this process, and only while
  ``--recordings-dir`` has room under ``--recordings-max-bytes``. A recorder stops on the server's
  ``recording-stop`` event, when no human has sent it media for ``recording_idle_seconds``, or at
  ``RECORDING_MAX_SECONDS``; it then posts a signed link ``/recordings/<token>`` (valid for
  ``--recording-link-ttl``) in the room's chat and leaves.
- ``start_echo``: an echo bot in a new private room (unguessable name, random password) for one socket: one per
  client address, at most ``--echo-max-sessions``; it ends when that socket goes (``end_echo``), when nobody
  joins it within ``echo_join_timeout`` seconds, or when the person leaves.

HTTP: ``GET /echo`` (the camera and microphone test page) and ``GET /recordings/<token>`` (the finished file,
as an attachment). Nothing lists the files, and a name is never enough to download one: only a token we signed.
Files older than ``--recordings-retention`` are deleted at start-up and every ``SWEEP_EVERY`` seconds.

A recording is written as ``<stem>.mp4.part`` and renamed to ``<stem>.mp4`` once closed, so that every process
sharing the directory (``--workers``) knows which files are still being written: those are never served (409)
nor deleted for the byte cap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from noom.bots import EchoRoom
from noom.config import Config
from noom.protocol import ProtocolError
from noom.secret import ServerSecret

from .echo import EchoBot
from .recorder import RecorderBot

log = logging.getLogger(__name__)

ECHO_JOIN_TIMEOUT = 10.0  # seconds an echo bot waits for the socket that asked for it
ECHO_MAX_SECONDS = 600.0  # an echo test is a check, not a call
RECORDING_MAX_SECONDS = 4 * 3600.0
RECORDING_IDLE_SECONDS = 60.0  # a recorder that no human has sent media for this long stops
DISK_CHECK_EVERY = 10.0  # seconds between a running recorder's checks of the directory's byte cap
SWEEP_EVERY = 600.0  # seconds between retention sweeps
STEM_RE = re.compile(r"[A-Za-z0-9_-]{24}")  # secrets.token_urlsafe(18): 144 random bits
FINISHED = ".mp4"
WRITING = ".mp4.part"


def _duration_words(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def _hours_words(seconds: float) -> str:
    hours = seconds / 3600
    return f"{hours:.0f} h" if hours >= 1 else f"{max(1, round(seconds / 60))} min"


@dataclass(eq=False)
class Recording:
    room: str
    stem: str
    bot: RecorderBot
    task: asyncio.Task[None] | None = None


@dataclass(eq=False)
class EchoSession:
    sid: str
    address: str
    room: str
    bot: EchoBot
    ended: asyncio.Event = field(default_factory=asyncio.Event)  # the socket that asked is gone


@dataclass(frozen=True, slots=True)
class StoredFile:
    path: Path
    size: int
    mtime: float
    finished: bool


async def _first(*events: asyncio.Event, timeout: float) -> bool:
    """Wait until one of ``events`` is set; False if none was within ``timeout`` seconds."""
    waits = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        done, _ = await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
    return bool(done)


class MediaService:
    """Runs the server's bots (a ``signaling.bots.BotLauncher``) and serves the recordings."""

    def __init__(self, config: Config, secret: ServerSecret) -> None:
        self.config = config
        self.secret = secret
        self.recordings_dir = Path(config.recordings_dir)
        self.echo_sessions: dict[str, EchoSession] = {}  # by the sid of the socket that asked
        self.recordings: dict[str, Recording] = {}  # by room
        # Instance attributes, not only constants, so that tests can shorten them.
        self.echo_join_timeout = ECHO_JOIN_TIMEOUT
        self.recording_idle_seconds = RECORDING_IDLE_SECONDS
        self.recording_max_seconds = RECORDING_MAX_SECONDS
        self.sweep_every = SWEEP_EVERY
        self._tasks: set[asyncio.Task[None]] = set()
        self._sweeper: asyncio.Task[None] | None = None
        self._shutting_down = False  # the server no longer answers its bots: no farewells, no chat

    # ---- echo ---------------------------------------------------------------------------------

    async def start_echo(self, server_url: str, sid: str, address: str) -> EchoRoom:
        """An echo bot waiting in a new private room for socket ``sid``; ``busy`` past the caps."""
        cap = self.config.echo_max_sessions
        if len(self.echo_sessions) >= cap:
            raise ProtocolError("busy", f"All {cap} echo tests are in use right now: try again in a minute or two.")
        if any(s.address == address for s in self.echo_sessions.values()):
            # One per address: otherwise one visitor could hold every slot (each costs a bot and a room).
            raise ProtocolError(
                "busy", "An echo test from your network is already running: finish it (or close its tab) first."
            )
        room = "echo-" + secrets.token_urlsafe(16)
        password = secrets.token_urlsafe(16)
        bot = EchoBot(server_url, room, "Echo", password, bot_credential=self.secret.bot_credential())
        session = EchoSession(sid=sid, address=address, room=room, bot=bot)
        self.echo_sessions[sid] = session  # claims the slot before the first await
        try:
            await bot.start()
        except Exception:
            self.echo_sessions.pop(sid, None)
            await bot.stop(farewell=False)
            log.exception("could not start an echo bot for %s", address)
            raise ProtocolError("busy", "The echo test could not start: try again in a moment.") from None
        self._spawn(self._supervise_echo(session))
        log.info("echo session %s started for %s (%d running)", room, address, len(self.echo_sessions))
        return EchoRoom(room=room, password=password)

    async def end_echo(self, sid: str) -> None:
        """Socket ``sid`` disconnected or left its echo room: its test is over."""
        session = self.echo_sessions.get(sid)
        if session is not None:
            session.ended.set()

    async def _supervise_echo(self, session: EchoSession) -> None:
        bot = session.bot
        try:
            if not await _first(bot.visited, session.ended, timeout=self.echo_join_timeout):
                log.info("echo session %s: nobody came within %.0f s", session.room, self.echo_join_timeout)
            elif not session.ended.is_set():
                await _first(bot.empty, session.ended, timeout=ECHO_MAX_SECONDS)
        finally:
            self.echo_sessions.pop(session.sid, None)
            await bot.stop(farewell=not self._shutting_down)
            log.info("echo session %s ended", session.room)

    # ---- recordings ---------------------------------------------------------------------------

    async def start_recorder(self, server_url: str, room: str) -> None:
        """A recorder joins ``room``; ``already-recording`` or ``busy`` (with what to do) when it cannot."""
        # Checked and claimed with no await in between: two requests at once cannot both pass.
        if room in self.recordings:
            raise ProtocolError("already-recording", "This room is already being recorded.")
        cap = self.config.recorders_max
        if len(self.recordings) >= cap:
            raise ProtocolError(
                "busy",
                f"All {cap} recorders of this server are in use: try again when another recording has ended.",
            )
        self.recordings_dir.mkdir(parents=True, exist_ok=True)
        if self.make_room() >= self.config.recordings_max_bytes:
            log.warning("refused a recording of room %s: %s is full of recordings still being written",
                        room, self.recordings_dir)  # fmt: skip
            raise ProtocolError(
                "busy",
                "The server has no space left for recordings right now: try again when a recording has ended.",
            )
        stem = secrets.token_urlsafe(18)
        bot = RecorderBot(
            server_url, room, self.recordings_dir / (stem + WRITING), bot_credential=self.secret.bot_credential()
        )
        # The muxer creates the file only with its first packet: until then, too, the name must say that a
        # recording is being written (to the download route and the byte cap of every process).
        bot.out.touch()
        recording = Recording(room=room, stem=stem, bot=bot)
        self.recordings[room] = recording
        try:
            await bot.start()
        except Exception:
            self.recordings.pop(room, None)
            await bot.stop(farewell=False)
            bot.out.unlink(missing_ok=True)
            log.exception("could not start a recorder in room %s", room)
            raise ProtocolError("busy", "The recorder could not join: try again in a moment.") from None
        recording.task = self._spawn(self._supervise_recording(recording))
        log.info("recording room %s (%d running)", room, len(self.recordings))

    async def _supervise_recording(self, recording: Recording) -> None:
        bot = recording.bot
        loop = asyncio.get_running_loop()
        checked_disk = loop.time()
        try:
            while True:
                if bot.stop_requested.is_set():
                    log.info("recording of room %s: stopped on request", recording.room)
                    break
                if bot.human_idle > self.recording_idle_seconds:
                    log.info("recording of room %s: no human sent media for %.0f s, stopping",
                             recording.room, bot.human_idle)  # fmt: skip
                    break
                if bot.elapsed >= self.recording_max_seconds:
                    log.info("recording of room %s: reached %.0f s, stopping", recording.room, bot.elapsed)
                    break
                if loop.time() - checked_disk >= DISK_CHECK_EVERY:
                    checked_disk = loop.time()
                    if await asyncio.to_thread(self.make_room) > self.config.recordings_max_bytes:
                        log.warning("recording of room %s: %s is full, stopping", recording.room, self.recordings_dir)
                        break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(bot.stop_requested.wait(), 0.5)
        finally:
            await asyncio.shield(self._finish_recording(recording))

    def link(self, stem: str) -> str:
        """The download link of a recording: signed, expiring, and the only way to download it."""
        return "/recordings/" + self.secret.sign("recording", stem, self.config.recording_link_ttl)

    async def _finish_recording(self, recording: Recording) -> None:
        bot = recording.bot
        try:
            await bot.finish()
            os.replace(bot.out, self.recordings_dir / (recording.stem + FINISHED))
            if not self._shutting_down:
                text = (
                    f"Recording saved ({_duration_words(bot.elapsed)}): {self.link(recording.stem)} "
                    f"(the link works for {_hours_words(self.config.recording_link_ttl)})"
                )
                try:
                    await bot.send_chat(text)
                except Exception as exc:  # the file is fine; only the chat link is missing
                    log.warning("could not post the recording link in room %s: %s", recording.room, exc)
        except Exception:
            log.exception("recording of room %s failed", recording.room)
            bot.out.unlink(missing_ok=True)
        finally:
            await bot.stop(farewell=not self._shutting_down)
            self.recordings.pop(recording.room, None)

    async def recording_file(self, request: web.Request) -> web.StreamResponse:
        stem = self.secret.verify("recording", request.match_info["token"])
        # The same answer for a forged, expired or unknown link: it tells a guesser nothing.
        missing = "No such recording: the link has expired, or the recording was deleted."
        if stem is None or not STEM_RE.fullmatch(stem):
            raise web.HTTPNotFound(text=missing)
        if (self.recordings_dir / (stem + WRITING)).exists():
            raise web.HTTPConflict(text="This recording is still in progress: the link works once it has stopped.")
        path = self.recordings_dir / (stem + FINISHED)
        if not path.is_file():
            raise web.HTTPNotFound(text=missing)
        when = time.strftime("%Y-%m-%d-%H%M", time.localtime(path.stat().st_mtime))
        headers = {
            "Content-Type": "video/mp4",
            "Content-Disposition": f'attachment; filename="noom-recording-{when}.mp4"',
            # The link is what grants access: keep it out of shared caches.
            "Cache-Control": "private, no-store",
        }
        return web.FileResponse(path, headers=headers)

    # ---- retention ----------------------------------------------------------------------------

    def stored(self) -> list[StoredFile]:
        """Our recordings in the directory, oldest first (other files there are not ours to delete)."""
        found = []
        with contextlib.suppress(FileNotFoundError):
            for entry in os.scandir(self.recordings_dir):
                for suffix, finished in ((FINISHED, True), (WRITING, False)):
                    if entry.name.endswith(suffix) and STEM_RE.fullmatch(entry.name[: -len(suffix)]):
                        with contextlib.suppress(FileNotFoundError):  # another process deleted it just now
                            st = entry.stat()
                            found.append(StoredFile(Path(entry.path), st.st_size, st.st_mtime, finished))
        return sorted(found, key=lambda f: f.mtime)

    def _delete(self, file: StoredFile, why: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            file.path.unlink()
            log.info("deleted recording %s (%d bytes): %s", file.path.name, file.size, why)

    def make_room(self) -> int:
        """Delete the oldest finished recordings until the directory is within ``--recordings-max-bytes``;
        the bytes left (more than the cap when only recordings still being written are left)."""
        files = self.stored()
        total = sum(f.size for f in files)
        for file in files:
            if total <= self.config.recordings_max_bytes:
                break
            if file.finished:
                self._delete(file, "the recordings directory is over --recordings-max-bytes")
                total -= file.size
        return total

    def sweep(self, now: float | None = None) -> None:
        """Delete recordings older than ``--recordings-retention`` (a ``.part`` that old was abandoned by a
        crashed process: a recording being written changes all the time), then apply the byte cap."""
        cutoff = (time.time() if now is None else now) - self.config.recordings_retention
        for file in self.stored():
            if file.mtime < cutoff:
                self._delete(file, "older than --recordings-retention")
        self.make_room()

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.sweep)
            except Exception:  # a failed sweep (permissions, a full disk) must not end the next ones
                log.exception("could not sweep %s", self.recordings_dir)
            await asyncio.sleep(self.sweep_every)

    # ---- lifecycle ----------------------------------------------------------------------------

    def _spawn(self, coro: Any) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("a bot supervisor failed", exc_info=task.exception())

    async def startup(self, app: web.Application) -> None:
        self._sweeper = asyncio.ensure_future(self._sweep_forever())

    async def shutdown(self, app: web.Application) -> None:
        """Close every recording properly and end echo sessions before the server goes away."""
        self._shutting_down = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def cleanup(self, app: web.Application) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
            self._sweeper = None


MEDIA_KEY = web.AppKey("media", MediaService)


def setup_media(app: web.Application, config: Config, secret: ServerSecret) -> MediaService:
    """Add the bots' routes and hooks to ``app``; the returned service is the signaling server's ``bots``."""
    service = MediaService(config, secret)
    app[MEDIA_KEY] = service
    app.router.add_get("/recordings/{token}", service.recording_file)
    app.on_startup.append(service.startup)
    # First among the shutdown hooks: the bots must leave and post their links before Socket.IO closes.
    app.on_shutdown.insert(0, service.shutdown)
    app.on_cleanup.append(service.cleanup)
    return service
