"""Inbound plans, options, shipments, boxes and items as the 2024-03-20 model spells them.
Stored documents keep timestamps as numbers; views write them as RFC 3339 and work out
statuses that move on the clock (an OFFERED option past its expiration is EXPIRED)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bridge.sim.clock import iso
from bridge.sim.inbound.items import prep_instructions
from bridge.sim.inbound.plans import option_status

if TYPE_CHECKING:
    from bridge.sim.inbound.network import InboundNetwork

_ITEM_OPTIONAL = ("expiration", "manufacturingLotCode")


def plan_summary(plan: dict) -> dict:
    return {"inboundPlanId": plan["id"], "name": plan["name"], "status": plan["status"],
            "createdAt": iso(plan["createdAt"]), "lastUpdatedAt": iso(plan["updatedAt"]),
            "marketplaceIds": [plan["marketplaceId"]],
            "sourceAddress": _address(plan["sourceAddress"])}


def plan_view(plan: dict, now: float) -> dict:
    view = plan_summary(plan)
    view["packingOptions"] = [{"packingOptionId": o["id"], "status": option_status(o, now)}
                              for o in plan["packingOptions"]]
    view["placementOptions"] = [{"placementOptionId": o["id"],
                                 "status": option_status(o, now)}
                                for o in plan["placementOptions"]]
    view["shipments"] = [{"shipmentId": s["id"], "status": s["status"]}
                         for s in plan["shipments"].values()]
    return view


def _address(address: dict) -> dict:
    """An AddressInput as the model's Address (phoneNumber becomes optional there)."""
    return dict(address)


def item_view(net: InboundNetwork, plan: dict, item: dict) -> dict:
    view = {"msku": item["msku"], "asin": item["asin"], "fnsku": item["fnsku"],
            "labelOwner": item["labelOwner"], "quantity": item["quantity"],
            "prepInstructions": prep_instructions(net, item["msku"], item["prepOwner"],
                                                  plan["currency"])}
    for field in _ITEM_OPTIONAL:
        if item.get(field):
            view[field] = item[field]
    return view


def box_view(net: InboundNetwork, plan: dict, box: dict) -> dict:
    view = {"packageId": box["packageId"], "quantity": 1,
            "contentInformationSource": box["contentInformationSource"],
            "dimensions": box["dimensions"], "weight": box["weight"],
            "items": [item_view(net, plan, i) for i in box["items"]]}
    if box.get("boxId"):
        view["boxId"] = box["boxId"]
    shipment = plan["shipments"].get(box.get("shipmentId") or "")
    if shipment is not None:
        address = shipment["destinationAddress"]
        view["destinationRegion"] = {"countryCode": address["countryCode"],
                                     "state": address["stateOrProvinceCode"],
                                     "warehouseId": shipment["warehouseId"]}
    return view


def pallet_view(pallet: dict) -> dict:
    return dict(pallet)


def _money(plan: dict, amount: float) -> dict:
    return {"code": plan["currency"], "amount": round(amount, 2)}


def packing_option_view(plan: dict, option: dict, now: float) -> dict:
    view = {"packingOptionId": option["id"], "status": option_status(option, now),
            "packingGroups": list(option["groups"]), "fees": [], "discounts": [],
            "expiration": iso(option["expiresAt"]),
            "supportedShippingConfigurations": [
                {"shippingSolution": solution, "shippingMode": mode}
                for solution in ("AMAZON_PARTNERED_CARRIER", "USE_YOUR_OWN_CARRIER")
                for mode in ("GROUND_SMALL_PARCEL", "FREIGHT_LTL")],
            "supportedConfigurations": [{
                "boxPackingMethods": ["BOX_CONTENT_PROVIDED", "MANUAL_PROCESS", "BARCODE_2D"],
                "boxRequirements": {"weight": {"unit": "LB", "minimum": 0, "maximum": 50}},
                "shippingRequirements": [
                    {"solution": "AMAZON_PARTNERED_CARRIER",
                     "modes": ["GROUND_SMALL_PARCEL", "FREIGHT_LTL"]},
                    {"solution": "USE_YOUR_OWN_CARRIER",
                     "modes": ["GROUND_SMALL_PARCEL", "FREIGHT_LTL"]}]}]}
    return view


def placement_option_view(option: dict, now: float) -> dict:
    view = {"placementOptionId": option["id"], "status": option_status(option, now),
            "fees": [dict(f) for f in option["fees"]], "discounts": list(option["discounts"]),
            "shipmentIds": list(option["shipmentIds"])}
    if option["status"] == "OFFERED":
        view["expiration"] = iso(option["expiresAt"])
    return view


def shipment_view(plan: dict, shipment: dict) -> dict:
    view = {"shipmentId": shipment["id"], "placementOptionId": shipment["placementOptionId"],
            "name": shipment["name"], "status": shipment["status"],
            "source": {"sourceType": "SELLER_FACILITY",
                       "address": _address(shipment["sourceAddress"])},
            "destination": {"destinationType": "AMAZON_WAREHOUSE",
                            "warehouseId": shipment["warehouseId"],
                            "address": dict(shipment["destinationAddress"])}}
    if shipment.get("confirmationId"):
        view["shipmentConfirmationId"] = shipment["confirmationId"]
        view["amazonReferenceId"] = shipment["confirmationId"][3:]
    if shipment.get("selectedTransportationOptionId"):
        view["selectedTransportationOptionId"] = shipment["selectedTransportationOptionId"]
    window = shipment.get("selectedDeliveryWindow")
    if window:
        view["selectedDeliveryWindow"] = {
            "deliveryWindowOptionId": window["id"], "availabilityType": window["availabilityType"],
            "startDate": iso(window["start"]), "endDate": iso(window["end"]),
            "editableUntil": iso(window["start"])}
    if shipment.get("readyToShipStart") is not None:
        start = shipment["readyToShipStart"]
        view["dates"] = {"readyToShipWindow": {"start": iso(start), "end": iso(start + 86400)}}
    for field in ("contactInformation", "freightInformation"):
        if shipment.get(field):
            view[field] = shipment[field]
    tracking = shipment.get("trackingDetails")
    if tracking:
        view["trackingDetails"] = _tracking_view(tracking)
    return view


def _tracking_view(tracking: dict) -> dict:
    out = {}
    if tracking.get("spdTrackingDetail"):
        out["spdTrackingDetail"] = {"spdTrackingItems": [
            {**item, "trackingNumberValidationStatus": "VALIDATED"}
            for item in tracking["spdTrackingDetail"]["spdTrackingItems"]]}
    if tracking.get("ltlTrackingDetail"):
        out["ltlTrackingDetail"] = dict(tracking["ltlTrackingDetail"])
    return out


def transportation_option_view(plan: dict, option: dict) -> dict:
    view = {"transportationOptionId": option["id"], "shipmentId": option["shipmentId"],
            "shippingSolution": option["shippingSolution"],
            "shippingMode": option["shippingMode"], "carrier": dict(option["carrier"]),
            "preconditions": list(option["preconditions"])}
    if option["cost"] is not None:
        quote = {"cost": _money(plan, option["cost"]), "expiration": iso(option["expiresAt"])}
        if option.get("voidableUntil"):
            quote["voidableUntil"] = iso(option["voidableUntil"])
        view["quote"] = quote
    if option.get("appointment"):
        start, end = option["appointment"]
        view["carrierAppointment"] = {"startTime": iso(start), "endTime": iso(end)}
    return view


def delivery_window_view(option: dict) -> dict:
    return {"deliveryWindowOptionId": option["id"], "availabilityType": option["availabilityType"],
            "startDate": iso(option["start"]), "endDate": iso(option["end"]),
            "validUntil": iso(option["validUntil"])}


def preview_view(plan: dict, preview: dict) -> dict:
    return {"contentUpdatePreviewId": preview["id"], "expiration": iso(preview["expiresAt"]),
            "requestedUpdates": {"boxes": preview["boxes"], "items": preview["items"]},
            "transportationOption": transportation_option_view(plan, preview["option"])}
