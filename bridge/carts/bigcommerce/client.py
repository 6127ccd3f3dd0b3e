"""BigCommerce's HTTP edge: the `X-Auth-Token` header and the store's request quota.

BigCommerce counts requests per store (shared by every app of the store) in a fixed
window and reports the budget on every response:

    X-Rate-Limit-Requests-Quota    requests allowed per window
    X-Rate-Limit-Requests-Left     requests left in the current window
    X-Rate-Limit-Time-Window-Ms    length of the window
    X-Rate-Limit-Time-Reset-Ms     time until the window resets

bridge reads them on every response and, when nothing is left, waits for the reset
before the next request instead of spending a 429. A 429 that still comes (another app
spent the budget) waits `X-Rate-Limit-Time-Reset-Ms`; a 429 without those headers means
platform load and gets the ordinary backoff."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests

from bridge.carts.http import CartHttp
from bridge.errors import NeedsAttentionError, TransientError

LEFT = "X-Rate-Limit-Requests-Left"
RESET_MS = "X-Rate-Limit-Time-Reset-Ms"
WINDOW_MS = "X-Rate-Limit-Time-Window-Ms"
QUOTA = "X-Rate-Limit-Requests-Quota"

# A 429 without rate-limit headers is platform load, not our quota: back off a little.
PLATFORM_LOAD_WAIT = 2.0
# Pages of one V3 list read at most: a bound far beyond what a store's lists hold.
V3_MAX_PAGES = 99


class BigCommerceHttp(CartHttp):
    def __init__(self, base_url: str, access_token: str, *,
                 clock: Callable[[], float] = time.monotonic, **kwargs: Any) -> None:
        super().__init__(base_url, **kwargs)
        self._token = access_token
        self._clock = clock
        self.requests_left: int | None = None
        self.quota: int | None = None
        self.window_ms: int | None = None
        self._reset_at: float | None = None
        self.waited = 0.0  # seconds spent waiting for the quota, for tests and benchmarks

    def auth_headers(self) -> dict[str, str]:
        return {"X-Auth-Token": self._token, "Accept": "application/json"}

    def before_request(self) -> None:
        if self.requests_left is None or self.requests_left > 0 or self._reset_at is None:
            return
        wait = self._reset_at - self._clock()
        if wait > 0:
            self.waited += wait
            self.sleep(wait)
        # A new window has begun; the next response tells how much of it is left.
        self.requests_left = None
        self._reset_at = None

    def throttle_wait(self, response: requests.Response) -> float | None:
        self._read_budget(response)
        if response.status_code == 429:
            reset = _int_header(response, RESET_MS)
            if reset is None:
                return super().throttle_wait(response) or PLATFORM_LOAD_WAIT
            # The wait is taken by the retry's backoff, so the quota gate need not wait too.
            self.requests_left = None
            return reset / 1000.0
        return super().throttle_wait(response)

    def _read_budget(self, response: requests.Response) -> None:
        left = _int_header(response, LEFT)
        reset = _int_header(response, RESET_MS)
        if left is None or reset is None:
            return
        self.requests_left = left
        self._reset_at = self._clock() + reset / 1000.0
        self.quota = _int_header(response, QUOTA) or self.quota
        self.window_ms = _int_header(response, WINDOW_MS) or self.window_ms

    def read_json(self, response: requests.Response) -> Any:
        """The body as JSON; V2 answers an empty list with 204 and no body."""
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            # A proxy's HTML page in place of the API's answer: try again later.
            raise TransientError(
                f"{response.request.method} {response.request.path_url.split('?')[0]}: "
                f"HTTP {response.status_code} without a JSON body") from None


def v3_list(http: BigCommerceHttp, path: str, params: dict[str, Any], what: str) -> list:
    """Every row of a paged V3 list (`page` 1, 2, … up to `meta.pagination.total_pages`)."""
    rows: list = []
    for page in range(1, V3_MAX_PAGES + 1):
        body = http.read_json(http.request("GET", path, params={**params, "page": page}))
        data, pages = v3_page(body, what)
        rows += data
        if not data or page >= pages:
            break
    return rows


def v3_page(body: Any, what: str) -> tuple[list, int]:
    """A V3 page's `data` rows and its `meta.pagination.total_pages` (1 when it names
    none); a body without a `data` list is refused, naming `what` was read."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        raise NeedsAttentionError("cart_rejected",
                                  f"BigCommerce answered {what} with a body without a `data` list")
    meta = body.get("meta")
    pagination = meta.get("pagination") if isinstance(meta, dict) else None
    pages = pagination.get("total_pages") if isinstance(pagination, dict) else None
    return data, pages if isinstance(pages, int) and not isinstance(pages, bool) else 1


def _int_header(response: requests.Response, name: str) -> int | None:
    value = response.headers.get(name)
    try:
        return max(0, int(float(value))) if value is not None else None
    except ValueError:
        return None
