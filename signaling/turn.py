"""Ephemeral TURN credentials per the TURN REST API, as coturn's ``use-auth-secret`` checks them.

The username is ``<expiry unix time>:<peerId>`` and the credential is base64(HMAC-SHA1(secret, username)):
coturn recomputes the HMAC with the same shared secret and refuses a username whose expiry has passed.
Only the derived credential leaves the server; the secret stays in the process. Credentials last
``--turn-ttl`` seconds (600 by default): short, so that one copied out of a call is useless soon after,
while clients in a long call ask for fresh ones before theirs expire.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any


def turn_credential(secret: str, username: str) -> str:
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def turn_ice_server(urls: list[str], secret: str, ttl: int, peer_id: str, now: float | None = None) -> dict[str, Any]:
    """One RTCIceServer dict with credentials valid for ``ttl`` seconds from ``now``."""
    expiry = int(now if now is not None else time.time()) + ttl
    username = f"{expiry}:{peer_id}"
    return {"urls": list(urls), "username": username, "credential": turn_credential(secret, username)}
