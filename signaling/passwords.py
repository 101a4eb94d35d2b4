"""Room passwords are kept only as salted scrypt hashes; hashing runs off the event loop, on a pool of
its own with a bounded queue.

Each hash costs about 15 ms of a core and 16 MiB. Unbounded, a burst of locked-room creations or
password joins queued hundreds of them on asyncio's default executor (which aiohttp also uses to open
static files): 500 at once pushed another user's round trip from 10 ms to 2 s. Now at most
``SCRYPT_AT_ONCE`` run at a time, at most ``SCRYPT_QUEUE`` more wait, and beyond that a join is answered
``rate-limited`` at once, without hashing.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from noom.protocol import ProtocolError

# scrypt cost: about 15 ms on one core here, enough to make offline guessing of a leaked hash slow.
_N, _R, _P = 2**14, 8, 1
# Hashes running at once, process-wide, and how many more may wait: a join waits for at most
# (2 + 16) / 2 hashes, about 0.15 s on an idle core; past that it is told to try again in a moment.
SCRYPT_AT_ONCE = 2
SCRYPT_QUEUE = 16
BUSY = "the server is busy checking passwords, try again in a moment"


def _scrypt(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)


class ScryptPool:
    """``at_once`` worker threads and at most ``queue`` jobs waiting for them."""

    def __init__(self, at_once: int = SCRYPT_AT_ONCE, queue: int = SCRYPT_QUEUE) -> None:
        self.limit = at_once + queue
        self._executor = ThreadPoolExecutor(max_workers=at_once, thread_name_prefix="noom-scrypt")
        self._lock = threading.Lock()  # jobs finish on the pool's threads
        self.pending = 0  # running or waiting

    async def run(self, password: str, salt: bytes) -> bytes:
        with self._lock:
            if self.pending >= self.limit:
                raise ProtocolError("rate-limited", BUSY)
            self.pending += 1
        try:
            job = self._executor.submit(_scrypt, password, salt)
        except BaseException:
            self._done(None)
            raise
        # Counted until the thread is done, even if the awaiting join is cancelled meanwhile: the work is.
        job.add_done_callback(self._done)
        return await asyncio.wrap_future(job)

    def _done(self, job: Future[bytes] | None) -> None:
        with self._lock:
            self.pending -= 1


POOL = ScryptPool()


async def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = await POOL.run(password, salt)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


async def verify_password(password: str, stored: str) -> bool:
    try:
        _, salt_b64, digest_b64 = stored.split("$")
        salt, expected = base64.b64decode(salt_b64), base64.b64decode(digest_b64)
    except ValueError:
        return False
    digest = await POOL.run(password, salt)
    return hmac.compare_digest(digest, expected)
