"""Amazon's options in the request bridge builds and saves (featureConstraints), and the
pure decision of what an edit asks updateFulfillmentOrder for."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bridge.domain.fulfillment import (
    FulfillmentOrder,
    FulfillmentOrderRequest,
    FulfillmentOrderUpdate,
    OrderItem,
    RequestedItem,
)
from bridge.domain.mapping import MappingPolicy, build_fulfillment_request
from bridge.domain.model import Address, CartLine, CartOrder
from bridge.domain.skus import SkuMap
from bridge.errors import NeedsAttentionError
from bridge.fba.outbound_mapping import create_order_body, fulfillment_order, update_order_body
from bridge.services.update import plan_update

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
ADDRESS = Address(name="Ava Johnson", line1="12 Main St", city="Seattle", state="WA",
                  postal_code="98101", country_code="US")
ELSEWHERE = replace(ADDRESS, line1="9 Elm St", city="Portland", state="OR", postal_code="97201")
POLICY = MappingPolicy(
    sku_map=SkuMap.from_config({}),
    speed_for=lambda method: {"express": "Expedited"}.get(method, "Standard"),
    fulfillment_policy="FillOrKill",
    comment_template="Thanks for order {number}",
)


def order(**changes) -> CartOrder:
    base = dict(order_id="1001", number="#1001", created_at=NOW, updated_at=NOW, paid=True,
                cancelled=False, lines=(CartLine("L1", "MUG", 2),), address=ADDRESS,
                shipping_method="standard", email="ava@example.com")
    base.update(changes)
    return CartOrder(**base)


def request(features: tuple[str, ...] = (), **changes) -> FulfillmentOrderRequest:
    policy = replace(POLICY, features=features)
    return build_fulfillment_request(order(**changes), "DEMO-1001", policy).request


def test_the_orders_features_become_required_feature_constraints():
    body = create_order_body(request(("BLANK_BOX", "BLOCK_AMZL", "BLANK_BOX")))
    assert body["featureConstraints"] == [
        {"featureName": "BLANK_BOX", "featureFulfillmentPolicy": "Required"},
        {"featureName": "BLOCK_AMZL", "featureFulfillmentPolicy": "Required"},
    ]


def test_an_order_without_features_sends_no_constraints():
    assert "featureConstraints" not in create_order_body(request())


def test_a_feature_amazon_does_not_know_holds_the_order_with_its_reason():
    with pytest.raises(NeedsAttentionError) as caught:
        request(("GIFT_WRAP",))
    assert caught.value.reason == "unknown_feature" and "GIFT_WRAP" in caught.value.message


def test_the_saved_request_keeps_its_features_and_old_requests_still_load():
    saved = request(("BLANK_BOX",))
    assert FulfillmentOrderRequest.from_json(saved.to_json()) == saved
    old = saved.to_json()
    del old["features"], old["features_dropped"]  # as saved before features existed
    assert FulfillmentOrderRequest.from_json(old) == replace(saved, features=())


def test_the_update_body_carries_only_what_changes():
    assert update_order_body(FulfillmentOrderUpdate("DEMO-1001", shipping_speed="Priority")) == {
        "shippingSpeedCategory": "Priority"}
    body = update_order_body(FulfillmentOrderUpdate(
        "DEMO-1001", destination=ELSEWHERE, items=(RequestedItem("MUG", "L1", 3),)))
    assert body["destinationAddress"]["city"] == "Portland" and "addressLine2" not in body[
        "destinationAddress"]
    assert body["items"] == [{"sellerSku": "MUG", "sellerFulfillmentOrderItemId": "L1",
                              "quantity": 3}]


def test_a_read_back_order_gives_its_address_speed_and_features():
    payload = {"fulfillmentOrder": {
        "sellerFulfillmentOrderId": "DEMO-1001", "fulfillmentOrderStatus": "Planning",
        "shippingSpeedCategory": "Standard",
        "destinationAddress": {"name": "Ava Johnson", "addressLine1": "12 Main St",
                               "city": "Seattle", "stateOrRegion": "WA",
                               "postalCode": "98101", "countryCode": "US"},
        "featureConstraints": [{"featureName": "BLANK_BOX", "featureFulfillmentPolicy": "Required"},
                               {"featureName": "PACKING_SLIP",
                                "featureFulfillmentPolicy": "NotRequired"}]}}
    detail = fulfillment_order(payload)
    assert (detail.destination, detail.shipping_speed, detail.features) == (
        ADDRESS, "Standard", ("BLANK_BOX",))


def at_amazon(sent: FulfillmentOrderRequest, status: str = "Planning") -> FulfillmentOrder:
    return FulfillmentOrder(
        sent.seller_fulfillment_order_id, status, NOW,
        items=tuple(OrderItem(i.seller_sku, i.item_id, i.quantity) for i in sent.items),
        destination=sent.destination, shipping_speed=sent.shipping_speed,
        features=sent.features)


def plan(edited: CartOrder, features: tuple[str, ...] = ()):
    sent = request(features)
    mapped = build_fulfillment_request(edited, "DEMO-1001", POLICY)
    return plan_update(sent, order(), edited, mapped, at_amazon(sent))


def test_an_edit_asks_for_only_what_differs_from_amazons_order():
    edited = order(address=ELSEWHERE, lines=(CartLine("L1", "MUG", 3),))
    result = plan(edited, features=("BLANK_BOX",))
    assert result.update.destination == ELSEWHERE
    assert result.update.shipping_speed is None
    assert [(i.seller_sku, i.quantity) for i in result.update.items] == [("MUG", 3)]
    assert result.desired.features == ("BLANK_BOX",), "features are fixed at create"


def test_the_speed_changes_only_with_the_carts_shipping_method():
    assert plan(order(shipping_method="express")).update.shipping_speed == "Expedited"
    assert plan(order(email="new@example.com")).update.empty


def test_fewer_units_are_not_sent():
    assert plan(order(lines=(CartLine("L1", "MUG", 1),))).update.empty


@pytest.mark.parametrize("lines, reason", [
    ((CartLine("L1", "MUG", 2), CartLine("L2", "CUP", 1)), "edit_adds_items"),
    ((CartLine("L1", "CUP", 2),), "edit_changes_sku"),
])
def test_what_amazons_update_cannot_do_is_refused_with_a_typed_reason(lines, reason):
    with pytest.raises(NeedsAttentionError) as caught:
        plan(order(lines=lines))
    assert caught.value.reason == reason
