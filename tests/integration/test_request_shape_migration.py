"""A ledger row saved with Amazon's createFulfillmentOrder body (the earlier shape) is
converted by migration 0007, and submit then sends the very same body."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa

from bridge.domain.fulfillment import FulfillmentOrderRequest
from bridge.fba.outbound_mapping import create_order_body
from bridge.ledger import migrate
from bridge.ledger.db import make_engine

AMAZON_BODY = {
    "sellerFulfillmentOrderId": "DEMO-1001",
    "displayableOrderId": "#1001",
    "displayableOrderDate": "2026-11-30T10:15:00Z",
    "displayableOrderComment": "Thank you for your order #1001.",
    "shippingSpeedCategory": "Standard",
    "destinationAddress": {"name": "Ava Johnson", "addressLine1": "1200 Pine St",
                           "city": "Seattle", "stateOrRegion": "WA", "postalCode": "98101",
                           "countryCode": "US"},
    "fulfillmentAction": "Ship",
    "fulfillmentPolicy": "FillOrKill",
    "items": [{"sellerSku": "MUG-BLUE", "sellerFulfillmentOrderItemId": "L1", "quantity": 2}],
    "notificationEmails": ["ava@example.com"],
}


def test_an_earlier_amazon_shaped_request_is_converted_and_sends_the_same_body(tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    migrate.upgrade(url, revision="0006")
    engine = make_engine(url)
    now = datetime(2026, 11, 30, 10, 16, tzinfo=UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO orders (storefront, cart_order_id, number, snapshot, content_hash, state, "
            "seller_fulfillment_order_id, request, amazon_status, attempts, attention_reason, "
            "last_error, cart_updated_at, created_at, updated_at, state_changed_at) VALUES "
            "('demo', '1001', '#1001', '{}', 'h', 'ready', 'DEMO-1001', :request, '', 0, '', '', "
            ":now, :now, :now, :now)"), {"request": json.dumps(AMAZON_BODY), "now": now})
    engine.dispose()
    migrate.upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT request FROM orders")).scalar_one()
    engine.dispose()
    request = FulfillmentOrderRequest.from_json(json.loads(stored))
    assert create_order_body(request) == AMAZON_BODY
