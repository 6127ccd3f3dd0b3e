"""Fulfillment Inbound payloads ↔ domain types: request bodies as the models spell them,
good answers read into bridge's values, wrong shapes refused as MalformedAnswer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bridge.domain.inbound import BoxType, InboundItem
from bridge.domain.inbound_amazon import (
    CreatedInboundPlan,
    DeliveryWindowOption,
    InboundPlanSummary,
    InboundShipmentStatus,
    ItemQuantity,
    OperationProblem,
    OperationStatus,
    PackageGrouping,
    PackingOption,
    PlacementOption,
    ReceivedItem,
    TransportationOption,
    TransportationSelection,
)
from bridge.errors import IndeterminateError, MalformedAnswer
from bridge.fba import inbound_mapping as mapping
from bridge.fba.inbound import InboundClient, InboundOperationFailed

MARKETPLACE = "ATVPDKIKX0DER"
MUG = InboundItem("MUG", 24, "SELLER", "SELLER")
TEE = InboundItem("TEE", 6, "AMAZON", "NONE", expiration="2030-01-01", lot_code="L1")

# -- request bodies ------------------------------------------------------------------------


def test_create_plan_body():
    address = {"name": "Warehouse", "countryCode": "US"}
    assert mapping.create_plan_body(MARKETPLACE, "plan-1", [MUG, TEE], address) == {
        "destinationMarketplaces": [MARKETPLACE],
        "items": [
            {"msku": "MUG", "quantity": 24, "prepOwner": "SELLER", "labelOwner": "SELLER"},
            {"msku": "TEE", "quantity": 6, "prepOwner": "AMAZON", "labelOwner": "NONE",
             "expiration": "2030-01-01", "manufacturingLotCode": "L1"},
        ],
        "sourceAddress": address,
        "name": "plan-1",
    }


def test_packing_information_body():
    box = BoxType("A", 2, 30, 20, 20, 8, {"MUG": 12})
    body = mapping.packing_information_body([PackageGrouping("pg-1", (box,))], {"MUG": MUG})
    assert body == {"packageGroupings": [{"packingGroupId": "pg-1", "boxes": [box.as_input({"MUG": MUG})]}]}
    assert body["packageGroupings"][0]["boxes"][0]["items"] == [
        {"msku": "MUG", "quantity": 12, "prepOwner": "SELLER", "labelOwner": "SELLER"}]


def test_transportation_bodies():
    ready = datetime(2026, 3, 4, 5, 6, 7, 890, tzinfo=UTC)
    assert mapping.transportation_body("po-1", ["sh-1", "sh-2"], ready) == {
        "placementOptionId": "po-1",
        "shipmentTransportationConfigurations": [
            {"shipmentId": "sh-1", "readyToShipWindow": {"start": "2026-03-04T05:06:07Z"}},
            {"shipmentId": "sh-2", "readyToShipWindow": {"start": "2026-03-04T05:06:07Z"}},
        ],
    }
    assert mapping.transportation_selections_body([TransportationSelection("sh-1", "to-1")]) == {
        "transportationSelections": [{"shipmentId": "sh-1", "transportationOptionId": "to-1"}]}


def test_item_labels_body():
    assert mapping.item_labels_body(MARKETPLACE, [ItemQuantity("MUG", 24)]) == {
        "labelType": "STANDARD_FORMAT", "marketplaceId": MARKETPLACE,
        "mskuQuantities": [{"msku": "MUG", "quantity": 24}], "pageType": "A4_21"}


# -- good answers --------------------------------------------------------------------------


def test_operations():
    assert mapping.operation_id({"operationId": "op-1"}, "generatePackingOptions") == "op-1"
    assert mapping.created_plan({"operationId": "op-1", "inboundPlanId": "wf-1"}) == (
        CreatedInboundPlan("op-1", "wf-1"))
    assert mapping.operation_status({
        "operationId": "op-1", "operation": "generatePlacementOptions", "operationStatus": "FAILED",
        "operationProblems": [{"code": "FBA_INB_0182", "message": "No placement", "severity": "ERROR",
                               "details": "all SKUs"}],
    }) == OperationStatus("op-1", "FAILED", (OperationProblem("FBA_INB_0182", "No placement", "ERROR",
                                                              "all SKUs"),))
    assert mapping.operation_status({"operationId": "op-2", "operationStatus": "SUCCESS",
                                     "operationProblems": []}).problems == ()


def test_options():
    money = {"amount": 12.5, "code": "USD"}
    assert mapping.packing_option({
        "packingOptionId": "pk-1", "status": "OFFERED", "packingGroups": ["pg-1", "pg-2"],
        "fees": [{"type": "FEE", "value": money}, {"type": "FEE", "value": {"amount": 2, "code": "USD"}}],
        "discounts": [{"type": "DISCOUNT", "value": {"amount": 4.5, "code": "USD"}}],
    }) == PackingOption("pk-1", "OFFERED", ("pg-1", "pg-2"), 14.5, 4.5)
    placement = mapping.placement_option({"placementOptionId": "po-1", "status": "ACCEPTED",
                                          "shipmentIds": ["sh-1"], "fees": [{"value": money}]})
    assert placement == PlacementOption("po-1", "ACCEPTED", ("sh-1",), 12.5, 0.0)
    assert placement.cost == 12.5
    assert mapping.transportation_option({
        "transportationOptionId": "to-1", "shipmentId": "sh-1",
        "shippingSolution": "AMAZON_PARTNERED_CARRIER", "shippingMode": "GROUND_SMALL_PARCEL",
        "carrier": {"name": "UPS", "alphaCode": "UPSN"}, "quote": {"cost": money},
        "preconditions": ["CONFIRMED_DELIVERY_WINDOW"],
    }) == TransportationOption("to-1", "sh-1", "AMAZON_PARTNERED_CARRIER", "GROUND_SMALL_PARCEL", "UPS",
                               12.5, ("CONFIRMED_DELIVERY_WINDOW",))
    # A carrier-own option has no quote: it costs nothing bridge can see.
    assert mapping.transportation_option({"transportationOptionId": "to-2"}).cost == 0.0
    assert mapping.delivery_window_option({
        "deliveryWindowOptionId": "dw-1", "startDate": "2026-03-04T00:00:00Z",
        "endDate": "2026-03-05T00:00:00Z", "availabilityType": "AVAILABLE",
    }) == DeliveryWindowOption("dw-1", "2026-03-04T00:00:00Z", "2026-03-05T00:00:00Z")


def test_plans_shipments_items_and_labels():
    assert mapping.plan_summary({"inboundPlanId": "wf-1", "name": "plan-1", "status": "ACTIVE"}) == (
        InboundPlanSummary("wf-1", "plan-1", "ACTIVE"))
    assert mapping.item_quantity({"msku": "MUG", "quantity": 12, "asin": "B0"}, "listShipmentItems") == (
        ItemQuantity("MUG", 12))
    assert mapping.box_id({"boxId": "FBA1U000001"}, "listShipmentBoxes") == "FBA1U000001"
    assert mapping.box_id({}, "listShipmentBoxes") == ""
    assert mapping.shipment({
        "shipmentId": "sh-1", "status": "WORKING", "shipmentConfirmationId": "FBA15DJ",
        "destination": {"warehouseId": "ABE2", "destinationType": "AMAZON_OPTIMIZED"},
        "selectedTransportationOptionId": "to-1",
        "selectedDeliveryWindow": {"id": "dw-1", "start": "x", "end": "y"},
    }) == InboundShipmentStatus("sh-1", "WORKING", "FBA15DJ", "ABE2", "to-1", True)
    assert mapping.shipment({"shipmentId": "sh-1", "selectedTransportationOptionId": None,
                             "selectedDeliveryWindow": None}) == InboundShipmentStatus("sh-1")
    assert mapping.label_url({"payload": {"DownloadURL": "https://labels/1.pdf"}}) == "https://labels/1.pdf"
    assert mapping.item_label_urls({"documentDownloads": [
        {"uri": "https://labels/a.pdf", "downloadType": "URL"}, {"uri": "https://labels/b.pdf"}]}) == [
        "https://labels/a.pdf", "https://labels/b.pdf"]
    assert mapping.item_label_urls({}) == []
    assert mapping.received_items({"payload": {"ItemData": [
        {"SellerSKU": "MUG", "QuantityShipped": 12, "QuantityReceived": 5},
        {"SellerSKU": "TEE", "QuantityShipped": 6},
    ]}}) == [ReceivedItem("MUG", 12, 5), ReceivedItem("TEE", 6, 0)]
    assert mapping.next_token({"pagination": {"nextToken": "t2"}}, "listPackingOptions") == "t2"
    assert mapping.next_token({}, "listPackingOptions") == ""


# -- wrong shapes --------------------------------------------------------------------------

WRONG = [
    (lambda: mapping.operation_id({}, "generatePackingOptions"), "operationId"),
    (lambda: mapping.operation_id({"operationId": 7}, "generatePackingOptions"), "operationId"),
    (lambda: mapping.created_plan({"operationId": "op-1"}), "inboundPlanId"),
    (lambda: mapping.operation_status({"operationId": "op-1"}), "operationStatus"),
    (lambda: mapping.operation_status({"operationStatus": "FAILED", "operationProblems": "boom"}),
     "operationProblems"),
    (lambda: mapping.operation_status({"operationStatus": "FAILED", "operationProblems": [{"code": 1}]}),
     "code"),
    (lambda: mapping.plan_summary({"name": "plan-1"}), "inboundPlanId"),
    (lambda: mapping.packing_option({"packingOptionId": "pk-1", "packingGroups": "pg-1"}), "packingGroups"),
    (lambda: mapping.packing_option({"packingOptionId": "pk-1", "fees": {"amount": 1}}), "fees"),
    (lambda: mapping.packing_option({"packingOptionId": "pk-1", "fees": [{"value": "12 USD"}]}), "value"),
    (lambda: mapping.placement_option({"placementOptionId": "po-1",
                                       "discounts": [{"value": {"amount": "4.5"}}]}), "amount"),
    (lambda: mapping.placement_option({"placementOptionId": "po-1", "shipmentIds": [1, 2]}), "shipmentIds"),
    (lambda: mapping.placement_option({"status": "OFFERED"}), "placementOptionId"),
    (lambda: mapping.transportation_option({"transportationOptionId": "to-1", "quote": []}), "quote"),
    (lambda: mapping.transportation_option({"transportationOptionId": "to-1",
                                            "quote": {"cost": {"amount": True}}}), "amount"),
    (lambda: mapping.transportation_option({"transportationOptionId": "to-1", "carrier": "UPS"}), "carrier"),
    (lambda: mapping.delivery_window_option({"deliveryWindowOptionId": ""}), "deliveryWindowOptionId"),
    (lambda: mapping.item_quantity({"msku": "MUG", "quantity": "12"}, "listShipmentItems"), "quantity"),
    (lambda: mapping.item_quantity({"quantity": 12}, "listShipmentItems"), "msku"),
    (lambda: mapping.box_id({"boxId": 5}, "listShipmentBoxes"), "boxId"),
    (lambda: mapping.shipment({"status": ["WORKING"]}), "status"),
    (lambda: mapping.shipment({"destination": "ABE2"}), "destination"),
    (lambda: mapping.shipment({"selectedDeliveryWindow": "dw-1"}), "selectedDeliveryWindow"),
    (lambda: mapping.label_url({"payload": {}}), "DownloadURL"),
    (lambda: mapping.label_url({"payload": "https://labels/1.pdf"}), "payload"),
    (lambda: mapping.item_label_urls({"documentDownloads": [{"downloadType": "URL"}]}), "uri"),
    (lambda: mapping.received_items({"payload": {"ItemData": {"SellerSKU": "MUG"}}}), "ItemData"),
    (lambda: mapping.received_items({"payload": {"ItemData": [{"SellerSKU": "MUG",
                                                              "QuantityReceived": 2.5}]}}), "QuantityReceived"),
    (lambda: mapping.next_token({"pagination": {"nextToken": 2}}, "listPackingOptions"), "nextToken"),
]


@pytest.mark.parametrize(("read", "field"), WRONG, ids=[field for _read, field in WRONG])
def test_a_wrong_shape_is_a_malformed_answer_naming_the_field(read, field):
    with pytest.raises(MalformedAnswer) as raised:
        read()
    assert field in str(raised.value)


# -- the client around the mapping ---------------------------------------------------------


class Wire(InboundClient):
    """InboundClient with `call` answering from a script; records what was sent."""

    def __init__(self, answers):
        super().__init__(http=None, marketplace_id=MARKETPLACE, sleep=lambda _s: None)
        self.answers, self.sent = list(answers), []

    def call(self, operation_id, body=None, params=None, **path_params):
        self.sent.append((operation_id, body, dict(params or {}), path_params))
        return self.answers.pop(0)


def test_list_operations_follow_pagination():
    wire = Wire([{"packingOptions": [{"packingOptionId": "pk-1"}], "pagination": {"nextToken": "t2"}},
                 {"packingOptions": [{"packingOptionId": "pk-2"}]}])
    assert [o.option_id for o in wire.packing_options("wf-1")] == ["pk-1", "pk-2"]
    assert [sent[2] for sent in wire.sent] == [{}, {"paginationToken": "t2"}]
    with pytest.raises(MalformedAnswer, match="packingOptions"):
        Wire([{"packingOptions": {"packingOptionId": "pk-1"}}]).packing_options("wf-1")


def test_an_unreadable_answer_to_a_state_change_is_indeterminate():
    with pytest.raises(IndeterminateError, match="confirmPackingOption"):
        Wire([{"operationID": "op-1"}]).confirm_packing_option("wf-1", "pk-1")
    with pytest.raises(IndeterminateError, match="createInboundPlan"):
        Wire([{"operationId": "op-1"}]).create_inbound_plan("plan-1", [MUG], {"name": "W"})


def test_waiting_for_an_operation():
    wire = Wire([{"operationId": "op-1", "operationStatus": "IN_PROGRESS"},
                 {"operationId": "op-1", "operationStatus": "SUCCESS"}])
    assert wire.wait_for_operation("op-1", "do it").state == "SUCCESS"
    failed = Wire([{"operationId": "op-1", "operationStatus": "FAILED", "operationProblems": [
        {"code": "FBA_INB_0182", "message": "No placement", "severity": "ERROR", "details": "x"}]}])
    with pytest.raises(InboundOperationFailed, match=r"FBA_INB_0182: No placement \(x\)"):
        failed.wait_for_operation("op-1", "generate placement options")
