"""The `[cart]` table of a Shopify storefront, checked and normalised.

    [cart]
    platform = "shopify"
    shop = "my-shop.myshopify.com"            # or a base URL (a local test double)
    api_version = "2026-07"
    access_token = "env:SHOP_TOKEN"           # an admin API token (shpat_…), or instead:
    client_id = "…"                           # client-credentials grant: tokens that expire
    client_secret = "env:SHOP_CLIENT_SECRET"
    webhook_secret = "env:SHOP_APP_SECRET"    # optional: the app's client secret that signs
                                              # webhooks (default: client_secret)
    location_id = "gid://shopify/Location/123" # the location assigned to Amazon fulfilment
    paid_statuses = ["PAID"]
    notify_customer = true                    # optional; default: the storefront's policy
    ca_bundle = "/etc/bridge/shop-ca.pem"     # optional: trust this CA file (PEM) for the shop
    verify = false                            # optional; only for a shop on the loopback
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bridge import secrets
from bridge.carts import tls
from bridge.carts.contract import SecretResolver
from bridge.errors import ConfigError

# The version every query and mutation of this adapter was checked against (its
# published schema). Shopify keeps a stable version for about a year.
DEFAULT_API_VERSION = "2026-07"
# `changeFromQuantity` and the @idempotent directive on inventorySetQuantities exist from here on.
OLDEST_API_VERSION = "2026-04"

# Order.displayFinancialStatus values (OrderDisplayFinancialStatus in the schema).
FINANCIAL_STATUSES = frozenset({
    "AUTHORIZED", "EXPIRED", "PAID", "PARTIALLY_PAID", "PARTIALLY_REFUNDED",
    "PENDING", "REFUNDED", "VOIDED",
})

KEYS = frozenset({
    "platform", "shop", "api_version", "access_token", "client_id", "client_secret",
    "location_id", "paid_statuses", "notify_customer", "timeout_seconds", "webhook_secret",
    *tls.KEYS,
})

_SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")
_API_VERSION = re.compile(r"^20\d\d-(01|04|07|10)$")
_LOCATION_GID = re.compile(r"^gid://shopify/Location/\d+$")
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class ShopifySettings:
    base_url: str              # https://my-shop.myshopify.com (no trailing slash)
    api_version: str
    location_id: str           # a Location GID
    paid_statuses: frozenset[str]
    notify_customer: bool | None
    access_token: str = ""     # resolved secret; empty when the grant is used
    client_id: str = ""
    client_secret: str = ""    # resolved secret
    timeout_seconds: float = 20.0
    verify: bool = True
    ca_bundle: str | None = None

    @property
    def graphql_url(self) -> str:
        return f"{self.base_url}/admin/api/{self.api_version}/graphql.json"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/admin/oauth/access_token"

    @property
    def uses_client_credentials(self) -> bool:
        return bool(self.client_id and self.client_secret)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], secret: SecretResolver) -> ShopifySettings:
        problems = check_settings(settings)
        if problems:
            raise ConfigError([("-", f"cart.{key}", what) for key, what in problems])
        token_ref = settings.get("access_token") or ""
        secret_ref = settings.get("client_secret") or ""
        return cls(
            base_url=shop_base_url(settings["shop"]),
            api_version=settings.get("api_version", DEFAULT_API_VERSION),
            location_id=location_gid(settings["location_id"]),
            paid_statuses=frozenset(s.upper() for s in settings.get("paid_statuses", ["PAID"])),
            notify_customer=settings.get("notify_customer"),
            access_token=_resolve(secret, token_ref, "access_token") if token_ref else "",
            client_id=settings.get("client_id") or "",
            client_secret=_resolve(secret, secret_ref, "client_secret") if secret_ref else "",
            timeout_seconds=float(settings.get("timeout_seconds", 20.0)),
            **tls.tls_options(settings),
        )


def _resolve(secret: SecretResolver, reference: str, key: str) -> str:
    try:
        return secret(reference)
    except ValueError as exc:
        raise ConfigError([("-", f"cart.{key}", str(exc))]) from None


def shop_base_url(shop: str) -> str:
    """`my-shop.myshopify.com` → https://my-shop.myshopify.com; a URL is kept as given."""
    shop = shop.strip().rstrip("/")
    if "://" in shop:
        return shop
    return f"https://{shop.lower()}"


def location_gid(value: str | int) -> str:
    """A Location id as Shopify's GraphQL API names it; a bare number is accepted."""
    text = str(value).strip()
    return f"gid://shopify/Location/{text}" if text.isdigit() else text


def check_settings(settings: Mapping[str, Any]) -> list[tuple[str, str]]:
    if not isinstance(settings, Mapping):
        return [("-", "must be a table")]
    problems = [(str(key), "unknown key") for key in settings if key not in KEYS]
    problems += _check_shop(settings.get("shop"))
    version = settings.get("api_version", DEFAULT_API_VERSION)
    if not isinstance(version, str) or not _API_VERSION.match(version):
        problems.append(("api_version", "must be a stable Shopify API version such as 2026-07"))
    elif version < OLDEST_API_VERSION:
        problems.append(("api_version", f"must be {OLDEST_API_VERSION} or later: bridge's stock "
                         "update uses the inventory input of that version"))
    problems += _check_credentials(settings)
    location = settings.get("location_id")
    if location is None or location == "":
        problems.append(("location_id", "is required: the location whose fulfillment orders Amazon ships"))
    elif isinstance(location, bool) or not isinstance(location, (str, int)) or not _LOCATION_GID.match(
        location_gid(location)
    ):
        problems.append(("location_id", "must be a Location id: gid://shopify/Location/123 or 123"))
    statuses = settings.get("paid_statuses", ["PAID"])
    if not isinstance(statuses, list) or not statuses or not all(isinstance(s, str) for s in statuses):
        problems.append(("paid_statuses", "must be a non-empty list of financial statuses"))
    else:
        unknown = sorted({s for s in statuses if s.upper() not in FINANCIAL_STATUSES})
        if unknown:
            problems.append(("paid_statuses", f"unknown status {', '.join(unknown)}; known: "
                             f"{', '.join(sorted(FINANCIAL_STATUSES))}"))
    notify = settings.get("notify_customer")
    if notify is not None and not isinstance(notify, bool):
        problems.append(("notify_customer", "must be true or false"))
    timeout = settings.get("timeout_seconds", 20)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 300:
        problems.append(("timeout_seconds", "must be a number of seconds between 0 and 300"))
    shop = settings.get("shop")
    problems += tls.check_tls(settings, shop_base_url(shop) if isinstance(shop, str) else None)
    return problems


def _check_shop(shop: Any) -> list[tuple[str, str]]:
    if not isinstance(shop, str) or not shop.strip():
        return [("shop", "is required: the shop's my-shop.myshopify.com domain")]
    shop = shop.strip().rstrip("/")
    if "://" not in shop:
        if not _SHOP_DOMAIN.match(shop.lower()):
            return [("shop", "must be the shop's permanent domain, like my-shop.myshopify.com")]
        return []
    parts = urlsplit(shop)
    if parts.scheme == "https" and parts.hostname:
        return []
    if parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS:
        return []  # a local test double; tokens never leave the machine
    return [("shop", "a URL must use https (plain http only on the loopback)")]


def _check_credentials(settings: Mapping[str, Any]) -> list[tuple[str, str]]:
    problems = []
    for key in ("access_token", "client_secret", "webhook_secret"):
        value = settings.get(key)
        if value in (None, ""):
            continue
        if not isinstance(value, str) or not secrets.is_reference(value):
            problems.append((key, "secrets must be given as env:NAME or file:PATH, not inline"))
        elif value in ("env:", "file:"):
            problems.append((key, "the reference names no variable or file"))
    client_id = settings.get("client_id")
    if client_id not in (None, "") and not isinstance(client_id, str):
        problems.append(("client_id", "must be a string"))
    has_token = bool(settings.get("access_token"))
    has_id, has_secret = bool(client_id), bool(settings.get("client_secret"))
    if has_id != has_secret:
        missing = "client_secret" if has_id else "client_id"
        problems.append((missing, "client_id and client_secret go together (client-credentials grant)"))
    elif not has_token and not has_id:
        problems.append(("access_token", "is required (or client_id and client_secret)"))
    return problems
