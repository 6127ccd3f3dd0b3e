"""Shopify's webhooks: checking a delivery, and the subscriptions bridge registers.

A delivery is signed in `X-Shopify-Hmac-Sha256`: base64 HMAC-SHA256 of the raw body with
the app's client secret (`webhook_secret`, else `client_secret`). A retry keeps its
`X-Shopify-Webhook-Id`; one event delivered to several topics keeps its
`X-Shopify-Event-Id`: either seen before is a duplicate. Shopify retries for about
4 hours with the original payload and its `X-Shopify-Triggered-At`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bridge.carts.shopify.client import ShopifyHttp
from bridge.carts.webhooks import Delivery, Forged, Subscription, lower_headers, signature_matches

PLATFORM = "shopify"
# Paid: the moment an order can go; updated: edits and late payment; cancelled: to stop it.
TOPICS = ("ORDERS_PAID", "ORDERS_UPDATED", "ORDERS_CANCELLED")
HEADER_TOPICS = frozenset({"orders/paid", "orders/updated", "orders/cancelled",
                           "orders/create", "orders/edited"})

_LIST = """
query Subscriptions($topics: [WebhookSubscriptionTopic!]) {
  webhookSubscriptions(first: 100, topics: $topics) {
    nodes { id topic uri }
  }
}"""

_CREATE = """
mutation Subscribe($topic: WebhookSubscriptionTopic!, $input: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $input) {
    webhookSubscription { id topic uri }
    userErrors { field message }
  }
}"""


def secret_reference(settings: Mapping[str, Any]) -> str:
    return str(settings.get("webhook_secret") or settings.get("client_secret") or "")


def verify(headers: Mapping[str, str], body: bytes, secret: str) -> Delivery:
    found = lower_headers(headers)
    if not signature_matches(secret, body, found.get("x-shopify-hmac-sha256", "")):
        raise Forged("X-Shopify-Hmac-Sha256 missing or not signed with the app's secret")
    topic = found.get("x-shopify-topic", "")
    if topic not in HEADER_TOPICS:
        raise Forged(f"topic {topic[:40]!r} is not one bridge subscribes to")
    ids = tuple(f"{kind}:{value}" for kind, value in (
        ("webhook", found.get("x-shopify-webhook-id", "")),
        ("event", found.get("x-shopify-event-id", ""))) if value)
    return Delivery(topic=topic, ids=ids, triggered_at=_timestamp(found.get("x-shopify-triggered-at")))


def _timestamp(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def subscriptions(http: ShopifyHttp) -> list[Subscription]:
    data = http.graphql(_LIST, {"topics": list(TOPICS)}, cost=12)
    nodes = ((data.get("webhookSubscriptions") or {}).get("nodes")) or []
    return [Subscription(id=str(node["id"]), topic=str(node["topic"]), address=str(node.get("uri") or ""))
            for node in nodes]


def register(http: ShopifyHttp, address: str) -> list[tuple[Subscription, bool]]:
    """Each topic subscribed at `address`, created unless it already is; (subscription,
    created) per topic."""
    existing = {(s.topic, s.address): s for s in subscriptions(http)}
    done = []
    for topic in TOPICS:
        if (topic, address) in existing:
            done.append((existing[(topic, address)], False))
            continue
        data = http.graphql(_CREATE, {"topic": topic, "input": {"uri": address, "format": "JSON"}},
                            cost=10, write=True)
        payload = data.get("webhookSubscriptionCreate") or {}
        errors = payload.get("userErrors") or []
        if errors:
            raise ValueError(f"Shopify refused the {topic} subscription: "
                             + "; ".join(str(e.get("message")) for e in errors))
        node = payload["webhookSubscription"]
        done.append((Subscription(id=str(node["id"]), topic=str(node["topic"]),
                                  address=str(node.get("uri") or address)), True))
    return done
