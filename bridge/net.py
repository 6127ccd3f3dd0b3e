"""Facts about a failed HTTP call that every edge (SP-API, carts) needs."""

from __future__ import annotations

import requests
import urllib3.exceptions


def nothing_sent(exc: requests.RequestException) -> bool:
    """True when the connection was never made, so the request cannot have reached the
    remote: retrying it can never act twice."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    inner = exc.args[0] if exc.args else None
    if isinstance(inner, urllib3.exceptions.MaxRetryError):
        inner = inner.reason
    # NewConnectionError (refused, unreachable, DNS) is a kind of ConnectTimeoutError.
    return isinstance(inner, urllib3.exceptions.ConnectTimeoutError)
