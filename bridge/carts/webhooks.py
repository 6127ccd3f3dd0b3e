"""What every platform's webhook receiver shares: a checked delivery, the refusal of one
that is not the platform's, the base64 HMAC-SHA256 that Shopify and WooCommerce sign
with, and a subscription as each platform lists it.

A verified delivery says only "this storefront changed": bridge reads the order through
the platform's API as on any poll, so nothing in a webhook's body is ever trusted."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime


class Forged(Exception):
    """A request that cannot be shown to come from the platform (missing or wrong
    signature or secret, or the form of another platform's hook). The text names what
    was wrong, never a secret or a signature."""


@dataclass(frozen=True)
class Delivery:
    """A delivery whose origin was verified. `ids` are the keys it is deduplicated by
    (a retry carries the same ones); `ping` is a platform's test call that asks for a
    2xx and nothing else; `triggered_at` is when the platform says the event happened,
    where it says so."""

    topic: str
    ids: tuple[str, ...] = ()
    ping: bool = False
    triggered_at: datetime | None = None


@dataclass(frozen=True)
class Subscription:
    """A webhook subscription as the platform lists it."""

    id: str
    topic: str
    address: str
    active: bool = True


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Header names compared without case, as HTTP defines them."""
    return {name.lower(): value for name, value in headers.items()}


def hmac_sha256_base64(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def signature_matches(secret: str, body: bytes, given: str) -> bool:
    """The base64 HMAC-SHA256 of `body` with `secret`, compared in constant time."""
    if not secret or not given:
        return False
    return hmac.compare_digest(hmac_sha256_base64(secret, body).encode(), given.strip().encode())


def join_url(base: str, storefront: str, platform: str) -> str:
    """The receiver's public address for a storefront: BASE/webhooks/<storefront>/<platform>."""
    return f"{base.rstrip('/')}/webhooks/{storefront}/{platform}"
