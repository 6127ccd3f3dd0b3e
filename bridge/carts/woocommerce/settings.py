"""The `[cart]` table of a WooCommerce storefront: which keys exist, their defaults, and
every problem with a given table, as (key, what is wrong).

The consumer key and secret travel in an HTTP Basic header, so the store must be
reached over HTTPS; plain `http://` is refused except on the loopback (local fakes and
tests), where nothing crosses a network."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bridge import secrets
from bridge.carts import tls
from bridge.net import is_loopback_host

TRACKING_MODES = ("shipment-tracking", "notes")
DEFAULT_READY = ("processing",)
DEFAULT_CANCELLED = ("cancelled", "refunded", "failed")
DEFAULT_TIMEOUT = 30.0

KNOWN_KEYS = frozenset({
    "platform", "url", "consumer_key", "consumer_secret", "ready_statuses",
    "cancelled_statuses", "tracking", "complete_when_shipped", "timeout_seconds",
    "webhook_secret", *tls.KEYS,
})


@dataclass(frozen=True)
class WooSettings:
    url: str
    consumer_key_ref: str
    consumer_secret_ref: str
    ready_statuses: tuple[str, ...] = DEFAULT_READY
    cancelled_statuses: tuple[str, ...] = DEFAULT_CANCELLED
    tracking: str = "shipment-tracking"
    complete_when_shipped: bool = True
    timeout_seconds: float = DEFAULT_TIMEOUT
    verify: bool = True
    ca_bundle: str | None = None

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any]) -> WooSettings:
        """Build from a table `check_settings` found no problem with."""
        return cls(
            url=settings["url"].rstrip("/"),
            consumer_key_ref=settings["consumer_key"],
            consumer_secret_ref=settings["consumer_secret"],
            ready_statuses=_statuses(settings.get("ready_statuses", DEFAULT_READY)),
            cancelled_statuses=_statuses(settings.get("cancelled_statuses", DEFAULT_CANCELLED)),
            tracking=settings.get("tracking", "shipment-tracking"),
            complete_when_shipped=settings.get("complete_when_shipped", True),
            timeout_seconds=float(settings.get("timeout_seconds", DEFAULT_TIMEOUT)),
            **tls.tls_options(settings),
        )


def _statuses(values) -> tuple[str, ...]:
    # WooCommerce reports statuses without the `wc-` prefix its database uses.
    return tuple(v.strip().lower().removeprefix("wc-") for v in values)


def check_settings(settings: Mapping[str, Any]) -> list[tuple[str, str]]:
    if not isinstance(settings, Mapping):
        return [("-", "must be a table")]
    problems: list[tuple[str, str]] = [
        (str(key), "unknown key") for key in settings if key not in KNOWN_KEYS
    ]
    problems += check_store_url(settings.get("url"))
    for key in ("consumer_key", "consumer_secret"):
        problems += _check_reference(key, settings.get(key))
    if settings.get("webhook_secret") not in (None, ""):  # optional: only for webhooks
        problems += _check_reference("webhook_secret", settings.get("webhook_secret"))
    problems += _check_status_lists(settings)
    tracking = settings.get("tracking", "shipment-tracking")
    if tracking not in TRACKING_MODES:
        problems.append(("tracking", f"must be one of {', '.join(repr(m) for m in TRACKING_MODES)}"))
    if not isinstance(settings.get("complete_when_shipped", True), bool):
        problems.append(("complete_when_shipped", "must be true or false"))
    timeout = settings.get("timeout_seconds", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 300:
        problems.append(("timeout_seconds", "must be a number of seconds between 0 and 300"))
    problems += tls.check_tls(settings, settings.get("url"))
    return problems


def check_store_url(url: Any) -> list[tuple[str, str]]:
    if url is None or url == "":
        return [("url", "is required: the store's base URL, e.g. https://shop.example.com")]
    if not isinstance(url, str):
        return [("url", "must be a string")]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [("url", "must be an https:// URL of the store, e.g. https://shop.example.com")]
    if parts.username or parts.password:
        return [("url", "must not carry credentials; use consumer_key and consumer_secret")]
    if parts.query or parts.fragment:
        return [("url", "must be the store's base URL, without ?query or #fragment")]
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        return [("url", "plain http:// is refused: WooCommerce keys would cross the network "
                        "in clear text; use https://")]
    return []




def _check_reference(key: str, value: Any) -> list[tuple[str, str]]:
    if value is None or value == "":
        return [(key, "is required: give it as env:NAME or file:PATH")]
    if not isinstance(value, str) or not secrets.is_reference(value):
        # The value itself is never echoed: it may be the secret pasted inline.
        return [(key, "must be a reference (env:NAME or file:PATH), not the value itself")]
    if value in ("env:", "file:"):
        return [(key, "the reference names no variable or file")]
    return []


def _check_status_lists(settings: Mapping[str, Any]) -> list[tuple[str, str]]:
    problems = []
    lists = {}
    for key, default in (("ready_statuses", DEFAULT_READY), ("cancelled_statuses", DEFAULT_CANCELLED)):
        values = settings.get(key, list(default))
        if not isinstance(values, (list, tuple)) or not all(
            isinstance(v, str) and v.strip() for v in values
        ):
            problems.append((key, "must be a list of order status names"))
            continue
        if not values and key == "ready_statuses":
            problems.append((key, "must name at least one status (usually \"processing\")"))
        lists[key] = set(_statuses(values))
    both = lists.get("ready_statuses", set()) & lists.get("cancelled_statuses", set())
    if both:
        problems.append(("cancelled_statuses", f"shares {', '.join(sorted(both))} with ready_statuses"))
    return problems
