"""The HTTP edge to the Selling Partner API: every request goes through `SpApiHttp.call`,
which waits for the rate-limit bucket, signs the request with an LWA access token, and
classifies the outcome once into the error tree:

    2xx                          parsed JSON body
    400, 422 (other 4xx)         NeedsAttentionError("amazon_rejected", Amazon's errors)
    401, 403                     FatalError, after one retry with a freshly fetched token
    404                          NotFound
    429                          retried with backoff (never faster than the bucket), then TransientError
    5xx, read timeout, reset     reads: retried, then TransientError;
                                 writes: IndeterminateError at once (the caller reads back)
    nothing sent (refused,       retried, then TransientError, for every operation
      connect timeout, no token)
"""

from __future__ import annotations

import platform
import random
import time
from importlib import metadata
from typing import Any, Callable
from urllib.parse import quote

import requests
import structlog

from bridge.errors import FatalError, IndeterminateError, NeedsAttentionError, TransientError
from bridge.fba.auth import LwaAuth
from bridge.fba.errors import NotFound
from bridge.fba.operations import Operation
from bridge.fba.ratelimit import RateLimiter
from bridge.net import nothing_sent

log = structlog.get_logger(__name__)

# Longest error text kept from Amazon's body: enough to act on, short enough for a log line.
_MAX_ERROR_TEXT = 1000


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
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._auth = auth
        self._limiter = limiter
        self._account_key = account_key
        self._timeouts = (min(timeout, 10.0), timeout)  # (connect, read)
        self._max_retries = max_retries
        self._session = session or requests.Session()
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
        body: dict | None = None,
    ) -> dict:
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
                    raise TransientError(
                        f"{retry.error.message}; gave up after {retries + 1} attempts",
                        retry_after=max(retry.at_least, window),
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

    def _attempt(self, op: Operation, url: str, params: dict | None, body: dict | None) -> dict:
        self._limiter.acquire(self._bucket(op), op.rate, op.burst, self._rate_limit_wait)
        try:
            token = self._auth.access_token()
        except TransientError as exc:
            raise _Retry(exc) from None
        try:
            response = self._session.request(
                op.method,
                url,
                params=params,
                json=body,
                headers={**self._headers, "x-amz-access-token": token},
                timeout=self._timeouts,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise self._transport_failure(op, exc) from None
        return self._classify(op, response)

    def _transport_failure(self, op: Operation, exc: requests.RequestException) -> Exception:
        what = f"{op.name} failed before an answer ({type(exc).__name__})"
        if nothing_sent(exc) or op.idempotent:
            return _Retry(TransientError(what))
        return IndeterminateError(f"{what}; Amazon may have acted on it")

    def _classify(self, op: Operation, response: requests.Response) -> dict:
        self._learn_rate(op, response)
        status = response.status_code
        if 200 <= status < 300:
            return self._success_body(op, response)
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

    def _success_body(self, op: Operation, response: requests.Response) -> dict:
        if not response.content:
            return {}
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            return body
        if op.idempotent:
            raise _Retry(TransientError(f"Amazon answered {op.name} with a body that is not a JSON object"))
        # The status says the write was accepted; its (empty by model) body does not matter.
        return {}

    def _learn_rate(self, op: Operation, response: requests.Response) -> None:
        header = response.headers.get("x-amzn-RateLimit-Limit")
        if not header:
            return
        try:
            rate = float(header)
        except ValueError:
            return
        self._limiter.update_rate(self._bucket(op), rate)


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
