"""What an asynchronous inbound operation is. The operation modules (plans, transport,
items) define theirs and the network runs them, so this contract sits below both."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


class OperationFailed(Exception):
    """Raised by an operation's effect: the operation ends FAILED with this problem."""

    def __init__(self, code: str, message: str, details: str = "") -> None:
        super().__init__(message)
        self.code, self.message, self.details = code, message, details


@dataclass(frozen=True)
class Action:
    """An asynchronous operation: `check(net, plan, params, now)` raises a SimError for a
    request that cannot be accepted (at once, and again when it completes);
    `apply(net, plan, params, at)` makes the change when it completes."""

    check: Callable
    apply: Callable
