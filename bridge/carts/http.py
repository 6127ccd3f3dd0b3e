"""The HTTP edge shared by the platform adapters: one session, a deadline on every call,
bounded retries with full-jitter backoff, and every outcome classified once:

    2xx                        the response, its body already read
    404 (when allowed)         the response, for the adapter to read as "not there"
    3xx to the same host       followed for reads (within the same deadline)
    3xx elsewhere, or a write  RedirectRefused naming the target host: credentials stay home
    400, 409, 422, other 4xx   NeedsAttentionError("cart_rejected", the platform's message)
    401, 403                   FatalError("cart_credentials"): the storefront is paused
    429, 503, throttled body   retried after the platform's wait, then TransientError
    other 5xx, read timeout,   reads: retried, then TransientError (or DeadlineExceeded);
    the deadline passed        writes: IndeterminateError (callers check the cart first)
    answer over `max_body`     reads: AnswerTooLarge; writes: IndeterminateError
    nothing sent               retried, then RemoteUnreachable (the reason in words)
    untrusted certificate      CertificateError at once, saying what to set

Each attempt must finish whole (connect, send, every byte of the answer) within
`deadline` seconds (default: `timeout`); answers are read streamed and capped at
`max_body` bytes. `verify=False` turns certificate checks off; `ca_bundle` names a PEM
file of CA certificates to trust instead of the system's (a shop with a private CA).
`read_json` reads a body that must be JSON, or raises MalformedAnswer with the reason.

A platform adapter subclasses `CartHttp` only to say how it is throttled (`throttle_wait`)
and how it authenticates (`auth_headers`, or a `requests` auth object)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests

from bridge import net
from bridge.errors import (
    AnswerTooLarge,
    CertificateError,
    DeadlineExceeded,
    FatalError,
    IndeterminateError,
    NeedsAttentionError,
    TransientError,
)
from bridge.net import nothing_sent

MAX_ERROR_TEXT = 800
MAX_REDIRECTS = 5
# What the merchant can do when the shop cannot be reached or trusted.
ADVICE = {
    "untrusted": "set cart.ca_bundle to the shop's CA certificate file (PEM), "
                 "or give the shop a certificate from a public CA",
    "chain": "the shop's server must send its intermediate certificates; until then set "
             "cart.ca_bundle to a file holding them",
    "expired": "the shop must renew its certificate (or this machine's clock is wrong)",
    "hostname": "set cart.url to the host name on the shop's certificate",
    "tls": "check that cart.url is https on a port that speaks TLS",
    "refused": "check cart.url (host and port) and that the shop is up",
    "dns": "check the host name in cart.url",
}
# Transport failures of a call; anything else from requests is a programming error.
_TRANSPORT = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
              requests.exceptions.ContentDecodingError)


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
        deadline: float | None = None,
        max_body: int = net.DEFAULT_MAX_BODY,
        verify: bool = True,
        ca_bundle: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`deadline`: seconds each attempt may take whole (default `timeout`);
        `max_body`: the largest answer read, in bytes; `verify`: check the shop's
        certificate; `ca_bundle`: a PEM file of the CAs to trust for it (cart.ca_bundle)."""
        self.base_url = base_url.rstrip("/")
        self.timeout = (min(timeout, 10.0), timeout)
        self.deadline = timeout if deadline is None else deadline
        self.max_body = max_body
        # requests takes a CA file where it takes True: the file replaces the system's CAs.
        self.verify: bool | str = (ca_bundle or True) if verify else False
        self.clock = clock
        self.max_retries = max_retries
        self.session = net.watch_session(session or requests.Session())
        self.session.auth = auth
        self.session.verify = self.verify  # also for calls an adapter makes on the session
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
                response = self._send(method, url, params=params, json=json, data=data,
                                      headers={**self.auth_headers(), **(headers or {})})
            except DeadlineExceeded as exc:
                if not idempotent:
                    raise IndeterminateError(f"{method} {path}: {exc.message}") from None
                last = exc
                continue
            except AnswerTooLarge as exc:
                if not idempotent:
                    raise IndeterminateError(f"{method} {path}: {exc.message}") from None
                raise  # reading the same flood again would not help
            except _TRANSPORT as exc:
                failure = net.unreachable(exc, url, ADVICE)
                if isinstance(failure, CertificateError):
                    raise failure from None  # nothing was sent; only a person can fix it
                if not idempotent and not nothing_sent(exc):
                    raise IndeterminateError(f"{method} {path}: no answer ({failure.reason})") from None
                last = failure
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

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """One attempt, redirects included, within one deadline. A read follows a
        redirect to the same host; anything else is refused with the target named."""
        deadline = net.Deadline(self.deadline, self.clock)
        for _ in range(MAX_REDIRECTS + 1):
            self.calls += 1
            response = net.send(self.session, method, url, deadline=deadline,
                                max_body=self.max_body, verify=self.verify, **kwargs)
            target = net.redirect_target(response)
            if target is None:
                return response
            if method.upper() not in ("GET", "HEAD") or not net.same_host(url, target):
                raise net.refused_redirect(response, target, _redirect_advice(target))
            url, kwargs["params"] = target, None  # the target carries its own query
        # Every pass that did not return ended with url = target.
        raise net.refused_redirect(response, url, f"more than {MAX_REDIRECTS} redirects; "
                                   "set cart.url to where the shop really answers")

    def read_json(self, response: requests.Response) -> Any:
        """The body as JSON; None for an empty answer (204, or no body). A body that is
        not JSON (a proxy's HTML page, a cut-short answer) is a MalformedAnswer."""
        return read_json(response)

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


def read_json(response: requests.Response) -> Any:
    """The body as JSON; None for an empty answer. Otherwise MalformedAnswer (a
    TransientError) naming the call and why the body is not JSON."""
    if response.status_code == 204 or not response.content:
        return None
    request = response.request
    what = (f"{request.method} {request.path_url.split('?')[0]} answered "
            f"HTTP {response.status_code}") if request is not None else "the cart answered"
    return net.parse_json(response.content, what)


def _redirect_advice(target: str) -> str:
    parts = urlsplit(target)
    return f"if the shop moved, set cart.url to {parts.scheme}://{parts.netloc}"


def _text(response: requests.Response) -> str:
    return response.text[:MAX_ERROR_TEXT].replace("\n", " ")
