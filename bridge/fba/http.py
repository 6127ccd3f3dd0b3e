"""The HTTP edge to the Selling Partner API: every request goes through `SpApiHttp.call`,
which waits for the rate-limit bucket, signs the request with an LWA access token, and
classifies the outcome once into the error tree:

    2xx with a JSON object       the parsed body (204: {})
    2xx otherwise (not JSON,     reads: retried, then MalformedAnswer;
      cut short, not an object,  writes: IndeterminateError at once (the caller reads back)
      an `errors` list)
    3xx                          RedirectRefused, naming the host (never followed)
    400, 422 (other 4xx)         NeedsAttentionError("amazon_rejected", Amazon's errors)
    401, 403                     FatalError, after one retry with a freshly fetched token
    404                          NotFound
    429                          retried with backoff (never faster than the bucket), then TransientError
    5xx, read timeout, reset,    reads: retried, then TransientError (or DeadlineExceeded);
    the deadline passed          writes: IndeterminateError at once (the caller reads back)
    answer over the size cap     reads: AnswerTooLarge at once; writes: IndeterminateError
    nothing sent (refused,       retried, then TransientError (RemoteUnreachable), for every
      connect timeout, no token) operation
    untrusted certificate        CertificateError at once, with the reason in words

Every attempt must finish (connect, send, the whole answer) within its deadline, which
is the configured timeout unless given; the answer is read streamed and capped.
"""

from __future__ import annotations

import platform
import random
import time
from collections.abc import Callable
from importlib import metadata
from typing import Any
from urllib.parse import quote

import requests
import structlog

from bridge import net
from bridge.errors import (
    AnswerTooLarge,
    CertificateError,
    DeadlineExceeded,
    FatalError,
    IndeterminateError,
    MalformedAnswer,
    NeedsAttentionError,
    TransientError,
)
from bridge.fba.auth import LwaAuth
from bridge.fba.errors import NotFound
from bridge.fba.operations import Operation
from bridge.fba.priority import TOP, current_priority
from bridge.fba.ratelimit import RateLimiter
from bridge.ledger import call_stats
from bridge.net import nothing_sent

log = structlog.get_logger(__name__)

# Longest error text kept from Amazon's body: enough to act on, short enough for a log line.
_MAX_ERROR_TEXT = 1000
# What to do when Amazon's endpoint cannot be reached or trusted.
_ADVICE = {
    "untrusted": "check fulfillment.endpoint and this machine's CA certificates "
                 "(a TLS-inspecting proxy needs its CA in REQUESTS_CA_BUNDLE)",
    "chain": "check fulfillment.endpoint and any proxy in between",
    "hostname": "check fulfillment.endpoint (and any proxy in between)",
    "refused": "check fulfillment.endpoint (or region) and the network",
    "dns": "check fulfillment.endpoint (or region) and this machine's DNS",
}


def user_agent() -> str:
    try:
        version = metadata.version("bridge")
    except metadata.PackageNotFoundError:
        version = "0"
    return f"bridge/{version} (Language=Python/{platform.python_version()})"


class _Retry(Exception):
    """Internal: this attempt failed in a way a later attempt may not."""

    def __init__(self, error: TransientError, at_least: float = 0.0) -> None:
        super().__init__(error.message)
        self.error = error
        self.at_least = at_least


class _AccessRefused(Exception):
    """Internal: Amazon refused the access token (401/403)."""

    def __init__(self, error: FatalError) -> None:
        super().__init__(error.message)
        self.error = error


class SpApiHttp:
    """One seller account's connection to one SP-API endpoint."""

    def __init__(
        self,
        base_url: str,
        auth: LwaAuth,
        limiter: RateLimiter,
        account_key: str,
        *,
        timeout: float = 20.0,
        max_retries: int = 4,
        session: requests.Session | None = None,
        rate_limit_wait: float | None = None,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
        deadline: float | None = None,
        max_body: int = net.DEFAULT_MAX_BODY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._auth = auth
        self._limiter = limiter
        self._account_key = account_key
        # Each attempt, whole: connect, send and every byte of the answer.
        self._deadline = timeout if deadline is None else deadline
        self._max_body = max_body
        self._clock = clock
        self._max_retries = max_retries
        self._session = net.watch_session(session or requests.Session())
        self._rate_limit_wait = timeout if rate_limit_wait is None else rate_limit_wait
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._sleep = sleep
        self._jitter = jitter
        self._headers = {"user-agent": user_agent(), "accept": "application/json"}

    @property
    def session(self) -> requests.Session:
        return self._session

    def close(self) -> None:
        self._session.close()

    def call(
        self,
        operation: Operation,
        *,
        path_params: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Send one operation, retrying what is safe to retry; return the JSON body."""
        url = self.base_url + operation.path.format(
            **{name: quote(str(value), safe="") for name, value in (path_params or {}).items()}
        )
        retries = 0
        token_refreshed = False
        while True:
            try:
                return self._attempt(operation, url, params, body)
            except _AccessRefused as refused:
                # A cached token can expire early on Amazon's side; one fresh token settles it.
                if token_refreshed:
                    raise refused.error from None
                token_refreshed = True
                self._auth.invalidate()
            except _Retry as retry:
                window = min(self._backoff_cap, self._backoff_base * 2**retries)
                if retries >= self._max_retries:
                    # Same kind as the last failure, so callers can still tell why.
                    raise type(retry.error)(
                        f"{retry.error.message}; gave up after {retries + 1} attempts",
                        max(retry.at_least, window),
                    ) from None
                # Full jitter: spreads the retries of many workers over the whole window.
                delay = max(retry.at_least, self._jitter() * window)
                log.info(
                    "spapi.retry", operation=operation.name, reason=retry.error.message,
                    attempt=retries + 1, delay=round(delay, 3),
                )
                self._sleep(delay)
                retries += 1

    def _bucket(self, op: Operation) -> str:
        return f"{self._account_key}:{op.name}"

    def _acquire(self, op: Operation) -> None:
        """A token from the bucket, at the priority of the flow making the call
        (`bridge.fba.priority`). A top-priority call passes none, so a limiter written
        before priorities existed still fits."""
        priority = current_priority()
        key = self._bucket(op)
        if priority == TOP:
            self._limiter.acquire(key, op.rate, op.burst, self._rate_limit_wait)
        else:
            self._limiter.acquire(key, op.rate, op.burst, self._rate_limit_wait, priority=priority)

    def _attempt(
        self, op: Operation, url: str, params: dict[str, Any] | None, body: dict[str, Any] | None
    ) -> dict[str, Any]:
        self._acquire(op)
        try:
            token = self._auth.access_token()
        except CertificateError:
            raise
        except TransientError as exc:
            raise _Retry(exc) from None
        started = self._clock()
        status: int | None = None
        try:
            response = net.send(
                self._session,
                op.method,
                url,
                deadline=net.Deadline(self._deadline, self._clock),
                max_body=self._max_body,
                params=params,
                json=body,
                headers={**self._headers, "x-amz-access-token": token},
            )
            status = response.status_code
        except DeadlineExceeded as exc:
            raise _unsure(op, exc, retry=True) from None
        except AnswerTooLarge as exc:
            # Reading the same flood again would not help; a write may have been done.
            raise _unsure(op, exc, retry=False) from None
        except requests.RequestException as exc:
            raise self._transport_failure(op, url, exc) from None
        finally:
            # Counted in memory, flushed to the ledger once a minute (for /metrics).
            call_stats.count_spapi_call(op.name, status, self._clock() - started)
        return self._classify(op, response)

    def _transport_failure(self, op: Operation, url: str, exc: requests.RequestException) -> Exception:
        failure = net.unreachable(exc, url, _ADVICE)
        if isinstance(failure, CertificateError):
            return failure  # nothing was sent, and retrying cannot change the certificate
        if nothing_sent(exc) or op.idempotent:
            return _Retry(failure)
        return IndeterminateError(
            f"{op.name} failed before an answer ({failure.reason}); Amazon may have acted on it"
        )

    def _classify(self, op: Operation, response: requests.Response) -> dict[str, Any]:
        self._learn_rate(op, response)
        status = response.status_code
        if 200 <= status < 300:
            try:
                return _success_body(op, response)
            except MalformedAnswer as exc:
                raise _unsure(op, exc, retry=True) from None
        target = net.redirect_target(response)
        if target:
            raise net.refused_redirect(
                response, target, "Amazon's API never redirects; check fulfillment.endpoint")
        answered = f"Amazon answered {status} to {op.name}{_request_id(response)}"
        if status in (401, 403):
            raise _AccessRefused(
                FatalError(
                    f"{answered}: access refused ({_amazon_errors(response) or 'no details'}); "
                    "the application's authorization for this seller account is missing, "
                    "revoked or lacks the Amazon Fulfillment role",
                    reason="access_refused",
                )
            )
        if status == 404:
            raise NotFound(f"{answered}: not found", op.name)
        if status == 429:
            floor = max(1.0 / op.rate, _retry_after(response))
            raise _Retry(TransientError(f"{answered}: throttled"), at_least=floor)
        if 400 <= status < 500:
            raise NeedsAttentionError(
                "amazon_rejected", _amazon_errors(response) or f"{answered} without details"
            )
        # 5xx, or a status Amazon never sends: whether it acted is unknown.
        if op.idempotent:
            raise _Retry(TransientError(answered))
        raise IndeterminateError(f"{answered}; Amazon may have acted on it")

    def _learn_rate(self, op: Operation, response: requests.Response) -> None:
        header = response.headers.get("x-amzn-RateLimit-Limit")
        if not header:
            return
        try:
            rate = float(header)
        except ValueError:
            return
        self._limiter.update_rate(self._bucket(op), rate)


def _unsure(op: Operation, error: TransientError, *, retry: bool) -> Exception:
    """A failure after the request may have reached Amazon: a read is tried again (or
    fails as it is); a write's outcome is unknown and must be read back."""
    if not op.idempotent:
        return IndeterminateError(f"{error.message}; Amazon may have acted on {op.name}")
    return _Retry(error) if retry else error


def _success_body(op: Operation, response: requests.Response) -> dict[str, Any]:
    """The JSON object of a 2xx, or MalformedAnswer: a status alone never makes a success."""
    if response.status_code == 204 and not response.content:
        return {}
    what = f"Amazon answered {response.status_code} to {op.name}{_request_id(response)}"
    body = net.parse_json(response.content, what)
    if not isinstance(body, dict):
        raise MalformedAnswer(f"{what} with a JSON {_json_kind(body)}, not an object")
    if body.get("errors"):
        raise MalformedAnswer(f"{what} with errors: {_errors_text(body['errors']) or 'unreadable'}")
    return body


def _json_kind(value: object) -> str:
    return {list: "list", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number")


def _request_id(response: requests.Response) -> str:
    request_id = response.headers.get("x-amzn-RequestId")
    return f" (request {request_id})" if request_id else ""


def _retry_after(response: requests.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("retry-after", 0)))
    except ValueError:
        return 0.0


def _amazon_errors(response: requests.Response) -> str:
    """Amazon's `errors` list as "code: message (details); ...", or "" if there is none."""
    try:
        errors = response.json().get("errors")
    except (ValueError, AttributeError):
        return ""
    return _errors_text(errors)


def _errors_text(errors: object) -> str:
    parts = []
    for error in errors if isinstance(errors, list) else []:
        if not isinstance(error, dict):
            continue
        text = str(error.get("code") or "Error")
        if error.get("message"):
            text += f": {error['message']}"
        if error.get("details"):
            text += f" ({error['details']})"
        parts.append(text)
    return "; ".join(parts)[:_MAX_ERROR_TEXT]
