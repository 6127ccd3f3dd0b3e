"""Which flow a request to Amazon serves, so the shared rate budget can put first things
first: creating orders, then cancelling them, then following their status, then reading
inventory. Amazon limits each operation per seller account, and flows share operations
(submit's read-back of an unknown outcome and status following both call
getFulfillmentOrder), so a busy lower flow must not spend the tokens a higher one needs.

A service marks its calls with `with call_priority(Priority.STATUS): ...`; the HTTP edge
reads `current_priority()` when it takes a token. A call made outside any block has the
top priority, which is how every call behaved before priorities existed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from enum import IntEnum


class Priority(IntEnum):
    """Lower value, higher priority."""

    CREATE = 0
    CANCEL = 1
    STATUS = 2
    INVENTORY = 3


TOP = Priority.CREATE

# The share of a bucket's burst a caller must leave for the tiers above it. Shares grow
# with each tier, so when the bucket runs low the lowest flows stop first; the top tier
# may empty it. At a steady rate every tier still gets the full refill when alone.
_RESERVE_SHARE = {
    Priority.CREATE: 0.0,
    Priority.CANCEL: 0.1,
    Priority.STATUS: 0.3,
    Priority.INVENTORY: 0.5,
}

_current: ContextVar[Priority] = ContextVar("bridge_call_priority", default=TOP)


def reserve(priority: Priority, burst: int) -> float:
    """Tokens a caller of `priority` must leave in a bucket of `burst` (never so many that
    the full bucket could not serve it)."""
    return min(_RESERVE_SHARE[priority] * burst, max(0.0, burst - 1.0))


def current_priority() -> Priority:
    return _current.get()


@contextmanager
def call_priority(priority: Priority) -> Iterator[None]:
    """Calls made inside the block (in this thread or task context) carry `priority`."""
    token = _current.set(priority)
    try:
        yield
    finally:
        _current.reset(token)
