"""The Selling Partner API client: LWA auth, rate limiting, the HTTP edge that classifies
every answer into `bridge.errors`, and the outbound and inventory operations."""

from bridge.fba.auth import LwaAuth
from bridge.fba.client import FbaClient
from bridge.fba.errors import NotFound
from bridge.fba.ratelimit import InProcessLimiter, NoLimiter, RateLimiter, RedisLimiter, limiter_for

__all__ = [
    "FbaClient",
    "InProcessLimiter",
    "LwaAuth",
    "NoLimiter",
    "NotFound",
    "RateLimiter",
    "RedisLimiter",
    "limiter_for",
]
