"""Orders move on the simulated clock, reserving then consuming stock."""

from __future__ import annotations

import time

import pytest
from sim_helpers import order_body

from bridge.sim.clock import SimClock, parse_iso


def status(api, order_id: str) -> str:
    return api.get(order_id).body["payload"]["fulfillmentOrder"]["fulfillmentOrderStatus"]


def details(api, sku: str) -> dict:
    summaries = api.summaries(details="true", sellerSku=sku).body["payload"]["inventorySummaries"]
    return summaries[0]["inventoryDetails"]


def test_received_planning_processing_complete(sim, api):
    sim.admin.set_stock({"SKU-A": 10})
    api.create(order_body("life-1"))
    assert status(api, "life-1") == "Received"
    stock = details(api, "SKU-A")
    assert stock["fulfillableQuantity"] == 8
    assert stock["reservedQuantity"]["pendingCustomerOrderQuantity"] == 2

    sim.admin.advance(29)
    assert status(api, "life-1") == "Received"
    sim.admin.advance(1)
    assert status(api, "life-1") == "Planning"
    assert api.get("life-1").body["payload"]["fulfillmentShipments"] == []

    sim.admin.advance(60)
    payload = api.get("life-1").body["payload"]
    assert payload["fulfillmentOrder"]["fulfillmentOrderStatus"] == "Processing"
    assert [s["fulfillmentShipmentStatus"] for s in payload["fulfillmentShipments"]] == ["PENDING"]
    assert "fulfillmentShipmentPackage" not in payload["fulfillmentShipments"][0]

    sim.admin.advance(120)
    payload = api.get("life-1").body["payload"]
    assert payload["fulfillmentOrder"]["fulfillmentOrderStatus"] == "Complete"
    shipment = payload["fulfillmentShipments"][0]
    assert shipment["fulfillmentShipmentStatus"] == "SHIPPED"
    package = shipment["fulfillmentShipmentPackage"][0]
    assert isinstance(package["packageNumber"], int) and package["trackingNumber"]
    assert shipment["fulfillmentShipmentItem"][0]["packageNumber"] == package["packageNumber"]

    stock = details(api, "SKU-A")
    assert stock["fulfillableQuantity"] == 8
    assert stock["reservedQuantity"]["pendingCustomerOrderQuantity"] == 0
    assert api.summaries(sellerSku="SKU-A").body["payload"]["inventorySummaries"][0][
        "totalQuantity"] == 8


def test_one_big_jump_applies_every_step_with_its_own_time(sim, api):
    sim.admin.set_stock({"SKU-A": 10})
    api.create(order_body("jump-1"))
    received = api.get("jump-1").body["payload"]["fulfillmentOrder"]["receivedDate"]
    sim.admin.advance(3600)
    order = api.get("jump-1").body["payload"]["fulfillmentOrder"]
    assert order["fulfillmentOrderStatus"] == "Complete"
    # Stamped when it happened (received + 210 s), not when somebody looked.
    assert parse_iso(order["statusUpdatedDate"]) - parse_iso(received) == 210


def test_package_numbers_are_unique(sim, api):
    sim.admin.set_stock({"SKU-A": 100})
    for n in range(5):
        api.create(order_body(f"pkg-{n}"))
    sim.admin.advance(300)
    numbers = [p["packageNumber"] for o in sim.admin.orders() for p in o["packages"]]
    assert len(numbers) == 5 and len(set(numbers)) == 5


def test_short_stock_fill_or_kill_is_invalid_at_create(sim, api):
    sim.admin.set_stock({"SKU-A": 3})
    api.create(order_body("first", items=[
        {"sellerSku": "SKU-A", "sellerFulfillmentOrderItemId": "l1", "quantity": 2}]))
    api.create(order_body("second", items=[
        {"sellerSku": "SKU-A", "sellerFulfillmentOrderItemId": "l1", "quantity": 2}]))
    assert status(api, "second") == "Invalid"
    sim.admin.advance(30)
    assert status(api, "first") == "Planning"
    item = api.get("second").body["payload"]["fulfillmentOrderItems"][0]
    assert item["unfulfillableQuantity"] == 2
    stock = details(api, "SKU-A")
    # The invalid order's one reserved unit went back on the shelf.
    assert stock["fulfillableQuantity"] == 1
    assert stock["reservedQuantity"]["pendingCustomerOrderQuantity"] == 2


def test_zero_stock_sku_is_accepted_then_invalid(sim, api):
    sim.admin.set_stock({"SKU-A": 0})
    assert api.create(order_body("none")).status == 200
    assert status(api, "none") == "Invalid"


def test_fill_all_available_ships_what_there_is(sim, api):
    sim.admin.set_stock({"SKU-A": 1, "SKU-B": 5})
    api.create(order_body("partial", fulfillmentPolicy="FillAllAvailable", items=[
        {"sellerSku": "SKU-A", "sellerFulfillmentOrderItemId": "a", "quantity": 3},
        {"sellerSku": "SKU-B", "sellerFulfillmentOrderItemId": "b", "quantity": 2}]))
    sim.admin.advance(210)
    payload = api.get("partial").body["payload"]
    assert payload["fulfillmentOrder"]["fulfillmentOrderStatus"] == "CompletePartialled"
    items = {i["sellerFulfillmentOrderItemId"]: i for i in payload["fulfillmentOrderItems"]}
    assert items["a"]["cancelledQuantity"] == 2 and items["b"]["cancelledQuantity"] == 0
    shipped = {i["sellerSku"]: i["quantity"]
               for i in payload["fulfillmentShipments"][0]["fulfillmentShipmentItem"]}
    assert shipped == {"SKU-A": 1, "SKU-B": 2}
    assert sim.admin.inventory()["SKU-A"]["fulfillable"] == 0


def test_fill_all_waits_for_stock(sim, api):
    sim.admin.set_stock({"SKU-A": 1})
    api.create(order_body("waiter", fulfillmentPolicy="FillAll"))
    sim.admin.advance(120)
    assert status(api, "waiter") == "Planning"
    sim.admin.set_stock({"SKU-A": 5})
    sim.admin.advance(60)
    assert status(api, "waiter") == "Processing"
    sim.admin.advance(120)
    assert status(api, "waiter") == "Complete"


def test_fill_all_gives_up_after_a_day(sim, api):
    sim.admin.set_stock({"SKU-A": 1})
    api.create(order_body("stuck", fulfillmentPolicy="FillAll"))
    sim.admin.advance(24 * 3600 + 300)
    payload = api.get("stuck").body["payload"]
    assert payload["fulfillmentOrder"]["fulfillmentOrderStatus"] == "CompletePartialled"
    assert payload["fulfillmentOrderItems"][0]["unfulfillableQuantity"] == 1


def test_cancel_allowed_in_planning_refused_in_processing(sim, api):
    sim.admin.set_stock({"SKU-A": 10})
    api.create(order_body("c-plan"))
    api.create(order_body("c-proc"))
    sim.admin.advance(30)
    assert api.cancel("c-plan").status == 200
    payload = api.get("c-plan").body["payload"]
    assert payload["fulfillmentOrder"]["fulfillmentOrderStatus"] == "Cancelled"
    assert payload["fulfillmentShipments"][0]["fulfillmentShipmentStatus"] == "CANCELLED_BY_SELLER"
    assert payload["fulfillmentOrderItems"][0]["cancelledQuantity"] == 2

    sim.admin.advance(60)
    assert status(api, "c-proc") == "Processing"
    refused = api.cancel("c-proc")
    assert refused.status == 400
    assert "Processing" in refused.body["errors"][0]["message"]
    sim.admin.advance(120)
    assert status(api, "c-proc") == "Complete"
    assert status(api, "c-plan") == "Cancelled"  # a cancelled order never moves again
    stock = sim.admin.inventory()["SKU-A"]
    assert (stock["fulfillable"], stock["reserved"]) == (8, 0)


def test_cancel_in_received_releases_stock(sim, api):
    sim.admin.set_stock({"SKU-A": 2})
    api.create(order_body("c-recv"))
    assert sim.admin.inventory()["SKU-A"]["reserved"] == 2
    api.cancel("c-recv")
    assert sim.admin.inventory()["SKU-A"]["fulfillable"] == 2
    assert api.get("c-recv").body["payload"]["fulfillmentShipments"] == []


def test_hold_orders_wait_and_expire(sim, api):
    sim.admin.set_stock({"SKU-A": 2})
    api.create(order_body("held", fulfillmentAction="Hold"))
    sim.admin.advance(3600)
    assert status(api, "held") == "Received"
    sim.admin.advance(14 * 86400)
    assert status(api, "held") == "Cancelled"
    assert sim.admin.inventory()["SKU-A"]["fulfillable"] == 2


def test_clock_runs_at_its_factor_and_moves_by_hand():
    real = [1000.0]
    clock = SimClock(factor=60, start=5000, real_time=lambda: real[0])
    real[0] += 2
    assert clock.now() == 5000 + 120  # two real seconds, a minute each
    assert clock.advance(30) == 5150
    clock.set_factor(0)
    real[0] += 100
    assert clock.now() == 5150  # frozen: only advance moves it
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_running_clock_moves_orders_without_help(sim, api):
    sim.admin.set_stock({"SKU-A": 2})
    api.create(order_body("fast"))
    sim.admin.set_clock_factor(10_000)
    time.sleep(0.05)  # 500 simulated seconds
    assert status(api, "fast") == "Complete"
