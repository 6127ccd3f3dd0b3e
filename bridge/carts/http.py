"""The HTTP edge shared by the platform adapters: one session, a timeout on every call,
bounded retries with full-jitter backoff, and every outcome classified once:

    2xx                        the response
    404 (when allowed)         the response, for the adapter to read as "not there"
    400, 409, 422, other 4xx   NeedsAttentionError("cart_rejected", the platform's message)
    401, 403                   FatalError("cart_credentials"): the storefront is paused
    429, 503, throttled body   retried after the platform's wait, then TransientError
    other 5xx, read timeout    reads: retried, then TransientError;
                               writes: IndeterminateError (callers check the cart first)
    nothing sent               retried, then TransientError

A platform adapter subclasses `CartHttp` only to say how it is throttled (`throttle_wait`)
and how it authenticates (`auth_headers`, or a `requests` auth object)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

import requests

from bridge.errors import FatalError, IndeterminateError, NeedsAttentionError, TransientError
from bridge.net import nothing_sent

MAX_ERROR_TEXT = 800


class CartHttp:
    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 20.0,
        max_retries: int = 4,
        auth: requests.auth.AuthBase | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = (min(timeout, 10.0), timeout)
        self.max_retries = max_retries
        self.session = session or requests.Session()
        self.session.auth = auth
        self.sleep = sleep
        self.backoff_base, self.backoff_cap = backoff_base, backoff_cap
        self.calls = 0  # requests sent, for benchmarks and tests

    # -- hooks a platform overrides ------------------------------------------------

    def auth_headers(self) -> dict[str, str]:
        return {}

    def throttle_wait(self, response: requests.Response) -> float | None:
        """Seconds to wait when this response says "slow down", else None."""
        if response.status_code in (429, 503):
            return _retry_after(response) or 1.0
        return None

    def before_request(self) -> None:
        """Called before every attempt: a place to wait for a platform's budget."""

    # -- the edge ------------------------------------------------------------------

    def request(self, method: str, path: str, *, params: dict | None = None,
                json: Any = None, data: Any = None, headers: dict | None = None,
                allow_404: bool = False) -> requests.Response:
        url = path if path.startswith("http") else f"{self.base_url}/{path.lstrip('/')}"
        idempotent = method.upper() in ("GET", "HEAD")
        last: TransientError | None = None
        for attempt in range(self.max_retries + 1):
            if attempt:
                self.sleep(self._backoff(attempt, last.retry_after if last else None))
            self.before_request()
            try:
                self.calls += 1
                response = self.session.request(
                    method, url, params=params, json=json, data=data, timeout=self.timeout,
                    headers={**self.auth_headers(), **(headers or {})},
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                if not idempotent and not nothing_sent(exc):
                    raise IndeterminateError(f"{method} {path}: no answer ({type(exc).__name__})") from None
                last = TransientError(f"{method} {path}: {type(exc).__name__}")
                continue
            wait = self.throttle_wait(response)
            if wait is not None:
                last = TransientError(f"{method} {path}: throttled (HTTP {response.status_code})",
                                      retry_after=wait)
                continue
            status = response.status_code
            if status < 300 or (status == 404 and allow_404):
                return response
            if status in (401, 403):
                raise FatalError(
                    f"the cart refused bridge's credentials (HTTP {status} on {method} {path}): "
                    f"{_text(response)}", reason="cart_credentials")
            if status >= 500:
                if not idempotent:
                    raise IndeterminateError(f"{method} {path}: HTTP {status}")
                last = TransientError(f"{method} {path}: HTTP {status}")
                continue
            raise NeedsAttentionError("cart_rejected", f"{method} {path}: HTTP {status}: {_text(response)}")
        assert last is not None
        raise last

    def _backoff(self, attempt: int, at_least: float | None) -> float:
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** attempt)
        return max(at_least or 0.0, random.uniform(0, ceiling))

    def close(self) -> None:
        self.session.close()


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _text(response: requests.Response) -> str:
    return response.text[:MAX_ERROR_TEXT].replace("\n", " ")
