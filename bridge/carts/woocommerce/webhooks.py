"""WooCommerce's webhooks: checking a delivery, and the webhooks bridge registers.

A delivery is signed in `X-WC-Webhook-Signature`: base64 HMAC-SHA256 of the raw body with
the webhook's secret (`webhook_secret`, given to WooCommerce when bridge creates the
webhook). Each delivery has its `X-WC-Webhook-Delivery-ID`. When a webhook is saved
active, WooCommerce first posts a ping, `webhook_id=<id>` as a form and unsigned, and
keeps the webhook only if it is answered with a 2xx; the ping carries nothing to act on."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bridge.carts.webhooks import Delivery, Forged, Subscription, lower_headers, signature_matches
from bridge.carts.woocommerce.client import MAX_PAGES, WooHttp, json_of, total_pages
from bridge.carts.woocommerce.paging import MAX_PER_PAGE

PLATFORM = "woocommerce"
TOPICS = ("order.created", "order.updated")
_PING = re.compile(rb"^webhook_id=\d{1,20}$")
_API = "wp-json/wc/v3"


def secret_reference(settings: Mapping[str, Any]) -> str:
    return str(settings.get("webhook_secret") or "")


def verify(headers: Mapping[str, str], body: bytes, secret: str) -> Delivery:
    found = lower_headers(headers)
    signature = found.get("x-wc-webhook-signature", "")
    if not signature and _PING.match(body.strip()):
        return Delivery(topic="ping", ping=True)
    if not signature_matches(secret, body, signature):
        raise Forged("X-WC-Webhook-Signature missing or not signed with the webhook's secret")
    topic = found.get("x-wc-webhook-topic", "")
    if topic not in TOPICS:
        raise Forged(f"topic {topic[:40]!r} is not one bridge subscribes to")
    delivery = found.get("x-wc-webhook-delivery-id", "")
    return Delivery(topic=topic, ids=(f"delivery:{delivery}",) if delivery else ())


def subscriptions(http: WooHttp) -> list[Subscription]:
    found: list[Subscription] = []
    for page in range(1, MAX_PAGES + 1):
        response, rows = http.get_json(f"{_API}/webhooks",
                                       params={"per_page": MAX_PER_PAGE, "page": page})
        rows = rows or []
        found += [Subscription(id=str(row["id"]), topic=str(row.get("topic", "")),
                               address=str(row.get("delivery_url", "")),
                               active=row.get("status") == "active") for row in rows]
        if len(rows) < MAX_PER_PAGE or page >= total_pages(response):
            break
    return found


def register(http: WooHttp, address: str, secret: str) -> list[tuple[Subscription, bool]]:
    """Each topic delivered to `address`, signed with `secret`, created unless an active
    webhook already is (WooCommerce cannot show a webhook's secret, so one created by
    hand must have been given the same secret)."""
    existing = {(s.topic, s.address): s for s in subscriptions(http) if s.active}
    done = []
    for topic in TOPICS:
        if (topic, address) in existing:
            done.append((existing[(topic, address)], False))
            continue
        response = http.request("POST", f"{_API}/webhooks", json={
            "name": f"bridge {topic}", "topic": topic, "delivery_url": address,
            "secret": secret, "status": "active"})
        row = json_of(response) or {}
        done.append((Subscription(id=str(row.get("id", "")), topic=str(row.get("topic", topic)),
                                  address=str(row.get("delivery_url", address)),
                                  active=row.get("status", "active") == "active"), True))
    return done
