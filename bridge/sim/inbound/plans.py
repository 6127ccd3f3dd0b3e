"""Inbound plans from creation to a confirmed placement: the plan itself, packing options
and packing groups, box contents (setPackingInformation), placement options with their
shipments, and cancellation. Each asynchronous operation is an Action: a check that
refuses a request the plan cannot take, and the change made when the operation completes.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bridge.sim.inbound import items as inbound_items
from bridge.sim.inbound import places as inbound_places
from bridge.sim.inbound.actions import Action, OperationFailed
from bridge.sim.inbound.wire import bad_request, new_id

if TYPE_CHECKING:
    from bridge.sim.inbound.network import InboundNetwork

# A shipment has left the seller once it reaches one of these; it can no longer be cancelled.
SHIPPED_STATUSES = ("SHIPPED", "IN_TRANSIT", "DELIVERED", "CHECKED_IN", "RECEIVING", "CLOSED")
# Amazon's limit is per box quantity (10000) and per grouping (5000 entries); the simulator
# also bounds the boxes one request may describe, so a single call cannot exhaust memory.
MAX_BOXES_PER_REQUEST = 10000
PLACEMENT_FEE_PER_UNIT = 0.27  # one destination instead of Amazon's split, per unit
ITEM_FIELDS = ("msku", "quantity", "prepOwner", "labelOwner", "expiration",
               "manufacturingLotCode")


# -- shared checks ---------------------------------------------------------------------------

def require_ready(plan: dict, to_do: str) -> None:
    """An ACTIVE plan whose creation has completed, or 400 in the model's words."""
    if plan["status"] == "VOIDED":
        raise bad_request("The inbound plan is already cancelled.")
    if plan["status"] != "ACTIVE" or not plan["ready"]:
        raise bad_request(f"The inbound plan is not in a valid state to {to_do}.")


def shipment_of(plan: dict, shipment_id: str) -> dict:
    shipment = plan["shipments"].get(shipment_id)
    if shipment is None:
        raise bad_request("The requested shipmentId does not exist for the specified "
                          "inbound plan.")
    return shipment


def confirmed_placement(plan: dict) -> dict | None:
    return next((o for o in plan["placementOptions"] if o["status"] == "ACCEPTED"), None)


def offered(option: dict, now_or_due: float) -> bool:
    return option["status"] == "OFFERED" and now_or_due < option["expiresAt"]


def option_status(option: dict, now: float) -> str:
    """OFFERED options expire on the clock; ACCEPTED ones never do."""
    if option["status"] == "OFFERED" and now >= option["expiresAt"]:
        return "EXPIRED"
    return option["status"]


def normalized_item(item: dict, plan_item: dict | None = None) -> dict:
    out = {k: item[k] for k in ITEM_FIELDS if k in item}
    source = plan_item or item
    out["asin"], out["fnsku"] = source["asin"], source["fnsku"]
    return out


def units_by_msku(items: list[dict], times: int = 1) -> dict[str, int]:
    totals: dict[str, int] = {}
    for item in items:
        totals[item["msku"]] = totals.get(item["msku"], 0) + item["quantity"] * times
    return totals


# -- creation --------------------------------------------------------------------------------

def create_plan(net: InboundNetwork, body: dict, now: float) -> dict:
    """A plan from a createInboundPlan body already checked against the model."""
    marketplace_id = body["destinationMarketplaces"][0]
    if marketplace_id not in inbound_places.MARKETPLACES:
        raise bad_request("Invalid destinationMarketplace provided.")
    country = inbound_places.country_of(marketplace_id)
    if country in inbound_places.SELF_SHIP_COUNTRIES:
        raise bad_request("Invalid destinationMarketplace provided.",
                          f"The simulator does not model the {country} marketplace.")
    seen = set()
    for index, item in enumerate(body["items"]):
        key = (item["msku"], item.get("expiration"), item.get("manufacturingLotCode"))
        if key in seen:
            raise bad_request(f"The msku {item['msku']} appears more than once in items.")
        seen.add(key)
        if not item["msku"].strip():
            raise bad_request(f"The value of items[{index}].msku must not be blank.")
        if item["prepOwner"] == "NONE" and inbound_items.needs_prep(net, item["msku"]):
            raise bad_request(f"The prepOwner NONE is not valid for msku {item['msku']}: it "
                              "requires prep.")
        if country == "US" and item["labelOwner"] == "AMAZON":
            raise bad_request(f"The labelOwner AMAZON is not accepted in the US marketplace "
                              f"(items[{index}], msku {item['msku']}).")
    for field in ("name", "addressLine1", "city", "postalCode", "phoneNumber"):
        if not body["sourceAddress"][field].strip():
            raise bad_request(f"The value of sourceAddress.{field} must not be blank.")
    if "name" in body and not body["name"].strip():
        raise bad_request("The value of name must not be blank.")

    items = []
    for item in body["items"]:
        sku = net.stock_for(marketplace_id).ensure(item["msku"], now)
        items.append(normalized_item(item, {"asin": sku["asin"], "fnsku": sku["fnSku"]}))
    stamp = datetime.fromtimestamp(now, UTC).strftime("%m/%d/%Y, %I:%M %p")
    plan = {
        "id": new_id("wf"), "seq": net.next_number("plan"),
        "name": body.get("name") or f"FBA ({stamp})",
        "marketplaceId": marketplace_id, "currency": inbound_places.currency_of(marketplace_id),
        "sourceAddress": dict(body["sourceAddress"]), "status": "ACTIVE", "ready": False,
        "createdAt": now, "updatedAt": now, "items": items,
        "packingOptions": [], "packingGroups": {}, "boxes": [], "placementOptions": [],
        "shipments": {}, "transportationOptions": {}, "deliveryWindowOptions": {},
        "contentUpdatePreviews": {}, "transportationConfirmed": False,
    }
    net.add_plan(plan)
    return plan


def _check_create(net, plan, params, now) -> None:
    """Nothing left to check: the request was checked when the plan was made."""


def _apply_create(net, plan, params, at) -> None:
    plan["ready"] = True


# -- packing ---------------------------------------------------------------------------------

def _check_generate_packing(net, plan, params, now) -> None:
    require_ready(plan, "generate packing options")
    if plan.get("confirmedPackingOptionId"):
        raise bad_request("The inbound plan is not in a valid state to generate packing "
                          "options.", "A packing option has already been confirmed.")


def _apply_generate_packing(net, plan, params, at) -> None:
    """One option packs everything together; with several SKUs, a second one packs them
    in two groups (Amazon offers such splits for items that ship apart)."""
    items = plan["items"]
    groupings = [[items]]
    if len({i["msku"] for i in items}) > 1:
        ordered = sorted(items, key=lambda i: i["msku"])
        groupings.append([ordered[0::2], ordered[1::2]])
    plan["packingGroups"], plan["packingOptions"] = {}, []
    expires = at + net.config.inbound_option_valid_seconds
    for groups in groupings:
        group_ids = []
        for group_items in groups:
            group_id = new_id("pg")
            plan["packingGroups"][group_id] = {"id": group_id,
                                               "items": [dict(i) for i in group_items]}
            group_ids.append(group_id)
        plan["packingOptions"].append({"id": new_id("po"), "status": "OFFERED",
                                       "expiresAt": expires, "groups": group_ids})


def _offered_option(plan: dict, kind: str, option_id: str) -> dict:
    """The plan's packing or placement option with this id (kind "packing"/"placement")."""
    option = next((o for o in plan[f"{kind}Options"] if o["id"] == option_id), None)
    if option is None:
        raise bad_request(f"The requested {kind}OptionId does not exist for the given "
                          "inbound plan.")
    return option


def _check_confirm_packing(net, plan, params, now) -> None:
    require_ready(plan, "confirm a packing option")
    option = _offered_option(plan, "packing", params["packingOptionId"])
    if plan.get("confirmedPackingOptionId"):
        raise bad_request("A packing option has already been confirmed for this inbound plan.")
    if option_status(option, now) != "OFFERED":
        raise bad_request("The requested packing option has expired. Generate packing "
                          "options again.")


def _apply_confirm_packing(net, plan, params, at) -> None:
    for option in plan["packingOptions"]:
        option["status"] = "ACCEPTED" if option["id"] == params["packingOptionId"] else "EXPIRED"
    plan["confirmedPackingOptionId"] = params["packingOptionId"]


def confirmed_groups(plan: dict) -> list[str]:
    option_id = plan.get("confirmedPackingOptionId")
    option = next((o for o in plan["packingOptions"] if o["id"] == option_id), None)
    return list(option["groups"]) if option else []


def _check_set_packing(net, plan, params, now) -> None:
    require_ready(plan, "set packing information")
    if plan["transportationConfirmed"]:
        raise bad_request("The inbound plan is not in a valid state to set packing "
                          "information.", "Transportation has already been confirmed.")
    groups = confirmed_groups(plan)
    total_boxes = 0
    for index, grouping in enumerate(params["packageGroupings"]):
        group_id, shipment_id = grouping.get("packingGroupId"), grouping.get("shipmentId")
        if bool(group_id) == bool(shipment_id):
            raise bad_request(f"packageGroupings[{index}] must name exactly one of "
                              "packingGroupId and shipmentId.")
        if group_id:
            if group_id not in plan["packingGroups"]:
                raise bad_request("The requested packingGroupId does not exist for the "
                                  "specified inbound plan.")
            if group_id not in groups:
                raise bad_request("The inbound plan is not in a valid state to set packing "
                                  "information.", f"The packing group {group_id} is not part "
                                  "of a confirmed packing option.")
            allowed = {i["msku"] for i in plan["packingGroups"][group_id]["items"]}
        else:
            shipment = shipment_of(plan, shipment_id)
            # Per-shipment packing is for shipments of the confirmed placement, before they go.
            if shipment["status"] != "WORKING":
                raise bad_request(f"The shipment {shipment_id} cannot be packed: it must belong "
                                  "to the confirmed placement option and not be ready to ship.")
            allowed = {i["msku"] for i in shipment["items"]}
        for b, box in enumerate(grouping["boxes"]):
            total_boxes += box["quantity"]
            if box["contentInformationSource"] == "BOX_CONTENT_PROVIDED" and not box.get("items"):
                raise bad_request(f"packageGroupings[{index}].boxes[{b}].items is required when "
                                  "contentInformationSource is BOX_CONTENT_PROVIDED.")
            for item in box.get("items") or []:
                if item["msku"] not in allowed:
                    raise bad_request(f"The msku {item['msku']} in packageGroupings[{index}]."
                                      f"boxes[{b}] is not part of that packing group or "
                                      "shipment.")
    if total_boxes > MAX_BOXES_PER_REQUEST:
        raise bad_request(f"A request may describe at most {MAX_BOXES_PER_REQUEST} boxes.")


def spread_units(items: list[dict], count: int) -> list[list[dict]]:
    """Units of boxes whose contents the seller did not list, spread evenly over them."""
    boxes: list[list[dict]] = [[] for _ in range(count)]
    for item in items:
        base, extra = divmod(item["quantity"], count)
        for n in range(count):
            quantity = base + (1 if n < extra else 0)
            if quantity:
                boxes[n].append({**item, "quantity": quantity})
    return boxes


def _expand_boxes(plan: dict, grouping: dict, expected: list[dict]) -> list[dict]:
    """Each BoxInput of quantity n becomes n boxes, checked against the expected units."""
    by_msku = {i["msku"]: i for i in plan["items"]}
    boxes, unlisted = [], []
    for box in grouping["boxes"]:
        for _ in range(box["quantity"]):
            made = {"packageId": new_id("pk"), "boxId": None,
                    "contentInformationSource": box["contentInformationSource"],
                    "dimensions": dict(box["dimensions"]), "weight": dict(box["weight"]),
                    "items": [normalized_item(i, by_msku[i["msku"]])
                              for i in box.get("items") or []]}
            boxes.append(made)
            if not made["items"]:
                unlisted.append(made)
    listed = units_by_msku([i for b in boxes for i in b["items"]])
    wanted = units_by_msku(expected)
    if unlisted:
        remaining = [{**i, "quantity": wanted[i["msku"]] - listed.get(i["msku"], 0)}
                     for i in expected if wanted[i["msku"]] - listed.get(i["msku"], 0) > 0]
        for box, items in zip(unlisted, spread_units(remaining, len(unlisted)), strict=True):
            box["items"] = items
        listed = units_by_msku([i for b in boxes for i in b["items"]])
    if listed != wanted:
        mismatched = sorted(set(listed) | set(wanted))
        detail = ", ".join(f"{m}: {listed.get(m, 0)} packed, {wanted.get(m, 0)} expected"
                           for m in mismatched if listed.get(m, 0) != wanted.get(m, 0))
        raise OperationFailed("BoxContentMismatch", "The box contents do not match the units "
                              "of the packing group or shipment.", detail)
    return boxes


def _apply_set_packing(net, plan, params, at) -> None:
    replaced: dict[tuple[str, str], list[dict]] = {}
    for grouping in params["packageGroupings"]:  # compute everything before changing
        if grouping.get("packingGroupId"):
            key = ("groupId", grouping["packingGroupId"])
            expected = plan["packingGroups"][grouping["packingGroupId"]]["items"]
        else:
            key = ("shipmentId", grouping["shipmentId"])
            expected = plan["shipments"][grouping["shipmentId"]]["items"]
        boxes = _expand_boxes(plan, grouping, expected)
        for box in boxes:
            box["groupId"] = grouping.get("packingGroupId")
            box["shipmentId"] = grouping.get("shipmentId")
        replaced[key] = boxes
    for (field, value), boxes in replaced.items():
        plan["boxes"] = [b for b in plan["boxes"] if b.get(field) != value] + boxes
        if field == "shipmentId":
            shipment = plan["shipments"][value]
            shipment["boxIds"] = [b["packageId"] for b in boxes]
            number_boxes(plan, shipment)


def number_boxes(plan: dict, shipment: dict) -> None:
    """Box ids as Amazon prints them: the shipment confirmation id, U, a six-digit count."""
    mine = [b for b in plan["boxes"] if b.get("shipmentId") == shipment["id"]]
    for n, box in enumerate(mine, start=1):
        box["boxId"] = f"{shipment['confirmationId']}U{n:06d}"


# -- placement -------------------------------------------------------------------------------

def _check_generate_placement(net, plan, params, now) -> None:
    require_ready(plan, "generate placement options")
    groups = confirmed_groups(plan)
    packed = {b.get("groupId") for b in plan["boxes"]}
    if not groups or any(g not in packed for g in groups):
        raise bad_request("The inbound plan is not in a valid state to generate placement "
                          "options.", "Confirm a packing option and set packing information "
                          "for each of its packing groups first.")
    if confirmed_placement(plan):
        raise bad_request("The inbound plan is not in a valid state to generate placement "
                          "options.", "A placement option has already been confirmed.")
    for index, custom in enumerate(params.get("customPlacement") or []):
        known = {i["msku"] for i in plan["items"]}
        for item in custom["items"]:
            if item["msku"] not in known:
                raise bad_request(f"The msku {item['msku']} in customPlacement[{index}] is not "
                                  "part of the inbound plan.")


def _new_shipment(net, plan: dict, option_id: str, warehouse: dict, boxes: list[dict],
                  at: float) -> dict:
    stamp = datetime.fromtimestamp(at, UTC).strftime("%m/%d/%Y %H:%M")
    items: dict[str, dict] = {}
    for box in boxes:
        for item in box["items"]:
            line = items.setdefault(item["msku"], {**item, "quantity": 0})
            line["quantity"] += item["quantity"]
    return {"id": new_id("sh"), "seq": net.next_number("shipment"),
            "placementOptionId": option_id, "status": "UNCONFIRMED",
            "name": f"FBA ({stamp})-{warehouse['warehouseId']}",
            "warehouseId": warehouse["warehouseId"], "destinationAddress": warehouse["address"],
            "sourceAddress": dict(plan["sourceAddress"]), "items": list(items.values()),
            "boxIds": [b["packageId"] for b in boxes], "received": {}, "confirmationId": None,
            "statusAt": at, "updatedAt": at, "nextEventAt": None, "pallets": [],
            "selectedTransportationOptionId": None, "selectedDeliveryWindow": None,
            "deliveryWindowOptionIds": [], "receivingStep": 0}


def _apply_generate_placement(net, plan, params, at) -> None:
    """Amazon-optimized splits over two warehouses (no placement fee) and, as the
    alternative, a single destination with a per-unit placement fee. With customPlacement
    the seller's warehouses are the destinations; boxes are spread over them in order."""
    warehouses = inbound_places.warehouses(plan["marketplaceId"])
    start = int(hashlib.sha256(plan["id"].encode()).hexdigest(), 16) % len(warehouses)
    warehouses = warehouses[start:] + warehouses[:start]
    boxes = [b for b in plan["boxes"] if b.get("groupId") in confirmed_groups(plan)]
    units = sum(i["quantity"] for i in plan["items"])
    custom = params.get("customPlacement") or []
    if custom:
        by_id = {w["warehouseId"]: w for w in warehouses}
        chosen = [by_id.get(c["warehouseId"]) or {**warehouses[0],
                                                   "warehouseId": c["warehouseId"]}
                  for c in custom]
        layouts: list[tuple[list[dict[str, Any]], list[dict[str, Any]]]] = [(chosen, [])]
    else:
        layouts = [([warehouses[0]], [_fee(plan, units)])]
        if len(boxes) > 1:
            layouts.insert(0, (warehouses[:2], []))
    for shipment_id in [s for o in plan["placementOptions"] for s in o["shipmentIds"]]:
        plan["shipments"].pop(shipment_id, None)  # options are regenerated wholesale
    plan["placementOptions"] = []
    for destinations, fees in layouts:
        option_id = new_id("pl")
        share = -(-len(boxes) // len(destinations))  # boxes per destination, rounded up
        shipment_ids = []
        for n, warehouse in enumerate(destinations):
            part = boxes[n * share:(n + 1) * share]
            if not part:
                continue
            shipment = _new_shipment(net, plan, option_id, warehouse, part, at)
            plan["shipments"][shipment["id"]] = shipment
            shipment_ids.append(shipment["id"])
        plan["placementOptions"].append({
            "id": option_id, "status": "OFFERED", "fees": fees, "discounts": [],
            "expiresAt": at + net.config.inbound_option_valid_seconds,
            "shipmentIds": shipment_ids})


def _fee(plan: dict, units: int) -> dict:
    return {"type": "FEE", "target": "Placement Services",
            "description": "Placement fee for sending all units to a single destination.",
            "value": {"code": plan["currency"],
                      "amount": round(units * PLACEMENT_FEE_PER_UNIT, 2)}}


def _check_confirm_placement(net, plan, params, now) -> None:
    require_ready(plan, "confirm a placement option")
    option = _offered_option(plan, "placement", params["placementOptionId"])
    if confirmed_placement(plan):
        raise bad_request("A placement option has already been confirmed for this inbound "
                          "plan; it cannot be changed.")
    if option_status(option, now) != "OFFERED":
        raise bad_request("The requested placement option has expired. Generate placement "
                          "options again.")


def _confirmation_id(net, plan: dict) -> str:
    """Like FBA15DJ8KW2X: five characters from the plan, four from a counter (unique)."""
    number = net.next_number("confirmation")
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    tail = ""
    while number:
        number, rest = divmod(number, 36)
        tail = digits[rest] + tail
    head = hashlib.sha256(plan["id"].encode()).hexdigest().upper()[:5]
    return f"FBA{head}{tail.rjust(4, '0')}"


def _apply_confirm_placement(net, plan, params, at) -> None:
    chosen = params["placementOptionId"]
    for option in plan["placementOptions"]:
        option["status"] = "ACCEPTED" if option["id"] == chosen else "EXPIRED"
        if option["id"] != chosen:
            for shipment_id in option["shipmentIds"]:
                plan["shipments"].pop(shipment_id, None)
    for shipment in plan["shipments"].values():
        shipment.update(status="WORKING", statusAt=at, updatedAt=at,
                        confirmationId=_confirmation_id(net, plan))
        mine = set(shipment["boxIds"])
        for box in plan["boxes"]:
            if box["packageId"] in mine:
                box["shipmentId"] = shipment["id"]
        number_boxes(plan, shipment)
        for item in shipment["items"]:
            net.stock_for(plan["marketplaceId"]).adjust_inbound(item["msku"], at,
                                                                working=item["quantity"])


# -- cancellation ----------------------------------------------------------------------------

def _check_cancel(net, plan, params, now) -> None:
    if plan["status"] == "VOIDED":
        raise bad_request("The inbound plan is already cancelled.")
    for shipment in plan["shipments"].values():
        if shipment["status"] in SHIPPED_STATUSES:
            raise bad_request("The inbound plan cannot be cancelled because shipment "
                              f"{shipment['id']} has already shipped.")


def _apply_cancel(net, plan, params, at) -> None:
    plan["status"] = "VOIDED"
    for option in plan["packingOptions"] + plan["placementOptions"]:
        if option["status"] == "OFFERED":
            option["status"] = "EXPIRED"
    for shipment in plan["shipments"].values():
        if shipment["status"] in ("WORKING", "READY_TO_SHIP"):
            for item in shipment["items"]:
                net.stock_for(plan["marketplaceId"]).adjust_inbound(
                    item["msku"], at, working=-item["quantity"])
        shipment.update(status="CANCELLED", statusAt=at, updatedAt=at)
        net.schedule_shipment(plan, shipment, None)


ACTIONS = {
    "createInboundPlan": Action(_check_create, _apply_create),
    "generatePackingOptions": Action(_check_generate_packing, _apply_generate_packing),
    "confirmPackingOption": Action(_check_confirm_packing, _apply_confirm_packing),
    "setPackingInformation": Action(_check_set_packing, _apply_set_packing),
    "generatePlacementOptions": Action(_check_generate_placement, _apply_generate_placement),
    "confirmPlacementOption": Action(_check_confirm_placement, _apply_confirm_placement),
    "cancelInboundPlan": Action(_check_cancel, _apply_cancel),
}
