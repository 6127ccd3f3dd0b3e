"""Amazon's outbound and inventory payloads → bridge's domain types
(`bridge.domain.fulfillment`), and the createFulfillmentOrder body ← bridge's
`FulfillmentOrderRequest`. The only place that knows the field names services need.

A value of the wrong kind where bridge reads it is a MalformedAnswer naming the field,
never an AttributeError in a task. Missing optional fields read as empty; counts Amazon
leaves out or garbles count as 0 rather than as stock bridge could sell."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bridge.domain.fulfillment import (
    FulfillmentOrder,
    FulfillmentOrderRequest,
    InventoryLevel,
    OrderChange,
    PackageItem,
    ShippedPackage,
)
from bridge.errors import MalformedAnswer

GET_ORDER = "getFulfillmentOrder"
LIST_ORDERS = "listAllFulfillmentOrders"
INVENTORY = "getInventorySummaries"
_INBOUND = ("inboundWorkingQuantity", "inboundShippedQuantity", "inboundReceivingQuantity")


def create_order_body(request: FulfillmentOrderRequest) -> dict[str, Any]:
    """The CreateFulfillmentOrderRequest body (without marketplaceId, which the client
    adds). Empty address fields and an empty email list are left out, as Amazon wants."""
    address = request.destination
    destination = {
        "name": address.name,
        "addressLine1": address.line1,
        "addressLine2": address.line2,
        "addressLine3": address.line3,
        "city": address.city,
        "stateOrRegion": address.state,
        "postalCode": address.postal_code,
        "countryCode": address.country_code,
        "phone": address.phone,
    }
    body: dict[str, Any] = {
        "sellerFulfillmentOrderId": request.seller_fulfillment_order_id,
        "displayableOrderId": request.displayable_id,
        "displayableOrderDate": request.displayable_date.astimezone(UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ"),
        "displayableOrderComment": request.comment,
        "shippingSpeedCategory": request.shipping_speed,
        "destinationAddress": {key: value for key, value in destination.items() if value},
        "fulfillmentAction": "Hold" if request.hold else "Ship",
        "fulfillmentPolicy": request.fulfillment_policy,
        "items": [
            {
                "sellerSku": item.seller_sku,
                "sellerFulfillmentOrderItemId": item.item_id,
                "quantity": item.quantity,
            }
            for item in request.items
        ],
    }
    if request.notification_emails:
        body["notificationEmails"] = list(request.notification_emails)
    return body


def fulfillment_order(payload: dict[str, Any]) -> FulfillmentOrder:
    """A GetFulfillmentOrderResult payload; only SHIPPED shipments give packages."""
    order = payload.get("fulfillmentOrder")
    if not isinstance(order, dict):
        raise _malformed(GET_ORDER, "fulfillmentOrder", "an object", order)
    packages: list[ShippedPackage] = []
    for shipment in _objects(payload, "fulfillmentShipments", GET_ORDER):
        if shipment.get("fulfillmentShipmentStatus") != "SHIPPED":
            continue
        packages.extend(_packages(shipment))
    return FulfillmentOrder(
        seller_fulfillment_order_id=_text(order, "sellerFulfillmentOrderId", GET_ORDER),
        status=_text(order, "fulfillmentOrderStatus", GET_ORDER),
        status_updated_at=_time(order, "statusUpdatedDate", GET_ORDER),
        packages=tuple(packages),
    )


def _packages(shipment: dict[str, Any]) -> list[ShippedPackage]:
    items = _objects(shipment, "fulfillmentShipmentItem", GET_ORDER)
    shipped_at = _time(shipment, "shippingDate", GET_ORDER)
    shipment_id = _text(shipment, "amazonShipmentId", GET_ORDER)
    out = []
    for package in _objects(shipment, "fulfillmentShipmentPackage", GET_ORDER):
        number = package.get("packageNumber")
        if isinstance(number, bool) or not isinstance(number, int):
            raise _malformed(GET_ORDER, "packageNumber", "an integer", number)
        out.append(ShippedPackage(
            package_number=number,
            carrier=_text(package, "carrierCode", GET_ORDER),
            tracking_number=_text(package, "trackingNumber", GET_ORDER),
            shipped_at=shipped_at,
            shipment_id=shipment_id,
            # An item names its package; one that names none travels in each of them.
            items=tuple(
                PackageItem(
                    seller_sku=_text(item, "sellerSku", GET_ORDER),
                    item_id=_text(item, "sellerFulfillmentOrderItemId", GET_ORDER),
                    quantity=_integer(item, "quantity", GET_ORDER),
                )
                for item in items
                if item.get("packageNumber") in (None, number)
            ),
        ))
    return out


def order_change(summary: dict[str, Any]) -> OrderChange:
    """One FulfillmentOrder of a listAllFulfillmentOrders page."""
    order_id = summary.get("sellerFulfillmentOrderId")
    if not isinstance(order_id, str):
        raise _malformed(LIST_ORDERS, "sellerFulfillmentOrderId", "a string", order_id)
    return OrderChange(
        seller_fulfillment_order_id=order_id,
        status=_text(summary, "fulfillmentOrderStatus", LIST_ORDERS),
        status_updated_at=_time(summary, "statusUpdatedDate", LIST_ORDERS),
    )


def inventory_level(summary: dict[str, Any]) -> InventoryLevel | None:
    """One InventorySummary; None for one without a seller SKU (nothing to match it to)."""
    sku = summary.get("sellerSku")
    if not isinstance(sku, str):
        return None
    details = summary.get("inventoryDetails")
    details = details if isinstance(details, dict) else {}
    reserved = details.get("reservedQuantity")
    return InventoryLevel(
        seller_sku=sku,
        fulfillable=_count(details.get("fulfillableQuantity")),
        inbound=sum(_count(details.get(key)) for key in _INBOUND),
        reserved=_count(reserved.get("totalReservedQuantity")) if isinstance(reserved, dict) else 0,
        updated_at=_time(summary, "lastUpdatedTime", INVENTORY),
    )


def parse_time(value: str) -> datetime:
    """An SP-API date-time (ISO 8601, `Z` for UTC); naive ones are taken to be UTC."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# -- field readers --------------------------------------------------------------------

def _malformed(operation: str, where: str, expected: str, value: object) -> MalformedAnswer:
    return MalformedAnswer(
        f"Amazon answered {operation} with {where} as {type(value).__name__}, not {expected}")


def _objects(data: dict[str, Any], key: str, operation: str) -> list[dict[str, Any]]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise _malformed(operation, key, "a list of objects", value)
    return value


def _text(data: dict[str, Any], key: str, operation: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _malformed(operation, key, "a string", value)
    return value


def _integer(data: dict[str, Any], key: str, operation: str) -> int:
    value = data.get(key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise _malformed(operation, key, "an integer", value)
    return value


def _time(data: dict[str, Any], key: str, operation: str) -> datetime | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _malformed(operation, key, "a date-time string", value)
    try:
        return parse_time(value)
    except ValueError:
        raise MalformedAnswer(
            f"Amazon answered {operation} with {key} {value[:40]!r}, not a date-time") from None


def _count(value: Any) -> int:
    """A JSON value as a count; anything that is not a number counts 0."""
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0
