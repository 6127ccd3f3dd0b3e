"""How a stored fulfillment order reads on the wire (the model's FulfillmentOrder, its
items and shipments) and in the admin API's compact summary."""

from __future__ import annotations

from bridge.sim.clock import iso
from bridge.sim.config import SimConfig
from bridge.sim.outbound.lifecycle import CLOSED_ORDER, marketplace_of, transit_seconds
from bridge.sim.outbound.reservations import reserved
from bridge.sim.state import Store

# Per-item fields a create or update may carry and the views echo back.
ITEM_OPTIONAL = ("giftMessage", "displayableComment", "perUnitPrice", "perUnitTax",
                 "perUnitDeclaredValue")


def estimated_ship_at(order: dict, config: SimConfig) -> float:
    dates = [s["shippingDate"] for s in order["shipments"]
             if s["status"] in ("PENDING", "SHIPPED")]
    if dates:
        return max(dates)
    start = order.get("releasedAt") or order["receivedAt"]
    return start + config.received_seconds + config.planning_seconds + config.processing_seconds


def order_view(order: dict, config: SimConfig) -> dict:
    """FulfillmentOrder, per the model."""
    request = order["request"]
    view = {
        "sellerFulfillmentOrderId": order["id"],
        "marketplaceId": marketplace_of(order, config),
        "displayableOrderId": request["displayableOrderId"],
        "displayableOrderDate": request["displayableOrderDate"],
        "displayableOrderComment": request["displayableOrderComment"],
        "shippingSpeedCategory": request["shippingSpeedCategory"],
        "destinationAddress": request["destinationAddress"],
        "fulfillmentAction": order["fulfillmentAction"],
        "fulfillmentPolicy": order["fulfillmentPolicy"],
        "receivedDate": iso(order["receivedAt"]),
        "fulfillmentOrderStatus": order["status"],
        "statusUpdatedDate": iso(order["statusUpdatedAt"]),
    }
    for optional in ("deliveryWindow", "codSettings", "notificationEmails",
                     "featureConstraints"):
        if request.get(optional) is not None:
            view[optional] = request[optional]
    return view


def items_view(order: dict, config: SimConfig) -> list[dict]:
    ship_at = estimated_ship_at(order, config)
    transit = transit_seconds(config, order["request"]["shippingSpeedCategory"])
    views = []
    for item in order["items"]:
        view = {"sellerSku": item["sellerSku"],
                "sellerFulfillmentOrderItemId": item["sellerFulfillmentOrderItemId"],
                "quantity": item["quantity"],
                "fulfillmentNetworkSku": item["fulfillmentNetworkSku"],
                "orderItemDisposition": "Sellable",
                "cancelledQuantity": item["cancelledQuantity"],
                "unfulfillableQuantity": item["unfulfillableQuantity"]}
        if order["status"] not in CLOSED_ORDER:
            view["estimatedShipDate"] = iso(ship_at)
            view["estimatedArrivalDate"] = iso(ship_at + transit)
        for optional in ITEM_OPTIONAL:
            if item.get(optional) is not None:
                view[optional] = item[optional]
        views.append(view)
    return views


def shipments_view(order: dict, store: Store) -> list[dict]:
    views = []
    for shipment in order["shipments"]:
        if shipment["status"] is None:
            continue  # planned, not yet announced
        view = {"amazonShipmentId": shipment["amazonShipmentId"],
                "fulfillmentCenterId": shipment["fulfillmentCenterId"],
                "fulfillmentShipmentStatus": shipment["status"],
                "fulfillmentShipmentItem": [dict(line) for line in shipment["items"]]}
        if shipment["status"] in ("PENDING", "SHIPPED"):
            view["shippingDate"] = iso(shipment["shippingDate"])
            view["estimatedArrivalDate"] = iso(shipment["estimatedArrivalDate"])
        packages = [store.get("package", str(n)) for n in shipment["packages"]]
        if packages:
            view["fulfillmentShipmentPackage"] = [
                {"packageNumber": p["packageNumber"], "carrierCode": p["carrierCode"],
                 "trackingNumber": p["trackingNumber"],
                 "estimatedArrivalDate": iso(p["deliveredAt"])} for p in packages if p]
        views.append(view)
    return views


def summary(order: dict, store: Store) -> dict:
    """The admin API's compact view, for tests' and merchants' final checks."""
    packages = [store.get("package", str(n))
                for s in order["shipments"] for n in s["packages"]]
    return {
        "sellerFulfillmentOrderId": order["id"],
        "marketplaceId": order.get("marketplaceId") or order["request"].get("marketplaceId"),
        "status": order["status"],
        "fulfillmentAction": order["fulfillmentAction"],
        "fulfillmentPolicy": order["fulfillmentPolicy"],
        "receivedDate": iso(order["receivedAt"]),
        "statusUpdatedDate": iso(order["statusUpdatedAt"]),
        "trackingOutcome": order["trackingOutcome"],
        "items": [{"sellerSku": i["sellerSku"],
                   "sellerFulfillmentOrderItemId": i["sellerFulfillmentOrderItemId"],
                   "quantity": i["quantity"], "reserved": reserved(i),
                   "reservedByFulfillmentCenter": dict(i["reservedByFc"]),
                   "shipped": i["shipped"], "cancelledQuantity": i["cancelledQuantity"],
                   "unfulfillableQuantity": i["unfulfillableQuantity"]}
                  for i in order["items"]],
        "shipments": [{"amazonShipmentId": s["amazonShipmentId"],
                       "fulfillmentCenterId": s["fulfillmentCenterId"],
                       "status": s["status"]} for s in order["shipments"]
                      if s["status"] is not None],
        "packages": [{"packageNumber": p["packageNumber"], "carrierCode": p["carrierCode"],
                      "trackingNumber": p["trackingNumber"],
                      "fulfillmentCenterId": p["fulfillmentCenterId"]}
                     for p in packages if p],
        "returnItems": len(order["returnItems"]),
    }
