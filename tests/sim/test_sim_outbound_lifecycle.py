"""Outbound lifecycles on the manual clock: holds, policies on short stock, shipments
split across fulfillment centers, tracking outcomes and customer returns."""

from __future__ import annotations

import pytest
import requests
from sim_helpers import OUTBOUND, order_body

from bridge.sim.client import SimAdminError
from bridge.sim.clock import parse_iso

RECEIVED, PLANNING, PROCESSING = 30, 60, 120
LIFECYCLE = RECEIVED + PLANNING + PROCESSING
DAY = 86400


def line(sku, quantity, item_id):
    return {"sellerSku": sku, "sellerFulfillmentOrderItemId": item_id, "quantity": quantity}


def status(api, order_id):
    return api.get(order_id).body["payload"]["fulfillmentOrder"]["fulfillmentOrderStatus"]


def stock_at(sim, placements):
    """Set fulfillable stock per (sku, fc)."""
    items = [{"sellerSku": sku, "quantity": quantity, "fulfillmentCenterId": fc}
             for (sku, fc), quantity in placements.items()]
    response = requests.post(f"{sim.base_url}/_sim/inventory", json={"items": items}, timeout=5)
    assert response.status_code == 200, response.text


def set_outcome(sim, order_id, outcome):
    sim.admin.set_tracking_outcome(order_id, outcome)


def details(api, sku):
    summaries = api.summaries(details="true", sellerSku=sku).body["payload"]["inventorySummaries"]
    return summaries[0]["inventoryDetails"]


def package_numbers(api, order_id):
    return [p["packageNumber"]
            for s in api.get(order_id).body["payload"]["fulfillmentShipments"]
            for p in s.get("fulfillmentShipmentPackage", [])]


def test_hold_released_then_shipped(sim, api):
    sim.admin.set_stock({"SKU-A": 5})
    api.create(order_body("hold-1", fulfillmentAction="Hold"))
    assert sim.admin.inventory()["SKU-A"]["reserved"] == 2  # a hold reserves stock
    sim.admin.advance(3 * DAY)
    assert status(api, "hold-1") == "Received"

    answer = api.call("updateFulfillmentOrder", "PUT", f"{OUTBOUND}/fulfillmentOrders/hold-1",
                      json={"fulfillmentAction": "Ship"})
    assert answer.status == 200
    released_at = sim.admin.clock()["timestamp"]
    assert api.get("hold-1").body["payload"]["fulfillmentOrder"]["fulfillmentAction"] == "Ship"
    sim.admin.advance(RECEIVED)
    assert status(api, "hold-1") == "Planning"
    sim.admin.advance(PLANNING + PROCESSING)
    order = api.get("hold-1").body["payload"]
    assert order["fulfillmentOrder"]["fulfillmentOrderStatus"] == "Complete"
    assert abs(parse_iso(order["fulfillmentOrder"]["statusUpdatedDate"])
               - (released_at + LIFECYCLE)) < 0.01
    assert sim.admin.inventory()["SKU-A"] == {**sim.admin.inventory()["SKU-A"],
                                              "fulfillable": 3, "reserved": 0}
    # Released orders no longer expire: 14 days later it is still Complete.
    sim.admin.advance(14 * DAY)
    assert status(api, "hold-1") == "Complete"


def test_hold_can_be_edited_before_release(sim, api):
    sim.admin.set_stock({"SKU-A": 5})
    api.create(order_body("hold-2", fulfillmentAction="Hold"))
    api.call("updateFulfillmentOrder", "PUT", f"{OUTBOUND}/fulfillmentOrders/hold-2",
             json={"items": [{"sellerFulfillmentOrderItemId": "line-1", "quantity": 4}],
                   "destinationAddress": {"name": "Grace Hopper", "addressLine1": "2 Navy Way",
                                          "city": "Arlington", "postalCode": "22202",
                                          "countryCode": "US"}})
    assert sim.admin.inventory()["SKU-A"]["reserved"] == 4
    api.call("updateFulfillmentOrder", "PUT", f"{OUTBOUND}/fulfillmentOrders/hold-2",
             json={"fulfillmentAction": "Ship"})
    sim.admin.advance(LIFECYCLE)
    payload = api.get("hold-2").body["payload"]
    assert payload["fulfillmentOrder"]["destinationAddress"]["name"] == "Grace Hopper"
    assert payload["fulfillmentShipments"][0]["fulfillmentShipmentItem"][0]["quantity"] == 4


def test_fill_or_kill_versus_fill_all_available_on_short_stock(sim, api):
    sim.admin.set_stock({"SKU-A": 1, "SKU-B": 5})
    items = [line("SKU-A", 3, "a"), line("SKU-B", 2, "b")]
    api.create(order_body("kill", items=items, fulfillmentPolicy="FillOrKill"))
    assert status(api, "kill") == "Invalid"  # validation found too little stock
    killed = {i["sellerFulfillmentOrderItemId"]: i["unfulfillableQuantity"]
              for i in api.get("kill").body["payload"]["fulfillmentOrderItems"]}
    assert killed == {"a": 3, "b": 2}
    assert (sim.admin.inventory()["SKU-A"]["fulfillable"],
            sim.admin.inventory()["SKU-B"]["fulfillable"]) == (1, 5)

    api.create(order_body("avail", items=items, fulfillmentPolicy="FillAllAvailable"))
    sim.admin.advance(LIFECYCLE)
    payload = api.get("avail").body["payload"]
    assert payload["fulfillmentOrder"]["fulfillmentOrderStatus"] == "CompletePartialled"
    cancelled = {i["sellerFulfillmentOrderItemId"]: i["cancelledQuantity"]
                 for i in payload["fulfillmentOrderItems"]}
    assert cancelled == {"a": 2, "b": 0}
    shipped = {i["sellerSku"]: i["quantity"]
               for s in payload["fulfillmentShipments"] for i in s["fulfillmentShipmentItem"]}
    assert shipped == {"SKU-A": 1, "SKU-B": 2}


def test_fill_all_waits_then_ships_what_came(sim, api):
    sim.admin.set_stock({"SKU-A": 1})
    api.create(order_body("wait-1", fulfillmentPolicy="FillAll",
                          items=[line("SKU-A", 4, "a")]))
    sim.admin.advance(RECEIVED + PLANNING * 3)
    assert status(api, "wait-1") == "Planning"
    sim.admin.set_stock({"SKU-A": 2})  # 2 more arrive; still 1 short
    sim.admin.advance(PLANNING)
    assert sim.admin.inventory()["SKU-A"]["reserved"] == 3
    assert status(api, "wait-1") == "Planning"
    sim.admin.advance(DAY)
    payload = api.get("wait-1").body["payload"]
    assert payload["fulfillmentOrder"]["fulfillmentOrderStatus"] == "CompletePartialled"
    item = payload["fulfillmentOrderItems"][0]
    assert (item["unfulfillableQuantity"], item["cancelledQuantity"]) == (1, 0)
    assert payload["fulfillmentShipments"][0]["fulfillmentShipmentItem"][0]["quantity"] == 3


def test_fill_all_without_any_stock_becomes_unfulfillable(sim, api):
    sim.admin.set_stock({"SKU-A": 0})
    api.create(order_body("wait-2", fulfillmentPolicy="FillAll"))
    sim.admin.advance(DAY + LIFECYCLE)
    assert status(api, "wait-2") == "Unfulfillable"


def test_split_shipment_across_two_centers(sim, api):
    stock_at(sim, {("SKU-A", "ABE2"): 2, ("SKU-A", "PHX6"): 3, ("SKU-B", "PHX6"): 1})
    api.create(order_body("split-1", items=[line("SKU-A", 4, "a"), line("SKU-B", 1, "b")]))
    inventory = sim.admin.inventory()["SKU-A"]["fulfillmentCenters"]
    # PHX6 covers SKU-B and most of SKU-A, so it goes first; ABE2 tops up one unit.
    assert inventory == {"ABE2": {"fulfillable": 1, "reserved": 1},
                         "PHX6": {"fulfillable": 0, "reserved": 3}}
    sim.admin.advance(RECEIVED + PLANNING)
    shipments = api.get("split-1").body["payload"]["fulfillmentShipments"]
    assert {s["fulfillmentCenterId"]: s["fulfillmentShipmentStatus"] for s in shipments} == \
        {"ABE2": "PENDING", "PHX6": "PENDING"}
    sim.admin.advance(PROCESSING)
    payload = api.get("split-1").body["payload"]
    assert payload["fulfillmentOrder"]["fulfillmentOrderStatus"] == "Complete"
    by_center = {s["fulfillmentCenterId"]: s for s in payload["fulfillmentShipments"]}
    assert {(i["sellerSku"], i["quantity"]) for i in by_center["PHX6"]["fulfillmentShipmentItem"]} \
        == {("SKU-A", 3), ("SKU-B", 1)}
    assert [(i["sellerSku"], i["quantity"]) for i in by_center["ABE2"]["fulfillmentShipmentItem"]] \
        == [("SKU-A", 1)]
    packages = {s["fulfillmentShipmentPackage"][0]["packageNumber"] for s in by_center.values()}
    assert len(packages) == 2
    assert by_center["ABE2"]["amazonShipmentId"] != by_center["PHX6"]["amazonShipmentId"]
    tracked = api.tracking(by_center["ABE2"]["fulfillmentShipmentPackage"][0]["packageNumber"])
    assert tracked.body["payload"]["trackingEvents"][0]["eventAddress"]["city"] == "Breinigsville"
    assert sim.admin.inventory()["SKU-A"]["fulfillable"] == 1


def test_one_center_is_preferred_when_it_holds_everything(sim, api):
    stock_at(sim, {("SKU-A", "ABE2"): 1, ("SKU-A", "MDW2"): 5})
    api.create(order_body("whole-1", items=[line("SKU-A", 3, "a")]))
    sim.admin.advance(LIFECYCLE)
    shipments = api.get("whole-1").body["payload"]["fulfillmentShipments"]
    assert [s["fulfillmentCenterId"] for s in shipments] == ["MDW2"]


def test_required_blank_box_ships_only_from_capable_centers(sim, api):
    stock_at(sim, {("SKU-A", "BFI4"): 5, ("SKU-A", "ABE2"): 1})
    api.create(order_body("box-1", items=[line("SKU-A", 2, "a")],
                          fulfillmentPolicy="FillAllAvailable",
                          featureConstraints=[{"featureName": "BLANK_BOX",
                                               "featureFulfillmentPolicy": "Required"}]))
    sim.admin.advance(LIFECYCLE)
    payload = api.get("box-1").body["payload"]
    assert [s["fulfillmentCenterId"] for s in payload["fulfillmentShipments"]] == ["ABE2"]
    assert payload["fulfillmentOrderItems"][0]["cancelledQuantity"] == 1


def test_block_amzl_keeps_amazon_logistics_away(sim, api):
    sim.admin.set_stock({"SKU-A": 100})
    for n in range(12):
        api.create(order_body(f"amzl-{n}", featureConstraints=[
            {"featureName": "BLOCK_AMZL", "featureFulfillmentPolicy": "Required"}]))
    sim.admin.advance(LIFECYCLE)
    carriers = {p["carrierCode"] for o in sim.admin.orders() for p in o["packages"]}
    assert carriers and "AMZL_US" not in carriers


def test_tracking_progresses_to_delivered(sim, api):
    sim.admin.set_stock({"SKU-A": 5})
    api.create(order_body("deliv-1", shippingSpeedCategory="Standard"))
    sim.admin.advance(LIFECYCLE)
    number = package_numbers(api, "deliv-1")[0]
    seen = []
    for _ in range(5):
        seen.append(api.tracking(number).body["payload"]["currentStatus"])
        sim.admin.advance(0.45 * 2 * DAY)
    assert seen == ["IN_TRANSIT", "IN_TRANSIT", "OUT_FOR_DELIVERY", "DELIVERED", "DELIVERED"]
    final = api.tracking(number).body["payload"]
    assert [e["eventCode"] for e in final["trackingEvents"]] == \
        ["EVENT_301", "EVENT_302", "EVENT_201", "EVENT_102", "EVENT_101"]
    assert final["additionalLocationInfo"] == "FRONT_DOOR"


def test_priority_arrives_sooner(sim, api):
    sim.admin.set_stock({"SKU-A": 5})
    api.create(order_body("fast-1", shippingSpeedCategory="Priority"))
    sim.admin.advance(LIFECYCLE + 0.25 * 2 * DAY)
    number = package_numbers(api, "fast-1")[0]
    assert api.tracking(number).body["payload"]["currentStatus"] == "DELIVERED"


def test_tracking_exception_outcomes(sim, api):
    sim.admin.set_stock({"SKU-A": 10})
    for outcome in ("DELAYED", "UNDELIVERABLE", "RETURNED"):
        api.create(order_body(f"out-{outcome}"))
        set_outcome(sim, f"out-{outcome}", outcome)
    sim.admin.advance(LIFECYCLE + 2 * DAY)  # the normal ETA
    current = {o: api.tracking(package_numbers(api, f"out-{o}")[0]).body["payload"]
               for o in ("DELAYED", "UNDELIVERABLE", "RETURNED")}
    assert current["DELAYED"]["currentStatus"] == "DELAYED"
    assert current["DELAYED"]["trackingEvents"][0]["eventCode"] == "EVENT_418"
    assert parse_iso(current["DELAYED"]["estimatedArrivalDate"]) > \
        parse_iso(current["DELAYED"]["shipDate"]) + 2 * DAY
    assert current["UNDELIVERABLE"]["currentStatus"] == "UNDELIVERABLE"
    assert current["RETURNED"]["currentStatus"] == "DELIVERY_ATTEMPTED"
    sim.admin.advance(0.2 * 2 * DAY)
    returning = api.tracking(package_numbers(api, "out-RETURNED")[0]).body["payload"]
    assert returning["currentStatus"] == "RETURNING"
    sim.admin.advance(2 * DAY)
    late = {o: api.tracking(package_numbers(api, f"out-{o}")[0]).body["payload"]["currentStatus"]
            for o in ("DELAYED", "UNDELIVERABLE", "RETURNED")}
    assert late == {"DELAYED": "DELIVERED", "UNDELIVERABLE": "UNDELIVERABLE",
                    "RETURNED": "RETURNED"}
    with pytest.raises(SimAdminError, match="outcome must be one of"):
        sim.admin.set_tracking_outcome("out-DELAYED", "EATEN")


def test_return_is_processed_and_restocked(sim, api):
    sim.admin.set_stock({"SKU-A": 5})
    api.create(order_body("ret-1", items=[line("SKU-A", 3, "a")]))
    sim.admin.advance(LIFECYCLE)
    shipment = api.get("ret-1").body["payload"]["fulfillmentShipments"][0]["amazonShipmentId"]

    def item(return_id, reason):
        return {"sellerReturnItemId": return_id, "sellerFulfillmentOrderItemId": "a",
                "amazonShipmentId": shipment, "returnReasonCode": reason}

    answer = api.call("createFulfillmentReturn", "PUT",
                      f"{OUTBOUND}/fulfillmentOrders/ret-1/return",
                      json={"items": [item("r1", "CR-UNWANTED_ITEM"),
                                      item("r2", "CR-DAMAGED_BY_CARRIER")]})
    assert answer.status == 200 and len(answer.body["payload"]["returnItems"]) == 2
    assert details(api, "SKU-A")["fulfillableQuantity"] == 2

    sim.admin.advance(3 * DAY)  # the units reach the center: inspection
    stock = details(api, "SKU-A")
    assert stock["reservedQuantity"]["fcProcessingQuantity"] == 2
    assert stock["reservedQuantity"]["totalReservedQuantity"] == 2

    sim.admin.advance(DAY)
    returned = api.get("ret-1").body["payload"]["returnItems"]
    assert {r["sellerReturnItemId"]: (r["status"], r["returnReceivedCondition"])
            for r in returned} == {"r1": ("Processed", "Sellable"),
                                   "r2": ("Processed", "CarrierDamaged")}
    assert all(r["fulfillmentCenterId"] == "ABE2" for r in returned)
    stock = details(api, "SKU-A")
    assert stock["fulfillableQuantity"] == 3
    assert stock["reservedQuantity"]["fcProcessingQuantity"] == 0
    assert stock["unfulfillableQuantity"]["carrierDamagedQuantity"] == 1
    assert stock["unfulfillableQuantity"]["totalUnfulfillableQuantity"] == 1


def test_cancel_in_planning_cancels_every_planned_shipment(sim, api):
    stock_at(sim, {("SKU-A", "ABE2"): 1, ("SKU-A", "PHX6"): 1})
    api.create(order_body("c-split", items=[line("SKU-A", 2, "a")]))
    sim.admin.advance(RECEIVED)
    api.cancel("c-split")
    shipments = api.get("c-split").body["payload"]["fulfillmentShipments"]
    assert sorted(s["fulfillmentShipmentStatus"] for s in shipments) == \
        ["CANCELLED_BY_SELLER", "CANCELLED_BY_SELLER"]
    assert sim.admin.inventory()["SKU-A"]["fulfillable"] == 2
