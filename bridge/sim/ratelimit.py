"""Per-operation token buckets, as SP-API throttles: `rate` tokens per second refill a
bucket of `burst`; a call takes one token or gets 429. Real (wall) time drives refills,
whatever the simulated clock does, because clients pace themselves in real time. The
time source can be swapped so tests measure refills without sleeping."""

from __future__ import annotations

import threading
import time


class TokenBucket:
    def __init__(self, rate: float, burst: int, monotonic=time.monotonic) -> None:
        self.rate = float(rate)
        self.burst = int(burst)
        self._monotonic = monotonic
        self._tokens = float(burst)
        self._stamp = monotonic()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = self._monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False


class RateLimiter:
    """One bucket per operation. `limits` maps operationId -> (rate, burst); `monotonic`
    is the time source of the buckets made from now on."""

    def __init__(self, limits: dict[str, tuple[float, int]], enabled: bool = True,
                 monotonic=time.monotonic) -> None:
        self.enabled = enabled
        self.monotonic = monotonic
        self._limits = dict(limits)
        self._initial = (enabled, dict(limits))
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def limit_of(self, operation_id: str) -> tuple[float, int] | None:
        return self._limits.get(operation_id)

    def allow(self, operation_id: str) -> bool:
        if not self.enabled or operation_id not in self._limits:
            return True
        with self._lock:
            bucket = self._buckets.get(operation_id)
            if bucket is None:
                bucket = self._buckets[operation_id] = TokenBucket(
                    *self._limits[operation_id], monotonic=self.monotonic)
        return bucket.take()

    def configure(self, enabled: bool | None = None,
                  limits: dict[str, tuple[float, int]] | None = None) -> None:
        with self._lock:
            if enabled is not None:
                self.enabled = enabled
            if limits:
                self._limits.update(limits)
            # Fresh, full buckets: a reconfigured limiter starts from a clean slate.
            self._buckets.clear()

    def restore(self) -> None:
        """Back to the limits and switch it started with, with full buckets."""
        with self._lock:
            self.enabled, limits = self._initial
            self._limits = dict(limits)
            self._buckets.clear()

    def describe(self) -> dict:
        with self._lock:
            return {"enabled": self.enabled,
                    "limits": {op: {"rate": r, "burst": b}
                               for op, (r, b) in sorted(self._limits.items())}}
