"""Errors of the SP-API client that are not part of the shared tree.

`NotFound` is deliberately outside Transient/NeedsAttention/Fatal: a 404 is an answer,
not a failure. The operations turn it into ``None`` where it means "no such order";
elsewhere it reaches the caller, who knows what a missing thing means there."""

from __future__ import annotations

from bridge.errors import BridgeError


class NotFound(BridgeError):
    """Amazon answered 404 for the operation named in the message."""

    def __init__(self, message: str, operation: str = "") -> None:
        super().__init__(message, operation)
        self.operation = operation
