"""The WooCommerce HTTP edge: HTTP Basic with the consumer key and secret, JSON bodies."""

from __future__ import annotations

from typing import Any

import requests

from bridge.carts.http import CartHttp
from bridge.errors import FatalError

# Pages of one list read at most: a bound far beyond what a store's lists hold.
MAX_PAGES = 99


class WooHttp(CartHttp):
    """HTTP Basic over HTTPS; WooCommerce's throttle signal is only the host's 429/503,
    which `CartHttp` already waits out."""

    def __init__(self, base_url: str, key: str, secret: str, **options: Any) -> None:
        super().__init__(base_url, auth=requests.auth.HTTPBasicAuth(key, secret), **options)

    def get_json(self, path: str, params: dict | None = None, allow_404: bool = False):
        response = self.request("GET", path, params=params, allow_404=allow_404)
        return response, json_of(response)


def header_int(response: requests.Response, name: str) -> int | None:
    try:
        return int(response.headers.get(name, ""))
    except ValueError:
        return None


def total_pages(response: requests.Response) -> int:
    """The list's page count (`X-WP-TotalPages`), 1 when WooCommerce does not say."""
    return header_int(response, "X-WP-TotalPages") or 1


def json_of(response: requests.Response) -> Any:
    """The body as JSON. HTML instead (a theme page, a login wall, plain permalinks that
    leave /wp-json/ unrouted) means the URL does not reach the REST API."""
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        raise FatalError(
            f"{response.request.method} {response.url.split('?')[0]} did not answer with JSON "
            f"(HTTP {response.status_code}): check cart.url and that WordPress permalinks are "
            "not \"Plain\" (the REST API lives under /wp-json/)", reason="cart_config") from None
