"""Every Fulfillment Inbound operation (v2024-03-20 and v0) over real HTTP, through its
happy path and its main error paths; InboundApi checks each answer against the model's
schema for its status, and every error against the errors shape."""

from __future__ import annotations

import pytest
import requests
from sim_helpers import MARKETPLACE
from test_sim_inbound_helpers import (
    BOX,
    IN24,
    V0,
    InboundApi,
    created_plan,
    finish,
    packed_plan,
    partnered_parcel,
    placed_plan,
    plan_body,
    ready_to_ship_start,
    shipped_plan,
)

from bridge.sim.apis import all_operations
from bridge.spapi_models import model_operations, operation

INBOUND_MODELS = ("fulfillmentInbound_2024-03-20.json", "fulfillmentInboundV0.json")
FREIGHT = {"declaredValue": {"amount": 500, "code": "USD"}, "freightClass": "FC_50"}
PALLET = {"quantity": 2, "stackability": "STACKABLE",
          "dimensions": {"length": 40, "width": 48, "height": 50, "unitOfMeasurement": "IN"},
          "weight": {"value": 300, "unit": "LB"}}
SELF_SHIP = [("getSelfShipAppointmentSlots", "GET", "/selfShipAppointmentSlots", None),
             ("generateSelfShipAppointmentSlots", "POST", "/selfShipAppointmentSlots", {}),
             ("cancelSelfShipAppointment", "PUT", "/selfShipAppointmentCancellation", {}),
             ("scheduleSelfShipAppointment", "POST",
              "/selfShipAppointmentSlots/sl" + "0" * 36 + "/schedule", {})]


@pytest.fixture
def api_inbound(sim) -> InboundApi:
    return InboundApi(sim.base_url, sim.access_token())


def error(answer) -> str:
    assert answer.status == 400, answer.body
    return answer.body["errors"][0]["message"]


def test_every_inbound_operation_is_served():
    served = {op.operation_id for op in all_operations()}
    modelled = {op_id for op_id in _model_operation_ids()}
    assert len(modelled) == 51
    assert modelled <= served


def _model_operation_ids():
    return [op_id for op_id, op in model_operations().items() if op.model_file in INBOUND_MODELS]


def test_tour_of_every_operation(sim, api_inbound):
    """One plan through the whole workflow, calling every inbound operation once at least:
    one shipment by partnered LTL freight, the other by the seller's own small-parcel
    carrier after a confirmed delivery window."""
    api = api_inbound
    plans = api.call("listInboundPlans", "GET", f"{IN24}/inboundPlans")
    assert plans.body["inboundPlans"] == []
    plan_id, placement = placed_plan(sim, api)
    assert api.call("listInboundPlans", "GET", f"{IN24}/inboundPlans",
                    params={"status": "ACTIVE", "sortBy": "CREATION_TIME", "sortOrder": "DESC"}
                    ).body["inboundPlans"][0]["inboundPlanId"] == plan_id
    plan = api.plan_call("getInboundPlan", "GET", plan_id).body
    assert plan["status"] == "ACTIVE" and len(plan["shipments"]) == 2
    assert {s["status"] for s in plan["shipments"]} == {"WORKING"}
    assert api.plan_call("updateInboundPlanName", "PUT", plan_id, "/name",
                         json={"name": "Renamed"}).status == 204
    assert api.plan_call("getInboundPlan", "GET", plan_id).body["name"] == "Renamed"
    items = api.plan_call("listInboundPlanItems", "GET", plan_id, "/items").body["items"]
    assert {(i["msku"], i["quantity"]) for i in items} == {("SKU-A", 24), ("SKU-B", 10)}
    group = plan["packingOptions"]
    assert [o["status"] for o in group].count("ACCEPTED") == 1
    boxes = api.plan_call("listInboundPlanBoxes", "GET", plan_id, "/boxes").body["boxes"]
    assert len(boxes) == 2 and all(b["boxId"].startswith("FBA") for b in boxes)
    options = api.plan_call("listPackingOptions", "GET", plan_id, "/packingOptions").body
    accepted = next(o for o in options["packingOptions"] if o["status"] == "ACCEPTED")
    group_id = accepted["packingGroups"][0]
    assert len(api.plan_call("listPackingGroupBoxes", "GET", plan_id,
                             f"/packingGroups/{group_id}/boxes").body["boxes"]) == 2
    assert api.plan_call("listPlacementOptions", "GET", plan_id, "/placementOptions"
                         ).body["placementOptions"][0]["status"] == "ACCEPTED"

    freight_id, parcel_id = placement["shipmentIds"]
    shipment = api.plan_call("getShipment", "GET", plan_id, f"/shipments/{freight_id}").body
    assert shipment["status"] == "WORKING" and shipment["shipmentConfirmationId"]
    assert api.plan_call("listShipmentItems", "GET", plan_id,
                         f"/shipments/{freight_id}/items").body["items"]
    assert api.plan_call("updateShipmentName", "PUT", plan_id, f"/shipments/{parcel_id}/name",
                         json={"name": "Parcel half"}).status == 204
    new_source = {**plan_body()["sourceAddress"], "addressLine1": "2 Side St"}
    finish(sim, api, api.plan_call("updateShipmentSourceAddress", "PUT", plan_id,
                                   f"/shipments/{parcel_id}/sourceAddress",
                                   json={"address": new_source}))
    parcel = api.plan_call("getShipment", "GET", plan_id, f"/shipments/{parcel_id}").body
    assert parcel["name"] == "Parcel half"
    assert parcel["source"]["address"]["addressLine1"] == "2 Side St"

    start = ready_to_ship_start(sim)
    finish(sim, api, api.plan_call("generateTransportationOptions", "POST", plan_id,
                                   "/transportationOptions", json={
        "placementOptionId": placement["placementOptionId"],
        "shipmentTransportationConfigurations": [
            {"shipmentId": freight_id, "readyToShipWindow": {"start": start},
             "freightInformation": FREIGHT, "pallets": [PALLET],
             "contactInformation": {"name": "Dock", "phoneNumber": "2065550111"}},
            {"shipmentId": parcel_id, "readyToShipWindow": {"start": start}}]}))
    options = api.plan_call("listTransportationOptions", "GET", plan_id,
                            "/transportationOptions", params={"shipmentId": freight_id}
                            ).body["transportationOptions"]
    freight = next(o for o in options if o["shippingMode"] == "FREIGHT_LTL"
                   and o["shippingSolution"] == "AMAZON_PARTNERED_CARRIER")
    assert freight["quote"]["cost"]["amount"] > 0 and "carrierAppointment" in freight
    options = api.plan_call("listTransportationOptions", "GET", plan_id,
                            "/transportationOptions", params={"shipmentId": parcel_id}
                            ).body["transportationOptions"]
    own = next(o for o in options if o["shippingMode"] == "GROUND_SMALL_PARCEL"
               and o["shippingSolution"] == "USE_YOUR_OWN_CARRIER")
    assert own["preconditions"] == ["CONFIRMED_DELIVERY_WINDOW"]

    finish(sim, api, api.plan_call("generateDeliveryWindowOptions", "POST", plan_id,
                                   f"/shipments/{parcel_id}/deliveryWindowOptions"))
    windows = api.plan_call("listDeliveryWindowOptions", "GET", plan_id,
                            f"/shipments/{parcel_id}/deliveryWindowOptions"
                            ).body["deliveryWindowOptions"]
    window_id = windows[0]["deliveryWindowOptionId"]
    finish(sim, api, api.plan_call("confirmDeliveryWindowOptions", "POST", plan_id,
                                   f"/shipments/{parcel_id}/deliveryWindowOptions/{window_id}"
                                   "/confirmation"))
    finish(sim, api, api.plan_call("confirmTransportationOptions", "POST", plan_id,
                                   "/transportationOptions/confirmation", json={
        "transportationSelections": [
            {"shipmentId": freight_id, "transportationOptionId": freight["transportationOptionId"]},
            {"shipmentId": parcel_id, "transportationOptionId": own["transportationOptionId"]}]}))
    parcel = api.plan_call("getShipment", "GET", plan_id, f"/shipments/{parcel_id}").body
    assert parcel["selectedTransportationOptionId"] == own["transportationOptionId"]
    assert parcel["selectedDeliveryWindow"]["deliveryWindowOptionId"] == window_id

    pallets = api.plan_call("listShipmentPallets", "GET", plan_id,
                            f"/shipments/{freight_id}/pallets").body["pallets"]
    assert len(pallets) == 2
    assert len(api.plan_call("listInboundPlanPallets", "GET", plan_id, "/pallets"
                             ).body["pallets"]) == 2

    # Content update: the parcel shipment is repacked in one box.
    parcel_items = api.plan_call("listShipmentItems", "GET", plan_id,
                                 f"/shipments/{parcel_id}/items").body["items"]
    wanted = [{"msku": i["msku"], "quantity": i["quantity"], "prepOwner": "NONE",
               "labelOwner": "SELLER"} for i in parcel_items]
    finish(sim, api, api.plan_call("generateShipmentContentUpdatePreviews", "POST", plan_id,
                                   f"/shipments/{parcel_id}/contentUpdatePreviews",
                                   json={"boxes": [{**BOX, "quantity": 1, "items": wanted}],
                                         "items": wanted}))
    previews = api.plan_call("listShipmentContentUpdatePreviews", "GET", plan_id,
                             f"/shipments/{parcel_id}/contentUpdatePreviews"
                             ).body["contentUpdatePreviews"]
    preview_id = previews[0]["contentUpdatePreviewId"]
    assert api.plan_call("getShipmentContentUpdatePreview", "GET", plan_id,
                         f"/shipments/{parcel_id}/contentUpdatePreviews/{preview_id}"
                         ).body["contentUpdatePreviewId"] == preview_id
    finish(sim, api, api.plan_call("confirmShipmentContentUpdatePreview", "POST", plan_id,
                                   f"/shipments/{parcel_id}/contentUpdatePreviews/{preview_id}"
                                   "/confirmation"))
    parcel_boxes = api.plan_call("listShipmentBoxes", "GET", plan_id,
                                 f"/shipments/{parcel_id}/boxes").body["boxes"]
    assert len(parcel_boxes) == 1
    box_id = parcel_boxes[0]["boxId"]
    finish(sim, api, api.plan_call("updateShipmentTrackingDetails", "PUT", plan_id,
                                   f"/shipments/{parcel_id}/trackingDetails", json={
        "trackingDetails": {"spdTrackingDetail": {"spdTrackingItems": [
            {"boxId": box_id, "trackingId": "1Z999AA10123456784"}]}}}))
    parcel = api.plan_call("getShipment", "GET", plan_id, f"/shipments/{parcel_id}").body
    assert parcel["status"] == "READY_TO_SHIP"
    assert parcel["trackingDetails"]["spdTrackingDetail"]["spdTrackingItems"][0]["boxId"] == box_id

    assert "IN" in error(api.plan_call("getDeliveryChallanDocument", "GET", plan_id,
                                       f"/shipments/{freight_id}/deliveryChallanDocument"))
    for operation_id, method, tail, body in SELF_SHIP:
        message = error(api.plan_call(operation_id, method, plan_id,
                                      f"/shipments/{freight_id}{tail}", json=body))
        assert "not supported in the US marketplace" in message

    # v0 with the confirmation id.
    confirmation = shipment["shipmentConfirmationId"]
    labels = api.call("getLabels", "GET", f"{V0}/shipments/{confirmation}/labels",
                      params={"PageType": "PackageLabel_Thermal", "LabelType": "PALLET"})
    document = requests.get(labels.body["payload"]["DownloadURL"], timeout=10)
    assert document.headers["content-type"] == "application/pdf"
    assert document.content.count(b"/Type /Page ") == 2 * 4  # four labels per pallet
    bill = api.call("getBillOfLading", "GET", f"{V0}/shipments/{confirmation}/billOfLading")
    assert requests.get(bill.body["payload"]["DownloadURL"], timeout=10).content[:5] == b"%PDF-"
    shipments = api.call("getShipments", "GET", f"{V0}/shipments", params={
        "QueryType": "SHIPMENT", "MarketplaceId": MARKETPLACE, "ShipmentIdList": confirmation})
    assert [s["ShipmentStatus"] for s in shipments.body["payload"]["ShipmentData"]] == ["WORKING"]
    rows = api.call("getShipmentItemsByShipmentId", "GET",
                    f"{V0}/shipments/{confirmation}/items").body["payload"]["ItemData"]
    assert all(r["QuantityReceived"] == 0 and r["QuantityShipped"] > 0 for r in rows)
    everything = api.call("getShipmentItems", "GET", f"{V0}/shipmentItems", params={
        "QueryType": "DATE_RANGE", "MarketplaceId": MARKETPLACE,
        "LastUpdatedAfter": "2000-01-01T00:00:00Z", "LastUpdatedBefore": "2100-01-01T00:00:00Z"})
    assert sum(r["QuantityShipped"] for r in everything.body["payload"]["ItemData"]) == 34
    prep = api.call("getPrepInstructions", "GET", f"{V0}/prepInstructions", params={
        "ShipToCountryCode": "US", "SellerSKUList": "SKU-A,NEVER-SEEN"}).body["payload"]
    assert prep["SKUPrepInstructionsList"][0]["PrepGuidance"] == "NoAdditionalPrepRequired"
    assert prep["InvalidSKUList"] == [{"SellerSKU": "NEVER-SEEN", "ErrorReason": "DoesNotExist"}]

    # Items: prep details, compliance details, item labels.
    finish(sim, api, api.call("setPrepDetails", "POST", f"{IN24}/items/prepDetails", json={
        "marketplaceId": MARKETPLACE, "mskuPrepDetails": [
            {"msku": "SKU-A", "prepCategory": "FRAGILE", "prepTypes": ["ITEM_BUBBLEWRAP"]}]}))
    details = api.call("listPrepDetails", "GET", f"{IN24}/items/prepDetails",
                       params={"marketplaceId": MARKETPLACE, "mskus": ["SKU-A", "SKU-B"]})
    assert [d["prepCategory"] for d in details.body["mskuPrepDetails"]] == ["FRAGILE", "NONE"]
    finish(sim, api, api.call("updateItemComplianceDetails", "PUT", f"{IN24}/items/compliance",
                              params={"marketplaceId": MARKETPLACE}, json={
        "msku": "SKU-A", "taxDetails": {"hsnCode": "720299",
                                        "declaredValue": {"amount": 50, "code": "USD"}}}))
    compliance = api.call("listItemComplianceDetails", "GET", f"{IN24}/items/compliance",
                          params={"marketplaceId": MARKETPLACE, "mskus": "SKU-A"})
    assert compliance.body["complianceDetails"][0]["taxDetails"]["hsnCode"] == "720299"
    labels = api.call("createMarketplaceItemLabels", "POST", f"{IN24}/items/labels", json={
        "marketplaceId": MARKETPLACE, "labelType": "STANDARD_FORMAT",
        "mskuQuantities": [{"msku": "SKU-A", "quantity": 24}, {"msku": "SKU-B", "quantity": 10}]})
    uri = labels.body["documentDownloads"][0]["uri"]
    assert requests.get(uri, timeout=10).content.count(b"/Type /Page ") == 2

    # A second plan, cancelled. SKU-A now needs prep: somebody must own it.
    assert "requires prep" in error(api.create_plan(plan_body()))
    other = created_plan(sim, api, plan_body(items=[
        {"msku": "SKU-A", "quantity": 5, "prepOwner": "SELLER", "labelOwner": "SELLER"}]))
    finish(sim, api, api.plan_call("cancelInboundPlan", "PUT", other, "/cancellation"))
    assert api.plan_call("getInboundPlan", "GET", other).body["status"] == "VOIDED"

    called = {op for op, stats in sim.admin.stats().items() if stats["calls"]}
    assert set(_model_operation_ids()) <= called


def test_unknown_and_malformed_ids(sim, api_inbound):
    api = api_inbound
    unknown = "wf" + "0" * 36
    assert error(api.plan_call("getInboundPlan", "GET", unknown)) == \
        "The requested inbound plan does not exist."
    assert error(api.plan_call("getInboundPlan", "GET", "wf-short")) == \
        "The inboundPlanId is malformed."
    assert error(api.plan_call("listPackingOptions", "GET", "x" * 37 + "!")) == \
        "The inboundPlanId is malformed."
    assert error(api.operation("0" * 36)) == "The requested operationId does not exist."
    assert error(api.operation("bad")) == "The operationId is malformed."
    plan_id = created_plan(sim, api)
    assert error(api.plan_call("getShipment", "GET", plan_id, "/shipments/sh" + "0" * 36)) == \
        "The requested shipment does not exist for the provided inbound plan."
    assert error(api.plan_call("listPackingGroupItems", "GET", plan_id,
                               "/packingGroups/pg" + "0" * 36 + "/items")) == \
        "The requested packingGroupId does not exist for the specified inbound plan."
    assert error(api.plan_call("confirmPackingOption", "POST", plan_id,
                               "/packingOptions/po" + "0" * 36 + "/confirmation")) == \
        "The requested packingOptionId does not exist for the given inbound plan."
    assert error(api.call("getLabels", "GET", f"{V0}/shipments/FBA000000000/labels",
                          params={"PageType": "PackageLabel_Thermal", "LabelType": "UNIQUE"}))


def test_state_errors_use_the_model_messages(sim, api_inbound):
    api = api_inbound
    answer = api.create_plan(plan_body())
    plan_id = answer.body["inboundPlanId"]
    # Until createInboundPlan completes the plan cannot be worked on.
    assert error(api.plan_call("generatePackingOptions", "POST", plan_id, "/packingOptions")) == \
        "The inbound plan is not in a valid state to generate packing options."
    finish(sim, api, answer)
    assert error(api.plan_call("generatePlacementOptions", "POST", plan_id, "/placementOptions",
                               json={})) == \
        "The inbound plan is not in a valid state to generate placement options."
    finish(sim, api, api.plan_call("cancelInboundPlan", "PUT", plan_id, "/cancellation"))
    assert error(api.plan_call("cancelInboundPlan", "PUT", plan_id, "/cancellation")) == \
        "The inbound plan is already cancelled."
    assert error(api.plan_call("generatePackingOptions", "POST", plan_id, "/packingOptions")) == \
        "The inbound plan is already cancelled."


def test_placement_is_irreversible(sim, api_inbound):
    api = api_inbound
    plan_id, placement = placed_plan(sim, api)
    assert "already been confirmed" in error(api.plan_call(
        "confirmPlacementOption", "POST", plan_id,
        f"/placementOptions/{placement['placementOptionId']}/confirmation"))
    assert error(api.plan_call("generatePlacementOptions", "POST", plan_id, "/placementOptions",
                               json={})) == \
        "The inbound plan is not in a valid state to generate placement options."


def test_set_packing_information_limits(sim, api_inbound):
    api = api_inbound
    plan_id, option = packed_plan(sim, api)
    group_id = option["packingGroups"][0]

    def send(boxes):
        return api.plan_call("setPackingInformation", "POST", plan_id, "/packingInformation",
                             json={"packageGroupings": [{"packingGroupId": group_id,
                                                         "boxes": boxes}]})
    item = {"msku": "SKU-A", "quantity": 1, "prepOwner": "NONE", "labelOwner": "SELLER"}
    assert "at least 1" in error(send([{**BOX, "quantity": 0, "items": [item]}]))
    assert "at most 10000" in error(send([{**BOX, "quantity": 10001, "items": [item]}]))
    assert "at least 1 elements" in error(send([]))
    assert "at most 5000 elements" in error(send([{**BOX, "quantity": 1, "items": [item]}] * 5001))
    assert "exactly one of" in error(api.plan_call(
        "setPackingInformation", "POST", plan_id, "/packingInformation",
        json={"packageGroupings": [{"boxes": [{**BOX, "quantity": 1, "items": [item]}]}]}))
    # Contents that do not add up to the group's units: the operation FAILS.
    status = finish(sim, api, send([{**BOX, "quantity": 1, "items": [item]}]), expect="FAILED")
    problem = status["operationProblems"][0]
    assert problem["code"] == "BoxContentMismatch" and problem["severity"] == "ERROR"
    assert "SKU-A: 1 packed, 24 expected" in problem["details"]


def test_delivery_window_precondition_and_labels(sim, api_inbound):
    api = api_inbound
    plan_id, placement = placed_plan(sim, api)
    start = ready_to_ship_start(sim)
    finish(sim, api, api.plan_call("generateTransportationOptions", "POST", plan_id,
                                   "/transportationOptions", json={
        "placementOptionId": placement["placementOptionId"],
        "shipmentTransportationConfigurations": [
            {"shipmentId": s, "readyToShipWindow": {"start": start}}
            for s in placement["shipmentIds"]]}))
    assert "Either placementOptionId or shipmentId" in error(api.plan_call(
        "listTransportationOptions", "GET", plan_id, "/transportationOptions"))
    options = api.plan_call("listTransportationOptions", "GET", plan_id,
                            "/transportationOptions",
                            params={"placementOptionId": placement["placementOptionId"]}
                            ).body["transportationOptions"]
    selections = [{"shipmentId": s, "transportationOptionId": next(
        o["transportationOptionId"] for o in options if o["shipmentId"] == s
        and o["preconditions"] == ["CONFIRMED_DELIVERY_WINDOW"])}
        for s in placement["shipmentIds"]]
    assert "requires a confirmed delivery window" in error(api.plan_call(
        "confirmTransportationOptions", "POST", plan_id, "/transportationOptions/confirmation",
        json={"transportationSelections": selections}))
    first = placement["shipmentIds"][0]
    partnered = partnered_parcel(options, first)["transportationOptionId"]
    assert "every shipment" in error(api.plan_call(
        "confirmTransportationOptions", "POST", plan_id, "/transportationOptions/confirmation",
        json={"transportationSelections": [{"shipmentId": first,
                                            "transportationOptionId": partnered}]}))
    confirmation = api.plan_call("getShipment", "GET", plan_id,
                                 f"/shipments/{placement['shipmentIds'][0]}"
                                 ).body["shipmentConfirmationId"]
    labels = api.call("getLabels", "GET", f"{V0}/shipments/{confirmation}/labels",
                      params={"PageType": "PackageLabel_Letter_2", "LabelType": "UNIQUE"})
    assert "transportation option is confirmed" in labels.body["errors"][0]["message"]


def test_labels_must_name_the_shipment_boxes(sim, api_inbound):
    api = api_inbound
    plan_id, placement = shipped_plan(sim, api)
    shipment_id = placement["shipmentIds"][0]
    confirmation = api.plan_call("getShipment", "GET", plan_id,
                                 f"/shipments/{shipment_id}").body["shipmentConfirmationId"]
    box_ids = [b["boxId"] for b in api.plan_call("listShipmentBoxes", "GET", plan_id,
                                                 f"/shipments/{shipment_id}/boxes"
                                                 ).body["boxes"]]
    path = f"{V0}/shipments/{confirmation}/labels"
    wrong = api.call("getLabels", "GET", path, params={
        "PageType": "PackageLabel_Letter_2", "LabelType": "UNIQUE",
        "PackageLabelsToPrint": "NOT-A-BOX"})
    assert wrong.status == 400 and wrong.body["errors"][0]["code"] == "IncorrectPackageIdentifier"
    assert api.call("getLabels", "GET", path, params={
        "PageType": "PackageLabel_Letter_2", "LabelType": "SQUARE"}).status == 400
    right = api.call("getLabels", "GET", path, params={
        "PageType": "PackageLabel_Letter_2", "LabelType": "UNIQUE",
        "PackageLabelsToPrint": ",".join(box_ids)})
    pdf = requests.get(right.body["payload"]["DownloadURL"], timeout=10).content
    assert pdf.startswith(b"%PDF-") and pdf.count(b"/Type /Page ") == len(box_ids)
    assert all(box_id.encode() in pdf for box_id in box_ids)


def test_v0_query_rules(sim, api_inbound):
    api = api_inbound
    path = f"{V0}/shipments"
    assert api.call("getShipments", "GET", path, params={"QueryType": "SHIPMENT"}).status == 400
    assert api.call("getShipments", "GET", path,
                    params={"MarketplaceId": MARKETPLACE}).status == 400
    assert api.call("getShipments", "GET", path, params={
        "QueryType": "SHIPMENT", "MarketplaceId": MARKETPLACE}).status == 400
    assert api.call("getShipments", "GET", path, params={
        "QueryType": "SHIPMENT", "MarketplaceId": MARKETPLACE,
        "ShipmentStatusList": "LOST"}).status == 400
    assert api.call("getShipments", "GET", path, params={
        "QueryType": "DATE_RANGE", "MarketplaceId": MARKETPLACE,
        "LastUpdatedAfter": "2026-01-01T00:00:00Z"}).status == 400
    assert api.call("getShipments", "GET", path, params={
        "QueryType": "NEXT_TOKEN", "MarketplaceId": MARKETPLACE, "NextToken": "junk"}).status == 400
    assert api.call("getShipments", "GET", path, params={
        "QueryType": "SHIPMENT", "MarketplaceId": MARKETPLACE,
        "ShipmentStatusList": "WORKING,READY_TO_SHIP"}).body["payload"]["ShipmentData"] == []
    assert api.call("getPrepInstructions", "GET", f"{V0}/prepInstructions",
                    params={"ShipToCountryCode": "usa", "SellerSKUList": "A"}).status == 400


def test_pagination_of_plans(sim, api_inbound):
    api = api_inbound
    for _ in range(3):
        api.create_plan(plan_body())
    first = api.call("listInboundPlans", "GET", f"{IN24}/inboundPlans", params={"pageSize": 2})
    token = first.body["pagination"]["nextToken"]
    second = api.call("listInboundPlans", "GET", f"{IN24}/inboundPlans",
                      params={"pageSize": 2, "paginationToken": token})
    ids = [p["inboundPlanId"] for p in first.body["inboundPlans"] + second.body["inboundPlans"]]
    assert len(set(ids)) == 3 and "pagination" not in second.body
    for size in ("0", "31", "x"):
        assert api.call("listInboundPlans", "GET", f"{IN24}/inboundPlans",
                        params={"pageSize": size}).status == 400
    assert error(api.call("listInboundPlans", "GET", f"{IN24}/inboundPlans",
                          params={"status": "DONE"})) == "The status is invalid."


def test_rate_limits_come_from_the_model():
    assert operation("createInboundPlan").usage_plan == (2.0, 2)
    assert operation("getLabels").usage_plan == (2.0, 30)


def test_a_confirmed_shipment_can_be_repacked(sim, api_inbound):
    api = api_inbound
    plan_id, placement = placed_plan(sim, api)
    shipment_id = placement["shipmentIds"][0]
    items = api.plan_call("listShipmentItems", "GET", plan_id,
                          f"/shipments/{shipment_id}/items").body["items"]
    boxes = [{**BOX, "quantity": 1, "items": [
        {"msku": i["msku"], "quantity": i["quantity"], "prepOwner": "NONE",
         "labelOwner": "SELLER"} for i in items]}]
    finish(sim, api, api.plan_call("setPackingInformation", "POST", plan_id,
                                   "/packingInformation", json={"packageGroupings": [
                                       {"shipmentId": shipment_id, "boxes": boxes}]}))
    listed = api.plan_call("listShipmentBoxes", "GET", plan_id,
                           f"/shipments/{shipment_id}/boxes").body["boxes"]
    assert len(listed) == 1 and listed[0]["boxId"].endswith("U000001")
