"""Login with Amazon (LWA): trade the seller's refresh token for short-lived access
tokens, cache one, and fetch the next shortly before it expires.

Errors are classified here once: a refused grant or client means the credentials are
wrong or revoked (FatalError, the storefront pauses); an unreachable or failing token
service is worth retrying (TransientError). No message ever carries a secret.

The token call is bound like every other: one deadline for the whole call (the
configured timeout), a small cap on the answer, and a certificate or connection failure
named in words (`bridge.net`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import requests

from bridge import net, secrets
from bridge.errors import AnswerTooLarge, DeadlineExceeded, FatalError, TransientError

# LWA error codes that mean "these credentials will not work until someone acts".
_REFUSED = {"invalid_grant", "invalid_client", "unauthorized_client", "access_denied"}
# Codes that say the token service itself is struggling.
_BUSY = {"server_error", "temporarily_unavailable"}
# Amazon documents a default lifetime; used when a response leaves `expires_in` out.
_DEFAULT_LIFETIME = 3600.0
# A token answer is about a kilobyte; anything near this is not one.
MAX_TOKEN_ANSWER = 64 * 1024
_ADVICE = {
    "untrusted": "check fulfillment.token_url and this machine's CA certificates",
    "refused": "check fulfillment.token_url (or endpoint) and the network",
    "dns": "check fulfillment.token_url (or endpoint) and this machine's DNS",
}


class LwaAuth:
    """Thread-safe access-token cache for one (client, refresh token) pair."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        session: requests.Session,
        timeout: float,
        *,
        refresh_early_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        max_body: int = MAX_TOKEN_ANSWER,
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self._session = net.watch_session(session)
        self._timeout = timeout
        self._max_body = max_body
        self._refresh_early = refresh_early_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._refresh_at = 0.0
        # Registered so that the log redactor hides them wherever they might surface.
        for value in (client_secret, refresh_token):
            secrets.remember(value)

    def __repr__(self) -> str:
        return f"LwaAuth(token_url={self.token_url!r}, client_id={self.client_id!r})"

    def access_token(self) -> str:
        """A valid access token, fetched if none is cached or the cached one is about to expire."""
        with self._lock:
            if self._token is None or self._clock() >= self._refresh_at:
                self._token, self._refresh_at = self._fetch()
            return self._token

    def invalidate(self) -> None:
        """Forget the cached token, e.g. after Amazon answered 403 with it."""
        with self._lock:
            self._token = None

    def _fetch(self) -> tuple[str, float]:
        """A new access token and the clock reading at which to replace it."""
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self._refresh_token,
            "client_id": self.client_id,
            "client_secret": self._client_secret,
        }
        started = self._clock()
        try:
            response = net.send(
                self._session, "POST", self.token_url,
                deadline=net.Deadline(self._timeout, self._clock), max_body=self._max_body,
                data=form, headers={"accept": "application/json"},
            )
        except (DeadlineExceeded, AnswerTooLarge):
            raise  # typed, and naming the token service's host
        except requests.Timeout:
            raise TransientError("the Login with Amazon token service did not answer in time") from None
        except requests.RequestException as exc:
            raise net.unreachable(exc, self.token_url, _ADVICE) from None
        target = net.redirect_target(response)
        if target:
            raise net.refused_redirect(response, target, "check fulfillment.token_url")
        if response.status_code == 200:
            # Not JSON at all says more than "no access token": name the reason.
            net.parse_json(response.content, "the Login with Amazon token service answered 200")
        body = _json_object(response)
        if response.status_code == 200 and isinstance(body.get("access_token"), str):
            lifetime = _lifetime(body.get("expires_in"))
            # Refresh early, but never so early that a short-lived token is refetched every call.
            margin = min(self._refresh_early, lifetime / 2)
            token = body["access_token"]
            return token, started + lifetime - margin
        raise self._classify(response.status_code, body)

    def _classify(self, status: int, body: dict[str, Any]) -> Exception:
        code = body.get("error") if isinstance(body.get("error"), str) else ""
        described = f" ({self._scrub(code)})" if code else ""
        if code in _REFUSED:
            return FatalError(
                f"Login with Amazon refused the credentials of client {self.client_id}{described}: "
                "the refresh token or client secret is wrong, expired or revoked; "
                "authorize the application again and update the storefront's secrets",
                reason="credentials_refused",
            )
        if status == 429 or status >= 500 or code in _BUSY:
            return TransientError(f"the Login with Amazon token service answered {status}{described}")
        if status == 200:
            return TransientError("the Login with Amazon token service answered without an access token")
        return FatalError(
            f"Login with Amazon rejected the token request for client {self.client_id} "
            f"with {status}{described}; check the storefront's fulfillment credentials",
            reason="credentials_rejected",
        )

    def _scrub(self, text: str) -> str:
        # Error codes are short words; this guards against a service that echoes input back.
        for value in (self._client_secret, self._refresh_token):
            text = text.replace(value, "***")
        return text[:80]


def _json_object(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _lifetime(expires_in: object) -> float:
    try:
        seconds = float(expires_in)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return _DEFAULT_LIFETIME
    return seconds if seconds > 0 else _DEFAULT_LIFETIME
