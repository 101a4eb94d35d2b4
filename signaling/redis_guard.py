"""``PasswordGuard`` shared through Redis, so that every process (``--workers``, or several hosts on one
Redis) counts the same password tries: a guesser spreading tries over processes gains nothing.

Keys, under ``noom:``: ``pwtry:<room>:<address>`` (one address's tries for one room) and
``pwtry:<room>`` (everybody's tries for the room), each a hash ``{n, last}`` (count, and time of the
last counted try in ms by Redis's clock, so processes on different hosts agree), expiring
``forget_after`` seconds after the last try. Room names cannot contain ``:``, so the two never collide.
Checking and counting is one Lua script: two processes cannot both take the last free try.
"""

from __future__ import annotations

from typing import Any

from redis import asyncio as aioredis

from .limits import Outcome, PasswordGuard
from .redis_store import PREFIX

# KEYS: address key, room key. ARGV: free, room_free, first_wait_ms, max_wait_ms, forget_ms.
# Returns 0 when the try was counted, else the milliseconds left to wait (nothing counted).
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local first, most, forget = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local function wait_left(key, free)
  local n = tonumber(redis.call('HGET', key, 'n') or '0')
  if n < free then return 0 end
  local last = tonumber(redis.call('HGET', key, 'last') or '0')
  local wait = math.min(most, first * 2 ^ (n - free))
  return math.max(0, last + wait - now)
end
local wait = math.max(wait_left(KEYS[1], tonumber(ARGV[1])), wait_left(KEYS[2], tonumber(ARGV[2])))
if wait > 0 then return math.ceil(wait) end
for _, key in ipairs(KEYS) do
  redis.call('HINCRBY', key, 'n', 1)
  redis.call('HSET', key, 'last', now)
  redis.call('PEXPIRE', key, forget)
end
return 0
"""

# KEYS: address key, room key. ARGV: "right" (clear the address's count) or "undo" (give one back).
_SETTLE = """
local function give_back(key)
  if redis.call('EXISTS', key) == 1 and redis.call('HINCRBY', key, 'n', -1) <= 0 then
    redis.call('DEL', key)
  end
end
if ARGV[1] == 'right' then redis.call('DEL', KEYS[1]) else give_back(KEYS[1]) end
give_back(KEYS[2])
return 0
"""


class RedisPasswordGuard(PasswordGuard):
    def __init__(self, redis: aioredis.Redis, **limits: Any) -> None:
        super().__init__(**limits)
        self.redis = redis
        self._reserve = redis.register_script(_RESERVE)
        self._settle = redis.register_script(_SETTLE)

    @staticmethod
    def _keys(address: str, room: str) -> list[str]:
        return [f"{PREFIX}pwtry:{room}:{address}", f"{PREFIX}pwtry:{room}"]

    async def reserve(self, address: str, room: str) -> float:
        wait_ms = await self._reserve(
            keys=self._keys(address, room),
            args=[
                self.free,
                self.room_free,
                int(self.first_wait * 1000),
                int(self.max_wait * 1000),
                int(self.forget_after * 1000),
            ],
        )
        return int(wait_ms) / 1000

    async def settle(self, address: str, room: str, outcome: Outcome) -> None:
        await self._settle(keys=self._keys(address, room), args=[outcome])
