"""Getting shipments to Amazon: transportation options (Amazon-partnered or the seller's
own carrier, small parcel or LTL freight), delivery windows (a precondition for some
options), confirming transportation, changing a shipment's source address, tracking
details, and content update previews for a shipment whose carrier is already confirmed.
"""

from __future__ import annotations

from bridge.sim.clock import parse_iso
from bridge.sim.inbound import lifecycle as inbound_lifecycle
from bridge.sim.inbound.actions import Action
from bridge.sim.inbound.plans import (
    MAX_BOXES_PER_REQUEST,
    confirmed_placement,
    normalized_item,
    number_boxes,
    require_ready,
    shipment_of,
    spread_units,
    units_by_msku,
)
from bridge.sim.inbound.wire import bad_request, new_id

DAY = 86400.0
CONFIRMED_DELIVERY_WINDOW = "CONFIRMED_DELIVERY_WINDOW"
PARTNERED = "AMAZON_PARTNERED_CARRIER"
OWN_CARRIER = "USE_YOUR_OWN_CARRIER"
SMALL_PARCEL, LTL = "GROUND_SMALL_PARCEL", "FREIGHT_LTL"
PARCEL_RATE_PER_BOX = 11.5
FREIGHT_RATE_PER_PALLET = 150.0
# Amazon's void windows for partnered carriers: 24 h small parcel, 1 h LTL.
VOID_WINDOW = {SMALL_PARCEL: DAY, LTL: 3600.0}
DELIVERY_WINDOW_DAYS = 7
PREVIEW_VALID_SECONDS = DAY
OPEN_STATUSES = ("WORKING", "READY_TO_SHIP")


def _transport_option(plan: dict, option_id: str, shipment_id: str) -> dict:
    option = plan["transportationOptions"].get(option_id)
    if option is None or option["shipmentId"] != shipment_id:
        raise bad_request("The requested transportationOptionId does not exist under the "
                          "associated shipment.")
    return option


def _box_count(plan: dict, shipment: dict) -> int:
    mine = set(shipment["boxIds"])
    return sum(1 for b in plan["boxes"] if b["packageId"] in mine or
               b.get("shipmentId") == shipment["id"])


# -- transportation options ------------------------------------------------------------------

def _check_generate_transport(net, plan, params, now) -> None:
    require_ready(plan, "generate transportation options")
    if plan["transportationConfirmed"]:
        raise bad_request("The inbound plan is not in a valid state to generate "
                          "transportation options.", "Transportation options have already "
                          "been confirmed.")
    option = next((o for o in plan["placementOptions"]
                   if o["id"] == params["placementOptionId"]), None)
    if option is None:
        raise bad_request("The requested placementOptionId does not exist for the given "
                          "inbound plan.")
    seen = set()
    for index, config in enumerate(params["shipmentTransportationConfigurations"]):
        if config["shipmentId"] not in option["shipmentIds"]:
            raise bad_request("The requested shipmentId does not exist under the provided "
                              "placement option.")
        if config["shipmentId"] in seen:
            raise bad_request(f"The shipment {config['shipmentId']} is configured more than "
                              "once.")
        seen.add(config["shipmentId"])
        start = parse_iso(config["readyToShipWindow"]["start"])  # format checked by the model
        if start < now - DAY:
            raise bad_request(f"shipmentTransportationConfigurations[{index}].readyToShipWindow"
                              ".start must not be in the past.")


def _carrier(solution: str, mode: str) -> dict:
    if solution == PARTNERED:
        return ({"name": "United Parcel Service Inc.", "alphaCode": "UPSN"} if mode == SMALL_PARCEL
                else {"name": "Amazon Freight", "alphaCode": "AMZF"})
    return {"name": "Other carrier", "alphaCode": "OTHR"}


def _apply_generate_transport(net, plan, params, at) -> None:
    """Partnered small parcel (quoted per box, no precondition); own-carrier small parcel
    and LTL (a confirmed delivery window first); partnered LTL when pallets and freight
    information are given (quoted per pallet, with a carrier appointment)."""
    expires = at + net.config.inbound_option_valid_seconds
    for config in params["shipmentTransportationConfigurations"]:
        shipment = plan["shipments"][config["shipmentId"]]
        plan["transportationOptions"] = {k: o for k, o in plan["transportationOptions"].items()
                                         if o["shipmentId"] != shipment["id"]}
        start = parse_iso(config["readyToShipWindow"]["start"])
        shipment["readyToShipStart"] = start
        for field in ("contactInformation", "freightInformation"):
            if config.get(field):
                shipment[field] = config[field]
        shipment["pallets"] = [{"packageId": new_id("pk"), **{k: p[k] for k in
                                ("dimensions", "weight", "stackability") if k in p},
                                "quantity": 1}
                               for p in config.get("pallets") or []
                               for _ in range(p["quantity"])]
        boxes = max(1, _box_count(plan, shipment))
        offers = [(PARTNERED, SMALL_PARCEL, boxes * PARCEL_RATE_PER_BOX, []),
                  (OWN_CARRIER, SMALL_PARCEL, None, [CONFIRMED_DELIVERY_WINDOW]),
                  (OWN_CARRIER, LTL, None, [CONFIRMED_DELIVERY_WINDOW])]
        if shipment["pallets"] and shipment.get("freightInformation"):
            offers.append((PARTNERED, LTL, len(shipment["pallets"]) * FREIGHT_RATE_PER_PALLET,
                           []))
        for solution, mode, cost, preconditions in offers:
            option = {"id": new_id("to"), "shipmentId": shipment["id"],
                      "placementOptionId": params["placementOptionId"],
                      "shippingSolution": solution, "shippingMode": mode,
                      "carrier": _carrier(solution, mode), "preconditions": preconditions,
                      "expiresAt": expires, "cost": cost}
            if solution == PARTNERED and mode == LTL:
                option["appointment"] = [start + DAY, start + DAY + 4 * 3600]
            plan["transportationOptions"][option["id"]] = option


def _check_confirm_transport(net, plan, params, now) -> None:
    require_ready(plan, "confirm transportation options")
    placement = confirmed_placement(plan)
    if placement is None:
        raise bad_request("A placement option must be confirmed before transportation "
                          "options can be confirmed.")
    if plan["transportationConfirmed"]:
        raise bad_request("Transportation options have already been confirmed for this "
                          "inbound plan.")
    chosen = set()
    for selection in params["transportationSelections"]:
        shipment = shipment_of(plan, selection["shipmentId"])
        if shipment["id"] in chosen:
            raise bad_request(f"The shipment {shipment['id']} is selected more than once.")
        chosen.add(shipment["id"])
        option = _transport_option(plan, selection["transportationOptionId"], shipment["id"])
        if now >= option["expiresAt"]:
            raise bad_request(f"The transportation option {option['id']} has expired. "
                              "Generate transportation options again.")
        if CONFIRMED_DELIVERY_WINDOW in option["preconditions"] and \
                not shipment.get("selectedDeliveryWindow"):
            raise bad_request(f"The transportation option {option['id']} requires a confirmed "
                              f"delivery window for shipment {shipment['id']}.")
    missing = [s for s in placement["shipmentIds"] if s not in chosen]
    if missing:
        raise bad_request("A transportation option must be selected for every shipment of the "
                          f"placement option; missing: {', '.join(missing)}.")


def _apply_confirm_transport(net, plan, params, at) -> None:
    for selection in params["transportationSelections"]:
        shipment = plan["shipments"][selection["shipmentId"]]
        option = plan["transportationOptions"][selection["transportationOptionId"]]
        option["voidableUntil"] = at + VOID_WINDOW[option["shippingMode"]] \
            if option["shippingSolution"] == PARTNERED else None
        shipment["selectedTransportationOptionId"] = option["id"]
        if selection.get("contactInformation"):
            shipment["contactInformation"] = selection["contactInformation"]
        shipment["updatedAt"] = at
    plan["transportationConfirmed"] = True


# -- delivery windows ------------------------------------------------------------------------

def _check_generate_windows(net, plan, params, now) -> None:
    require_ready(plan, "generate delivery window options")
    shipment = plan["shipments"].get(params["shipmentId"])
    if shipment is None:
        raise bad_request("The provided shipmentId is not valid for the specified inbound "
                          "plan.")
    if shipment["status"] not in OPEN_STATUSES:
        raise bad_request("Delivery window options can be generated only for a shipment of a "
                          "confirmed placement option that has not shipped.")
    if shipment.get("selectedDeliveryWindow"):
        raise bad_request("A delivery window has already been confirmed for this shipment; "
                          "new delivery window options cannot be generated.")


def _apply_generate_windows(net, plan, params, at) -> None:
    shipment = plan["shipments"][params["shipmentId"]]
    base = max(at, shipment.get("readyToShipStart") or at)
    first_day = (int(base // DAY) + 2) * DAY  # midnight UTC, two days out
    for option_id in shipment["deliveryWindowOptionIds"]:
        plan["deliveryWindowOptions"].pop(option_id, None)
    shipment["deliveryWindowOptionIds"] = []
    for n in range(3):
        option_id = new_id("dw")
        start = first_day + n * DAY
        plan["deliveryWindowOptions"][option_id] = {
            "id": option_id, "shipmentId": shipment["id"], "availabilityType": "AVAILABLE",
            "start": start, "end": start + DELIVERY_WINDOW_DAYS * DAY - 1,
            "validUntil": at + net.config.inbound_option_valid_seconds}
        shipment["deliveryWindowOptionIds"].append(option_id)


def _check_confirm_window(net, plan, params, now) -> None:
    require_ready(plan, "confirm a delivery window option")
    shipment = plan["shipments"].get(params["shipmentId"])
    if shipment is None:
        raise bad_request("The requested shipmentId does not exist under the associated "
                          "inbound plan.")
    option = plan["deliveryWindowOptions"].get(params["deliveryWindowOptionId"])
    if option is None or option["shipmentId"] != shipment["id"]:
        raise bad_request("The requested deliveryWindowOptionId does not exist for the "
                          "shipment.")
    if now >= option["validUntil"]:
        raise bad_request("The requested delivery window option has expired.")
    if shipment["status"] not in OPEN_STATUSES:
        raise bad_request("The delivery window cannot be changed after the shipment has "
                          "shipped.")


def _apply_confirm_window(net, plan, params, at) -> None:
    shipment = plan["shipments"][params["shipmentId"]]
    option = plan["deliveryWindowOptions"][params["deliveryWindowOptionId"]]
    shipment["selectedDeliveryWindow"] = {"id": option["id"], "start": option["start"],
                                          "end": option["end"],
                                          "availabilityType": option["availabilityType"]}
    shipment["updatedAt"] = at


# -- source address and tracking -------------------------------------------------------------

def _check_source_address(net, plan, params, now) -> None:
    require_ready(plan, "update the shipment source address")
    shipment = shipment_of(plan, params["shipmentId"])
    if shipment.get("selectedTransportationOptionId") or plan["transportationConfirmed"]:
        raise bad_request("The shipment source address can only be updated prior to the "
                          "confirmation of the shipment carriers.")


def _apply_source_address(net, plan, params, at) -> None:
    shipment = plan["shipments"][params["shipmentId"]]
    shipment["sourceAddress"] = params["address"]
    shipment["updatedAt"] = at
    # New source, new quotes: the shipment's transportation options must be generated again.
    plan["transportationOptions"] = {k: o for k, o in plan["transportationOptions"].items()
                                     if o["shipmentId"] != shipment["id"]}


def _check_tracking(net, plan, params, now) -> None:
    shipment = shipment_of(plan, params["shipmentId"])
    option_id = shipment.get("selectedTransportationOptionId")
    if not option_id:
        raise bad_request("Tracking details can be given only after the shipment's "
                          "transportation option is confirmed.")
    if shipment["status"] in ("CLOSED", "CANCELLED"):
        raise bad_request(f"The shipment is {shipment['status']}; its tracking details cannot "
                          "be changed.")
    details = params["trackingDetails"]
    mode = plan["transportationOptions"][option_id]["shippingMode"]
    spd, ltl = details.get("spdTrackingDetail"), details.get("ltlTrackingDetail")
    if bool(spd) == bool(ltl):
        raise bad_request("trackingDetails must hold exactly one of spdTrackingDetail and "
                          "ltlTrackingDetail.")
    if (spd and mode != SMALL_PARCEL) or (ltl and mode != LTL):
        raise bad_request(f"The tracking details do not match the shipment's shipping mode "
                          f"{mode}.")
    if spd:
        box_ids = {b["boxId"] for b in plan["boxes"] if b.get("shipmentId") == shipment["id"]}
        for item in spd["spdTrackingItems"]:
            if item["boxId"] not in box_ids:
                raise bad_request(f"The boxId {item['boxId']} does not belong to the shipment.")


def _apply_tracking(net, plan, params, at) -> None:
    shipment = plan["shipments"][params["shipmentId"]]
    shipment["trackingDetails"] = params["trackingDetails"]
    shipment["updatedAt"] = at
    if shipment["status"] == "WORKING":
        inbound_lifecycle.ready_to_ship(net, plan, shipment, at)


# -- content update previews -----------------------------------------------------------------

def _check_generate_preview(net, plan, params, now) -> None:
    require_ready(plan, "generate shipment content update previews")
    shipment = plan["shipments"].get(params["shipmentId"])
    if shipment is None:
        raise bad_request("The requested shipment does not exist under the specified inbound "
                          "plan.")
    if not shipment.get("selectedTransportationOptionId") or \
            shipment["status"] not in OPEN_STATUSES:
        raise bad_request("Content update previews are available only for a shipment with a "
                          "confirmed carrier that has not shipped.")
    known = {i["msku"] for i in plan["items"]}
    for item in params["items"]:
        if item["msku"] not in known:
            raise bad_request(f"The msku {item['msku']} is not part of the inbound plan.")
    if sum(b["quantity"] for b in params["boxes"]) > MAX_BOXES_PER_REQUEST:
        raise bad_request(f"A request may describe at most {MAX_BOXES_PER_REQUEST} boxes.")
    listed = [b for b in params["boxes"] if b.get("items")]
    if listed:
        packed = units_by_msku([{**i, "quantity": i["quantity"] * b["quantity"]}
                                for b in listed for i in b["items"]])
        if packed != units_by_msku(params["items"]):
            raise bad_request("The box contents do not match the requested items.")


def _apply_generate_preview(net, plan, params, at) -> None:
    shipment = plan["shipments"][params["shipmentId"]]
    current = plan["transportationOptions"][shipment["selectedTransportationOptionId"]]
    boxes = sum(b["quantity"] for b in params["boxes"])
    option = {**current, "id": new_id("to"), "expiresAt": at + PREVIEW_VALID_SECONDS,
              "voidableUntil": None}
    if current["cost"] is not None and current["shippingMode"] == SMALL_PARCEL:
        option["cost"] = boxes * PARCEL_RATE_PER_BOX
    preview_id = new_id("cu")
    plan["contentUpdatePreviews"][preview_id] = {
        "id": preview_id, "shipmentId": shipment["id"], "expiresAt": at + PREVIEW_VALID_SECONDS,
        "boxes": params["boxes"], "items": params["items"], "option": option}


def preview_of(plan: dict, shipment_id: str, preview_id: str) -> dict:
    preview = plan["contentUpdatePreviews"].get(preview_id)
    if preview is None or preview["shipmentId"] != shipment_id:
        raise bad_request("The requested contentUpdatePreviewId does not exist for the given "
                          "shipment.")
    return preview


def _check_confirm_preview(net, plan, params, now) -> None:
    require_ready(plan, "confirm a shipment content update preview")
    shipment = shipment_of(plan, params["shipmentId"])
    preview = preview_of(plan, shipment["id"], params["contentUpdatePreviewId"])
    if now >= preview["expiresAt"]:
        raise bad_request("The requested content update preview has expired.")
    if shipment["status"] not in OPEN_STATUSES:
        raise bad_request("The shipment's contents cannot be changed after it has shipped.")


def _apply_confirm_preview(net, plan, params, at) -> None:
    shipment = plan["shipments"][params["shipmentId"]]
    preview = plan["contentUpdatePreviews"].pop(params["contentUpdatePreviewId"])
    by_msku = {i["msku"]: i for i in plan["items"]}
    old = units_by_msku(shipment["items"])
    shipment["items"] = [normalized_item(i, by_msku[i["msku"]]) for i in preview["items"]]
    new = units_by_msku(shipment["items"])
    for msku in set(old) | set(new):
        delta = new.get(msku, 0) - old.get(msku, 0)
        if delta:
            net.stock_for(plan["marketplaceId"]).adjust_inbound(msku, at, working=delta)
    boxes = []
    for box in preview["boxes"]:
        for _ in range(box["quantity"]):
            items = [normalized_item(i, by_msku[i["msku"]]) for i in box.get("items") or []]
            boxes.append({"packageId": new_id("pk"), "boxId": None, "groupId": None,
                          "shipmentId": shipment["id"],
                          "contentInformationSource": box["contentInformationSource"],
                          "dimensions": box["dimensions"], "weight": box["weight"],
                          "items": items or []})
    unlisted = [b for b in boxes if not b["items"]]
    if unlisted and len(unlisted) == len(boxes):  # contents not listed: spread evenly
        for box, items in zip(unlisted, spread_units(shipment["items"], len(unlisted)),
                              strict=True):
            box["items"] = items
    plan["boxes"] = [b for b in plan["boxes"] if b.get("shipmentId") != shipment["id"]] + boxes
    shipment["boxIds"] = [b["packageId"] for b in boxes]
    number_boxes(plan, shipment)
    option = preview["option"]
    plan["transportationOptions"][option["id"]] = option
    shipment["selectedTransportationOptionId"] = option["id"]
    for other in [k for k, p in plan["contentUpdatePreviews"].items()
                  if p["shipmentId"] == shipment["id"]]:
        plan["contentUpdatePreviews"].pop(other)
    shipment["updatedAt"] = at


ACTIONS = {
    "generateTransportationOptions": Action(_check_generate_transport, _apply_generate_transport),
    "confirmTransportationOptions": Action(_check_confirm_transport, _apply_confirm_transport),
    "generateDeliveryWindowOptions": Action(_check_generate_windows, _apply_generate_windows),
    "confirmDeliveryWindowOptions": Action(_check_confirm_window, _apply_confirm_window),
    "updateShipmentSourceAddress": Action(_check_source_address, _apply_source_address),
    "updateShipmentTrackingDetails": Action(_check_tracking, _apply_tracking),
    "generateShipmentContentUpdatePreviews": Action(_check_generate_preview,
                                                    _apply_generate_preview),
    "confirmShipmentContentUpdatePreview": Action(_check_confirm_preview, _apply_confirm_preview),
}
