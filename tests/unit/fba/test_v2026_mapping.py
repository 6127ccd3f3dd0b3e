"""v2026-07-04 payloads ↔ the domain: the createOrder body (valid per the model) and
statuses read back in the words services act on."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bridge.domain.fulfillment import FulfillmentOrderRequest, RequestedItem
from bridge.domain.model import Address
from bridge.errors import MalformedAnswer, NeedsAttentionError
from bridge.fba.v2026 import mapping

V26 = "fulfillmentOutbound_2026-07-04"
RECEIVED_AT = "2026-11-20T10:00:05Z"


def request(**changes) -> FulfillmentOrderRequest:
    fields = dict(
        seller_fulfillment_order_id="demo-1001", displayable_id="1001",
        displayable_date=datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
        comment="Thank you for your order 1001.", shipping_speed="Expedited",
        destination=Address(name="Jane Doe", line1="1 Main St", city="Seattle", state="WA",
                            postal_code="98101", country_code="US"),
        fulfillment_policy="FillAllAvailable", items=(RequestedItem("SKU-1", "1001-1", 2),),
        notification_emails=("jane@example.com",))
    fields.update(changes)
    return FulfillmentOrderRequest(**fields)


def order(status: str = "PROCESSING", **changes) -> dict:
    body = {
        "orderId": "demo-1001", "receiveTime": RECEIVED_AT, "status": status,
        "statusUpdateTime": RECEIVED_AT,
        "fulfillmentConfiguration": {"serviceLevel": {"serviceTiers": ["EXPEDITED"]},
                                     "action": "SHIP", "policy": "FILL_OR_KILL"},
        "destination": {"deliveryAddress": {"name": "Jane Doe", "addressLine1": "1 Main St",
                                            "postalCode": "98101", "countryCode": "US"}},
        "lineItems": [{"lineItemId": "1001-1",
                       "product": {"productIdentifier": {"amazonSku": "SKU-1"}},
                       "amount": {"unit": "EACHES", "value": "3.0"},
                       "cancelledAmount": {"unit": "EACHES", "value": "1.0"},
                       "unfulfillableAmount": {"unit": "EACHES", "value": "0"}}],
    }
    body.update(changes)
    return body


def test_create_body_is_valid_per_the_model_and_carries_everything(models):
    body = mapping.create_order_body(request(hold=True, features=("BLANK_BOX",)),
                                     "ATVPDKIKX0DER")
    models.validate(V26, "CreateOrderRequest", body)
    assert body["orderId"] == "demo-1001"
    assert body["origin"] == {"countryCode": "US"}
    configuration = body["fulfillmentConfiguration"]
    assert configuration["serviceLevel"] == {"serviceTiers": ["EXPEDITED"]}
    assert (configuration["action"], configuration["policy"]) == ("HOLD", "FILL_ALL_AVAILABLE")
    packaging = configuration["services"]["packaging"]
    assert packaging["packagingOption"] == "UNBRANDED"
    assert packaging["packingSlip"]["templateAttributes"] == {
        "orderId": "1001", "orderTime": "2026-11-20T10:00:00Z",
        "orderText": "Thank you for your order 1001."}
    assert body["destination"]["deliveryAddress"]["email"] == "jane@example.com"
    assert "addressLine2" not in body["destination"]["deliveryAddress"]
    assert body["lineItems"] == [{"lineItemId": "1001-1",
                                  "product": {"productIdentifier": {"amazonSku": "SKU-1"}},
                                  "amount": {"unit": "EACHES", "value": "2"}}]


def test_an_unknown_marketplace_sends_no_origin(models):
    body = mapping.create_order_body(request(), "UNKNOWN")
    models.validate(V26, "CreateOrderRequest", body)
    assert "origin" not in body


def test_a_feature_v2026_cannot_ask_for_is_a_typed_refusal():
    with pytest.raises(NeedsAttentionError) as refused:
        mapping.create_order_body(request(features=("BLOCK_AMZL",)), "ATVPDKIKX0DER")
    assert refused.value.reason == "feature_not_in_v2026"
    with pytest.raises(NeedsAttentionError) as slow:
        mapping.create_order_body(request(shipping_speed="Freight"), "ATVPDKIKX0DER")
    assert slow.value.reason == "speed_not_in_v2026"


@pytest.mark.parametrize("payload, expected", [
    (order(), "Received"),  # nothing has happened since Amazon received it
    (order(statusUpdateTime="2026-11-20T10:01:00Z"), "Planning"),
    (order(statusUpdateTime="2026-11-20T10:01:00Z",
           fulfillmentConfiguration={"action": "HOLD"}), "Received"),
    (order(statusUpdateTime="2026-11-20T10:03:00Z", shipments=[
        {"amazonShipmentId": "S1", "amazonFacility": {"facilityId": "SEA8"},
         "status": "PROCESSING", "items": []}]), "Processing"),
    (order("COMPLETE"), "Complete"),
    (order("COMPLETE_PARTIAL"), "CompletePartialled"),
    (order("CANCELLED"), "Cancelled"),
    (order("UNFULFILLABLE"), "Unfulfillable"),
    (order("INVALID"), "Invalid"),
])
def test_statuses_in_the_words_services_act_on(models, payload, expected):
    models.validate(V26, "GetOrderResponse", {"order": payload})
    assert mapping.fulfillment_order({"order": payload}).status == expected
    assert mapping.order_change(payload).status == expected


def test_a_shipped_order_gives_its_packages_and_items(models):
    shipped = order("COMPLETE", shipments=[{
        "amazonShipmentId": "S1", "amazonFacility": {"facilityId": "SEA8"}, "status": "SHIPPED",
        "shipTime": "2026-11-20T12:00:00Z",
        "items": [{"productIdentifier": {"amazonSku": "SKU-1"}, "lineItemId": "1001-1",
                   "amount": {"unit": "EACHES", "value": "2.0"}, "packageId": "7"}],
        "packages": [{"packageId": "7", "tracking": {"carrier": {
            "carrierCode": "UPS", "trackingNumber": "1Z999"}}}]}])
    models.validate(V26, "GetOrderResponse", {"order": shipped})
    domain = mapping.fulfillment_order({"order": shipped})
    package = domain.packages[0]
    assert (package.package_number, package.carrier, package.tracking_number,
            package.shipment_id) == (7, "UPS", "1Z999", "S1")
    assert package.shipped_at == datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    assert [(i.seller_sku, i.item_id, i.quantity) for i in package.items] == [
        ("SKU-1", "1001-1", 2)]
    item = domain.items[0]
    assert (item.quantity, item.cancelled, item.unfulfillable) == (3, 1, 0)
    assert domain.shipping_speed == "Expedited"
    assert domain.destination is not None and domain.destination.postal_code == "98101"


@pytest.mark.parametrize("payload", [
    {},
    {"order": []},
    {"order": order(lineItems={"not": "a list"})},
    {"order": order(lineItems=[{"lineItemId": "1", "amount": {"value": "lots"}}])},
    {"order": order("COMPLETE", shipments=[{"status": "SHIPPED", "packages": [
        {"packageId": "not-a-number"}]}])},
])
def test_wrong_shapes_are_malformed_answers(payload):
    with pytest.raises(MalformedAnswer):
        mapping.fulfillment_order(payload)
