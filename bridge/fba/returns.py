"""Customer returns at Amazon, in bridge's words, and their wire form: listReturnReasonCodes,
createFulfillmentReturn (PUT /fulfillmentOrders/{id}/return) and the returnItems,
returnAuthorizations and shipped units of a getFulfillmentOrder answer.

Amazon takes a return one unit at a time: each CreateReturnItem names one unit of one
shipped item (its sellerFulfillmentOrderItemId and amazonShipmentId) under an id the
seller chooses (sellerReturnItemId, at most 80 characters). A sellerReturnItemId that
was used before is refused as DuplicateRequest, which is how a resent request is known
to have been taken already. A value of the wrong kind where bridge reads it is a
MalformedAnswer naming the field."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bridge.fba.fields import malformed as _malformed
from bridge.fba.fields import objects as _objects
from bridge.fba.fields import text as _text
from bridge.fba.fields import time as _time

LIST_REASONS = "listReturnReasonCodes"
CREATE_RETURN = "createFulfillmentReturn"
GET_ORDER = "getFulfillmentOrder"
MAX_RETURN_ITEM_ID = 80
MAX_COMMENT = 1000

# FulfillmentReturnItemStatus.
NEW = "New"
PROCESSED = "Processed"

# InvalidItemReasonCode, as the model lists it.
INVALID_VALUES = "InvalidValues"
DUPLICATE_REQUEST = "DuplicateRequest"
NO_COMPLETED_SHIP_ITEMS = "NoCompletedShipItems"
NO_RETURNABLE_QUANTITY = "NoReturnableQuantity"


@dataclass(frozen=True)
class ReturnReason:
    code: str
    description: str


@dataclass(frozen=True)
class ReturnUnit:
    """One unit to send back, as bridge asks for it."""

    return_item_id: str     # sellerReturnItemId: bridge's, deterministic
    item_id: str            # the order item's sellerFulfillmentOrderItemId
    shipment_id: str        # amazonShipmentId the unit left in
    reason_code: str
    comment: str = ""


@dataclass(frozen=True)
class InvalidReturn:
    """A unit Amazon would not take, with its InvalidItemReasonCode and words."""

    return_item_id: str
    item_id: str
    code: str
    description: str


@dataclass(frozen=True)
class ReturnAuthorization:
    authorization_id: str   # returnAuthorizationId
    rma_id: str             # amazonRmaId
    label_url: str          # rmaPageURL: the barcode and mailing label (not prepaid)
    fulfillment_center_id: str
    address: dict[str, str]  # returnToAddress, as Amazon gave it


@dataclass(frozen=True)
class ReturnedUnit:
    """A return item as Amazon has it now."""

    return_item_id: str
    item_id: str
    shipment_id: str
    status: str                  # New or Processed
    authorization_id: str
    condition: str = ""          # returnReceivedCondition, once Processed
    status_changed_at: datetime | None = None


@dataclass(frozen=True)
class ShippedUnits:
    """Units of one order item that left in one shipment (SHIPPED shipments only)."""

    shipment_id: str
    item_id: str
    seller_sku: str
    quantity: int


@dataclass(frozen=True)
class CreatedReturn:
    """What createFulfillmentReturn answered."""

    accepted: tuple[ReturnedUnit, ...] = ()
    invalid: tuple[InvalidReturn, ...] = ()
    authorizations: tuple[ReturnAuthorization, ...] = ()


@dataclass(frozen=True)
class OrderReturns:
    """A fulfillment order's returns, from one getFulfillmentOrder: what shipped, which
    units are being (or were) returned, and under which authorizations."""

    status: str
    shipped: tuple[ShippedUnits, ...] = ()
    units: tuple[ReturnedUnit, ...] = ()
    authorizations: tuple[ReturnAuthorization, ...] = ()


# -- requests ---------------------------------------------------------------------------------

def reason_codes_params(seller_sku: str, seller_fulfillment_order_id: str | None,
                        marketplace_id: str, language: str = "en_US") -> dict[str, str]:
    params = {"sellerSku": seller_sku, "marketplaceId": marketplace_id, "language": language}
    if seller_fulfillment_order_id:
        params["sellerFulfillmentOrderId"] = seller_fulfillment_order_id
    return params


def create_return_body(units: Sequence[ReturnUnit]) -> dict[str, Any]:
    """The CreateFulfillmentReturnRequest body; an empty comment is left out."""
    items = []
    for unit in units:
        item = {"sellerReturnItemId": unit.return_item_id,
                "sellerFulfillmentOrderItemId": unit.item_id,
                "amazonShipmentId": unit.shipment_id,
                "returnReasonCode": unit.reason_code}
        if unit.comment:
            item["returnComment"] = unit.comment[:MAX_COMMENT]
        items.append(item)
    return {"items": items}


# -- answers ---------------------------------------------------------------------------------

def reason_codes(payload: dict[str, Any]) -> list[ReturnReason]:
    """A ListReturnReasonCodesResult payload."""
    return [ReturnReason(_text(detail, "returnReasonCode", LIST_REASONS, required=True),
                         _text(detail, "description", LIST_REASONS))
            for detail in _objects(payload, "reasonCodeDetails", LIST_REASONS)]


def created_return(payload: dict[str, Any]) -> CreatedReturn:
    """A CreateFulfillmentReturnResult payload."""
    return CreatedReturn(
        accepted=tuple(_unit(item, CREATE_RETURN)
                       for item in _objects(payload, "returnItems", CREATE_RETURN)),
        invalid=tuple(_invalid(item) for item in
                      _objects(payload, "invalidReturnItems", CREATE_RETURN)),
        authorizations=tuple(_authorization(item, CREATE_RETURN) for item in
                             _objects(payload, "returnAuthorizations", CREATE_RETURN)),
    )


def order_returns(payload: dict[str, Any]) -> OrderReturns:
    """The return side of a GetFulfillmentOrderResult payload."""
    order = payload.get("fulfillmentOrder")
    if not isinstance(order, dict):
        raise _malformed(GET_ORDER, "fulfillmentOrder", "an object", order)
    shipped = []
    for shipment in _objects(payload, "fulfillmentShipments", GET_ORDER):
        if shipment.get("fulfillmentShipmentStatus") != "SHIPPED":
            continue
        shipment_id = _text(shipment, "amazonShipmentId", GET_ORDER, required=True)
        for item in _objects(shipment, "fulfillmentShipmentItem", GET_ORDER):
            shipped.append(ShippedUnits(
                shipment_id=shipment_id,
                item_id=_text(item, "sellerFulfillmentOrderItemId", GET_ORDER, required=True),
                seller_sku=_text(item, "sellerSku", GET_ORDER),
                quantity=_count(item, "quantity", GET_ORDER)))
    return OrderReturns(
        status=_text(order, "fulfillmentOrderStatus", GET_ORDER),
        shipped=tuple(shipped),
        units=tuple(_unit(item, GET_ORDER) for item in _objects(payload, "returnItems", GET_ORDER)),
        authorizations=tuple(_authorization(item, GET_ORDER) for item in
                             _objects(payload, "returnAuthorizations", GET_ORDER)),
    )


def _unit(item: dict[str, Any], operation: str) -> ReturnedUnit:
    return ReturnedUnit(
        return_item_id=_text(item, "sellerReturnItemId", operation, required=True),
        item_id=_text(item, "sellerFulfillmentOrderItemId", operation),
        shipment_id=_text(item, "amazonShipmentId", operation),
        status=_text(item, "status", operation, required=True),
        authorization_id=_text(item, "returnAuthorizationId", operation),
        condition=_text(item, "returnReceivedCondition", operation),
        status_changed_at=_time(item, "statusChangedDate", operation),
    )


def _invalid(item: dict[str, Any]) -> InvalidReturn:
    reason = item.get("invalidItemReason")
    if not isinstance(reason, dict):
        raise _malformed(CREATE_RETURN, "invalidItemReason", "an object", reason)
    return InvalidReturn(
        return_item_id=_text(item, "sellerReturnItemId", CREATE_RETURN, required=True),
        item_id=_text(item, "sellerFulfillmentOrderItemId", CREATE_RETURN),
        code=_text(reason, "invalidItemReasonCode", CREATE_RETURN, required=True),
        description=_text(reason, "description", CREATE_RETURN),
    )


def _authorization(item: dict[str, Any], operation: str) -> ReturnAuthorization:
    address = item.get("returnToAddress")
    if address is not None and not isinstance(address, dict):
        raise _malformed(operation, "returnToAddress", "an object", address)
    return ReturnAuthorization(
        authorization_id=_text(item, "returnAuthorizationId", operation, required=True),
        rma_id=_text(item, "amazonRmaId", operation),
        label_url=_text(item, "rmaPageURL", operation),
        fulfillment_center_id=_text(item, "fulfillmentCenterId", operation),
        address={str(key): str(value) for key, value in (address or {}).items()
                 if isinstance(value, str | int)},
    )


# -- field readers -----------------------------------------------------------------------------

def _count(data: dict[str, Any], key: str, operation: str) -> int:
    value = data.get(key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _malformed(operation, key, "a count", value)
    return value
