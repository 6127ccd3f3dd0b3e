"""The wire form of returns: the createFulfillmentReturn body bridge sends, and the
reason codes, created return and getFulfillmentOrder return side it reads (shaped as
the model's examples), with wrong shapes refused as MalformedAnswer naming the field."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bridge.errors import MalformedAnswer
from bridge.fba import returns as mapping
from bridge.fba.returns import ReturnUnit
from bridge.spapi_models import definition_validator

OUTBOUND_MODEL = "fulfillmentOutbound_2020-07-01.json"
AUTHORIZATION = {
    "returnAuthorizationId": "RMA1A2B3C4D5E6F7",
    "fulfillmentCenterId": "SEA8",
    "returnToAddress": {"name": "Returns Department", "addressLine1": "1 Fulfillment Way",
                        "city": "Seattle", "stateOrRegion": "WA", "postalCode": "98108",
                        "countryCode": "US"},
    "amazonRmaId": "D1234ABCDRMA",
    "rmaPageURL": "https://www.amazon.com/gp/orc/rml/D1234ABCDRMA",
}
ITEM = {"sellerReturnItemId": "CT-1-R1-1", "sellerFulfillmentOrderItemId": "CT-1-1",
        "amazonShipmentId": "S1", "sellerReturnReasonCode": "CR-DEFECTIVE", "status": "Processed",
        "statusChangedDate": "2026-01-09T09:00:00Z", "returnAuthorizationId": "RMA1A2B3C4D5E6F7",
        "returnReceivedCondition": "Defective", "fulfillmentCenterId": "SEA8"}


def test_the_body_is_one_item_per_unit_and_valid_against_the_model():
    body = mapping.create_return_body([
        ReturnUnit("CT-1-R1-1", "CT-1-1", "S1", "CR-DEFECTIVE", "broken handle"),
        ReturnUnit("CT-1-R1-2", "CT-1-1", "S1", "CR-DEFECTIVE"),
    ])
    assert body == {"items": [
        {"sellerReturnItemId": "CT-1-R1-1", "sellerFulfillmentOrderItemId": "CT-1-1",
         "amazonShipmentId": "S1", "returnReasonCode": "CR-DEFECTIVE",
         "returnComment": "broken handle"},
        {"sellerReturnItemId": "CT-1-R1-2", "sellerFulfillmentOrderItemId": "CT-1-1",
         "amazonShipmentId": "S1", "returnReasonCode": "CR-DEFECTIVE"},
    ]}
    validator = definition_validator(OUTBOUND_MODEL, "CreateFulfillmentReturnRequest",
                                     closed=True)
    assert [error.message for error in validator.iter_errors(body)] == []


def test_a_long_comment_is_cut_to_the_model_s_limit():
    [item] = mapping.create_return_body([ReturnUnit("r", "i", "s", "c", "x" * 2000)])["items"]
    assert len(item["returnComment"]) == mapping.MAX_COMMENT


def test_reason_codes_params_name_the_order_for_its_marketplace():
    assert mapping.reason_codes_params("MUG", "CT-1", "ATVPDKIKX0DER") == {
        "sellerSku": "MUG", "marketplaceId": "ATVPDKIKX0DER", "language": "en_US",
        "sellerFulfillmentOrderId": "CT-1"}


def test_reason_codes_are_read():
    codes = mapping.reason_codes({"reasonCodeDetails": [
        {"returnReasonCode": "CR-DEFECTIVE", "description": "Defective/Does not work properly",
         "translatedDescription": "Defective/Does not work properly"}]})
    assert codes == [mapping.ReturnReason("CR-DEFECTIVE", "Defective/Does not work properly")]


def test_a_created_return_gives_units_refusals_and_authorizations():
    created = mapping.created_return({
        "returnItems": [{**ITEM, "status": "New", "returnReceivedCondition": None}],
        "invalidReturnItems": [{
            "sellerReturnItemId": "CT-1-R1-2", "sellerFulfillmentOrderItemId": "CT-1-1",
            "invalidItemReason": {"invalidItemReasonCode": "NoReturnableQuantity",
                                  "description": "All item quantity available for return has "
                                                 "been allocated to other return items."}}],
        "returnAuthorizations": [AUTHORIZATION],
    })
    [unit] = created.accepted
    assert (unit.return_item_id, unit.status, unit.condition, unit.authorization_id) == (
        "CT-1-R1-1", "New", "", "RMA1A2B3C4D5E6F7")
    [bad] = created.invalid
    assert (bad.return_item_id, bad.code) == ("CT-1-R1-2", mapping.NO_RETURNABLE_QUANTITY)
    [authorization] = created.authorizations
    assert authorization.label_url == AUTHORIZATION["rmaPageURL"]
    assert authorization.rma_id == "D1234ABCDRMA" and authorization.address["city"] == "Seattle"


def test_an_order_s_return_side_is_read_with_shipped_units():
    returns = mapping.order_returns({
        "fulfillmentOrder": {"sellerFulfillmentOrderId": "CT-1",
                             "fulfillmentOrderStatus": "Complete"},
        "fulfillmentOrderItems": [],
        "fulfillmentShipments": [
            {"amazonShipmentId": "S1", "fulfillmentShipmentStatus": "SHIPPED",
             "fulfillmentShipmentItem": [{"sellerSku": "MUG", "sellerFulfillmentOrderItemId":
                                          "CT-1-1", "quantity": 2}]},
            {"amazonShipmentId": "S2", "fulfillmentShipmentStatus": "CANCELLED_BY_FULFILLER",
             "fulfillmentShipmentItem": [{"sellerSku": "MUG", "sellerFulfillmentOrderItemId":
                                          "CT-1-1", "quantity": 2}]},
        ],
        "returnItems": [ITEM],
        "returnAuthorizations": [AUTHORIZATION],
    })
    assert returns.status == "Complete"
    assert returns.shipped == (mapping.ShippedUnits("S1", "CT-1-1", "MUG", 2),)
    [unit] = returns.units
    assert (unit.status, unit.condition) == ("Processed", "Defective")
    assert unit.status_changed_at == datetime(2026, 1, 9, 9, 0, tzinfo=UTC)
    assert [a.authorization_id for a in returns.authorizations] == ["RMA1A2B3C4D5E6F7"]


@pytest.mark.parametrize("payload, field", [
    ({"returnItems": {"not": "a list"}}, "returnItems"),
    ({"returnItems": [{**ITEM, "status": 3}]}, "status"),
    ({"returnItems": [{**ITEM, "sellerReturnItemId": ""}]}, "sellerReturnItemId"),
    ({"returnItems": [{**ITEM, "statusChangedDate": "yesterday"}]}, "statusChangedDate"),
    ({"invalidReturnItems": [{"sellerReturnItemId": "r", "invalidItemReason": "x"}]},
     "invalidItemReason"),
    ({"returnAuthorizations": [{**AUTHORIZATION, "returnToAddress": ["x"]}]}, "returnToAddress"),
    ({"returnAuthorizations": [{**AUTHORIZATION, "returnAuthorizationId": None}]},
     "returnAuthorizationId"),
])
def test_wrong_shapes_are_malformed_answers_naming_the_field(payload, field):
    with pytest.raises(MalformedAnswer, match=field):
        mapping.created_return(payload)


def test_a_shipped_quantity_that_is_not_a_count_is_malformed():
    with pytest.raises(MalformedAnswer, match="quantity"):
        mapping.order_returns({
            "fulfillmentOrder": {},
            "fulfillmentShipments": [{"amazonShipmentId": "S1",
                                      "fulfillmentShipmentStatus": "SHIPPED",
                                      "fulfillmentShipmentItem": [
                                          {"sellerFulfillmentOrderItemId": "i",
                                           "quantity": -1}]}]})
