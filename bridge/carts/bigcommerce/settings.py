"""The `[cart]` table of a BigCommerce storefront: defaults and checks.

    [cart]
    platform = "bigcommerce"
    store_hash = "abc123xyz"
    access_token = "env:BIGCOMMERCE_TOKEN"     # env:NAME or file:PATH, never inline
    webhook_secret = "env:BC_WEBHOOK_SECRET"   # optional: the header that webhooks carry
    ready_status_ids = [11]                    # Awaiting Fulfillment
    cancelled_status_ids = [5, 4, 6]           # Cancelled, Refunded, Declined
    shipped_status_ids = [2, 3]                # Shipped, Partially Shipped
    location_id = 1                            # inventory location bridge sets stock at
    timeout_seconds = 20
    ca_bundle = "/etc/bridge/shop-ca.pem"      # optional: trust this CA file (PEM) for the API
    verify = false                             # optional; only for a loopback api_base
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bridge import secrets
from bridge.carts import tls

DEFAULT_API_BASE = "https://api.bigcommerce.com/stores/{store_hash}"
# BigCommerce's order statuses are a fixed list, ids 0 to 14 (GET /v2/order_statuses).
STATUS_IDS = range(0, 15)
DEFAULTS: dict[str, Any] = {
    "api_base": DEFAULT_API_BASE,
    "ready_status_ids": [11],
    "cancelled_status_ids": [5, 4, 6],
    "shipped_status_ids": [2, 3],
    "location_id": 1,
    "timeout_seconds": 20,
}
KNOWN_KEYS = frozenset({"platform", "store_hash", "access_token", "webhook_secret", *DEFAULTS,
                        *tls.KEYS})
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


@dataclass(frozen=True)
class BigCommerceSettings:
    store_hash: str
    access_token_ref: str
    api_base: str
    ready_status_ids: frozenset[int]
    cancelled_status_ids: frozenset[int]
    shipped_status_ids: frozenset[int]
    location_id: int
    timeout_seconds: float
    verify: bool = True
    ca_bundle: str | None = None

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> BigCommerceSettings:
        value = {**DEFAULTS, **settings}
        return cls(
            store_hash=value["store_hash"],
            access_token_ref=value["access_token"],
            api_base=value["api_base"].replace("{store_hash}", value["store_hash"]).rstrip("/"),
            ready_status_ids=frozenset(value["ready_status_ids"]),
            cancelled_status_ids=frozenset(value["cancelled_status_ids"]),
            shipped_status_ids=frozenset(value["shipped_status_ids"]),
            location_id=value["location_id"],
            timeout_seconds=float(value["timeout_seconds"]),
            **tls.tls_options(settings),
        )


def check_settings(settings: Mapping[str, Any]) -> list[tuple[str, str]]:
    if not isinstance(settings, Mapping):
        return [("-", "must be a table")]
    problems: list[tuple[str, str]] = [
        (str(key), "unknown key") for key in settings if key not in KNOWN_KEYS
    ]
    store_hash = settings.get("store_hash")
    if not isinstance(store_hash, str) or not store_hash.strip() or not store_hash.isalnum():
        problems.append(("store_hash", "is required: the store's hash from its API path"))
    problems += _check_token(settings.get("access_token"))
    if settings.get("webhook_secret") not in (None, ""):  # optional: only for webhooks
        problems += _check_token(settings.get("webhook_secret"), "webhook_secret")
    problems += _check_api_base(settings.get("api_base", DEFAULTS["api_base"]))
    for key in ("ready_status_ids", "cancelled_status_ids", "shipped_status_ids"):
        problems += _check_status_ids(key, settings.get(key, DEFAULTS[key]))
    ready = settings.get("ready_status_ids", DEFAULTS["ready_status_ids"])
    if isinstance(ready, list) and not ready:
        problems.append(("ready_status_ids", "must name at least one status"))
    problems += _check_overlap(settings)
    location = settings.get("location_id", DEFAULTS["location_id"])
    if isinstance(location, bool) or not isinstance(location, int) or location < 1:
        problems.append(("location_id", "must be a positive inventory location id"))
    timeout = settings.get("timeout_seconds", DEFAULTS["timeout_seconds"])
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 300:
        problems.append(("timeout_seconds", "must be a number of seconds between 0 and 300"))
    base = settings.get("api_base", DEFAULTS["api_base"])
    problems += tls.check_tls(settings, base.replace("{store_hash}", "x") if isinstance(base, str) else None)
    return problems


def _check_token(token: Any, key: str = "access_token") -> list[tuple[str, str]]:
    if not isinstance(token, str) or not token:
        return [(key, "is required: env:NAME or file:PATH holding the API token")]
    if not secrets.is_reference(token):
        return [(key, "give the token as env:NAME or file:PATH, not inline")]
    if token in ("env:", "file:"):
        return [(key, "the reference names no variable or file")]
    return []


def _check_api_base(base: Any) -> list[tuple[str, str]]:
    if not isinstance(base, str):
        return [("api_base", "must be a URL")]
    parts = urlsplit(base.replace("{store_hash}", "x"))
    if parts.scheme == "https" and parts.hostname:
        return []
    if parts.scheme == "http" and parts.hostname in _LOOPBACK:
        return []  # a local test double; the token never leaves the machine
    return [("api_base", "must be an https:// URL (http:// only for a loopback test store)")]


def _check_status_ids(key: str, ids: Any) -> list[tuple[str, str]]:
    if not isinstance(ids, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) and i in STATUS_IDS for i in ids
    ):
        return [(key, "must be a list of BigCommerce order status ids (0 to 14)")]
    return []


def _check_overlap(settings: Mapping[str, Any]) -> list[tuple[str, str]]:
    sets = {}
    for key in ("ready_status_ids", "cancelled_status_ids", "shipped_status_ids"):
        ids = settings.get(key, DEFAULTS[key])
        if isinstance(ids, list):
            sets[key] = {i for i in ids if isinstance(i, int)}
    problems = []
    keys = list(sets)
    for i, first in enumerate(keys):
        for second in keys[i + 1:]:
            both = sorted(sets[first] & sets[second])
            if both:
                problems.append((second, f"status ids {both} are also in {first}"))
    return problems
