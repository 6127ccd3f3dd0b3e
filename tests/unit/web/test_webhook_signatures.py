"""Each platform's webhook check on the platforms' own documented bodies. The expected
signatures were computed once outside bridge (`openssl dgst -sha256 -hmac SECRET -binary
< BODY | base64`), so the test does not trust bridge's HMAC to check bridge's HMAC."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bridge.carts.bigcommerce import webhooks as bigcommerce
from bridge.carts.shopify import webhooks as shopify
from bridge.carts.webhooks import Forged, signature_matches
from bridge.carts.woocommerce import webhooks as woocommerce

FAKES = Path(__file__).resolve().parents[2] / "fakes"
SECRET = "hush-0001"
# Shopify's REST order (the body of orders/paid) and WooCommerce's order (the body of
# order.updated), each signed with SECRET by openssl.
SHOPIFY_BODY = (FAKES / "shopify" / "rest_order_2025-01.json").read_bytes()
SHOPIFY_SIGNATURE = "fMF3ouG3fmhX8RLs2KEoQO2mHbZWM/yGzpmW6xIJeOg="
WOO_BODY = (FAKES / "woocommerce" / "order.json").read_bytes()
WOO_SIGNATURE = "FZBjshzK1fmcsetnhPTmFPbNd0KL1lL00GnOfPioTwA="
BC_STATUS_UPDATED = (FAKES / "bigcommerce" / "webhook_store_order_statusUpdated.json").read_bytes()
BC_UPDATED = (FAKES / "bigcommerce" / "webhook_store_order_updated.json").read_bytes()


def shopify_headers(**changes: str) -> dict[str, str]:
    headers = {
        "X-Shopify-Topic": "orders/paid",
        "X-Shopify-Hmac-Sha256": SHOPIFY_SIGNATURE,
        "X-Shopify-Shop-Domain": "my-shop.myshopify.com",
        "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        "X-Shopify-Event-Id": "98880550-7158-44d4-b7cd-2c97c8a091b5",
        "X-Shopify-Triggered-At": "2026-12-07T10:00:00.123456789Z",  # nanoseconds, as sent
        "X-Shopify-API-Version": "2026-07",
    }
    headers.update(changes)
    return headers


def woo_headers(**changes: str) -> dict[str, str]:
    headers = {
        "X-WC-Webhook-Source": "https://example.com/",
        "X-WC-Webhook-Topic": "order.updated",
        "X-WC-Webhook-Resource": "order",
        "X-WC-Webhook-Event": "updated",
        "X-WC-Webhook-Signature": WOO_SIGNATURE,
        "X-WC-Webhook-ID": "142",
        "X-WC-Webhook-Delivery-ID": "7d1c0c0c8f3b4f7d9b9c1e2a3b4c5d6e",
    }
    headers.update(changes)
    return headers


# ------------------------------------------------------------------ the shared HMAC

def test_the_hmac_matches_the_one_computed_outside_bridge():
    assert signature_matches(SECRET, SHOPIFY_BODY, SHOPIFY_SIGNATURE)
    assert signature_matches(SECRET, WOO_BODY, WOO_SIGNATURE)


@pytest.mark.parametrize("secret, body, given", [
    ("", SHOPIFY_BODY, SHOPIFY_SIGNATURE),                  # no secret configured
    (SECRET, SHOPIFY_BODY, ""),                             # unsigned
    ("hush-0002", SHOPIFY_BODY, SHOPIFY_SIGNATURE),         # another app's secret
    (SECRET, SHOPIFY_BODY + b" ", SHOPIFY_SIGNATURE),       # body changed by one byte
    (SECRET, SHOPIFY_BODY, SHOPIFY_SIGNATURE.lower()),      # signature mangled
])
def test_anything_but_the_exact_signature_fails(secret, body, given):
    assert not signature_matches(secret, body, given)


# ------------------------------------------------------------------ Shopify

def test_shopify_delivery_is_keyed_by_its_webhook_and_event_ids():
    delivery = shopify.verify(shopify_headers(), SHOPIFY_BODY, SECRET)
    assert delivery.topic == "orders/paid"
    assert delivery.ids == ("webhook:b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
                            "event:98880550-7158-44d4-b7cd-2c97c8a091b5")
    assert delivery.triggered_at == datetime(2026, 12, 7, 10, 0, 0, 123456, tzinfo=UTC)


def test_shopify_header_names_are_matched_without_case():
    lowered = {name.lower(): value for name, value in shopify_headers().items()}
    assert shopify.verify(lowered, SHOPIFY_BODY, SECRET).topic == "orders/paid"


@pytest.mark.parametrize("headers, reason", [
    (shopify_headers(**{"X-Shopify-Hmac-Sha256": "AAAA"}), "X-Shopify-Hmac-Sha256"),
    ({k: v for k, v in shopify_headers().items() if k != "X-Shopify-Hmac-Sha256"},
     "X-Shopify-Hmac-Sha256"),
    (shopify_headers(**{"X-Shopify-Topic": "app/uninstalled"}), "topic"),
])
def test_shopify_refusals_name_what_was_wrong_and_no_secret(headers, reason):
    with pytest.raises(Forged) as refused:
        shopify.verify(headers, SHOPIFY_BODY, SECRET)
    assert reason in str(refused.value)
    assert SECRET not in str(refused.value) and SHOPIFY_SIGNATURE not in str(refused.value)


def test_shopify_secret_defaults_to_the_apps_client_secret():
    assert shopify.secret_reference({"client_secret": "env:A"}) == "env:A"
    assert shopify.secret_reference({"client_secret": "env:A", "webhook_secret": "env:B"}) == "env:B"
    assert shopify.secret_reference({"access_token": "env:T"}) == ""


# ------------------------------------------------------------------ WooCommerce

def test_woocommerce_delivery_is_keyed_by_its_delivery_id():
    delivery = woocommerce.verify(woo_headers(), WOO_BODY, SECRET)
    assert delivery.topic == "order.updated"
    assert delivery.ids == ("delivery:7d1c0c0c8f3b4f7d9b9c1e2a3b4c5d6e",)
    assert not delivery.ping


def test_woocommerce_ping_on_activation_is_answered_without_a_signature():
    # WC_Webhook::deliver_ping posts `webhook_id=<id>` as a form, with no signature.
    delivery = woocommerce.verify({"Content-Type": "application/x-www-form-urlencoded"},
                                  b"webhook_id=142", SECRET)
    assert delivery.ping and delivery.ids == ()


@pytest.mark.parametrize("headers, body", [
    (woo_headers(**{"X-WC-Webhook-Signature": "B" + WOO_SIGNATURE[1:]}), WOO_BODY),
    ({k: v for k, v in woo_headers().items() if k != "X-WC-Webhook-Signature"}, WOO_BODY),
    (woo_headers(**{"X-WC-Webhook-Topic": "product.updated"}), WOO_BODY),
    # A ping's form with a signature header is not a ping: checked like any delivery.
    (woo_headers(), b"webhook_id=142"),
    ({}, b"webhook_id=142&order=1"),
])
def test_woocommerce_refuses_what_is_not_signed_or_not_an_order(headers, body):
    with pytest.raises(Forged):
        woocommerce.verify(headers, body, SECRET)


# ------------------------------------------------------------------ BigCommerce

def test_bigcommerce_documented_payloads_are_keyed_by_their_hash():
    header = {bigcommerce.SECRET_HEADER: SECRET}
    status = bigcommerce.verify(header, BC_STATUS_UPDATED, SECRET)
    updated = bigcommerce.verify(header, BC_UPDATED, SECRET)
    assert status.topic == "store/order/statusUpdated"
    assert status.ids == (f"hash:{json.loads(BC_STATUS_UPDATED)['hash']}",)
    assert updated.topic == "store/order/updated"
    assert updated.ids == ("hash:0f1b5800def7b505369b08b4a3503a1db2c4b1a6",)


@pytest.mark.parametrize("headers, body, secret", [
    ({}, BC_STATUS_UPDATED, SECRET),
    ({bigcommerce.SECRET_HEADER: "hush-0002"}, BC_STATUS_UPDATED, SECRET),
    ({bigcommerce.SECRET_HEADER: ""}, BC_STATUS_UPDATED, ""),      # nothing configured
    ({bigcommerce.SECRET_HEADER: SECRET}, b"not json", SECRET),
    ({bigcommerce.SECRET_HEADER: SECRET}, b'{"scope": "store/product/updated"}', SECRET),
])
def test_bigcommerce_refuses_without_the_registered_header(headers, body, secret):
    with pytest.raises(Forged):
        bigcommerce.verify(headers, body, secret)
