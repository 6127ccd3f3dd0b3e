"""How a stored fulfillment order reads through v2026-07-04 (the model's FulfillmentOrder).
Statuses are v2026's coarser ones: everything before Amazon ships or closes the order is
PROCESSING; a shipment waiting to leave is PROCESSING, one that left SHIPPED."""

from __future__ import annotations

from bridge.sim.clock import iso
from bridge.sim.outbound_v2026.translate import BLANK_BOX, TIER_OF_SPEED, UNBRANDED, amount
from bridge.sim.state import Store

ORDER_STATUS = {"New": "PROCESSING", "Received": "PROCESSING", "Planning": "PROCESSING",
                "Processing": "PROCESSING", "Complete": "COMPLETE",
                "CompletePartialled": "COMPLETE_PARTIAL", "Cancelled": "CANCELLED",
                "Unfulfillable": "UNFULFILLABLE", "Invalid": "INVALID"}
SHIPMENT_STATUS = {"PENDING": "PROCESSING", "SHIPPED": "SHIPPED",
                   "CANCELLED_BY_FULFILLER": "CANCELLED", "CANCELLED_BY_SELLER": "CANCELLED"}
ACTION = {"Ship": "SHIP", "Hold": "HOLD"}
POLICY = {"FillOrKill": "FILL_OR_KILL", "FillAll": "FILL_ALL",
          "FillAllAvailable": "FILL_ALL_AVAILABLE"}


def _configuration(order: dict) -> dict:
    request = order["request"]
    configuration: dict = {
        "serviceLevel": {"serviceTiers": [TIER_OF_SPEED.get(request["shippingSpeedCategory"],
                                                            "STANDARD")]},
        "action": ACTION.get(order["fulfillmentAction"], "SHIP"),
        "policy": POLICY.get(order["fulfillmentPolicy"], "FILL_OR_KILL"),
    }
    packaging: dict = {"packingSlip": {"templateAttributes": {
        "orderId": request["displayableOrderId"],
        "orderTime": request["displayableOrderDate"],
        "orderText": request["displayableOrderComment"]}}}
    if any(c.get("featureName") == BLANK_BOX for c in request.get("featureConstraints") or []):
        packaging["packagingOption"] = UNBRANDED
    configuration["services"] = {"packaging": packaging}
    return configuration


def _destination(order: dict) -> dict:
    address = dict(order["request"]["destinationAddress"])
    emails = order["request"].get("notificationEmails") or []
    if emails:
        address["email"] = emails[0]
    return {"deliveryAddress": address}


def _line_items(order: dict) -> list[dict]:
    return [{"lineItemId": item["sellerFulfillmentOrderItemId"],
             "product": {"productIdentifier": {"amazonSku": item["sellerSku"]}},
             "amount": amount(item["quantity"]),
             "cancelledAmount": amount(item["cancelledQuantity"]),
             "unfulfillableAmount": amount(item["unfulfillableQuantity"])}
            for item in order["items"]]


def _shipments(order: dict, store: Store) -> list[dict]:
    views = []
    for shipment in order["shipments"]:
        status = SHIPMENT_STATUS.get(shipment["status"] or "")
        if status is None:
            continue  # planned, not yet announced
        packages = [p for p in (store.get("package", str(n)) for n in shipment["packages"]) if p]
        items = []
        for index, line in enumerate(shipment["items"]):
            item = {"productIdentifier": {"amazonSku": line["sellerSku"]},
                    "lineItemId": line["sellerFulfillmentOrderItemId"],
                    "amount": amount(line["quantity"]),
                    "shipmentItemId": f"{shipment['amazonShipmentId']}-{index}"}
            if line.get("packageNumber") is not None:
                item["packageId"] = str(line["packageNumber"])
            items.append(item)
        view: dict = {"amazonShipmentId": shipment["amazonShipmentId"],
                      "amazonFacility": {"facilityId": shipment["fulfillmentCenterId"]},
                      "status": status, "items": items}
        if status == "SHIPPED":
            view["shipTime"] = iso(shipment["shippingDate"])
        if packages:
            view["packages"] = [
                {"packageId": str(p["packageNumber"]),
                 "tracking": {"carrier": {"carrierCode": p["carrierCode"],
                                          "trackingNumber": p["trackingNumber"]}},
                 "shipmentItemIds": [i["shipmentItemId"] for i in items
                                     if i.get("packageId") in (None, str(p["packageNumber"]))]}
                for p in packages]
        views.append(view)
    return views


def order_view(order: dict, store: Store, marketplace_country: str,
               with_shipments: bool = True) -> dict:
    """FulfillmentOrder, per the v2026-07-04 model."""
    view = {
        "orderId": order["id"],
        "receiveTime": iso(order["receivedAt"]),
        "status": ORDER_STATUS.get(order["status"], "PROCESSING"),
        "statusUpdateTime": iso(order["statusUpdatedAt"]),
        "fulfillmentConfiguration": _configuration(order),
        "origin": {"countryCode": marketplace_country},
        "destination": _destination(order),
        "lineItems": _line_items(order),
    }
    if with_shipments:
        view["shipments"] = _shipments(order, store)
    return view
