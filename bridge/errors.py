"""The error tree. Every failure that crosses a boundary (cart or SP-API) is classified
once, at the HTTP edge, into one of these; code deeper in never matches on strings.

    BridgeError
    ├── TransientError        retry with backoff and jitter, bounded (429, 5xx, timeouts, resets)
    │   └── IndeterminateError   the remote may have acted: read back before trying again
    ├── NeedsAttentionError   a person must fix data or config; the order waits, others go on
    ├── FatalError            the storefront cannot work (bad or revoked credentials): pause it
    └── ConfigError           the configuration is wrong (file, key, what)

All exceptions keep their constructor arguments in `args` so that they pickle across
Celery; none of them ever carries a secret.
"""

from __future__ import annotations


class BridgeError(Exception):
    """Base of every error bridge raises on purpose."""

    def __init__(self, message: str, *args: object) -> None:
        super().__init__(message, *args)
        self.message = message
        self._init_args: tuple = (message, *args)

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):
        # Rebuild with the constructor's own arguments, whatever their order.
        return (type(self), self._init_args)


class TransientError(BridgeError):
    """Worth retrying later; nothing was done (or doing it twice is harmless)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message, retry_after)
        self.retry_after = retry_after


class IndeterminateError(TransientError):
    """The remote may or may not have acted (timeout after sending, reset, 5xx).
    Resolve by reading back, never by repeating a create."""


class NeedsAttentionError(BridgeError):
    """A data or mapping problem a person must fix. `reason` is a short stable code
    (e.g. ``unknown_sku``); the message is a sentence for the merchant."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message, reason)
        self.reason = reason
        self._init_args = (reason, message)


class FatalError(BridgeError):
    """The storefront cannot work until someone acts (credentials refused or revoked)."""

    def __init__(self, message: str, reason: str = "fatal") -> None:
        super().__init__(message, reason)
        self.reason = reason


class ConfigError(BridgeError):
    """One or more configuration problems, each as (file, key, what is wrong)."""

    def __init__(self, problems: list[tuple[str, str, str]]) -> None:
        self.problems = list(problems)
        text = "; ".join(f"{f}: {k}: {w}" for f, k, w in self.problems)
        super().__init__(text or "invalid configuration", self.problems)
        self._init_args = (self.problems,)
