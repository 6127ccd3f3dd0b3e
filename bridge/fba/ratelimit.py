"""Token buckets that keep bridge at Amazon's quota and not over it.

One bucket per (seller account, operation): `rate` tokens per second refill it up to
`burst`. A caller takes one token per request. When the bucket is empty the caller
reserves the next token and sleeps until it is due, so waiters are served in order
without polling. A wait longer than the caller's `timeout` is refused with a
TransientError (and nothing is reserved).

Priorities (`bridge.fba.priority`): a caller of a lower tier may take a token only while
the bucket keeps more than its reserve, and it never reserves a future token: it sleeps
until its share should be there and asks again, so it cannot queue ahead of a higher
tier. The top tier (every caller that set nothing) reserves and queues as described above.

`InProcessLimiter` serves one process; `RedisLimiter` keeps the buckets in Redis so every
worker of a deployment spends one shared budget. `NoLimiter` turns limits off."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from bridge.errors import TransientError
from bridge.fba.priority import TOP, Priority, reserve

# How long a rate learnt from `x-amzn-RateLimit-Limit` is trusted without being seen again.
_LEARNT_RATE_TTL_SECONDS = 24 * 3600
# Every response carries the header; Redis is told again only this often if it is unchanged.
_LEARNT_RATE_RESEND_SECONDS = 600


class RateLimiter(Protocol):
    def acquire(self, key: str, rate: float, burst: int, timeout: float,
                priority: Priority = TOP) -> None: ...

    def update_rate(self, key: str, rate: float) -> None: ...


def limiter_for(url: str) -> RateLimiter:
    """The limiter a deployment's `rate_limit_url` asks for: Redis if given, else in-process."""
    return RedisLimiter(url) if url else InProcessLimiter()


def _refused(key: str, wait: float) -> TransientError:
    return TransientError(
        f"rate limit {key}: the next request slot is {wait:.2f}s away, longer than allowed",
        retry_after=wait,
    )


class NoLimiter:
    """Sends as fast as the caller asks (benchmarks, or a simulator with limits off)."""

    def acquire(self, key: str, rate: float, burst: int, timeout: float,
                priority: Priority = TOP) -> None:
        return None

    def update_rate(self, key: str, rate: float) -> None:
        return None


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class InProcessLimiter:
    """Buckets in this process's memory, shared by its threads."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}
        self._learnt_rates: dict[str, float] = {}

    def acquire(self, key: str, rate: float, burst: int, timeout: float,
                priority: Priority = TOP) -> None:
        keep, queue = reserve(priority, burst), priority == TOP
        while True:
            granted, wait = self._reserve(key, rate, burst, timeout, keep, queue)
            # Sleep outside the lock: others may reserve theirs meanwhile.
            if wait > 0:
                self._sleep(wait)
            if granted:
                return
            timeout = max(0.0, timeout - wait)

    def update_rate(self, key: str, rate: float) -> None:
        if rate > 0:
            with self._lock:
                self._learnt_rates[key] = rate

    def _reserve(self, key: str, rate: float, burst: int, timeout: float, keep: float,
                 queue: bool) -> tuple[bool, float]:
        """(granted, wait): granted with the wait until the token is due, or not granted
        (a lower tier) with the wait until it may ask again."""
        with self._lock:
            rate = self._learnt_rates.get(key, rate)
            now = self._clock()
            bucket = self._buckets.setdefault(key, _Bucket(tokens=float(burst), stamp=now))
            tokens = min(float(burst), bucket.tokens + max(0.0, now - bucket.stamp) * rate)
            wait = max(0.0, (1.0 + keep - tokens) / rate)
            if wait > timeout:
                raise _refused(key, wait)
            if wait > 0 and not queue:
                return False, wait
            bucket.tokens, bucket.stamp = tokens - 1.0, now
            return True, wait


# The same arithmetic as InProcessLimiter._reserve, atomic inside Redis. The clock is the
# Redis server's, so workers on hosts whose clocks disagree still share one timeline.
# ARGV: rate, burst, timeout, tokens to keep (the caller's reserve), 1 if it may queue.
# Returns {1 granted / 0 refused / 2 ask again after the wait, wait seconds as a string}
# (Lua numbers would be truncated).
_RESERVE_SCRIPT = """
local rate = tonumber(redis.call('GET', KEYS[2]) or ARGV[1])
local burst = tonumber(ARGV[2])
local timeout = tonumber(ARGV[3])
local keep = tonumber(ARGV[4] or '0')
local queue = (ARGV[5] or '1') == '1'
local time = redis.call('TIME')
local now = tonumber(time[1]) + tonumber(time[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(state[1]) or burst
local stamp = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - stamp) * rate)
local wait = math.max(0, (1 + keep - tokens) / rate)
if wait > timeout then
  return {0, string.format('%.6f', wait)}
end
if wait > 0 and not queue then
  return {2, string.format('%.6f', wait)}
end
tokens = tokens - 1
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'stamp', string.format('%.6f', now))
-- A bucket left alone refills; once full it equals a missing key, so let it expire.
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return {1, string.format('%.6f', wait)}
"""


class RedisLimiter:
    """Buckets in Redis, shared by every process that uses the same Redis database."""

    def __init__(
        self,
        redis_url: str,
        *,
        prefix: str = "bridge:ratelimit:",
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        # Imported here: only a deployment with a shared budget needs the client, and every
        # command (`bridge status` included) would otherwise pay for loading it.
        import redis

        self._redis_error: type[Exception] = redis.RedisError
        self._redis = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
        self._script = self._redis.register_script(_RESERVE_SCRIPT)
        self._prefix = prefix
        self._sleep = sleep
        self._told: dict[str, tuple[float, float]] = {}  # key -> (rate, monotonic time told)

    def _keys(self, key: str) -> tuple[str, str]:
        # The hash tag keeps both keys in one slot, as a script on Redis Cluster requires.
        bucket = f"{self._prefix}{{{key}}}"
        return bucket, bucket + ":rate"

    def acquire(self, key: str, rate: float, burst: int, timeout: float,
                priority: Priority = TOP) -> None:
        keep, queue = reserve(priority, burst), int(priority == TOP)
        while True:
            try:
                granted, wait_text = self._script(keys=self._keys(key),
                                                  args=[rate, burst, timeout, keep, queue])
            except self._redis_error as exc:
                # The URL may hold a password, so only the error's kind is named.
                raise TransientError(
                    f"the shared rate-limit store is unavailable ({type(exc).__name__})") from None
            wait = float(wait_text)
            if not int(granted):
                raise _refused(key, wait)
            if wait > 0:
                self._sleep(wait)
            if int(granted) == 1:
                return
            timeout = max(0.0, timeout - wait)

    def update_rate(self, key: str, rate: float) -> None:
        if rate <= 0:
            return
        now = time.monotonic()
        told = self._told.get(key)
        if told and told[0] == rate and now - told[1] < _LEARNT_RATE_RESEND_SECONDS:
            return
        try:
            self._redis.set(self._keys(key)[1], repr(float(rate)), ex=_LEARNT_RATE_TTL_SECONDS)
        except self._redis_error:
            # Learning the rate is an optimisation; the model's rate still applies.
            return
        self._told[key] = (rate, now)

    def close(self) -> None:
        self._redis.close()
