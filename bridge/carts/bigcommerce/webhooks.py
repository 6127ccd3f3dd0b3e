"""BigCommerce's webhooks: checking a delivery, and the hooks bridge registers.

BigCommerce signs no store-level hook: bridge registers each hook with a custom header
holding a secret of its own (`webhook_secret`), which BigCommerce sends back with every
delivery, and compares it in constant time. A payload is light (`scope`, `data.id`, a
`hash` that is the same for every retry of one event), so there is nothing in it to
trust but the storefront it was sent for."""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from typing import Any

from bridge.carts.bigcommerce.client import BigCommerceHttp, v3_list
from bridge.carts.webhooks import Delivery, Forged, Subscription, lower_headers

PLATFORM = "bigcommerce"
SCOPES = ("store/order/created", "store/order/updated", "store/order/statusUpdated")
SECRET_HEADER = "X-Bridge-Webhook-Secret"


def secret_reference(settings: Mapping[str, Any]) -> str:
    return str(settings.get("webhook_secret") or "")


def verify(headers: Mapping[str, str], body: bytes, secret: str) -> Delivery:
    given = lower_headers(headers).get(SECRET_HEADER.lower(), "")
    if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
        raise Forged(f"{SECRET_HEADER} missing or not the registered secret")
    try:
        payload = json.loads(body)
    except ValueError:
        raise Forged("the body is not JSON") from None
    scope = payload.get("scope") if isinstance(payload, dict) else None
    if scope not in SCOPES:
        raise Forged(f"scope {str(scope)[:40]!r} is not one bridge subscribes to")
    digest = payload.get("hash")
    return Delivery(topic=scope, ids=(f"hash:{digest}",) if isinstance(digest, str) and digest else ())


def subscriptions(http: BigCommerceHttp) -> list[Subscription]:
    rows = v3_list(http, "/v3/hooks", {"limit": 250}, "the list of webhooks")
    return [Subscription(id=str(row["id"]), topic=str(row.get("scope", "")),
                         address=str(row.get("destination", "")),
                         active=bool(row.get("is_active"))) for row in rows]


def register(http: BigCommerceHttp, address: str, secret: str) -> list[tuple[Subscription, bool]]:
    """Each scope delivered to `address` with the secret header, created unless an
    active hook already is; an inactive one (BigCommerce deactivates a hook that kept
    failing) is switched back on with the header set again."""
    existing = {(s.topic, s.address): s for s in subscriptions(http)}
    headers = {SECRET_HEADER: secret}
    done = []
    for scope in SCOPES:
        hook = existing.get((scope, address))
        if hook is not None and hook.active:
            done.append((hook, False))
            continue
        body = {"scope": scope, "destination": address, "is_active": True, "headers": headers}
        if hook is not None:
            response = http.request("PUT", f"/v3/hooks/{hook.id}", json=body)
        else:
            response = http.request("POST", "/v3/hooks", json=body)
        row = (http.read_json(response) or {}).get("data") or {}
        done.append((Subscription(id=str(row.get("id", "")), topic=str(row.get("scope", scope)),
                                  address=str(row.get("destination", address)),
                                  active=bool(row.get("is_active", True))), True))
    return done
