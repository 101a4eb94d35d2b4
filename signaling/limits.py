"""Abuse limits: per-socket token buckets per event class, a cap on connections per client address,
and a slowdown for wrong room passwords per address and room. All in-process and O(1) per event."""

from __future__ import annotations

import abc
import ipaddress
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from noom.config import Rate
from noom.protocol import CLIENT_EVENTS, ProtocolError

log = logging.getLogger(__name__)


class TokenBucket:
    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, rate: Rate, now: float) -> None:
        self.rate = rate.per_second
        self.burst = float(rate.burst)
        self.tokens = self.burst
        self.stamp = now

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


@dataclass(slots=True)
class SocketLimiter:
    """The buckets of one socket, created lazily per event class (``rates`` maps class to Rate)."""

    rates: dict[str, Rate]
    strikes_allowed: int
    clock: Callable[[], float] = time.monotonic
    buckets: dict[str, TokenBucket] = field(default_factory=dict)
    strikes: TokenBucket | None = None

    def allow(self, event: str) -> bool:
        now = self.clock()
        # Only events outside the protocol (refused as unknown) share the "other" bucket.
        known = CLIENT_EVENTS.get(event)
        kind = known.rate if known is not None else "other"
        bucket = self.buckets.get(kind)
        if bucket is None:
            bucket = self.buckets[kind] = TokenBucket(self.rates[kind], now)
        return bucket.take(now)

    def strike(self) -> bool:
        """Count a refusal (strikes refill at one per second); False once they are used up."""
        now = self.clock()
        if self.strikes is None:
            self.strikes = TokenBucket(Rate(1, self.strikes_allowed), now)
        return self.strikes.take(now)


def clip(value: object, limit: int = 100) -> str:
    """``value`` for a log line: escaped as in a Python literal (no control characters, fake line breaks
    or look-alike Unicode from a client; printable ASCII stays as it is) and cut to ``limit`` characters
    plus a marker, because what clients send must not grow the log unbounded."""
    text = str(value).encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else text[:limit] + "..."


class Throttle:
    """Says yes at most once per ``every`` seconds per key, remembering at most ``keep`` keys.

    For log lines keyed by something a client chooses (an origin, an address): one line per key per
    interval, and a spray of distinct keys costs bounded memory (the oldest key is forgotten first,
    which at worst logs it again)."""

    def __init__(self, every: float = 60.0, keep: int = 1024, clock: Callable[[], float] = time.monotonic) -> None:
        self.every, self.keep, self.clock = every, keep, clock
        self._last: OrderedDict[str, float] = OrderedDict()

    def __call__(self, key: str) -> bool:
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last < self.every:
            return False
        self._last[key] = now
        self._last.move_to_end(key)
        while len(self._last) > self.keep:
            self._last.popitem(last=False)
        return True

    def __len__(self) -> int:
        return len(self._last)


def client_address(environ: dict[str, Any], trust_proxy: bool) -> str:
    """The client's address from a request's WSGI-style environ (python-engineio's, from aiohttp).

    Behind our own proxy (``trust_proxy``) it is the last ``X-Forwarded-For`` entry, the one our proxy
    appended; anything before it came from the client and can be forged."""
    if trust_proxy and (forwarded := environ.get("HTTP_X_FORWARDED_FOR")):
        return str(forwarded).split(",")[-1].strip()
    request = environ.get("aiohttp.request")
    return str(getattr(request, "remote", None) or "unknown")


class ConnectionCounter:
    """Open sockets per client address, capped (an office behind one NAT address shares it)."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.open: dict[str, int] = {}

    def acquire(self, address: str) -> bool:
        count = self.open.get(address, 0)
        if count >= self.cap:
            return False
        self.open[address] = count + 1
        return True

    def release(self, address: str) -> None:
        count = self.open.get(address, 0) - 1
        if count > 0:
            self.open[address] = count
        else:
            self.open.pop(address, None)


Outcome = Literal["right", "undo"]
PASSWORD_FREE = 5  # wrong tries per address and room before the slowdown starts
ROOM_PASSWORD_FREE = 50  # wrong tries per room from all addresses together (a distributed guess)


class PasswordGuard(abc.ABC):
    """Slows guessing of room passwords, per address and room and per room across all addresses.

    After ``free`` tries from one address for one room (or ``room_free`` for the room from anywhere),
    each further try must wait twice as long after the last one as the one before (``first_wait`` up to
    ``max_wait``) and is answered ``rate-limited`` until then; counts are forgotten ``forget_after``
    seconds after their last try. A try is counted when it is *reserved*, before the password is
    hashed, so parallel guesses cannot all slip through while the first ones are still hashing; a try
    that turns out right, or that failed for another reason, gives its place back.

    Use ``async with guard.attempt(address, room): ...`` around the password check: a
    ``ProtocolError("wrong-password")`` leaving the block keeps the try counted.
    """

    def __init__(
        self,
        free: int = PASSWORD_FREE,
        room_free: int = ROOM_PASSWORD_FREE,
        first_wait: float = 1.0,
        max_wait: float = 60.0,
        forget_after: float = 600.0,
    ) -> None:
        self.free, self.room_free = free, room_free
        self.first_wait, self.max_wait, self.forget_after = first_wait, max_wait, forget_after

    def attempt(self, address: str, room: str) -> PasswordAttempt:
        return PasswordAttempt(self, address, room)

    def wait_for(self, tries: int, free: int) -> float:
        """Seconds the next try must wait after the last of ``tries``."""
        return 0.0 if tries < free else min(self.max_wait, self.first_wait * 2 ** (tries - free))

    @abc.abstractmethod
    async def reserve(self, address: str, room: str) -> float:
        """Count one try now and return 0, or return the seconds left to wait (and count nothing)."""

    @abc.abstractmethod
    async def settle(self, address: str, room: str, outcome: Outcome) -> None:
        """A reserved try was ``right`` (the address's count for the room is cleared), or is undone
        (``undo``: it failed for a reason other than the password); either way the room's count gets it back."""


class PasswordAttempt:
    """One reserved password try; see ``PasswordGuard``."""

    def __init__(self, guard: PasswordGuard, address: str, room: str) -> None:
        self.guard, self.address, self.room = guard, address, room

    async def __aenter__(self) -> PasswordAttempt:
        wait = await self.guard.reserve(self.address, self.room)
        if wait > 0:
            raise ProtocolError(
                "rate-limited",
                f"too many wrong passwords for this room: wait {math.ceil(wait)} s before trying again",
            )
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if isinstance(exc, ProtocolError) and exc.code == "wrong-password":
            return  # stays counted
        try:
            await self.guard.settle(self.address, self.room, "right" if exc is None else "undo")
        except Exception:  # Redis gone: the try stays counted, which errs on the slow side
            log.warning("could not settle a password try for room %s", clip(self.room), exc_info=True)


@dataclass(slots=True)
class _Tries:
    count: int
    last: float


class MemoryPasswordGuard(PasswordGuard):
    """``PasswordGuard`` for one process."""

    # Bounded memory under a spray of rooms and addresses: the least recently tried key goes first.
    KEEP = 100_000

    def __init__(self, *args: Any, clock: Callable[[], float] = time.monotonic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clock = clock
        self.tries: OrderedDict[tuple[str, str], _Tries] = OrderedDict()  # (address, room); ("", room) per room

    def _get(self, key: tuple[str, str], now: float) -> _Tries | None:
        entry = self.tries.get(key)
        if entry is not None and now - entry.last > self.forget_after:
            del self.tries[key]
            return None
        return entry

    def _wait(self, key: tuple[str, str], free: int, now: float) -> float:
        entry = self._get(key, now)
        if entry is None:
            return 0.0
        return max(0.0, entry.last + self.wait_for(entry.count, free) - now)

    async def reserve(self, address: str, room: str) -> float:
        now = self.clock()
        mine, everyone = (address, room), ("", room)
        wait = max(self._wait(mine, self.free, now), self._wait(everyone, self.room_free, now))
        if wait > 0:
            return wait
        for key in (mine, everyone):
            entry = self._get(key, now)
            if entry is None:
                self.tries[key] = _Tries(1, now)
            else:
                entry.count += 1
                entry.last = now
                self.tries.move_to_end(key)
        while len(self.tries) > self.KEEP:
            self.tries.popitem(last=False)
        return 0.0

    async def settle(self, address: str, room: str, outcome: Outcome) -> None:
        if outcome == "right":
            self.tries.pop((address, room), None)
        else:
            self._give_back((address, room))
        self._give_back(("", room))

    def _give_back(self, key: tuple[str, str]) -> None:
        entry = self.tries.get(key)
        if entry is not None:
            entry.count -= 1
            if entry.count <= 0:
                del self.tries[key]


class OriginPolicy:
    """Which web origins may open a Socket.IO connection (cross-site WebSocket hijacking defence).

    Browsers send ``Origin``; ours is always allowed, others only when configured. Clients that send
    no Origin (bots, native apps) are not browsers acting for a user and pass.

    "Ours" is ``public`` (``--public-url``) when it is set. Without it, it is whatever the request's own
    ``Host`` header names, which is what works on localhost and a LAN without configuration, but which a
    DNS-rebinding page also passes (its name resolves to us, so its Origin and Host agree).
    """

    def __init__(self, extra: list[str], public: list[str] | None = None) -> None:
        self.any = "*" in extra
        self.extra = frozenset(extra)
        self.public = frozenset(public or ())
        self._warn = Throttle(every=60.0, keep=1024)  # refused origins are chosen by clients: bounded

    def __call__(self, origin: str | None, environ: dict[str, object] | None = None) -> bool:
        if origin is None or self.any or origin in self.extra or origin in self.public:
            return True
        environ = environ or {}
        host = str(environ.get("HTTP_HOST", ""))
        if not self.public:
            request = environ.get("aiohttp.request")
            schemes = {getattr(request, "scheme", "http"), environ.get("HTTP_X_FORWARDED_PROTO", "http")}
            if any(origin == f"{scheme}://{host}" for scheme in schemes):
                return True
        if self._warn(origin):  # one line per origin per minute, not per request
            log.warning(
                "refused a Socket.IO connection from origin %s (this server is %s): if that site should "
                "connect, add it with --cors-origins",
                clip(origin),
                ", ".join(sorted(self.public)) if self.public else clip(host),
            )
        return False


def warn_if_host_trusted(host: str, public_url: list[str]) -> None:
    """At start-up: listening beyond loopback without --public-url leaves the Origin check trusting Host."""
    if public_url or host in ("localhost", ""):
        return
    try:
        loopback = ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        log.warning(
            "listening on %s without --public-url: browsers may connect from any origin that matches the "
            "request's Host header, which a DNS-rebinding page can arrange; set --public-url to the URL users "
            "open (see docs/security.md)",
            host,
        )
