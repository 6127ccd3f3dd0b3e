"""bridge's FulfillmentOrderRequest → Amazon's createFulfillmentOrder body, written out."""

from datetime import UTC, datetime, timedelta, timezone

from bridge.domain.fulfillment import FulfillmentOrderRequest, RequestedItem
from bridge.domain.mapping import MappingPolicy, build_fulfillment_request
from bridge.domain.model import Address, CartLine, CartOrder
from bridge.domain.skus import SkuMap
from bridge.fba.outbound_mapping import create_order_body

FULL = FulfillmentOrderRequest(
    seller_fulfillment_order_id="DEMO-1001",
    displayable_id="#1001",
    displayable_date=datetime(2026, 11, 1, 14, 30, 5, 123456, tzinfo=timezone(timedelta(hours=2))),
    comment="Thanks for order #1001",
    shipping_speed="Expedited",
    destination=Address(name="Ava Johnson", line1="12 Main St", line2="Apt 4", line3="c/o Bob",
                        city="Seattle", state="WA", postal_code="98101", country_code="US",
                        phone="+1 206 555 0100"),
    fulfillment_policy="FillOrKill",
    items=(RequestedItem("FBA-A", "L1_k0", 6), RequestedItem("FBA-B", "L2", 1)),
    notification_emails=("ava@example.com",),
)


def test_a_full_request_gives_every_field_of_the_body():
    assert create_order_body(FULL) == {
        "sellerFulfillmentOrderId": "DEMO-1001",
        "displayableOrderId": "#1001",
        "displayableOrderDate": "2026-11-01T12:30:05Z",
        "displayableOrderComment": "Thanks for order #1001",
        "shippingSpeedCategory": "Expedited",
        "destinationAddress": {
            "name": "Ava Johnson",
            "addressLine1": "12 Main St",
            "addressLine2": "Apt 4",
            "addressLine3": "c/o Bob",
            "city": "Seattle",
            "stateOrRegion": "WA",
            "postalCode": "98101",
            "countryCode": "US",
            "phone": "+1 206 555 0100",
        },
        "fulfillmentAction": "Ship",
        "fulfillmentPolicy": "FillOrKill",
        "items": [
            {"sellerSku": "FBA-A", "sellerFulfillmentOrderItemId": "L1_k0", "quantity": 6},
            {"sellerSku": "FBA-B", "sellerFulfillmentOrderItemId": "L2", "quantity": 1},
        ],
        "notificationEmails": ["ava@example.com"],
    }


def test_empty_address_fields_and_no_email_are_left_out():
    order = CartOrder(
        order_id="1002", number="#1002", created_at=datetime(2026, 11, 2, 8, 0, tzinfo=UTC),
        updated_at=datetime(2026, 11, 2, 8, 0, tzinfo=UTC), paid=True, cancelled=False,
        lines=(CartLine("L1", "CART-A", 2), CartLine("L2", "GIFT", 1, False)),
        address=Address(name=" Ava Johnson ", line1="12 Main St", line2="  ", city="Seattle",
                        state="WA", postal_code="98101", country_code="us", phone=""),
        shipping_method="ground", email="",
    )
    policy = MappingPolicy(sku_map=SkuMap.from_config({"CART-A": "FBA-A"}),
                           speed_for=lambda method: "Standard", fulfillment_policy="FillAllAvailable",
                           comment_template="Thanks for order {number}")
    request = build_fulfillment_request(order, "DEMO-1002", policy).request

    assert create_order_body(request) == {
        "sellerFulfillmentOrderId": "DEMO-1002",
        "displayableOrderId": "#1002",
        "displayableOrderDate": "2026-11-02T08:00:00Z",
        "displayableOrderComment": "Thanks for order #1002",
        "shippingSpeedCategory": "Standard",
        "destinationAddress": {
            "name": "Ava Johnson",
            "addressLine1": "12 Main St",
            "city": "Seattle",
            "stateOrRegion": "WA",
            "postalCode": "98101",
            "countryCode": "US",
        },
        "fulfillmentAction": "Ship",
        "fulfillmentPolicy": "FillAllAvailable",
        "items": [{"sellerSku": "FBA-A", "sellerFulfillmentOrderItemId": "L1", "quantity": 2}],
    }


def test_a_request_on_hold_asks_amazon_to_hold_it():
    held = FulfillmentOrderRequest(**{**FULL.__dict__, "hold": True})
    assert create_order_body(held)["fulfillmentAction"] == "Hold"


def test_the_saved_json_reads_back_to_the_same_request_and_body():
    saved = FULL.to_json()
    assert saved["destination"]["city"] == "Seattle"
    again = FulfillmentOrderRequest.from_json(saved)
    assert again == FULL
    assert create_order_body(again) == create_order_body(FULL)
