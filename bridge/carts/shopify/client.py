"""Shopify's GraphQL edge: authentication (a static admin token, or client-credentials
tokens that expire), the cost-based leaky bucket, and the GraphQL-level outcomes that
arrive inside an HTTP 200 (THROTTLED, ACCESS_DENIED, query errors, userErrors)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import requests

from bridge import net, secrets
from bridge.carts.http import CartHttp
from bridge.carts.shopify.settings import ShopifySettings
from bridge.errors import (
    FatalError,
    IndeterminateError,
    MalformedAnswer,
    NeedsAttentionError,
    TransientError,
)
from bridge.logging import get_logger

log = get_logger(__name__)

# A read whose answer was lost (5xx, timeout) is asked again this often before giving up.
READ_RETRIES = 2
# An access-token answer is a few hundred bytes; anything far larger is not one.
TOKEN_ANSWER_MAX = 64 * 1024
MAX_MESSAGES = 5


class TokenSource:
    """Admin API tokens from the client-credentials grant. Shopify's tokens last 24 h;
    a new one is fetched shortly before expiry and once when a call is refused."""

    def __init__(self, settings: ShopifySettings, session: requests.Session,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.session = session
        self.clock = clock
        self._token = ""
        self._expires_at = 0.0
        self.grants = 0  # tokens fetched, for tests

    def token(self) -> str:
        if not self._token or self.clock() >= self._expires_at:
            self._fetch()
        return self._token

    def invalidate(self) -> None:
        self._token = ""

    def _fetch(self) -> None:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.settings.client_id,
            "client_secret": self.settings.client_secret,
        }
        try:
            # Bounded like every other call: one deadline, a small body cap.
            response = net.send(self.session, "POST", self.settings.token_url,
                                deadline=net.Deadline(self.settings.timeout_seconds),
                                max_body=TOKEN_ANSWER_MAX, data=form,
                                headers={"Accept": "application/json"})
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TransientError(f"Shopify token request: {type(exc).__name__}") from None
        if response.status_code >= 500 or response.status_code == 429:
            raise TransientError(f"Shopify token request: HTTP {response.status_code}")
        if response.status_code != 200:
            # The body may echo the request; only the status is safe to show.
            raise FatalError(
                f"Shopify refused the app's client credentials (HTTP {response.status_code}); "
                "check client_id, client_secret and that the app is installed on the shop",
                reason="cart_credentials")
        try:
            body = response.json()
            token, lifetime = str(body["access_token"]), float(body.get("expires_in") or 86_400)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise TransientError("Shopify token request: an answer without a token") from None
        self._token = token
        secrets.remember(self._token)  # so that no log line can show it
        # Renew early: a tenth of the lifetime, at most five minutes.
        self._expires_at = self.clock() + lifetime - min(300.0, lifetime / 10)
        self.grants += 1
        log.info("shopify_token_granted", expires_in_seconds=int(lifetime))


@dataclass
class Bucket:
    """What Shopify last said about the app's cost bucket, restored at `restore_rate`."""

    maximum: float = 1000.0
    available: float = 1000.0
    restore_rate: float = 100.0
    seen_at: float | None = None

    def now_available(self, now: float) -> float:
        if self.seen_at is None:
            return self.maximum
        return min(self.maximum, self.available + self.restore_rate * (now - self.seen_at))

    def wait_for(self, cost: float, now: float) -> float:
        missing = min(cost, self.maximum) - self.now_available(now)
        return missing / self.restore_rate if missing > 0 else 0.0


class ShopifyHttp(CartHttp):
    def __init__(self, settings: ShopifySettings, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, **kwargs: Any) -> None:
        super().__init__(settings.base_url, timeout=settings.timeout_seconds, sleep=sleep,
                         verify=settings.verify, ca_bundle=settings.ca_bundle, **kwargs)
        self.settings = settings
        self.clock = clock
        self.tokens = TokenSource(settings, self.session) if settings.uses_client_credentials else None
        self.bucket = Bucket()
        self._next_cost = 0
        self._refreshed_once = False
        self.last_cost: dict | None = None  # extensions.cost of the last answer

    # -- CartHttp hooks -------------------------------------------------------------

    def auth_headers(self) -> dict[str, str]:
        token = self.tokens.token() if self.tokens else self.settings.access_token
        return {"X-Shopify-Access-Token": token, "Accept": "application/json"}

    def before_request(self) -> None:
        wait = self.bucket.wait_for(self._next_cost, self.clock())
        if wait > 0:
            self.sleep(wait)

    def throttle_wait(self, response: requests.Response) -> float | None:
        body = _json(response)
        cost = (body.get("extensions") or {}).get("cost") if isinstance(body, dict) else None
        if cost:
            self._remember_cost(cost)
        if response.status_code == 401 and self.tokens and not self._refreshed_once:
            # An expiring token may have lapsed (or been rotated): fetch a new one and
            # send again, once; nothing was done with the refused call.
            self._refreshed_once = True
            self.tokens.invalidate()
            return 0.0
        if response.status_code == 429 or _has_code(body, "THROTTLED"):
            return self._throttled_wait(cost) or super().throttle_wait(response) or 1.0
        return super().throttle_wait(response)

    # -- GraphQL --------------------------------------------------------------------

    def graphql(self, document: str, variables: dict, *, cost: int, write: bool = False) -> dict:
        """Send one operation; return its `data`. `cost` is what the operation may ask of
        the bucket, waited for before sending."""
        self._next_cost = cost
        self._refreshed_once = False
        payload = {"query": document, "variables": variables}
        for attempt in range(READ_RETRIES + 1):
            try:
                response = self.request("POST", self.settings.graphql_url, json=payload)
                break
            except IndeterminateError:
                # A POST lost on the way back is still only a read for a query.
                if write:
                    raise
                if attempt == READ_RETRIES:
                    raise TransientError("Shopify did not answer a query") from None
                self.sleep(self._backoff(attempt + 1, None))
        body = _json(response)
        if not isinstance(body, dict):
            raise TransientError(f"Shopify answered HTTP {response.status_code} without JSON")
        errors = body.get("errors")
        if errors:
            raise _classify_errors(errors, write)
        return body.get("data") or {}

    def _remember_cost(self, cost: dict) -> None:
        self.last_cost = cost
        status = cost.get("throttleStatus") or {}
        try:
            self.bucket = Bucket(
                maximum=float(status["maximumAvailable"]),
                available=float(status["currentlyAvailable"]),
                restore_rate=float(status["restoreRate"]) or 1.0,
                seen_at=self.clock(),
            )
        except (KeyError, TypeError, ValueError):
            return

    def _throttled_wait(self, cost: dict | None) -> float | None:
        if not cost:
            return None
        requested = float(cost.get("requestedQueryCost") or self._next_cost or 0)
        status = cost.get("throttleStatus") or {}
        try:
            available, rate = float(status["currentlyAvailable"]), float(status["restoreRate"])
        except (KeyError, TypeError, ValueError):
            return None
        return max(0.0, (requested - available) / rate) if rate > 0 else None


def user_errors(operation: str, errors: Sequence[dict] | None) -> None:
    """A mutation's userErrors: data Shopify refused, for a person to look at."""
    if errors:
        text = "; ".join(_user_error_text(e) for e in errors[:MAX_MESSAGES])
        raise NeedsAttentionError("cart_rejected", f"Shopify refused {operation}: {text}")


def mutation_payload(data: object, name: str, what: str, *, errors: str = "userErrors",
                     committed: bool = True) -> dict:
    """A mutation's payload, with its list of user errors (`errors`) readable. Unreadable
    in the answer to a write that may have changed the shop, the write's outcome is
    unknown (IndeterminateError: the retry reads the shop first); `committed` False: the
    write changes nothing until a later commit, so the answer is only malformed."""
    payload = data.get(name) if isinstance(data, dict) else None
    if isinstance(payload, dict) and _is_error_list(payload.get(errors)):
        return payload
    if committed:
        raise IndeterminateError(f"Shopify answered {what} without a readable {name} result")
    raise MalformedAnswer(f"Shopify answered {what} without a readable {name} result")


def _is_error_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(error, dict) for error in value)


def _user_error_text(error: dict) -> str:
    field = ".".join(str(part) for part in error.get("field") or [])
    message = str(error.get("message") or "unknown error")
    return f"{field}: {message}" if field else message


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _codes(body: Any) -> list[str]:
    if not isinstance(body, dict) or not isinstance(body.get("errors"), list):
        return []
    return [str(((e or {}).get("extensions") or {}).get("code") or "") for e in body["errors"]]


def _has_code(body: Any, code: str) -> bool:
    return code in _codes(body)


def _classify_errors(errors: Any, write: bool) -> Exception:
    if not isinstance(errors, list):
        errors = [{"message": str(errors)}]  # some endpoints answer {"errors": "text"}
    codes = {str(((e or {}).get("extensions") or {}).get("code") or "") for e in errors}
    text = "; ".join(str((e or {}).get("message") or "") for e in errors[:MAX_MESSAGES])
    if "ACCESS_DENIED" in codes:
        return FatalError(f"Shopify denied access (is an app scope missing?): {text}",
                          reason="cart_credentials")
    if "THROTTLED" in codes:
        return TransientError(f"Shopify kept throttling: {text}")
    if "INTERNAL_SERVER_ERROR" in codes:
        kind = IndeterminateError if write else TransientError
        return kind(f"Shopify failed: {text}")
    return NeedsAttentionError("cart_rejected", f"Shopify refused the request: {text}")
