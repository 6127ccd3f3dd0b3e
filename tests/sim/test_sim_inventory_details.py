"""inventoryDetails add up every center and follow outbound activity; startDateTime sees
every quantity change except inbound ones, as Amazon documents."""

from __future__ import annotations

import requests
from sim_helpers import LIFECYCLE, OUTBOUND, order_body


def summary(api, sku, **params):
    answer = api.summaries(details="true", sellerSku=sku, **params)
    return answer.body["payload"]["inventorySummaries"][0]


def changed_since(api, cursor, **params):
    answer = api.summaries(startDateTime=cursor, **params)
    return [s["sellerSku"] for s in answer.body["payload"]["inventorySummaries"]]


def test_details_add_up_centers_and_breakdowns(sim, api):
    response = requests.post(f"{sim.base_url}/_sim/inventory", timeout=5, json={"items": [
        {"sellerSku": "SKU-A", "quantity": 4, "fulfillmentCenterId": "ABE2"},
        {"sellerSku": "SKU-A", "quantity": 6, "fulfillmentCenterId": "PHX6",
         "researching": {"short": 2, "long": 1},
         "unfulfillable": {"expired": 1, "distributorDamaged": 2}}]})
    assert response.status_code == 200
    with sim.simulator.store.transaction():
        sim.simulator.stock.adjust_inbound("SKU-A", sim.simulator.now(), working=5, shipped=3,
                                           receiving=2)
    api.create(order_body("d-1", items=[{"sellerSku": "SKU-A",
                                         "sellerFulfillmentOrderItemId": "a", "quantity": 3}]))
    item = summary(api, "SKU-A")
    details = item["inventoryDetails"]
    assert details["fulfillableQuantity"] == 7
    assert (details["inboundWorkingQuantity"], details["inboundShippedQuantity"],
            details["inboundReceivingQuantity"]) == (5, 3, 2)
    assert details["reservedQuantity"] == {"totalReservedQuantity": 3,
                                           "pendingCustomerOrderQuantity": 3,
                                           "pendingTransshipmentQuantity": 0,
                                           "fcProcessingQuantity": 0}
    researching = details["researchingQuantity"]
    assert researching["totalResearchingQuantity"] == 3
    assert {e["name"]: e["quantity"] for e in researching["researchingQuantityBreakdown"]} == {
        "researchingQuantityInShortTerm": 2, "researchingQuantityInMidTerm": 0,
        "researchingQuantityInLongTerm": 1}
    unfulfillable = details["unfulfillableQuantity"]
    assert (unfulfillable["totalUnfulfillableQuantity"], unfulfillable["expiredQuantity"],
            unfulfillable["distributorDamagedQuantity"]) == (3, 1, 2)
    # Shelf 7 + reserved 3 + unfulfillable 3 + researching 3 + inbound 10.
    assert item["totalQuantity"] == 26

    sim.admin.advance(LIFECYCLE)
    details = summary(api, "SKU-A")["inventoryDetails"]
    assert details["fulfillableQuantity"] == 7
    assert details["reservedQuantity"]["pendingCustomerOrderQuantity"] == 0


def test_receiving_inbound_units_makes_them_fulfillable(sim, api):
    now = sim.simulator.now()
    with sim.simulator.store.transaction():
        sim.simulator.stock.adjust_inbound("NEW-1", now, receiving=4)
        sim.simulator.stock.receive("NEW-1", 3, now, fc="MDW2")
    details = summary(api, "NEW-1")["inventoryDetails"]
    assert (details["fulfillableQuantity"], details["inboundReceivingQuantity"]) == (3, 1)
    assert sim.admin.inventory()["NEW-1"]["fulfillmentCenters"] == {
        "MDW2": {"fulfillable": 3, "reserved": 0}}


def test_start_date_time_sees_outbound_but_not_inbound_changes(sim, api):
    sim.admin.set_stock({"SKU-A": 10, "SKU-B": 10, "SKU-C": 10})
    sim.admin.advance(60)
    cursor = sim.admin.clock()["now"]
    with sim.simulator.store.transaction():
        sim.simulator.stock.adjust_inbound("SKU-C", sim.simulator.now(), working=50)
    assert changed_since(api, cursor) == []  # the documented blind spot
    assert summary(api, "SKU-C")["inventoryDetails"]["inboundWorkingQuantity"] == 50

    api.create(order_body("s-1"))  # reserves SKU-A
    assert changed_since(api, cursor) == ["SKU-A"]
    api.create(order_body("s-2", items=[{"sellerSku": "SKU-B",
                                         "sellerFulfillmentOrderItemId": "b", "quantity": 1}]))
    sim.admin.advance(10)
    cursor = sim.admin.clock()["now"]
    api.cancel("s-2")  # the release is a change
    assert changed_since(api, cursor) == ["SKU-B"]

    sim.admin.advance(LIFECYCLE)
    cursor = sim.admin.clock()["now"]
    sim.admin.advance(1)
    assert changed_since(api, cursor) == []
    shipment = api.get("s-1").body["payload"]["fulfillmentShipments"][0]["amazonShipmentId"]
    api.call("createFulfillmentReturn", "PUT", f"{OUTBOUND}/fulfillmentOrders/s-1/return",
             json={"items": [{"sellerReturnItemId": "r", "sellerFulfillmentOrderItemId": "line-1",
                              "amazonShipmentId": shipment,
                              "returnReasonCode": "CR-DEFECTIVE"}]})
    assert changed_since(api, cursor) == []  # accepted, still with the customer
    sim.admin.advance(3 * 86400)
    assert changed_since(api, cursor) == ["SKU-A"]  # arrived: fcProcessing changed


def test_start_date_time_wins_and_pages_with_the_token(sim, api, monkeypatch):
    monkeypatch.setattr(sim.simulator.config, "inventory_page_size", 2)
    sim.admin.set_stock({f"S{n}": 5 for n in range(6)})
    sim.admin.advance(10)
    cursor = sim.admin.clock()["now"]
    sim.admin.set_stock({"S1": 1, "S2": 1, "S4": 1})
    first = api.summaries(startDateTime=cursor, sellerSkus="S0,S5", sellerSku="S0")
    assert [s["sellerSku"] for s in first.body["payload"]["inventorySummaries"]] == ["S1", "S2"]
    token = first.body["pagination"]["nextToken"]
    second = api.summaries(startDateTime=cursor, nextToken=token)
    assert [s["sellerSku"] for s in second.body["payload"]["inventorySummaries"]] == ["S4"]
    assert "nextToken" not in second.body["pagination"]
    # Without startDateTime, sellerSkus beats sellerSku.
    chosen = api.summaries(sellerSkus="S0,S5", sellerSku="S3")
    assert [s["sellerSku"] for s in chosen.body["payload"]["inventorySummaries"]] == ["S0", "S5"]


def test_admin_inventory_rejects_bad_center_and_counts(sim):
    for item in ({"sellerSku": "A", "quantity": 1, "fulfillmentCenterId": ""},
                 {"sellerSku": "A", "quantity": 1, "researching": {"short": -1}},
                 {"sellerSku": "A", "quantity": 1, "unfulfillable": {"lost": 1}},
                 {"sellerSku": "A", "quantity": 1, "unfulfillable": 3}):
        response = requests.post(f"{sim.base_url}/_sim/inventory", json={"items": [item]},
                                 timeout=5)
        assert response.status_code == 400, item
