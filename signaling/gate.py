"""The per-address cap on Engine.IO sessions, applied at the handshake, and the deadline for the
Socket.IO connect that must follow.

Counting Socket.IO connects is not enough: a client can open Engine.IO sessions (an HTTP handshake or a
websocket) and never send the Socket.IO connect packet ``40``; each holds a file descriptor and a
``AsyncSocket`` until its ping timeout. ``ConnectionGate`` hooks python-engineio's own ``connect`` and
``disconnect`` events (through ``eio.on``, wrapping python-socketio's handlers) so that every session is
counted from its handshake to its end, and a session that has not sent ``40`` within ``connect_timeout``
seconds is closed.

Over the cap, the handshake is refused with HTTP 401 and a JSON message, which long-polling clients read
as their ``connect_error``. A websocket handshake refused that way reaches a browser only as "websocket
error", so an address over the cap still gets a few short-lived websocket *refusal* sessions
(``grace``): in just long enough to receive a readable ``connect_error`` for its ``40``, then closed.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs

import engineio

from .limits import ConnectionCounter, Throttle, client_address, clip

log = logging.getLogger(__name__)

REFUSAL = (
    "too many connections from your network: close other Noom tabs, or ask the operator to raise "
    "--max-connections-per-address"
)
# Refusal sessions per address open at once, and how long one may wait for its ``40``: a real client
# sends it right after the handshake, so a second is plenty.
GRACE_SESSIONS = 2
GRACE_SECONDS = 1.0

State = Literal["counted", "refusal", "exempt"]


@dataclass(slots=True)
class _Session:
    address: str
    state: State
    timer: asyncio.TimerHandle | None


class ConnectionGate:
    """Engine.IO sessions per client address, counted from the handshake to the disconnect.

    ``SignalingServer`` calls ``connected(eio_sid)`` from its Socket.IO connect handler (False: refuse
    this connect), and ``exempt(eio_sid)`` for a socket that authenticated as one of the server's own
    bots, which are capped separately.
    """

    def __init__(
        self,
        cap: int,
        connect_timeout: float,
        trust_proxy: bool,
        grace: int = GRACE_SESSIONS,
        grace_seconds: float = GRACE_SECONDS,
    ) -> None:
        self.counter = ConnectionCounter(cap)
        self.connect_timeout = connect_timeout
        self.trust_proxy = trust_proxy
        self.grace, self.grace_seconds = grace, grace_seconds
        self.sessions: dict[str, _Session] = {}
        self.refusals: dict[str, int] = {}  # open refusal sessions per address
        self._warn = Throttle(every=60.0)
        self._eio: engineio.AsyncServer | None = None
        self._closing: set[asyncio.Task[None]] = set()

    @property
    def cap(self) -> int:
        return self.counter.cap

    def install(self, eio: engineio.AsyncServer) -> None:
        """Wrap the ``connect`` and ``disconnect`` handlers python-socketio registered on ``eio``."""
        self._eio = eio
        on_connect, on_disconnect = eio.handlers["connect"], eio.handlers["disconnect"]

        async def connect(eio_sid: str, environ: dict[str, Any]) -> Any:
            refusal = self.open(eio_sid, environ)
            if refusal is not None:
                return refusal  # python-engineio answers 401 with this JSON and forgets the session
            try:
                result = await _call(on_connect, eio_sid, environ)
            except BaseException:
                self.release(eio_sid)  # engineio refuses the session and sends no disconnect for it
                raise
            if result is not None and result is not True:
                self.release(eio_sid)
            return result

        async def disconnect(eio_sid: str, reason: Any = None) -> None:
            try:
                await _call(on_disconnect, eio_sid, reason)
            finally:
                self.release(eio_sid)

        eio.on("connect", connect)
        eio.on("disconnect", disconnect)

    def open(self, eio_sid: str, environ: dict[str, Any]) -> dict[str, str] | None:
        """Admit a new Engine.IO session (None) or say why not (the 401 body)."""
        address = client_address(environ, self.trust_proxy)
        if self.counter.acquire(address):
            state: State = "counted"
            timeout = self.connect_timeout
        else:
            self._warn_refused(address)
            # Long-polling clients can read the 401's body (and a refusal session's later packets would
            # find it gone), so only websocket handshakes get a refusal session.
            websocket = parse_qs(environ.get("QUERY_STRING", "")).get("transport") == ["websocket"]
            if not websocket or self.refusals.get(address, 0) >= self.grace:
                return {"message": REFUSAL}
            self.refusals[address] = self.refusals.get(address, 0) + 1
            state, timeout = "refusal", min(self.grace_seconds, self.connect_timeout)
        timer = asyncio.get_running_loop().call_later(timeout, self._expire, eio_sid)
        self.sessions[eio_sid] = _Session(address, state, timer)
        return None

    def connected(self, eio_sid: str) -> bool:
        """The session sent its Socket.IO connect: stop its deadline. False when it is over the cap (the
        caller refuses the connect with ``REFUSAL``; the session is closed right after)."""
        session = self.sessions.get(eio_sid)
        if session is None:
            return False
        _cancel(session)
        if session.state == "refusal":
            # Closed from a task: the connect_error python-socketio is about to send goes out first.
            asyncio.get_running_loop().call_soon(self._close_soon, eio_sid)
            return False
        return True

    def exempt(self, eio_sid: str) -> None:
        """Take an authenticated bot's session off its address's count (bots have a cap of their own)."""
        session = self.sessions.get(eio_sid)
        if session is None:
            return
        _cancel(session)
        self._uncount(session)
        session.state = "exempt"

    def release(self, eio_sid: str) -> None:
        """The session ended. Idempotent."""
        session = self.sessions.pop(eio_sid, None)
        if session is not None:
            _cancel(session)
            self._uncount(session)

    def address(self, eio_sid: str) -> str | None:
        session = self.sessions.get(eio_sid)
        return session.address if session else None

    def _uncount(self, session: _Session) -> None:
        if session.state == "counted":
            self.counter.release(session.address)
        elif session.state == "refusal":
            left = self.refusals.get(session.address, 0) - 1
            if left > 0:
                self.refusals[session.address] = left
            else:
                self.refusals.pop(session.address, None)

    def _warn_refused(self, address: str) -> None:
        if self._warn(address):  # one line per address per minute: a flood must not flood the log
            log.warning(
                "refusing connections from %s: it already has %d open (--max-connections-per-address)",
                clip(address),
                self.cap,
            )

    def _expire(self, eio_sid: str) -> None:
        session = self.sessions.get(eio_sid)
        if session is None:
            return
        session.timer = None
        if session.state == "counted":
            log.info("closing a connection from %s that sent no Socket.IO connect", clip(session.address))
        self._close_soon(eio_sid)

    def _close_soon(self, eio_sid: str) -> None:
        task = asyncio.ensure_future(self._close(eio_sid))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _close(self, eio_sid: str) -> None:
        eio = self._eio
        socket = eio.sockets.get(eio_sid) if eio is not None else None
        try:
            if eio is not None and socket is not None:
                # wait=False: a client that reads nothing must not hold this task. The None stops the
                # websocket writer, which then closes the websocket (see SignalingServer.disconnect_all);
                # without it the connection would stay open until the ping timeout.
                await socket.close(wait=False, reason=eio.reason.SERVER_DISCONNECT)
                socket.queue.put_nowait(None)
                eio.sockets.pop(eio_sid, None)
        finally:
            self.release(eio_sid)  # also when the session vanished without a disconnect event


def _cancel(session: _Session) -> None:
    if session.timer is not None:
        session.timer.cancel()
        session.timer = None


async def _call(handler: Callable[..., Any], *args: Any) -> Any:
    result = handler(*args)
    if inspect.isawaitable(result):
        result = await result
    return result
