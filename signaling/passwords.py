"""Room passwords are kept only as salted scrypt hashes; hashing runs off the event loop."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os

# scrypt cost: about 15 ms on one core here, enough to make offline guessing of a leaked hash slow.
_N, _R, _P = 2**14, 8, 1


def _scrypt(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)


async def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = await asyncio.to_thread(_scrypt, password, salt)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


async def verify_password(password: str, stored: str) -> bool:
    try:
        _, salt_b64, digest_b64 = stored.split("$")
        salt, expected = base64.b64decode(salt_b64), base64.b64decode(digest_b64)
    except ValueError:
        return False
    digest = await asyncio.to_thread(_scrypt, password, salt)
    return hmac.compare_digest(digest, expected)
