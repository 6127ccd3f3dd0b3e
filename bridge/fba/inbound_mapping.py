"""Fulfillment Inbound 2024-03-20 (and v0) payloads ↔ bridge's domain types
(`bridge.domain.inbound_amazon`). The only place that knows the inbound field names.

Request bodies are built here exactly as Amazon's models spell them. A value of the wrong
kind where bridge reads an answer is a MalformedAnswer naming the operation and the field;
missing optional fields read as empty."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bridge.domain.inbound import InboundItem
from bridge.domain.inbound_amazon import (
    CreatedInboundPlan,
    DeliveryWindowOption,
    InboundPlanSummary,
    InboundShipmentStatus,
    ItemQuantity,
    OperationId,
    OperationProblem,
    OperationStatus,
    PackageGrouping,
    PackingOption,
    PlacementOption,
    ReceivedItem,
    TransportationOption,
    TransportationSelection,
)
from bridge.fba.fields import integer as _integer
from bridge.fba.fields import number as _number
from bridge.fba.fields import objects
from bridge.fba.fields import optional_object as _object
from bridge.fba.fields import text as _text
from bridge.fba.fields import texts as _texts

Json = dict[str, Any]

# -- requests -----------------------------------------------------------------------------


def create_plan_body(marketplace_id: str, name: str, items: Sequence[InboundItem],
                     source_address: Mapping[str, Any]) -> Json:
    return {"destinationMarketplaces": [marketplace_id], "items": [i.as_input() for i in items],
            "sourceAddress": dict(source_address), "name": name}


def packing_information_body(groupings: Sequence[PackageGrouping],
                             items: Mapping[str, InboundItem]) -> Json:
    return {"packageGroupings": [
        {"packingGroupId": g.packing_group_id, "boxes": [box.as_input(dict(items)) for box in g.boxes]}
        for g in groupings]}


def transportation_body(placement_option_id: str, shipment_ids: Sequence[str], ready_from: datetime) -> Json:
    return {
        "placementOptionId": placement_option_id,
        "shipmentTransportationConfigurations": [
            {"shipmentId": shipment_id,
             "readyToShipWindow": {"start": ready_from.strftime("%Y-%m-%dT%H:%M:%SZ")}}
            for shipment_id in shipment_ids
        ],
    }


def transportation_selections_body(selections: Sequence[TransportationSelection]) -> Json:
    return {"transportationSelections": [
        {"shipmentId": s.shipment_id, "transportationOptionId": s.option_id} for s in selections]}


def item_labels_body(marketplace_id: str, items: Sequence[ItemQuantity]) -> Json:
    return {"labelType": "STANDARD_FORMAT", "marketplaceId": marketplace_id,
            "mskuQuantities": [{"msku": i.msku, "quantity": i.quantity} for i in items],
            "pageType": "A4_21"}


# -- answers ------------------------------------------------------------------------------


def operation_id(payload: Json, operation: str) -> OperationId:
    """The operationId of a 202 answer."""
    return OperationId(_text_required(payload, "operationId", operation))


def created_plan(payload: Json) -> CreatedInboundPlan:
    return CreatedInboundPlan(operation_id(payload, "createInboundPlan"),
                              _text_required(payload, "inboundPlanId", "createInboundPlan"))


def operation_status(payload: Json) -> OperationStatus:
    op = "getInboundOperationStatus"
    return OperationStatus(
        operation_id=_text(payload, "operationId", op),
        state=_text_required(payload, "operationStatus", op),
        problems=tuple(
            OperationProblem(code=_text(p, "code", op), message=_text(p, "message", op),
                             severity=_text(p, "severity", op), details=_text(p, "details", op))
            for p in objects(payload, "operationProblems", op)),
    )


def plan_summary(data: Json) -> InboundPlanSummary:
    op = "listInboundPlans"
    return InboundPlanSummary(_text_required(data, "inboundPlanId", op), _text(data, "name", op),
                              _text(data, "status", op))


def packing_option(data: Json) -> PackingOption:
    op = "listPackingOptions"
    return PackingOption(
        option_id=_text_required(data, "packingOptionId", op), status=_text(data, "status", op),
        packing_groups=_texts(data, "packingGroups", op),
        fees=_amounts(data, "fees", op), discounts=_amounts(data, "discounts", op))


def placement_option(data: Json) -> PlacementOption:
    op = "listPlacementOptions"
    return PlacementOption(
        option_id=_text_required(data, "placementOptionId", op), status=_text(data, "status", op),
        shipment_ids=_texts(data, "shipmentIds", op),
        fees=_amounts(data, "fees", op), discounts=_amounts(data, "discounts", op))


def transportation_option(data: Json) -> TransportationOption:
    op = "listTransportationOptions"
    cost = _object(_object(data, "quote", op), "cost", op)
    return TransportationOption(
        option_id=_text_required(data, "transportationOptionId", op),
        shipment_id=_text(data, "shipmentId", op),
        shipping_solution=_text(data, "shippingSolution", op),
        shipping_mode=_text(data, "shippingMode", op),
        carrier_name=_text(_object(data, "carrier", op), "name", op),
        cost=_number(cost, "amount", op),
        preconditions=_texts(data, "preconditions", op),
    )


def delivery_window_option(data: Json) -> DeliveryWindowOption:
    op = "listDeliveryWindowOptions"
    return DeliveryWindowOption(_text_required(data, "deliveryWindowOptionId", op),
                                _text(data, "startDate", op), _text(data, "endDate", op))


def item_quantity(data: Json, operation: str) -> ItemQuantity:
    return ItemQuantity(_text_required(data, "msku", operation), _integer(data, "quantity", operation))


def box_id(data: Json, operation: str) -> str:
    """A box's boxId ("" when Amazon has not numbered it)."""
    return _text(data, "boxId", operation)


def shipment(payload: Json) -> InboundShipmentStatus:
    op = "getShipment"
    return InboundShipmentStatus(
        shipment_id=_text(payload, "shipmentId", op),
        status=_text(payload, "status", op),
        confirmation_id=_text(payload, "shipmentConfirmationId", op),
        warehouse_id=_text(_object(payload, "destination", op), "warehouseId", op),
        selected_transportation_option_id=_text(payload, "selectedTransportationOptionId", op),
        delivery_window_selected=bool(_object(payload, "selectedDeliveryWindow", op)),
    )


def label_url(payload: Json) -> str:
    """v0 getLabels: the DownloadURL of the labels PDF."""
    return _text_required(_object(payload, "payload", "getLabels"), "DownloadURL", "getLabels")


def item_label_urls(payload: Json) -> list[str]:
    op = "createMarketplaceItemLabels"
    return [_text_required(document, "uri", op) for document in objects(payload, "documentDownloads", op)]


def received_items(payload: Json) -> list[ReceivedItem]:
    op = "getShipmentItemsByShipmentId"
    return [ReceivedItem(_text_required(row, "SellerSKU", op), _integer(row, "QuantityShipped", op),
                         _integer(row, "QuantityReceived", op))
            for row in objects(_object(payload, "payload", op), "ItemData", op)]


def next_token(payload: Json, operation: str) -> str:
    """The pagination token of a list answer ("" on the last page)."""
    return _text(_object(payload, "pagination", operation), "nextToken", operation)


# -- shapes -------------------------------------------------------------------------------


def _amounts(data: Json, key: str, operation: str) -> float:
    """The sum of the amounts of a list of Incentive (fees or discounts)."""
    return sum((_number(_object(item, "value", operation), "amount", operation)
                for item in objects(data, key, operation)), 0.0)


def _text_required(data: Json, key: str, operation: str) -> str:
    return _text(data, key, operation, required=True)
