"""The `[cart]` table of a Magento storefront: which keys exist, their defaults, and
every problem with a given table, as (key, what is wrong).

    [cart]
    platform = "magento"
    url = "https://shop.example.com"           # REST lives at <url>/rest/<store_code>/V1/
    store_code = "default"
    access_token = "env:MAGENTO_ACCESS_TOKEN"   # alone: sent as Bearer
    consumer_key = "env:MAGENTO_CONSUMER_KEY"   # with the next two: OAuth 1.0a signing
    consumer_secret = "env:MAGENTO_CONSUMER_SECRET"
    access_token_secret = "env:MAGENTO_ACCESS_TOKEN_SECRET"
    ready_states = ["processing"]               # order states that are paid and ready to ship
    cancelled_states = ["canceled", "closed"]
    source_code = "default"                     # the MSI source bridge ships from and stocks
    legacy_stock = false                        # true: no MSI, write legacy stock items
    stock_batch_size = 20
    timeout_seconds = 30
    ca_bundle = "/etc/bridge/shop-ca.pem"       # optional: trust this CA file (PEM) for the store
    verify = false                              # optional; only for a store on the loopback
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from bridge import secrets
from bridge.carts import tls
from bridge.net import is_loopback_host

DEFAULT_STOCK_BATCH = 20
MAX_STOCK_BATCH = 1000
OAUTH_KEYS = ("consumer_key", "consumer_secret", "access_token_secret")
SECRET_KEYS = ("access_token", *OAUTH_KEYS)
KNOWN_KEYS = frozenset({
    "platform", "url", "store_code", *SECRET_KEYS, "ready_states", "cancelled_states",
    "source_code", "legacy_stock", "stock_batch_size", "timeout_seconds", *tls.KEYS,
})
DEFAULTS: dict[str, Any] = {
    "store_code": "default",
    "ready_states": ["processing"],
    "cancelled_states": ["canceled", "closed"],
    "source_code": "default",
    "legacy_stock": False,
    "stock_batch_size": DEFAULT_STOCK_BATCH,
    "timeout_seconds": 30,
}


def check_settings(settings: Mapping[str, Any]) -> list[tuple[str, str]]:
    if not isinstance(settings, Mapping):
        return [("-", "must be a table")]
    problems = [(str(key), "unknown key") for key in settings if key not in KNOWN_KEYS]
    problems += _check_url(settings.get("url"))
    store_code = settings.get("store_code", DEFAULTS["store_code"])
    if not isinstance(store_code, str) or not store_code or not store_code.replace("_", "").isalnum():
        problems.append(("store_code", "must be a store view code (letters, digits, _)"))
    for key in SECRET_KEYS:
        value = settings.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not secrets.is_reference(value):
            problems.append((key, "must be a reference, env:NAME or file:PATH, never the value"))
        elif value in ("env:", "file:"):
            problems.append((key, "the reference names no variable or file"))
    if settings.get("access_token") is None:
        problems.append(("access_token", "is required (an admin or integration access token)"))
    given = [key for key in OAUTH_KEYS if settings.get(key) is not None]
    if given and len(given) != len(OAUTH_KEYS):
        missing = ", ".join(k for k in OAUTH_KEYS if k not in given)
        problems.append(
            (missing, "OAuth signing needs consumer_key, consumer_secret and access_token_secret together")
        )
    for key in ("ready_states", "cancelled_states"):
        value = settings.get(key, DEFAULTS[key])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            problems.append((key, "must be a list of order states"))
    if not settings.get("ready_states", DEFAULTS["ready_states"]):
        problems.append(("ready_states", "must name at least one state"))
    source = settings.get("source_code", DEFAULTS["source_code"])
    if not isinstance(source, str) or not source.strip():
        problems.append(("source_code", "must be an inventory source code"))
    if not isinstance(settings.get("legacy_stock", False), bool):
        problems.append(("legacy_stock", "must be true or false"))
    batch = settings.get("stock_batch_size", DEFAULT_STOCK_BATCH)
    if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= MAX_STOCK_BATCH:
        problems.append(("stock_batch_size", f"must be a whole number from 1 to {MAX_STOCK_BATCH}"))
    timeout = settings.get("timeout_seconds", DEFAULTS["timeout_seconds"])
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 300:
        problems.append(("timeout_seconds", "must be a number of seconds between 0 and 300"))
    problems += tls.check_tls(settings, settings.get("url"))
    return problems


def _check_url(url: Any) -> list[tuple[str, str]]:
    if not isinstance(url, str) or not url.strip():
        return [("url", "is required: the store's base URL, e.g. https://shop.example.com")]
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [("url", "must be an http(s) URL of the store")]
    if parts.username or parts.password or parts.query or parts.fragment:
        return [("url", "must be the plain base URL: no credentials, query or fragment")]
    if "/rest" in parts.path.lower():
        return [("url", "give the store's base URL; bridge adds /rest/<store_code>/V1 itself")]
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        # A Bearer token or an OAuth exchange over plain HTTP can be read on the way.
        return [("url", "must use https (plain http is only allowed on this machine)")]
    return []


