"""Fulfillment Outbound API v2026-07-04 (/fulfillment/outbound/2026-07-04): createOrder,
getOrder, listOrders, updateOrder, cancelOrder, getOrderPreview and getOffers, plus the
sandbox-only updateOrderStatus. Each request is checked against the v2026 model, turned
into the 2020-07-01 request (`translate`) and run by the 2020-07-01 handler on the same
order book, so both versions see the same orders and refuse the same things; answers are
written back in v2026's shape (`views`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from starlette.datastructures import Headers, QueryParams

from bridge.sim import request_schema
from bridge.sim.marketplaces import resolve
from bridge.sim.operations import Operation
from bridge.sim.outbound import api as outbound_2020
from bridge.sim.outbound import previews
from bridge.sim.outbound.lifecycle import marketplace_of
from bridge.sim.outbound.validation import seller_fulfillment_order_id
from bridge.sim.outbound_v2026 import translate, views
from bridge.sim.wire import Call, Reply, SimError, invalid_input, known_fields, not_found

if TYPE_CHECKING:
    from bridge.sim.simulator import Simulator

# updateOrderStatus (sandbox) → the 2020 status it forces.
_FORCED_STATUS = {"COMPLETE": "Complete", "COMPLETE_PARTIAL": "CompletePartialled",
                  "CANCELLED": "Cancelled", "UNFULFILLABLE": "Unfulfillable",
                  "INVALID": "Invalid", "PROCESSING": "Processing"}


def _checked(call: Call, definition: str) -> dict:
    body = call.json_body()
    request_schema.check_against_model(body, definition, translate.MODEL)
    return known_fields(body, definition, translate.MODEL)


def _as_2020(path_params: dict | None = None, body: dict | None = None) -> Call:
    """The 2020-07-01 request the v2026 one stands for, for its handler."""
    raw = b"" if body is None else json.dumps(body).encode()
    return Call(path_params or {}, QueryParams(""), Headers(), raw)


def _order_or_404(sim: Simulator, order_id: str) -> dict:
    order = sim.fulfillment.get(seller_fulfillment_order_id(order_id))
    if order is None:
        raise not_found(f"The fulfillment order {order_id} was not found.")
    return order


def _view(sim: Simulator, order: dict, with_shipments: bool = True) -> dict:
    market = resolve(marketplace_of(order, sim.config), sim.config.marketplace_id)
    return views.order_view(order, sim.store, market.country, with_shipments)


def _with_shipments(call: Call) -> bool:
    choice = call.text("shipments") or "INCLUDE"
    if choice not in ("INCLUDE", "EXCLUDE"):
        raise invalid_input(f"Value {choice!r} for parameter shipments is invalid. "
                            "Valid values: INCLUDE, EXCLUDE.")
    return choice == "INCLUDE"


def create_order(sim: Simulator, call: Call) -> Reply:
    body = _checked(call, "CreateOrderRequest")
    request = translate.create_request(body, sim.now())
    outbound_2020.create_fulfillment_order(sim, _as_2020(body=request))
    return Reply(200, {"order": _view(sim, _order_or_404(sim, body["orderId"]))})


def get_order(sim: Simulator, call: Call) -> Reply:
    order = _order_or_404(sim, call.path_params["orderId"])
    return Reply(200, {"order": _view(sim, order, _with_shipments(call))})


def list_orders(sim: Simulator, call: Call) -> Reply:
    """Orders updated after updatedAfter (all without it), oldest change first; the
    pageToken holds the position as listAllFulfillmentOrders' nextToken does."""
    with_shipments = _with_shipments(call)
    page, next_token = outbound_2020.changed_orders_page(sim, call, "pageToken", "updatedAfter")
    result: dict = {"orders": [_view(sim, o, with_shipments) for o in page]}
    if next_token is not None:
        result["pagination"] = {"nextToken": next_token}
    return Reply(200, result)


def update_order(sim: Simulator, call: Call) -> Reply:
    """v2026 changes only the action: SHIP releases a held order."""
    order = _order_or_404(sim, call.path_params["orderId"])
    changes = translate.update_changes(_checked(call, "UpdateOrderRequest"))
    if changes:
        outbound_2020.update_fulfillment_order(
            sim, _as_2020({"sellerFulfillmentOrderId": order["id"]}, changes))
    return Reply(202, {})


def cancel_order(sim: Simulator, call: Call) -> Reply:
    order = _order_or_404(sim, call.path_params["orderId"])
    outbound_2020.cancel_fulfillment_order(
        sim, _as_2020({"sellerFulfillmentOrderId": order["id"]}))
    return Reply(202, {})


def update_order_status(sim: Simulator, call: Call) -> Reply:
    """Sandbox-only in Amazon's service: move an order to a status now."""
    order = _order_or_404(sim, call.path_params["orderId"])
    body = _checked(call, "UpdateOrderStatusRequest")
    target = body.get("status")
    if target not in _FORCED_STATUS:
        raise invalid_input(f"Value {target!r} for parameter status is invalid. "
                            f"Valid values: {', '.join(_FORCED_STATUS)}.")
    sim.fulfillment.force_status(order["id"], _FORCED_STATUS[target], sim.now())
    return Reply(204, {})


# updatePackage (sandbox) statuses → the tracking outcome the order's packages follow.
_PACKAGE_OUTCOME = {"DELIVERED": "DELIVERED", "DELAYED": "DELAYED",
                    "UNDELIVERABLE": "UNDELIVERABLE"}


def update_package(sim: Simulator, call: Call) -> Reply:
    """Sandbox-only in Amazon's service: steer where the order's packages end up (the
    simulator keeps one tracking outcome per order)."""
    order = _order_or_404(sim, call.path_params["orderId"])
    package_id = call.path_params["packageId"]
    numbers = {str(n) for s in order["shipments"] for n in s["packages"]}
    if package_id not in numbers:
        raise not_found(f"The package {package_id} was not found in order {order['id']}.")
    status = _checked(call, "UpdatePackageRequest")["status"]
    if status not in _PACKAGE_OUTCOME:
        raise invalid_input(f"Value {status!r} for parameter status is invalid. "
                            f"Valid values: {', '.join(_PACKAGE_OUTCOME)}.")
    sim.fulfillment.set_tracking_outcome(order["id"], _PACKAGE_OUTCOME[status])
    return Reply(204, {})


def get_order_preview(sim: Simulator, call: Call) -> Reply:
    """One planned shipment per fulfillment center, with an offer per service tier."""
    request = translate.preview_request(_checked(call, "GetOrderPreviewRequest"))
    reply = previews.get_fulfillment_preview(sim, _as_2020(body=request))
    planned: dict[str, dict] = {}
    constraints: list[dict] = []
    for preview in reply.body["payload"]["fulfillmentPreviews"]:
        tier = translate.TIER_OF_SPEED.get(preview["shippingSpeedCategory"], "STANDARD")
        for reason in preview.get("orderUnfulfillableReasons") or []:
            constraints.append({"code": reason, "type": "ORDER", "message":
                                f"The order cannot be fulfilled with {tier}: {reason}."})
        for item in preview.get("unfulfillablePreviewItems") or []:
            constraints.append({"code": "ITEM_UNFULFILLABLE", "type": "ITEM", "message":
                                f"{item['sellerSku']}: {', '.join(item.get('itemUnfulfillableReasons') or [])}",
                                "details": [{"type": "amazonSku", "value": item["sellerSku"]}]})
        for index, shipment in enumerate(preview.get("fulfillmentPreviewShipments") or []):
            entry = planned.setdefault(str(index), {"items": [
                {"productIdentifier": {"amazonSku": i["sellerSku"]},
                 "amount": translate.amount(i["quantity"])}
                for i in shipment["fulfillmentPreviewItems"]], "offers": []})
            offer: dict = {"fulfillmentConfiguration": {"serviceLevel": {
                "serviceTier": tier,
                "shipInterval": {"startTime": shipment["earliestShipDate"],
                                 "endTime": shipment["latestShipDate"]},
                "deliveryInterval": {"startTime": shipment["earliestArrivalDate"],
                                     "endTime": shipment["latestArrivalDate"]}}}}
            fees = preview.get("estimatedFees") or []
            if fees:
                currency = fees[0]["amount"]["currencyCode"]
                total = sum(float(f["amount"]["value"]) for f in fees)
                offer["estimatedPrice"] = {
                    "rollupPrices": [{"type": f["name"], "value": {
                        "currencyCode": f["amount"]["currencyCode"],
                        "amount": str(f["amount"]["value"])}} for f in fees],
                    "totalPrice": {"currencyCode": currency, "amount": f"{total:.2f}"}}
            entry["offers"].append(offer)
    # Unique constraints, in the order found (each tier repeats an item's reasons).
    unique = list({json.dumps(c, sort_keys=True): c for c in constraints}.values())
    return Reply(200, {"plannedShipments": list(planned.values()), "constraints": unique})


def get_offers(sim: Simulator, call: Call) -> Reply:
    """Per item: an offer per service tier when one unit ships from the origin to the
    destination; a constraint naming the item otherwise."""
    body = _checked(call, "GetOffersRequest")
    destination = body.get("destination") or {}
    results = []
    for item in body["items"]:
        sku = (item.get("productIdentifier") or {}).get("amazonSku")
        if not sku:
            raise invalid_input("Missing required parameter: items.productIdentifier.amazonSku.")
        terms: dict = {"origin": body["origin"], "destination": {}}
        if destination.get("deliveryAddress"):
            terms["destination"]["deliveryAddress"] = destination["deliveryAddress"]
        else:
            terms["destination"]["ipAddress"] = destination.get("ipAddress") or "0.0.0.0"
        request = {"product": {"productIdentifier": {"merchantSku": sku},
                               "amount": {"unitOfMeasure": "Eaches", "value": "1"}},
                   "terms": terms}
        result: dict = {"item": {"productIdentifier": {"amazonSku": sku}}}
        try:
            reply = previews.delivery_offers(sim, _as_2020(body=request))
        except SimError as refused:
            result["constraints"] = [{"code": refused.code, "type": "ITEM",
                                      "message": refused.message}]
            results.append(result)
            continue
        result["offers"] = [
            {"expiryTime": offer["expiresAt"],
             "fulfillmentConfiguration": {"serviceLevel": {
                 "serviceTier": translate.TIER_OF_SPEED[speed],
                 "deliveryInterval": {"startTime": offer["dateRange"]["earliest"],
                                      "endTime": offer["dateRange"]["latest"]}}}}
            for speed, offer in zip(previews.DEFAULT_SPEEDS,
                                    reply.body["payload"]["deliveryOffers"], strict=False)]
        results.append(result)
    return Reply(200, {"offerResults": results})


OPERATIONS = [
    Operation("createOrder", create_order),
    Operation("getOrder", get_order),
    Operation("listOrders", list_orders),
    Operation("updateOrder", update_order),
    Operation("cancelOrder", cancel_order),
    Operation("updateOrderStatus", update_order_status),
    Operation("updatePackage", update_package),
    Operation("getOrderPreview", get_order_preview),
    Operation("getOffers", get_offers),
]
