"""The deployment's one secret, and what it proves: that a bot is ours, that a link or ticket was made by us.

Every process of one deployment holds the same secret (``--server-secret``; when unset, made at start and,
with Redis, agreed through Redis so that every process ends up with the first one written). It never goes to
a browser and never reaches a log line. Keys for each use are derived from it (HMAC with the purpose as the
message), so a recording link can never pass as an admission ticket or a bot credential.

Tokens are ``<payload>.<expiry>.<signature>`` in URL-safe characters: the payload is readable (it names a file
or a waiting-room entry, nothing secret), the expiry is Unix seconds, the signature covers both and the purpose.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import Literal

from aiohttp import web

# The browser's client id: a signed random id in an HttpOnly cookie that the pages set, so that a removal
# bans that browser rather than everyone behind its address. Clients without one are banned by address.
CLIENT_COOKIE = "noom_client"

Purpose = Literal["bot", "recording", "admission", "client"]


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class ServerSecret:
    """Derives per-purpose keys from the deployment's secret and signs or checks tokens with them."""

    def __init__(self, secret: str) -> None:
        self._keys: dict[str, bytes] = {}
        self.replace(secret)

    def __repr__(self) -> str:  # never the secret itself, wherever this object gets printed
        return "ServerSecret(<hidden>)"

    def replace(self, secret: str) -> None:
        """Adopt another secret (the one the deployment agreed on through Redis at start-up)."""
        if len(secret) < 16:
            raise ValueError("the server secret must be at least 16 characters")
        self._secret = secret.encode()
        self._keys.clear()

    def _key(self, purpose: Purpose) -> bytes:
        key = self._keys.get(purpose)
        if key is None:
            key = self._keys[purpose] = hmac.new(self._secret, b"noom/" + purpose.encode(), hashlib.sha256).digest()
        return key

    def bot_credential(self) -> str:
        """What our own bots send as ``auth.botSecret`` when they connect."""
        return _b64(self._key("bot"))

    def is_bot_credential(self, value: object) -> bool:
        return isinstance(value, str) and hmac.compare_digest(value.encode(), self.bot_credential().encode())

    def sign(self, purpose: Purpose, payload: str, ttl: float, now: float | None = None) -> str:
        """A token for ``payload`` (URL-safe text without dots) valid for ``ttl`` seconds."""
        if "." in payload:
            raise ValueError("a signed payload must not contain '.'")
        expires = int((time.time() if now is None else now) + ttl)
        return f"{payload}.{expires}.{self._signature(purpose, payload, expires)}"

    def verify(self, purpose: Purpose, token: str, now: float | None = None) -> str | None:
        """The payload of a token we signed for ``purpose`` that has not expired, else None."""
        parts = token.split(".")
        if len(parts) != 3 or not parts[1].isdigit():
            return None
        payload, expires_text, signature = parts
        expires = int(expires_text)
        if not hmac.compare_digest(signature.encode(), self._signature(purpose, payload, expires).encode()):
            return None
        if expires < (time.time() if now is None else now):
            return None
        return payload

    def _signature(self, purpose: Purpose, payload: str, expires: int) -> str:
        message = f"{payload}.{expires}".encode()
        return _b64(hmac.new(self._key(purpose), message, hashlib.sha256).digest()[:18])


# Where the app keeps the deployment's one ServerSecret.
SECRET_KEY = web.AppKey("secret", ServerSecret)
