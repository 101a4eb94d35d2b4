"""The server side of the bots: echo sessions for ``/echo``, recordings started and stopped over HTTP,
and the recorded files.

The server runs its bots in-process as Socket.IO clients of itself (at the address the request came in
on), so a bot is an ordinary peer of the room and everything scales out like any other client.

- ``GET /echo``: the camera and microphone test page.
- ``POST /api/echo``: starts an echo bot in a new private room (unguessable name, random password) and
  returns ``{"ok": true, "room", "password"}``; ``503`` with ``code: "busy"`` past ``--echo-max-sessions``.
- ``POST /api/rooms/{room}/recording`` (JSON ``{"password"?}``): a recorder joins ``room``.
- ``DELETE /api/rooms/{room}/recording``: the recorder closes the file, posts its link
  ``/recordings/<unguessable>.mp4`` in the room's chat and leaves; the reply has the same ``url``.
- ``GET /recordings/<name>.mp4``: the finished file.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp_jinja2
import msgspec
from aiohttp import web

from signaling.config import Config
from signaling.protocol import ProtocolError, check_room
from signaling.state import RoomStore

from .echo import EchoBot
from .participant import JoinError
from .recorder import RecorderBot

log = logging.getLogger(__name__)

ECHO_JOIN_TIMEOUT = 60.0  # seconds an echo bot waits for the page that asked for it
ECHO_MAX_SECONDS = 600.0  # an echo test is a check, not a call
RECORDING_MAX_SECONDS = 4 * 3600.0
RECORDING_IDLE_SECONDS = 60.0  # a recorder alone in its room stops after this
RECORDING_NAME_RE = re.compile(r"[A-Za-z0-9_-]{24}\.mp4")


class RecordingRequest(msgspec.Struct):
    password: str | None = None


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"ok": False, "error": {"code": code, "message": message}}, status=status)


def self_url(request: web.Request) -> str:
    """The server's own address as this request reached it: where in-process bots connect."""
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    if not sockname:
        return f"{request.scheme}://{request.host}"
    host, port = sockname[0], sockname[1]
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def origin_allowed(request: web.Request, allowed: list[str]) -> bool:
    """Whether a state-changing request comes from our own pages (or an origin the operator allowed):
    another site must not start bots with its visitors' browsers."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not from a browser page (curl, the CLI)
    return "*" in allowed or origin in allowed or urlsplit(origin).netloc == request.host


def _duration_words(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


@dataclass(eq=False)
class Recording:
    bot: RecorderBot
    url: str
    task: asyncio.Task[None] | None = None
    stopped: asyncio.Future[dict[str, Any]] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class MediaService:
    def __init__(self, config: Config, store: RoomStore) -> None:
        self.config = config
        self.store = store
        self.recordings_dir = Path(config.recordings_dir)
        self.echo_sessions: dict[str, EchoBot] = {}
        self.recordings: dict[str, Recording] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._echo_starting = 0
        self._shutting_down = False  # the server no longer answers its bots: no farewells, no chat

    # ---- echo ---------------------------------------------------------------------------------

    async def echo_page(self, request: web.Request) -> web.Response:
        return aiohttp_jinja2.render_template("echo.html", request, {})

    def _refuse_origin(self, request: web.Request) -> web.Response | None:
        if origin_allowed(request, self.config.cors_origins):
            return None
        return _error(403, "bad-origin", "this request must come from a Noom page of this server")

    async def start_echo(self, request: web.Request) -> web.Response:
        if refused := self._refuse_origin(request):
            return refused
        cap = self.config.echo_max_sessions
        if len(self.echo_sessions) + self._echo_starting >= cap:
            return _error(503, "busy", f"All {cap} echo tests are in use right now: try again in a minute or two.")
        room = "echo-" + secrets.token_urlsafe(16)
        password = secrets.token_urlsafe(16)
        bot = EchoBot(self_url(request), room, "Echo", password)
        self._echo_starting += 1
        try:
            await bot.start()
        except Exception as exc:  # whatever it was, the page gets an answer
            log.exception("could not start an echo bot")
            return _error(500, "echo-failed", f"The echo test could not start ({exc}): try again.")
        finally:
            self._echo_starting -= 1
        self.echo_sessions[room] = bot
        self._spawn(self._supervise_echo(room, bot))
        log.info("echo session %s started (%d running)", room, len(self.echo_sessions))
        return web.json_response({"ok": True, "room": room, "password": password})

    async def _supervise_echo(self, room: str, bot: EchoBot) -> None:
        try:
            await asyncio.wait_for(bot.visited.wait(), ECHO_JOIN_TIMEOUT)
            await asyncio.wait_for(bot.empty.wait(), ECHO_MAX_SECONDS)
        except TimeoutError:
            pass
        finally:
            self.echo_sessions.pop(room, None)
            await bot.stop(farewell=not self._shutting_down)
            log.info("echo session %s ended", room)

    # ---- recordings ---------------------------------------------------------------------------

    async def start_recording(self, request: web.Request) -> web.Response:
        if refused := self._refuse_origin(request):
            return refused
        room = request.match_info["room"]
        try:
            check_room(room)
        except ProtocolError as exc:
            return _error(400, "bad-request", exc.message)
        body: Any = {}
        if request.can_read_body:
            try:
                body = await request.json()
            except ValueError:
                return _error(400, "bad-request", 'the body must be JSON like {"password": "..."} or empty')
        try:
            options = msgspec.convert(body or {}, RecordingRequest)
        except msgspec.ValidationError as exc:
            return _error(400, "bad-request", f"invalid request: {exc}")
        if not await self.store.peers(room):
            return _error(404, "no-such-room", "nobody is in this room: join it first, then start recording")
        if room in self.recordings:  # checked and claimed below with no await in between
            return _error(409, "already-recording", "this room is already being recorded")
        self.recordings_dir.mkdir(parents=True, exist_ok=True)
        name = secrets.token_urlsafe(18) + ".mp4"
        bot = RecorderBot(self_url(request), room, self.recordings_dir / name, password=options.password)
        recording = Recording(bot=bot, url="/recordings/" + name)
        self.recordings[room] = recording  # claims the room before the first await
        try:
            await bot.start()
        except Exception as exc:
            self.recordings.pop(room, None)
            await bot.stop(farewell=False)
            (self.recordings_dir / name).unlink(missing_ok=True)
            if isinstance(exc, JoinError):
                return _error(403, "join-refused", f"The recorder could not join: {exc}")
            log.exception("could not start a recorder in room %s", room)
            return _error(500, "recording-failed", f"The recorder could not start ({exc}): try again.")
        recording.task = self._spawn(self._supervise_recording(room, recording))
        return web.json_response({"ok": True, "room": room})

    async def stop_recording(self, request: web.Request) -> web.Response:
        if refused := self._refuse_origin(request):
            return refused
        room = request.match_info["room"]
        recording = self.recordings.get(room)
        if recording is None:
            return _error(404, "not-recording", "this room is not being recorded")
        if recording.task is None:
            return _error(409, "starting", "the recording is still starting: try again in a moment")
        recording.task.cancel()
        return web.json_response(await asyncio.shield(recording.stopped))

    async def _supervise_recording(self, room: str, recording: Recording) -> None:
        bot = recording.bot
        try:
            alone_since: float | None = None
            loop = asyncio.get_running_loop()
            while bot.elapsed < RECORDING_MAX_SECONDS:
                await asyncio.sleep(1)
                if bot.peers:
                    alone_since = None
                elif alone_since is None:
                    alone_since = loop.time()
                elif loop.time() - alone_since > RECORDING_IDLE_SECONDS:
                    log.info("recorder alone in room %s: stopping", room)
                    break
        finally:
            await asyncio.shield(self._finish_recording(room, recording))

    async def _finish_recording(self, room: str, recording: Recording) -> None:
        bot = recording.bot
        result: dict[str, Any] = {"ok": True, "url": recording.url}
        try:
            await bot.finish()
            result["seconds"] = round(bot.elapsed, 1)
            if not self._shutting_down:
                try:
                    await bot.send_chat(f"Recording saved ({_duration_words(bot.elapsed)}): {recording.url}")
                except Exception as exc:  # the file is fine; only the chat link is missing
                    log.warning("could not post the recording link in room %s: %s", room, exc)
        except Exception as exc:
            log.exception("recording of room %s failed", room)
            result = {"ok": False, "error": {"code": "recording-failed", "message": f"the recording failed: {exc}"}}
        finally:
            await bot.stop(farewell=not self._shutting_down)
            self.recordings.pop(room, None)
            if not recording.stopped.done():
                recording.stopped.set_result(result)

    async def recording_file(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        path = self.recordings_dir / name
        if not RECORDING_NAME_RE.fullmatch(name) or not path.is_file():
            raise web.HTTPNotFound(text="No such recording: it may still be in progress or have been deleted.")
        if any(r.url.endswith("/" + name) for r in self.recordings.values()):
            raise web.HTTPConflict(text="This recording is still in progress: stop it first.")
        return web.FileResponse(path, headers={"Content-Type": "video/mp4"})

    # ---- lifecycle ----------------------------------------------------------------------------

    def _spawn(self, coro: Any) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def shutdown(self, app: web.Application) -> None:
        """Close every recording properly and end echo sessions before the server goes away."""
        self._shutting_down = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


MEDIA_KEY = web.AppKey("media", MediaService)


def setup_media(app: web.Application, config: Config, store: RoomStore) -> MediaService:
    service = MediaService(config, store)
    app[MEDIA_KEY] = service
    app.router.add_get("/echo", service.echo_page, name="echo")
    app.router.add_post("/api/echo", service.start_echo)
    app.router.add_post("/api/rooms/{room}/recording", service.start_recording)
    app.router.add_delete("/api/rooms/{room}/recording", service.stop_recording)
    app.router.add_get("/recordings/{name}", service.recording_file)
    # First among the shutdown hooks: the bots must leave and post their links before Socket.IO closes.
    app.on_shutdown.insert(0, service.shutdown)
    return service
