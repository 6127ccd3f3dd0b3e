"""Inbound shipments on the simulated clock: from a plan to fulfillable stock, failures
injected into asynchronous operations, and cancellation releasing inbound units."""

from __future__ import annotations

import re

import pytest
import requests
from sim_helpers import INVENTORY, MARKETPLACE
from test_sim_inbound_helpers import (
    V0,
    InboundApi,
    created_plan,
    fail_next,
    finish,
    placed_plan,
    plan_body,
    ready_to_ship_start,
    shipped_plan,
)

from bridge.sim.config import SimConfig

CONFIG = SimConfig()
HOUR = 3600


@pytest.fixture
def api_inbound(sim) -> InboundApi:
    return InboundApi(sim.base_url, sim.access_token())


def stock(api: InboundApi, sku: str) -> dict:
    answer = api.call("getInventorySummaries", "GET", f"{INVENTORY}/summaries", params={
        "granularityType": "Marketplace", "granularityId": MARKETPLACE,
        "marketplaceIds": MARKETPLACE, "details": "true", "sellerSku": sku})
    return answer.body["payload"]["inventorySummaries"][0]["inventoryDetails"]


def statuses(api: InboundApi, plan_id: str) -> set[str]:
    return {s["status"] for s in api.plan_call("getInboundPlan", "GET", plan_id).body["shipments"]}


def received(api: InboundApi, confirmation_ids: list[str]) -> int:
    return sum(row["QuantityReceived"] for cid in confirmation_ids
               for row in api.call("getShipmentItemsByShipmentId", "GET",
                                   f"{V0}/shipments/{cid}/items").body["payload"]["ItemData"])


def assert_valid_pdf(pdf: bytes, pages: int) -> None:
    """Starts with %PDF-, every cross-reference offset points at its object, and the page
    tree counts the pages: what a PDF reader needs to open the file."""
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    start = int(re.search(rb"startxref\s+(\d+)", pdf).group(1))
    assert pdf[start:start + 4] == b"xref"
    offsets = [int(m) for m in re.findall(rb"(\d{10}) 00000 n", pdf)]
    for number, offset in enumerate(offsets, start=1):
        assert pdf[offset:].startswith(b"%d 0 obj" % number)
    assert re.search(rb"/Count (\d+)", pdf).group(1) == str(pages).encode()


def test_plan_to_fulfillable_stock(sim, api_inbound):
    """Plan -> packing -> placement -> own-carrier transportation after a confirmed delivery
    window -> box labels (PDF) -> the clock -> CLOSED, with the received units fulfillable."""
    api = api_inbound
    sim.admin.set_stock({"SKU-A": 3})
    plan_id, placement = placed_plan(sim, api)
    assert stock(api, "SKU-A")["inboundWorkingQuantity"] == 24
    configs = [{"shipmentId": s, "readyToShipWindow": {"start": ready_to_ship_start(sim)}}
               for s in placement["shipmentIds"]]
    finish(sim, api, api.plan_call("generateTransportationOptions", "POST", plan_id,
                                   "/transportationOptions", json={
        "placementOptionId": placement["placementOptionId"],
        "shipmentTransportationConfigurations": configs}))
    selections = []
    for shipment_id in placement["shipmentIds"]:
        options = api.plan_call("listTransportationOptions", "GET", plan_id,
                                "/transportationOptions", params={"shipmentId": shipment_id}
                                ).body["transportationOptions"]
        own = next(o for o in options if o["shippingSolution"] == "USE_YOUR_OWN_CARRIER"
                   and o["shippingMode"] == "GROUND_SMALL_PARCEL")
        assert "CONFIRMED_DELIVERY_WINDOW" in own["preconditions"]
        finish(sim, api, api.plan_call("generateDeliveryWindowOptions", "POST", plan_id,
                                       f"/shipments/{shipment_id}/deliveryWindowOptions"))
        window = api.plan_call("listDeliveryWindowOptions", "GET", plan_id,
                               f"/shipments/{shipment_id}/deliveryWindowOptions"
                               ).body["deliveryWindowOptions"][0]
        finish(sim, api, api.plan_call(
            "confirmDeliveryWindowOptions", "POST", plan_id,
            f"/shipments/{shipment_id}/deliveryWindowOptions/{window['deliveryWindowOptionId']}"
            "/confirmation"))
        selections.append({"shipmentId": shipment_id,
                           "transportationOptionId": own["transportationOptionId"]})
    finish(sim, api, api.plan_call("confirmTransportationOptions", "POST", plan_id,
                                   "/transportationOptions/confirmation",
                                   json={"transportationSelections": selections}))
    assert statuses(api, plan_id) == {"WORKING"}

    confirmations = []
    for shipment_id in placement["shipmentIds"]:
        shipment = api.plan_call("getShipment", "GET", plan_id, f"/shipments/{shipment_id}").body
        confirmations.append(shipment["shipmentConfirmationId"])
        labels = api.call("getLabels", "GET",
                          f"{V0}/shipments/{shipment['shipmentConfirmationId']}/labels",
                          params={"PageType": "PackageLabel_Letter_6", "LabelType": "UNIQUE"})
        assert_valid_pdf(requests.get(labels.body["payload"]["DownloadURL"], timeout=10).content,
                         pages=1)
    assert statuses(api, plan_id) == {"READY_TO_SHIP"}

    steps = [(CONFIG.inbound_pickup_seconds, "SHIPPED"),
             (CONFIG.inbound_shipped_seconds, "IN_TRANSIT"),
             (CONFIG.inbound_transit_seconds, "DELIVERED"),
             (CONFIG.inbound_check_in_seconds, "CHECKED_IN"),
             (CONFIG.inbound_receiving_start_seconds, "RECEIVING")]
    for seconds, expected in steps:
        sim.admin.advance(seconds - 1)
        assert expected not in statuses(api, plan_id)
        sim.admin.advance(1)
        assert statuses(api, plan_id) == {expected}
        if expected == "SHIPPED":
            assert api.plan_call("getInboundPlan", "GET", plan_id).body["status"] == "SHIPPED"
            assert stock(api, "SKU-A")["inboundShippedQuantity"] == 24
            assert stock(api, "SKU-A")["inboundWorkingQuantity"] == 0
    details = stock(api, "SKU-A")
    assert (details["inboundReceivingQuantity"], details["fulfillableQuantity"]) == (24, 3)
    assert received(api, confirmations) == 0

    # Receiving happens in steps: stock grows gradually, per SKU.
    step = CONFIG.inbound_receiving_seconds / CONFIG.inbound_receiving_steps
    sim.admin.advance(step)
    partly = stock(api, "SKU-A")
    assert 3 < partly["fulfillableQuantity"] < 27
    assert partly["inboundReceivingQuantity"] == 27 - partly["fulfillableQuantity"]
    assert 0 < received(api, confirmations) < 34
    shipments = api.call("getShipments", "GET", f"{V0}/shipments", params={
        "QueryType": "SHIPMENT", "MarketplaceId": MARKETPLACE, "ShipmentStatusList": "RECEIVING"})
    assert len(shipments.body["payload"]["ShipmentData"]) == 2

    sim.admin.advance(CONFIG.inbound_receiving_seconds)
    assert statuses(api, plan_id) == {"CLOSED"}
    assert received(api, confirmations) == 34
    a, b = stock(api, "SKU-A"), stock(api, "SKU-B")
    assert (a["fulfillableQuantity"], b["fulfillableQuantity"]) == (3 + 24, 10)
    assert a["inboundReceivingQuantity"] == a["inboundShippedQuantity"] == 0


def test_received_stock_lands_in_the_destination_centers(sim, api_inbound):
    api = api_inbound
    plan_id, placement = shipped_plan(sim, api)
    centers = set()
    for shipment_id in placement["shipmentIds"]:
        shipment = api.plan_call("getShipment", "GET", plan_id, f"/shipments/{shipment_id}").body
        centers.add(shipment["destination"]["warehouseId"])
        api.call("getLabels", "GET", f"{V0}/shipments/{shipment['shipmentConfirmationId']}/labels",
                 params={"PageType": "PackageLabel_Thermal", "LabelType": "UNIQUE"})
    sim.admin.advance(10 * 86400)
    assert statuses(api, plan_id) == {"CLOSED"}
    sku_b = sim.admin.inventory()["SKU-B"]
    assert sku_b["fulfillable"] == 10
    assert set(sku_b["fulfillmentCenters"]) == centers


def test_failed_operation_shows_its_problems(sim, api_inbound):
    api = api_inbound
    other = created_plan(sim, api)
    knob = fail_next(sim, "generatePackingOptions", code="FBA_INB_0100",
                     message="Packing options could not be generated.")
    assert knob["failNext"][0]["count"] == 1
    status = finish(sim, api, api.plan_call("generatePackingOptions", "POST", other,
                                            "/packingOptions"), expect="FAILED")
    assert status["operation"] == "generatePackingOptions"
    assert status["operationProblems"] == [{"code": "FBA_INB_0100", "severity": "ERROR",
                                            "message": "Packing options could not be generated.",
                                            "details": ""}]
    assert api.plan_call("listPackingOptions", "GET", other, "/packingOptions"
                         ).body["packingOptions"] == []
    # The knob is used up: the retry succeeds.
    finish(sim, api, api.plan_call("generatePackingOptions", "POST", other, "/packingOptions"))


def test_failed_create_leaves_an_errored_plan(sim, api_inbound):
    api = api_inbound
    fail_next(sim, "createInboundPlan")
    answer = api.create_plan(plan_body())
    status = finish(sim, api, answer, expect="FAILED")
    assert status["operationProblems"][0]["code"] == "SimulatedFailure"
    plan_id = answer.body["inboundPlanId"]
    assert api.plan_call("getInboundPlan", "GET", plan_id).body["status"] == "ERRORED"
    answer = api.plan_call("generatePackingOptions", "POST", plan_id, "/packingOptions")
    assert answer.status == 400


def test_fail_next_refuses_unknown_operations(sim):
    for body in ({"operation": "getShipment"}, {"operation": "nope"},
                 {"operation": "setPrepDetails", "count": 0}):
        response = requests.post(f"{sim.base_url}/_sim/inbound/fail-next", json=body, timeout=10)
        assert response.status_code == 400
    fail_next(sim, "setPrepDetails", count=2)
    assert sim.admin.clear_inbound_failures() == {"failNext": []}
    assert sim.admin.inbound()["failNext"] == []


def test_cancel_releases_inbound_units(sim, api_inbound):
    api = api_inbound
    plan_id, _ = placed_plan(sim, api)
    assert stock(api, "SKU-B")["inboundWorkingQuantity"] == 10
    finish(sim, api, api.plan_call("cancelInboundPlan", "PUT", plan_id, "/cancellation"))
    assert statuses(api, plan_id) == {"CANCELLED"}
    assert stock(api, "SKU-B")["inboundWorkingQuantity"] == 0
    rows = api.call("getShipments", "GET", f"{V0}/shipments", params={
        "QueryType": "SHIPMENT", "MarketplaceId": MARKETPLACE, "ShipmentStatusList": "DELETED"})
    assert len(rows.body["payload"]["ShipmentData"]) == 2


def test_shipped_plans_cannot_be_cancelled(sim, api_inbound):
    api = api_inbound
    plan_id, placement = shipped_plan(sim, api)
    confirmation = api.plan_call("getShipment", "GET", plan_id,
                                 f"/shipments/{placement['shipmentIds'][0]}"
                                 ).body["shipmentConfirmationId"]
    api.call("getLabels", "GET", f"{V0}/shipments/{confirmation}/labels",
             params={"PageType": "PackageLabel_Thermal", "LabelType": "UNIQUE"})
    sim.admin.advance(CONFIG.inbound_pickup_seconds)
    answer = api.plan_call("cancelInboundPlan", "PUT", plan_id, "/cancellation")
    assert answer.status == 400 and "already shipped" in answer.body["errors"][0]["message"]


def test_operations_in_flight_fail_when_the_plan_moves_on(sim, api_inbound):
    """Two confirmations of different packing options: the second one FAILS when it
    completes, because the first one already took effect."""
    api = api_inbound
    plan_id = created_plan(sim, api)
    finish(sim, api, api.plan_call("generatePackingOptions", "POST", plan_id, "/packingOptions"))
    options = api.plan_call("listPackingOptions", "GET", plan_id, "/packingOptions"
                            ).body["packingOptions"]
    first, second = [api.plan_call("confirmPackingOption", "POST", plan_id,
                                   f"/packingOptions/{o['packingOptionId']}/confirmation")
                     for o in options[:2]]
    finish(sim, api, first)
    status = api.operation(second.body["operationId"]).body
    assert status["operationStatus"] == "FAILED"
    assert "already been confirmed" in status["operationProblems"][0]["message"]
    statuses_seen = sorted(o["status"] for o in api.plan_call(
        "listPackingOptions", "GET", plan_id, "/packingOptions").body["packingOptions"])
    assert statuses_seen == ["ACCEPTED", "EXPIRED"]


def test_offered_options_expire_on_the_clock(sim, api_inbound):
    api = api_inbound
    plan_id = created_plan(sim, api)
    finish(sim, api, api.plan_call("generatePackingOptions", "POST", plan_id, "/packingOptions"))
    sim.admin.advance(CONFIG.inbound_option_valid_seconds)
    option = api.plan_call("listPackingOptions", "GET", plan_id, "/packingOptions"
                           ).body["packingOptions"][0]
    assert option["status"] == "EXPIRED"
    answer = api.plan_call("confirmPackingOption", "POST", plan_id,
                           f"/packingOptions/{option['packingOptionId']}/confirmation")
    assert answer.status == 400 and "expired" in answer.body["errors"][0]["message"]


def test_admin_summary_lists_plans(sim, api_inbound):
    plan_id = created_plan(sim, api_inbound)
    summary = sim.admin.inbound()
    assert [p["inboundPlanId"] for p in summary["plans"]] == [plan_id]
    assert summary["plans"][0]["status"] == "ACTIVE" and summary["failNext"] == []
