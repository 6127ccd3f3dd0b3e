"""The error tree. Every failure that crosses a boundary (cart or SP-API) is classified
once, at the HTTP edge, into one of these; code deeper in never matches on strings.

    BridgeError
    ├── TransientError        retry with backoff and jitter, bounded (429, 5xx, timeouts, resets)
    │   ├── IndeterminateError   the remote may have acted: read back before trying again
    │   ├── DeadlineExceeded     the whole call (connect, send, every byte) ran out of time
    │   ├── AnswerTooLarge       the answer is over the edge's size cap; it was not read whole
    │   ├── MalformedAnswer      a 2xx whose body is not what the protocol promises
    │   ├── RedirectRefused      the remote redirects elsewhere; credentials are not sent there
    │   └── RemoteUnreachable    no connection (refused, DNS, TLS), with the reason in words
    │       └── CertificateError    the remote's TLS certificate is not trusted
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


class DeadlineExceeded(TransientError):
    """The call did not finish (connect, send and every byte of the answer) within its
    deadline. Raised only when something may have been sent; the edge decides whether
    that makes the outcome indeterminate."""


class AnswerTooLarge(TransientError):
    """The answer is larger than the edge accepts; reading stopped at the cap."""

    def __init__(self, message: str, retry_after: float | None = None,
                 limit: int = 0, bytes_read: int = 0) -> None:
        super().__init__(message, retry_after)
        self.limit, self.bytes_read = limit, bytes_read
        self._init_args = (message, retry_after, limit, bytes_read)


class MalformedAnswer(TransientError):
    """A success status whose body is not what the protocol promises: not JSON, cut
    short, the wrong shape, or an error list. Never read as a success."""


class RedirectRefused(TransientError):
    """The remote answered with a redirect bridge will not follow (another host, or a
    write); `target_host` is where it pointed."""

    def __init__(self, message: str, retry_after: float | None = None,
                 target_host: str = "") -> None:
        super().__init__(message, retry_after)
        self.target_host = target_host
        self._init_args = (message, retry_after, target_host)


class RemoteUnreachable(TransientError):
    """No usable connection to `host`: refused, unresolvable, unreachable or a TLS
    failure. The message says why in words and what to do."""

    def __init__(self, message: str, retry_after: float | None = None,
                 host: str = "", reason: str = "") -> None:
        super().__init__(message, retry_after)
        self.host, self.reason = host, reason
        self._init_args = (message, retry_after, host, reason)


class CertificateError(RemoteUnreachable):
    """The remote's TLS certificate could not be verified (self-signed, unknown CA,
    another host name, expired). Retrying does not help until someone acts."""
