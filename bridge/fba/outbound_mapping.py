"""Amazon's outbound and inventory payloads → bridge's domain types
(`bridge.domain.fulfillment`), and the createFulfillmentOrder body ← bridge's
`FulfillmentOrderRequest`. The only place that knows the field names services need.

A value of the wrong kind where bridge reads it is a MalformedAnswer naming the field,
never an AttributeError in a task. Missing optional fields read as empty; counts Amazon
leaves out or garbles count as 0 rather than as stock bridge could sell."""

from __future__ import annotations

from typing import Any

from bridge.domain.fulfillment import (
    FeatureSkuEligibility,
    FulfillmentOrder,
    FulfillmentOrderRequest,
    FulfillmentOrderUpdate,
    InventoryLevel,
    OrderChange,
    OrderItem,
    PackageItem,
    ShippedPackage,
)
from bridge.fba.fields import address_body, read_address, spapi_datetime
from bridge.fba.fields import integer as _integer
from bridge.fba.fields import malformed as _malformed
from bridge.fba.fields import objects as _objects
from bridge.fba.fields import text as _text
from bridge.fba.fields import time as _time

GET_ORDER = "getFulfillmentOrder"
LIST_ORDERS = "listAllFulfillmentOrders"
INVENTORY = "getInventorySummaries"
_INBOUND = ("inboundWorkingQuantity", "inboundShippedQuantity", "inboundReceivingQuantity")


def feature_constraints(features: tuple[str, ...]) -> list[dict[str, str]]:
    """Each feature bridge asks for is Required: an order Amazon cannot ship with it is
    refused rather than shipped without it behind the merchant's back."""
    return [{"featureName": name, "featureFulfillmentPolicy": "Required"} for name in features]


def create_order_body(request: FulfillmentOrderRequest) -> dict[str, Any]:
    """The CreateFulfillmentOrderRequest body (without marketplaceId, which the client
    adds). Empty address fields and an empty email list are left out, as Amazon wants."""
    body: dict[str, Any] = {
        "sellerFulfillmentOrderId": request.seller_fulfillment_order_id,
        "displayableOrderId": request.displayable_id,
        "displayableOrderDate": spapi_datetime(request.displayable_date),
        "displayableOrderComment": request.comment,
        "shippingSpeedCategory": request.shipping_speed,
        "destinationAddress": address_body(request.destination),
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
    if request.features:
        body["featureConstraints"] = feature_constraints(request.features)
    return body


def update_order_body(update: FulfillmentOrderUpdate) -> dict[str, Any]:
    """The UpdateFulfillmentOrderRequest body (without marketplaceId): only what changes.
    Items are named by their sellerFulfillmentOrderItemId, with the SKU they were created
    with, so Amazon can refuse an item that is not the one meant."""
    body: dict[str, Any] = {}
    if update.destination is not None:
        body["destinationAddress"] = address_body(update.destination)
    if update.shipping_speed is not None:
        body["shippingSpeedCategory"] = update.shipping_speed
    if update.items:
        body["items"] = [{"sellerSku": item.seller_sku,
                          "sellerFulfillmentOrderItemId": item.item_id,
                          "quantity": item.quantity} for item in update.items]
    return body


def features(payload: dict[str, Any]) -> dict[str, bool]:
    """A GetFeaturesResult: each feature the marketplace offers → whether the seller is
    enrolled (sellerEligible; a feature that does not say is taken as not enrolled)."""
    out: dict[str, bool] = {}
    for feature in _objects(payload, "features", "getFeatures"):
        name = _text(feature, "featureName", "getFeatures")
        if name:
            out[name] = feature.get("sellerEligible") is True
    return out


def feature_sku(payload: dict[str, Any], feature: str, seller_sku: str) -> FeatureSkuEligibility:
    """A GetFeatureSkuResult."""
    eligible = payload.get("isEligible")
    if not isinstance(eligible, bool):
        raise _malformed("getFeatureSKU", "isEligible", "a boolean", eligible)
    reasons = payload.get("ineligibleReasons") or []
    if not isinstance(reasons, list):
        raise _malformed("getFeatureSKU", "ineligibleReasons", "a list", reasons)
    return FeatureSkuEligibility(feature, seller_sku, eligible,
                                 tuple(str(reason) for reason in reasons))

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
        items=tuple(
            OrderItem(
                seller_sku=_text(item, "sellerSku", GET_ORDER),
                item_id=_text(item, "sellerFulfillmentOrderItemId", GET_ORDER),
                quantity=_integer(item, "quantity", GET_ORDER),
                cancelled=_integer(item, "cancelledQuantity", GET_ORDER),
                unfulfillable=_integer(item, "unfulfillableQuantity", GET_ORDER),
            )
            for item in _objects(payload, "fulfillmentOrderItems", GET_ORDER)
        ),
        destination=read_address(order.get("destinationAddress"), GET_ORDER, "destinationAddress"),
        shipping_speed=_text(order, "shippingSpeedCategory", GET_ORDER),
        features=tuple(
            _text(setting, "featureName", GET_ORDER)
            for setting in _objects(order, "featureConstraints", GET_ORDER)
            if setting.get("featureFulfillmentPolicy") == "Required"),
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


def _count(value: Any) -> int:
    """A JSON value as a count; anything that is not a number counts 0."""
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0
