"""Fulfillment Inbound API v2024-03-20 (/inbound/fba/2024-03-20): all 45 operations.
Reads answer at once; every change is an asynchronous operation (202 + operationId, see
network.py). Requests are checked against the model and the rules it states in
words; failures are 400 BadRequest with the model's messages where it gives one."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import unquote

from bridge.sim.clock import iso
from bridge.sim.inbound import items as inbound_items
from bridge.sim.inbound import places as inbound_places
from bridge.sim.inbound.labels import document_url, save_document
from bridge.sim.inbound.plans import create_plan, shipment_of
from bridge.sim.inbound.transport import preview_of
from bridge.sim.inbound.views import (
    box_view,
    delivery_window_view,
    item_view,
    packing_option_view,
    pallet_view,
    placement_option_view,
    plan_summary,
    plan_view,
    preview_view,
    shipment_view,
    transportation_option_view,
)
from bridge.sim.inbound.wire import MODEL, bad_request, check_body, page, path_id, query_id, required_text
from bridge.sim.operations import Operation
from bridge.sim.wire import Call, Reply, SimError, known_fields

if TYPE_CHECKING:
    from bridge.sim.simulator import Simulator

DOCUMENT_LIFETIME = 3600.0  # download links stay valid an hour, like pre-signed URLs
ITEM_LABELS_PER_PAGE = {"THERMAL_PRINTING": 1}


# -- reading requests ------------------------------------------------------------------------

def _body(call: Call, definition: str) -> dict:
    try:
        body = call.json_body()
    except SimError as error:
        raise bad_request(error.message) from None
    check_body(body, definition)
    return known_fields(body, definition, MODEL)


def _plan(sim: Simulator, call: Call) -> dict:
    plan = sim.inbound.plan(path_id(call, "inboundPlanId"))
    if plan is None:
        raise bad_request("The requested inbound plan does not exist.")
    return plan


def _shipment(sim: Simulator, call: Call) -> tuple[dict, dict]:
    plan = _plan(sim, call)
    return plan, shipment_of(plan, path_id(call, "shipmentId"))


def _accepted(sim: Simulator, operation: str, plan: dict | None, params: dict) -> Reply:
    return Reply(202, {"operationId": sim.inbound.submit(operation, plan, params, sim.now())})


def _listing(call: Call, operation_id: str, key: str, views: list) -> Reply:
    chunk, extra = page(call, views, operation_id)
    return Reply(200, {key: chunk, **extra})


def _marketplace(call: Call) -> str:
    marketplace_id = required_text(call, "marketplaceId")
    if marketplace_id not in inbound_places.MARKETPLACES:
        raise bad_request(f"The marketplaceId {marketplace_id} is not valid.")
    return marketplace_id


def _mskus(call: Call) -> list[str]:
    # MSKUs holding '%', '+' or ',' arrive double percent-encoded, as Amazon asks.
    mskus = [unquote(m) for m in call.many("mskus")]
    if not 1 <= len(mskus) <= 100:
        raise bad_request("The mskus parameter must hold 1 to 100 MSKUs.")
    return mskus


def _not_blank(address: dict, where: str) -> None:
    for field in ("name", "addressLine1", "city", "postalCode", "phoneNumber"):
        if not address[field].strip():
            raise bad_request(f"The value of {where}.{field} must not be blank.")


# -- plans -----------------------------------------------------------------------------------

def list_inbound_plans(sim: Simulator, call: Call) -> Reply:
    status = call.text("status")
    if status is not None and status not in ("ACTIVE", "VOIDED", "SHIPPED"):
        raise bad_request("The status is invalid.")
    sort_by = call.text("sortBy") or "LAST_UPDATED_TIME"
    if sort_by not in ("LAST_UPDATED_TIME", "CREATION_TIME"):
        raise bad_request("The sortBy is invalid.")
    order = call.text("sortOrder") or "ASC"
    if order not in ("ASC", "DESC"):
        raise bad_request("The sortOrder is invalid.")
    field = "updatedAt" if sort_by == "LAST_UPDATED_TIME" else "createdAt"
    plans = [p for p in sim.inbound.plans() if status is None or p["status"] == status]
    plans.sort(key=lambda p: (p[field], p["seq"]), reverse=order == "DESC")
    chunk, extra = page(call, [plan_summary(p) for p in plans], "listInboundPlans")
    return Reply(200, {"inboundPlans": chunk, **extra})


def create_inbound_plan(sim: Simulator, call: Call) -> Reply:
    body = _body(call, "CreateInboundPlanRequest")
    plan = create_plan(sim.inbound, body, sim.now())
    reply = _accepted(sim, "createInboundPlan", plan, {})
    reply.body["inboundPlanId"] = plan["id"]
    return reply


def get_inbound_plan(sim: Simulator, call: Call) -> Reply:
    return Reply(200, plan_view(_plan(sim, call), sim.now()))


def list_inbound_plan_items(sim: Simulator, call: Call) -> Reply:
    plan = _plan(sim, call)
    return _listing(call, "listInboundPlanItems", "items",
                    [item_view(sim.inbound, plan, i) for i in plan["items"]])


def list_inbound_plan_boxes(sim: Simulator, call: Call) -> Reply:
    plan = _plan(sim, call)
    return _listing(call, "listInboundPlanBoxes", "boxes",
                    [box_view(sim.inbound, plan, b) for b in plan["boxes"]])


def list_inbound_plan_pallets(sim: Simulator, call: Call) -> Reply:
    plan = _plan(sim, call)
    return _listing(call, "listInboundPlanPallets", "pallets",
                    [pallet_view(p) for s in plan["shipments"].values() for p in s["pallets"]])


def cancel_inbound_plan(sim: Simulator, call: Call) -> Reply:
    plan = _plan(sim, call)
    return _accepted(sim, "cancelInboundPlan", plan, {})


def update_inbound_plan_name(sim: Simulator, call: Call) -> Reply:
    plan = _plan(sim, call)
    name = _body(call, "UpdateInboundPlanNameRequest")["name"]
    if not name.strip():
        raise bad_request("The value of name must not be blank.")
    plan["name"] = name
    sim.inbound.changed(plan, sim.now())
    return Reply(204, {})


# -- packing ---------------------------------------------------------------------------------

def generate_packing_options(sim: Simulator, call: Call) -> Reply:
    return _accepted(sim, "generatePackingOptions", _plan(sim, call), {})


def list_packing_options(sim: Simulator, call: Call) -> Reply:
    plan, now = _plan(sim, call), sim.now()
    return _listing(call, "listPackingOptions", "packingOptions",
                    [packing_option_view(plan, o, now) for o in plan["packingOptions"]])


def _packing_group(sim: Simulator, call: Call) -> tuple[dict, dict]:
    plan = _plan(sim, call)
    group = plan["packingGroups"].get(path_id(call, "packingGroupId"))
    if group is None:
        raise bad_request("The requested packingGroupId does not exist for the specified "
                          "inbound plan.")
    return plan, group


def list_packing_group_items(sim: Simulator, call: Call) -> Reply:
    plan, group = _packing_group(sim, call)
    return _listing(call, "listPackingGroupItems", "items",
                    [item_view(sim.inbound, plan, i) for i in group["items"]])


def list_packing_group_boxes(sim: Simulator, call: Call) -> Reply:
    plan, group = _packing_group(sim, call)
    return _listing(call, "listPackingGroupBoxes", "boxes",
                    [box_view(sim.inbound, plan, b) for b in plan["boxes"]
                     if b.get("groupId") == group["id"]])


def confirm_packing_option(sim: Simulator, call: Call) -> Reply:
    plan = _plan(sim, call)
    return _accepted(sim, "confirmPackingOption", plan,
                     {"packingOptionId": path_id(call, "packingOptionId")})


def set_packing_information(sim: Simulator, call: Call) -> Reply:
    plan = _plan(sim, call)
    return _accepted(sim, "setPackingInformation", plan,
                     _body(call, "SetPackingInformationRequest"))


# -- placement -------------------------------------------------------------------------------

def generate_placement_options(sim: Simulator, call: Call) -> Reply:
    plan = _plan(sim, call)
    return _accepted(sim, "generatePlacementOptions", plan,
                     _body(call, "GeneratePlacementOptionsRequest"))


def list_placement_options(sim: Simulator, call: Call) -> Reply:
    plan, now = _plan(sim, call), sim.now()
    return _listing(call, "listPlacementOptions", "placementOptions",
                    [placement_option_view(o, now) for o in plan["placementOptions"]])


def confirm_placement_option(sim: Simulator, call: Call) -> Reply:
    plan = _plan(sim, call)
    return _accepted(sim, "confirmPlacementOption", plan,
                     {"placementOptionId": path_id(call, "placementOptionId")})


# -- shipments -------------------------------------------------------------------------------

def get_shipment(sim: Simulator, call: Call) -> Reply:
    plan = _plan(sim, call)
    shipment = plan["shipments"].get(path_id(call, "shipmentId"))
    if shipment is None:
        raise bad_request("The requested shipment does not exist for the provided inbound plan.")
    return Reply(200, shipment_view(plan, shipment))


def list_shipment_items(sim: Simulator, call: Call) -> Reply:
    plan, shipment = _shipment(sim, call)
    return _listing(call, "listShipmentItems", "items",
                    [item_view(sim.inbound, plan, i) for i in shipment["items"]])


def list_shipment_boxes(sim: Simulator, call: Call) -> Reply:
    plan, shipment = _shipment(sim, call)
    mine = set(shipment["boxIds"])
    return _listing(call, "listShipmentBoxes", "boxes",
                    [box_view(sim.inbound, plan, b) for b in plan["boxes"]
                     if b.get("shipmentId") == shipment["id"] or b["packageId"] in mine])


def list_shipment_pallets(sim: Simulator, call: Call) -> Reply:
    _, shipment = _shipment(sim, call)
    return _listing(call, "listShipmentPallets", "pallets",
                    [pallet_view(p) for p in shipment["pallets"]])


def update_shipment_name(sim: Simulator, call: Call) -> Reply:
    plan, shipment = _shipment(sim, call)
    name = _body(call, "UpdateShipmentNameRequest")["name"]
    if not name.strip():
        raise bad_request("The value of name must not be blank.")
    shipment["name"] = name
    shipment["updatedAt"] = sim.now()
    sim.inbound.changed(plan, sim.now())
    return Reply(204, {})


def update_shipment_source_address(sim: Simulator, call: Call) -> Reply:
    plan, shipment = _shipment(sim, call)
    body = _body(call, "UpdateShipmentSourceAddressRequest")
    _not_blank(body["address"], "address")
    return _accepted(sim, "updateShipmentSourceAddress", plan,
                     {"shipmentId": shipment["id"], "address": body["address"]})


def update_shipment_tracking_details(sim: Simulator, call: Call) -> Reply:
    plan, shipment = _shipment(sim, call)
    body = _body(call, "UpdateShipmentTrackingDetailsRequest")
    return _accepted(sim, "updateShipmentTrackingDetails", plan,
                     {"shipmentId": shipment["id"], "trackingDetails": body["trackingDetails"]})


def get_delivery_challan_document(sim: Simulator, call: Call) -> Reply:
    _shipment(sim, call)
    raise bad_request("The delivery challan document is available only for shipments in the "
                      "India (IN) marketplace.")


def _self_ship_unsupported(sim: Simulator, call: Call) -> Reply:
    """Self-ship appointments exist only in MX, BR, EG, SA, AE and IN; the simulator
    models the other marketplaces, where Amazon refuses these operations."""
    plan, _ = _shipment(sim, call)
    country = inbound_places.country_of(plan["marketplaceId"])
    raise bad_request(f"This operation is not supported in the {country} marketplace "
                      f"({plan['marketplaceId']}).", "Self-ship appointments are available "
                      f"only in: {', '.join(inbound_places.SELF_SHIP_COUNTRIES)}.")


# -- transportation and delivery windows -----------------------------------------------------

def generate_transportation_options(sim: Simulator, call: Call) -> Reply:
    plan = _plan(sim, call)
    return _accepted(sim, "generateTransportationOptions", plan,
                     _body(call, "GenerateTransportationOptionsRequest"))


def list_transportation_options(sim: Simulator, call: Call) -> Reply:
    plan = _plan(sim, call)
    placement_id, shipment_id = query_id(call, "placementOptionId"), query_id(call, "shipmentId")
    if placement_id is None and shipment_id is None:
        raise bad_request("Either placementOptionId or shipmentId must be provided.")
    if shipment_id is not None:
        shipment_of(plan, shipment_id)
    options = [o for o in plan["transportationOptions"].values()
               if (placement_id is None or o["placementOptionId"] == placement_id)
               and (shipment_id is None or o["shipmentId"] == shipment_id)]
    return _listing(call, "listTransportationOptions", "transportationOptions",
                    [transportation_option_view(plan, o) for o in options])


def confirm_transportation_options(sim: Simulator, call: Call) -> Reply:
    plan = _plan(sim, call)
    return _accepted(sim, "confirmTransportationOptions", plan,
                     _body(call, "ConfirmTransportationOptionsRequest"))


def generate_delivery_window_options(sim: Simulator, call: Call) -> Reply:
    plan = _plan(sim, call)
    return _accepted(sim, "generateDeliveryWindowOptions", plan,
                     {"shipmentId": path_id(call, "shipmentId")})


def list_delivery_window_options(sim: Simulator, call: Call) -> Reply:
    plan, shipment = _shipment(sim, call)
    options = [plan["deliveryWindowOptions"][i] for i in shipment["deliveryWindowOptionIds"]
               if i in plan["deliveryWindowOptions"]]
    return _listing(call, "listDeliveryWindowOptions", "deliveryWindowOptions",
                    [delivery_window_view(o) for o in options])


def confirm_delivery_window_options(sim: Simulator, call: Call) -> Reply:
    plan = _plan(sim, call)
    return _accepted(sim, "confirmDeliveryWindowOptions", plan, {
        "shipmentId": path_id(call, "shipmentId"),
        "deliveryWindowOptionId": path_id(call, "deliveryWindowOptionId", min_length=36)})


# -- content update previews -----------------------------------------------------------------

def generate_shipment_content_update_previews(sim: Simulator, call: Call) -> Reply:
    plan = _plan(sim, call)
    shipment_id = path_id(call, "shipmentId")
    body = _body(call, "GenerateShipmentContentUpdatePreviewsRequest")
    return _accepted(sim, "generateShipmentContentUpdatePreviews", plan,
                     {"shipmentId": shipment_id, **body})


def list_shipment_content_update_previews(sim: Simulator, call: Call) -> Reply:
    plan, shipment = _shipment(sim, call)
    previews = [p for p in plan["contentUpdatePreviews"].values()
                if p["shipmentId"] == shipment["id"]]
    return _listing(call, "listShipmentContentUpdatePreviews", "contentUpdatePreviews",
                    [preview_view(plan, p) for p in previews])


def get_shipment_content_update_preview(sim: Simulator, call: Call) -> Reply:
    plan, shipment = _shipment(sim, call)
    preview = preview_of(plan, shipment["id"], path_id(call, "contentUpdatePreviewId"))
    return Reply(200, preview_view(plan, preview))


def confirm_shipment_content_update_preview(sim: Simulator, call: Call) -> Reply:
    plan = _plan(sim, call)
    return _accepted(sim, "confirmShipmentContentUpdatePreview", plan, {
        "shipmentId": path_id(call, "shipmentId"),
        "contentUpdatePreviewId": path_id(call, "contentUpdatePreviewId")})


# -- items -----------------------------------------------------------------------------------

def list_item_compliance_details(sim: Simulator, call: Call) -> Reply:
    _marketplace(call)
    mskus = _mskus(call)
    for msku in mskus:
        if sim.stock.catalogue(msku) is None:
            raise bad_request("The requested MSKU is not valid.", f"Unknown msku: {msku}")
    return Reply(200, {"complianceDetails": [inbound_items.compliance_view(sim.inbound, m)
                                             for m in mskus]})


def update_item_compliance_details(sim: Simulator, call: Call) -> Reply:
    _marketplace(call)
    body = _body(call, "UpdateItemComplianceDetailsRequest")
    return _accepted(sim, "updateItemComplianceDetails", None, body)


def list_prep_details(sim: Simulator, call: Call) -> Reply:
    _marketplace(call)
    mskus = _mskus(call)
    for msku in mskus:
        inbound_items.known_msku(sim.inbound, msku)
    return Reply(200, {"mskuPrepDetails": [inbound_items.prep_detail_view(sim.inbound, m)
                                           for m in mskus]})


def set_prep_details(sim: Simulator, call: Call) -> Reply:
    body = _body(call, "SetPrepDetailsRequest")
    if body["marketplaceId"] not in inbound_places.MARKETPLACES:
        raise bad_request(f"The marketplaceId {body['marketplaceId']} is not valid.")
    return _accepted(sim, "setPrepDetails", None, body)


def create_marketplace_item_labels(sim: Simulator, call: Call) -> Reply:
    """One page per MSKU naming its FNSKU and how many labels of the page type to print."""
    body = _body(call, "CreateMarketplaceItemLabelsRequest")
    if body["marketplaceId"] not in inbound_places.MARKETPLACES:
        raise bad_request(f"The marketplaceId {body['marketplaceId']} is not valid.")
    pages = []
    for entry in body["mskuQuantities"]:
        item = inbound_items.known_msku(sim.inbound, entry["msku"])
        pages.append([f"Item labels: {item['fnSku']}", f"MSKU: {entry['msku']}",
                      f"ASIN: {item['asin']}", f"Labels: {entry['quantity']}",
                      f"Label type: {body['labelType']}",
                      f"Page type: {body.get('pageType', 'default')}"])
    now = sim.now()
    document_id = save_document(sim.store, "item-labels", pages, now)
    base = f"http://{call.headers.get('host', 'localhost')}"
    return Reply(200, {"documentDownloads": [{
        "downloadType": "URL", "uri": document_url(base, document_id),
        "expiration": iso(now + DOCUMENT_LIFETIME)}]})


# -- operations ------------------------------------------------------------------------------

def get_inbound_operation_status(sim: Simulator, call: Call) -> Reply:
    op = sim.inbound.operation(path_id(call, "operationId", min_length=36))
    if op is None:
        raise bad_request("The requested operationId does not exist.")
    return Reply(200, sim.inbound.operation_view(op))


OPERATIONS = [
    Operation("listInboundPlans", list_inbound_plans),
    Operation("createInboundPlan", create_inbound_plan),
    Operation("getInboundPlan", get_inbound_plan),
    Operation("listInboundPlanBoxes", list_inbound_plan_boxes),
    Operation("cancelInboundPlan", cancel_inbound_plan),
    Operation("listInboundPlanItems", list_inbound_plan_items),
    Operation("updateInboundPlanName", update_inbound_plan_name),
    Operation("listPackingGroupBoxes", list_packing_group_boxes),
    Operation("listPackingGroupItems", list_packing_group_items),
    Operation("setPackingInformation", set_packing_information),
    Operation("listPackingOptions", list_packing_options),
    Operation("generatePackingOptions", generate_packing_options),
    Operation("confirmPackingOption", confirm_packing_option),
    Operation("listInboundPlanPallets", list_inbound_plan_pallets),
    Operation("listPlacementOptions", list_placement_options),
    Operation("generatePlacementOptions", generate_placement_options),
    Operation("confirmPlacementOption", confirm_placement_option),
    Operation("getShipment", get_shipment),
    Operation("listShipmentBoxes", list_shipment_boxes),
    Operation("listShipmentContentUpdatePreviews", list_shipment_content_update_previews),
    Operation("generateShipmentContentUpdatePreviews", generate_shipment_content_update_previews),
    Operation("getShipmentContentUpdatePreview", get_shipment_content_update_preview),
    Operation("confirmShipmentContentUpdatePreview", confirm_shipment_content_update_preview),
    Operation("getDeliveryChallanDocument", get_delivery_challan_document),
    Operation("listDeliveryWindowOptions", list_delivery_window_options),
    Operation("generateDeliveryWindowOptions", generate_delivery_window_options),
    Operation("confirmDeliveryWindowOptions", confirm_delivery_window_options),
    Operation("listShipmentItems", list_shipment_items),
    Operation("updateShipmentName", update_shipment_name),
    Operation("listShipmentPallets", list_shipment_pallets),
    Operation("cancelSelfShipAppointment", _self_ship_unsupported),
    Operation("getSelfShipAppointmentSlots", _self_ship_unsupported),
    Operation("generateSelfShipAppointmentSlots", _self_ship_unsupported),
    Operation("scheduleSelfShipAppointment", _self_ship_unsupported),
    Operation("updateShipmentSourceAddress", update_shipment_source_address),
    Operation("updateShipmentTrackingDetails", update_shipment_tracking_details),
    Operation("listTransportationOptions", list_transportation_options),
    Operation("generateTransportationOptions", generate_transportation_options),
    Operation("confirmTransportationOptions", confirm_transportation_options),
    Operation("listItemComplianceDetails", list_item_compliance_details),
    Operation("updateItemComplianceDetails", update_item_compliance_details),
    Operation("createMarketplaceItemLabels", create_marketplace_item_labels),
    Operation("listPrepDetails", list_prep_details),
    Operation("setPrepDetails", set_prep_details),
    Operation("getInboundOperationStatus", get_inbound_operation_status),
]
