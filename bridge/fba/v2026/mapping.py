"""v2026-07-04 payloads ↔ bridge's domain types (`bridge.domain.fulfillment`), in the
2020-07-01 vocabulary the services act on, so every service works unchanged.

v2026 has one status, PROCESSING, for everything before an order ships or closes, where
2020-07-01 tells Received, Planning and Processing apart. bridge reads them back from what
the order shows: held (action HOLD) or unchanged since Amazon received it → Received (a
cancel and an edit are still taken); a shipment announced (picking has begun) →
Processing; otherwise → Planning. The displayable fields travel as the packing slip's
template attributes orderId, orderTime and orderText; BLANK_BOX is packaging UNBRANDED.
A value of the wrong kind where bridge reads it is a MalformedAnswer naming the field."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from bridge.domain import marketplaces
from bridge.domain.fulfillment import (
    FulfillmentOrder,
    FulfillmentOrderRequest,
    OrderChange,
    OrderItem,
    PackageItem,
    ShippedPackage,
)
from bridge.errors import NeedsAttentionError
from bridge.fba.fields import (
    address_body,
    malformed,
    objects,
    optional_object,
    read_address,
    spapi_datetime,
    text,
    time,
)

GET_ORDER = "getOrder"
LIST_ORDERS = "listOrders"

# Amazon's marketplaces → the country an order ships from (the request's origin).
# The country each marketplace ships from: v2026 names the marketplace by its origin.
MARKETPLACE_COUNTRY = {m.marketplace_id: m.country for m in marketplaces.KNOWN}
TIER_OF_SPEED = {"Standard": "STANDARD", "Expedited": "EXPEDITED", "Priority": "PRIORITY",
                 "ScheduledDelivery": "SCHEDULED"}
SPEED_OF_TIER = {tier: speed for speed, tier in TIER_OF_SPEED.items()}
POLICY = {"FillOrKill": "FILL_OR_KILL", "FillAll": "FILL_ALL",
          "FillAllAvailable": "FILL_ALL_AVAILABLE"}
# v2026's closed statuses → 2020-07-01's.
CLOSED_STATUS = {"COMPLETE": "Complete", "COMPLETE_PARTIAL": "CompletePartialled",
                 "CANCELLED": "Cancelled", "UNFULFILLABLE": "Unfulfillable",
                 "INVALID": "Invalid"}
# The features v2026 can ask for, and how.
BLANK_BOX = "BLANK_BOX"
UNBRANDED = "UNBRANDED"

def create_order_body(request: FulfillmentOrderRequest, marketplace_id: str) -> dict[str, Any]:
    """The CreateOrderRequest body. A feature v2026 cannot ask for is refused (typed
    needs_attention) rather than dropped: the order would ship without it."""
    unsupported = [name for name in request.features if name != BLANK_BOX]
    if unsupported:
        raise NeedsAttentionError(
            "feature_not_in_v2026",
            f"Fulfillment Outbound v2026-07-04 cannot ask for {', '.join(unsupported)}; "
            "use outbound_api = \"2020-07-01\" for this storefront")
    if request.shipping_speed not in TIER_OF_SPEED:
        raise NeedsAttentionError(
            "speed_not_in_v2026",
            f"shipping speed {request.shipping_speed!r} has no v2026-07-04 service tier")
    packaging: dict[str, Any] = {"packingSlip": {"templateAttributes": {
        "orderId": request.displayable_id,
        "orderTime": spapi_datetime(request.displayable_date),
        "orderText": request.comment}}}
    if BLANK_BOX in request.features:
        packaging["packagingOption"] = UNBRANDED
    address: dict[str, str] = address_body(request.destination)
    if request.notification_emails:
        # v2026 takes one e-mail address, on the delivery address.
        address["email"] = request.notification_emails[0]
    body: dict[str, Any] = {
        "orderId": request.seller_fulfillment_order_id,
        "fulfillmentConfiguration": {
            "serviceLevel": {"serviceTiers": [TIER_OF_SPEED[request.shipping_speed]]},
            "action": "HOLD" if request.hold else "SHIP",
            "policy": POLICY.get(request.fulfillment_policy, "FILL_OR_KILL"),
            "services": {"packaging": packaging},
        },
        "destination": {"deliveryAddress": address},
        "lineItems": [
            {"lineItemId": item.item_id,
             "product": {"productIdentifier": {"amazonSku": item.seller_sku}},
             "amount": {"unit": "EACHES", "value": str(item.quantity)}}
            for item in request.items],
    }
    country = MARKETPLACE_COUNTRY.get(marketplace_id)
    if country:
        body["origin"] = {"countryCode": country}
    return body


def units(amount: Any, operation: str, where: str) -> int:
    """An Amount as whole units; a missing amount is 0."""
    if amount is None:
        return 0
    if not isinstance(amount, dict):
        raise malformed(operation, where, "an object", amount)
    try:
        value = Decimal(str(amount.get("value", "0")))
    except InvalidOperation:
        raise malformed(operation, f"{where}.value", "a decimal", amount.get("value")) from None
    if not value.is_finite():
        raise malformed(operation, f"{where}.value", "a decimal", amount.get("value"))
    return max(0, int(value))


def _configuration(order: dict[str, Any], operation: str) -> dict[str, Any]:
    return optional_object(order, "fulfillmentConfiguration", operation)


def _shipments(order: dict[str, Any], operation: str) -> list[dict[str, Any]]:
    return objects(order, "shipments", operation)


def domain_status(order: dict[str, Any], operation: str) -> str:
    """v2026's status in the 2020-07-01 words services act on (see the module's doc)."""
    status = text(order, "status", operation)
    if status in CLOSED_STATUS:
        return CLOSED_STATUS[status]
    if status != "PROCESSING":
        return status  # one v2026 does not list: kept as Amazon wrote it
    if _configuration(order, operation).get("action") == "HOLD":
        return "Received"
    if any(s.get("status") in ("PROCESSING", "SHIPPED") for s in _shipments(order, operation)):
        return "Processing"
    if order.get("statusUpdateTime") in (None, order.get("receiveTime")):
        return "Received"
    return "Planning"


def _sku(value: dict[str, Any], operation: str) -> str:
    product = optional_object(value, "product", operation) or value
    return text(optional_object(product, "productIdentifier", operation), "amazonSku", operation)


def _package_number(package: dict[str, Any]) -> int:
    """v2026's packageId as the number the domain (and getPackageTrackingDetails) use."""
    package_id = package.get("packageId")
    if isinstance(package_id, str) and package_id.isdigit():
        return int(package_id)
    raise malformed(GET_ORDER, "packageId", "a package number", package_id)


def _packages(shipment: dict[str, Any]) -> list[ShippedPackage]:
    items = objects(shipment, "items", GET_ORDER)
    out = []
    for package in objects(shipment, "packages", GET_ORDER):
        number = _package_number(package)
        tracking = optional_object(package, "tracking", GET_ORDER)
        carrier = optional_object(tracking, "carrier", GET_ORDER)
        out.append(ShippedPackage(
            package_number=number,
            carrier=text(carrier, "carrierCode", GET_ORDER),
            tracking_number=text(carrier, "trackingNumber", GET_ORDER) or text(
                optional_object(tracking, "amazon", GET_ORDER), "trackingNumber", GET_ORDER),
            shipped_at=time(shipment, "shipTime", GET_ORDER),
            shipment_id=text(shipment, "amazonShipmentId", GET_ORDER),
            # An item names its package; one that names none travels in each of them.
            items=tuple(
                PackageItem(seller_sku=_sku(item, GET_ORDER),
                            item_id=text(item, "lineItemId", GET_ORDER),
                            quantity=units(item.get("amount"), GET_ORDER, "items.amount"))
                for item in items if item.get("packageId") in (None, str(number))),
        ))
    return out


def fulfillment_order(payload: dict[str, Any]) -> FulfillmentOrder:
    """A GetOrderResponse; only SHIPPED shipments give packages."""
    order = payload.get("order")
    if not isinstance(order, dict):
        raise malformed(GET_ORDER, "order", "an object", order)
    configuration = _configuration(order, GET_ORDER)
    tiers = optional_object(configuration, "serviceLevel", GET_ORDER).get("serviceTiers") or []
    packaging = optional_object(optional_object(configuration, "services", GET_ORDER),
                                "packaging", GET_ORDER)
    packages: list[ShippedPackage] = []
    for shipment in _shipments(order, GET_ORDER):
        if shipment.get("status") == "SHIPPED":
            packages.extend(_packages(shipment))
    return FulfillmentOrder(
        seller_fulfillment_order_id=text(order, "orderId", GET_ORDER),
        status=domain_status(order, GET_ORDER),
        status_updated_at=time(order, "statusUpdateTime", GET_ORDER),
        packages=tuple(packages),
        items=tuple(
            OrderItem(
                seller_sku=_sku(line, GET_ORDER),
                item_id=text(line, "lineItemId", GET_ORDER),
                quantity=units(line.get("amount"), GET_ORDER, "lineItems.amount"),
                cancelled=units(line.get("cancelledAmount"), GET_ORDER,
                                "lineItems.cancelledAmount"),
                unfulfillable=units(line.get("unfulfillableAmount"), GET_ORDER,
                                    "lineItems.unfulfillableAmount"),
            )
            for line in objects(order, "lineItems", GET_ORDER)),
        destination=read_address(optional_object(order, "destination", GET_ORDER).get("deliveryAddress"),
                                 GET_ORDER, "destination.deliveryAddress"),
        shipping_speed=SPEED_OF_TIER.get(str(tiers[0]), "") if tiers else "",
        features=(BLANK_BOX,) if packaging.get("packagingOption") == UNBRANDED else (),
    )


def order_change(order: dict[str, Any]) -> OrderChange:
    """One FulfillmentOrder of a listOrders page."""
    order_id = order.get("orderId")
    if not isinstance(order_id, str):
        raise malformed(LIST_ORDERS, "orderId", "a string", order_id)
    return OrderChange(
        seller_fulfillment_order_id=order_id,
        status=domain_status(order, LIST_ORDERS),
        status_updated_at=time(order, "statusUpdateTime", LIST_ORDERS),
    )
