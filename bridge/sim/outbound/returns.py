"""Customer returns of shipped items: listReturnReasonCodes and createFulfillmentReturn,
and how a return moves on the simulated clock.

Each return item is one unit of one shipped line. It is accepted as New under a return
authorization (one per fulfillment center per request, the center the unit shipped
from, which is where it goes back). After return_transit_seconds the unit reaches the
center and is held for inspection (fcProcessingQuantity); after
return_inspection_seconds more it is Processed: its returnReceivedCondition follows the
reason code (defects and damage are not resold), Sellable units go back on the shelf,
the rest are counted in the unfulfillable breakdown.

Items that cannot be returned come back in invalidReturnItems with the model's codes:
InvalidValues (unknown item, shipment or reason code), DuplicateRequest (the
sellerReturnItemId was used before), NoCompletedShipItems (that shipment has not
shipped), NoReturnableQuantity (every shipped unit already has a return)."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from bridge.sim.clock import iso
from bridge.sim.fulfillment_centers import center
from bridge.sim.marketplaces import resolve
from bridge.sim.operations import Operation
from bridge.sim.outbound.validation import check_against_model, seller_fulfillment_order_id
from bridge.sim.wire import Call, Reply, invalid_input, not_found

if TYPE_CHECKING:
    from bridge.sim.inventory.stock import StockBook
    from bridge.sim.simulator import Simulator

# Amazon's codes and descriptions (the model's example answer), and the condition a
# unit returned for that reason is found in.
REASON_CODES = {
    "CR-UNWANTED_ITEM": ("No longer needed/wanted", "Sellable"),
    "AMZ-PG-BAD-DESC": ("Different from website description", "Sellable"),
    "CR-DEFECTIVE": ("Defective/Does not work properly", "Defective"),
    "CR-ORDERED_WRONG_ITEM": ("Accidental order", "Sellable"),
    "CR-FOUND_BETTER_PRICE": ("Better price available", "Sellable"),
    "CR-DAMAGED_BY_FC": ("Damaged due to inappropriate packaging", "FulfillerDamaged"),
    "CR-MISSED_ESTIMATED_DELIVERY": ("Missed estimated delivery date", "Sellable"),
    "CR-MISSING_PARTS": ("Missing parts or accessories", "CustomerDamaged"),
    "CR-DAMAGED_BY_CARRIER": ("Damaged during shipping", "CarrierDamaged"),
    "CR-SWITCHEROO": ("Different from what was ordered", "Sellable"),
    "CR-EXTRA_ITEM": ("Arrived in addition to what was ordered", "Sellable"),
    "CR-UNAUTHORIZED_PURCHASE": ("Unauthorized purchase", "Sellable"),
}
_VIEW_FIELDS = ("sellerReturnItemId", "sellerFulfillmentOrderItemId", "amazonShipmentId",
                "sellerReturnReasonCode", "returnComment", "amazonReturnReasonCode", "status",
                "returnAuthorizationId", "returnReceivedCondition", "fulfillmentCenterId")


def _digest(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


# -- the clock ------------------------------------------------------------------------------

def next_event(order: dict) -> float | None:
    """When the order's next return step is due (None: nothing pending)."""
    times = [item["arrivesAt"] if not item["arrived"] else item["processedAt"]
             for item in order.get("returnItems", []) if item["status"] == "New"]
    return min(times, default=None)


def advance(order: dict, at: float, stock: StockBook) -> None:
    """Apply every return step due by `at`, each stamped with its own time."""
    for item in order.get("returnItems", []):
        if item["status"] != "New":
            continue
        if not item["arrived"] and item["arrivesAt"] <= at:
            item["arrived"] = True
            stock.return_arrived(item["sellerSku"], 1, item["arrivesAt"])
        if item["arrived"] and item["processedAt"] <= at:
            condition = REASON_CODES[item["sellerReturnReasonCode"]][1]
            item.update(status="Processed", statusChangedAt=item["processedAt"],
                        returnReceivedCondition=condition,
                        amazonReturnReasonCode=item["sellerReturnReasonCode"])
            stock.return_inspected(item["sellerSku"], item["fulfillmentCenterId"], 1,
                                   condition, item["processedAt"])


def item_view(item: dict) -> dict:
    """ReturnItem, per the model."""
    view = {key: item[key] for key in _VIEW_FIELDS if item.get(key) is not None}
    view["statusChangedDate"] = iso(item["statusChangedAt"])
    return view


def authorization_view(authorization: dict) -> dict:
    return dict(authorization)


# -- createFulfillmentReturn ------------------------------------------------------------------

def _returnable(order: dict, existing: list[dict], shipment_id: str, item_id: str) -> int:
    shipped = sum(line["quantity"] for s in order["shipments"]
                  if s["amazonShipmentId"] == shipment_id and s["status"] == "SHIPPED"
                  for line in s["items"] if line["sellerFulfillmentOrderItemId"] == item_id)
    taken = sum(1 for r in existing
                if r["amazonShipmentId"] == shipment_id
                and r["sellerFulfillmentOrderItemId"] == item_id)
    return shipped - taken


def _invalid(request_item: dict, code: str, description: str) -> dict:
    return {"sellerReturnItemId": request_item["sellerReturnItemId"],
            "sellerFulfillmentOrderItemId": request_item["sellerFulfillmentOrderItemId"],
            "invalidItemReason": {"invalidItemReasonCode": code, "description": description}}


def _check_item(order: dict, request_item: dict, seen: set[str],
                existing: list[dict]) -> dict | None:
    """The InvalidReturnItem for this request item, or None when it can be returned.
    `existing` holds the order's return items plus those accepted earlier in the request."""
    return_id = request_item["sellerReturnItemId"]
    if return_id in seen or any(r["sellerReturnItemId"] == return_id for r in existing):
        return _invalid(request_item, "DuplicateRequest",
                        "A fulfillment return has already been requested for this item.")
    item_id = request_item["sellerFulfillmentOrderItemId"]
    shipment = next((s for s in order["shipments"]
                     if s["amazonShipmentId"] == request_item["amazonShipmentId"]), None)
    known_item = any(i["sellerFulfillmentOrderItemId"] == item_id for i in order["items"])
    in_shipment = shipment is not None and any(
        line["sellerFulfillmentOrderItemId"] == item_id for line in shipment["items"])
    if not known_item or shipment is None or not in_shipment or \
            request_item["returnReasonCode"] not in REASON_CODES:
        return _invalid(request_item, "InvalidValues",
                        "The item was not found in a fulfillment order.")
    if shipment["status"] != "SHIPPED":
        return _invalid(request_item, "NoCompletedShipItems",
                        "The fulfillment order containing this item has not yet shipped.")
    if _returnable(order, existing, shipment["amazonShipmentId"], item_id) <= 0:
        return _invalid(request_item, "NoReturnableQuantity",
                        "All item quantity available for return has been allocated to other "
                        "return items.")
    return None


def _authorization(sim: Simulator, fc: str) -> dict:
    number = sim.fulfillment.next_return_authorization()
    rma = "D" + _digest("rma", number)[:8] + "RMA"
    address = center(fc).address()
    address["name"] = "Returns Department"
    return {"returnAuthorizationId": "RMA" + _digest("ra", number)[:13].upper(),
            "fulfillmentCenterId": fc, "returnToAddress": address, "amazonRmaId": rma,
            "rmaPageURL": f"https://www.amazon.com/gp/orc/rml/{rma}"}


def create_fulfillment_return(sim: Simulator, call: Call) -> Reply:
    order_id = seller_fulfillment_order_id(call.path_params["sellerFulfillmentOrderId"])
    body = call.json_body()
    check_against_model(body, "CreateFulfillmentReturnRequest")
    if not body["items"]:
        raise invalid_input("Value for parameter items is invalid: at least one item is "
                            "required.")
    order = sim.fulfillment.get(order_id)
    if order is None:
        raise not_found(f"The fulfillment order {order_id} was not found.")

    now = sim.now()
    config = sim.config
    seen: set[str] = set()
    accepted: list[dict[str, Any]] = []
    invalid: list[dict[str, Any]] = []
    authorizations: dict[str, dict[str, Any]] = {}
    for request_item in body["items"]:
        problem = _check_item(order, request_item, seen, order["returnItems"] + accepted)
        seen.add(request_item["sellerReturnItemId"])
        if problem is not None:
            invalid.append(problem)
            continue
        shipment = next(s for s in order["shipments"]
                        if s["amazonShipmentId"] == request_item["amazonShipmentId"])
        fc = shipment["fulfillmentCenterId"]
        if fc not in authorizations:
            authorizations[fc] = _authorization(sim, fc)
        line = next(i for i in order["items"] if i["sellerFulfillmentOrderItemId"]
                    == request_item["sellerFulfillmentOrderItemId"])
        item = {key: request_item[key] for key in ("sellerReturnItemId",
                                                    "sellerFulfillmentOrderItemId",
                                                    "amazonShipmentId")}
        item.update(sellerReturnReasonCode=request_item["returnReasonCode"],
                    returnComment=request_item.get("returnComment"),
                    amazonReturnReasonCode="UNKNOWN_OTHER_REASON", status="New",
                    statusChangedAt=now, sellerSku=line["sellerSku"],
                    returnAuthorizationId=authorizations[fc]["returnAuthorizationId"],
                    fulfillmentCenterId=fc, arrived=False,
                    arrivesAt=now + config.return_transit_seconds,
                    processedAt=now + config.return_transit_seconds
                    + config.return_inspection_seconds)
        accepted.append(item)
    sim.fulfillment.add_returns(order, accepted, list(authorizations.values()))
    return Reply(200, {"payload": {
        "returnItems": [item_view(i) for i in accepted],
        "invalidReturnItems": invalid,
        "returnAuthorizations": [authorization_view(a) for a in authorizations.values()],
    }})


# -- listReturnReasonCodes ------------------------------------------------------------------

def list_return_reason_codes(sim: Simulator, call: Call) -> Reply:
    sku = call.text("sellerSku")
    if sku is None:
        raise invalid_input("Missing required parameter: sellerSku.")
    market = resolve(call.text("marketplaceId"), sim.config.marketplace_id)
    if sim.stock.at(market.marketplace_id).get(sku) is None:
        raise invalid_input(f"The SellerSKU {sku} is invalid.")
    order_id = call.text("sellerFulfillmentOrderId")
    if order_id is not None and sim.fulfillment.get(order_id) is None:
        raise not_found(f"The fulfillment order {order_id} was not found.")
    language = (call.text("language") or "").lower()
    details = []
    for code, (description, _) in REASON_CODES.items():
        detail = {"returnReasonCode": code, "description": description}
        if language.startswith("en"):
            detail["translatedDescription"] = description  # only English is simulated
        details.append(detail)
    return Reply(200, {"payload": {"reasonCodeDetails": details}})


OPERATIONS = [
    Operation("listReturnReasonCodes", list_return_reason_codes),
    Operation("createFulfillmentReturn", create_fulfillment_return),
]
