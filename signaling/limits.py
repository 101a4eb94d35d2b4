"""Abuse limits: per-socket token buckets per event class, a cap on connections per client address,
and a slowdown for wrong room passwords per address and room. All in-process and O(1) per event."""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

# Which bucket each event draws from.
EVENT_CLASSES = {
    "offer": "relay",
    "answer": "relay",
    "ice": "relay",
    "chat": "chat",
    "join": "join",
    "leave": "join",
    "rename": "rename",
    "media": "media",
    "rooms": "rooms",
    "ice-servers": "rooms",
    # Starting a bot costs the server a process's worth of work: as rare as joins.
    "recording-start": "join",
    "recording-stop": "join",
    "echo-start": "join",
    # The host's moderation.
    "host": "host",
    "mute": "host",
    "ask-unmute": "host",
    "remove": "host",
    "lock": "host",
    "waiting-room": "host",
    "admit": "host",
    "decline": "host",
    "end": "host",
}


@dataclass(frozen=True, slots=True)
class Rate:
    """``per_second`` sustained, with bursts of up to ``burst`` events."""

    per_second: float
    burst: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        """``"RATE:BURST"``, e.g. ``"50:200"``."""
        try:
            rate, burst = text.split(":")
            value = cls(float(rate), int(burst))
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected RATE:BURST like 50:200, not {text!r}") from None
        if value.per_second <= 0 or value.burst < 1:
            raise argparse.ArgumentTypeError(f"rate and burst must be positive, not {text!r}")
        return value

    def __str__(self) -> str:
        return f"{self.per_second:g}:{self.burst}"


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
        kind = EVENT_CLASSES.get(event, "other")
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


@dataclass(slots=True)
class _Failures:
    count: int
    last: float


class PasswordGuard:
    """Slows guessing of room passwords: after ``free`` wrong tries from one address for one room, each
    further try must wait twice as long as the last (capped), and is answered ``rate-limited`` until then."""

    def __init__(self, free: int = 5, first_wait: float = 1.0, max_wait: float = 60.0, forget_after: float = 600.0):
        self.free, self.first_wait, self.max_wait, self.forget_after = free, first_wait, max_wait, forget_after
        self.failures: dict[tuple[str, str], _Failures] = {}

    def wait_left(self, address: str, room: str, now: float | None = None) -> float:
        """Seconds before this address may try a password for this room again (0 = now)."""
        now = time.monotonic() if now is None else now
        entry = self.failures.get((address, room))
        if entry is None:
            return 0.0
        if now - entry.last > self.forget_after:
            del self.failures[(address, room)]
            return 0.0
        if entry.count < self.free:
            return 0.0
        wait = min(self.max_wait, self.first_wait * 2 ** (entry.count - self.free))
        return max(0.0, entry.last + wait - now)

    def failed(self, address: str, room: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        entry = self.failures.get((address, room))
        if entry is None or now - entry.last > self.forget_after:
            self.failures[(address, room)] = _Failures(1, now)
        else:
            entry.count += 1
            entry.last = now
        if len(self.failures) > 100_000:  # bounded memory under a spray of rooms and addresses
            oldest = min(self.failures, key=lambda key: self.failures[key].last)
            del self.failures[oldest]

    def succeeded(self, address: str, room: str) -> None:
        self.failures.pop((address, room), None)


class OriginPolicy:
    """Which web origins may open a Socket.IO connection (cross-site WebSocket hijacking defence).

    Browsers send ``Origin``; ours is always allowed, others only when configured. Clients that send
    no Origin (bots, native apps) are not browsers acting for a user and pass.
    """

    def __init__(self, extra: list[str]) -> None:
        self.any = "*" in extra
        self.extra = frozenset(extra)
        self._logged: dict[str, float] = {}

    def __call__(self, origin: str | None, environ: dict[str, object] | None = None) -> bool:
        if origin is None or self.any or origin in self.extra:
            return True
        environ = environ or {}
        host = environ.get("HTTP_HOST", "")
        request = environ.get("aiohttp.request")
        schemes = {getattr(request, "scheme", "http"), environ.get("HTTP_X_FORWARDED_PROTO", "http")}
        if any(origin == f"{scheme}://{host}" for scheme in schemes):
            return True
        now = time.monotonic()
        if now - self._logged.get(origin, -60.0) >= 60.0:  # one line per origin per minute, not per request
            self._logged[origin] = now
            log.warning(
                "refused a Socket.IO connection from origin %s (this server is %s): if that site should "
                "connect, add it with --cors-origins",
                origin,
                host,
            )
        return False
