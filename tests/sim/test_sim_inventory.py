"""Inventory summaries follow outbound activity; paging tokens expire."""

from __future__ import annotations

import time

from sim_helpers import order_body


def skus(answer) -> list[str]:
    return [s["sellerSku"] for s in answer.body["payload"]["inventorySummaries"]]


def test_start_date_time_sees_outbound_changes(sim, api):
    sim.admin.set_stock({"SKU-A": 10, "SKU-B": 10})
    sim.admin.advance(60)
    cursor = sim.admin.clock()["now"]
    assert skus(api.summaries(startDateTime=cursor)) == []

    api.create(order_body("inv-1"))  # reserves SKU-A
    changed = api.summaries(startDateTime=cursor, details="true")
    assert skus(changed) == ["SKU-A"]
    reserved = changed.body["payload"]["inventorySummaries"][0]["inventoryDetails"][
        "reservedQuantity"]
    assert reserved["pendingCustomerOrderQuantity"] == 2

    sim.admin.advance(200)
    cursor = sim.admin.clock()["now"]
    assert skus(api.summaries(startDateTime=cursor)) == []
    sim.admin.advance(10)  # the order ships at received + 210 s
    assert skus(api.summaries(startDateTime=cursor)) == ["SKU-A"]


def test_pages_of_fifty(sim, api):
    sim.admin.set_stock({f"SKU-{n:03d}": n for n in range(120)})
    first = api.summaries()
    assert len(skus(first)) == 50
    token = first.body["pagination"]["nextToken"]
    second = api.summaries(nextToken=token)
    third = api.summaries(nextToken=second.body["pagination"]["nextToken"])
    assert len(skus(second)) == 50 and len(skus(third)) == 20
    assert "nextToken" not in third.body["pagination"]
    assert skus(first) + skus(second) + skus(third) == [f"SKU-{n:03d}" for n in range(120)]


def test_expired_next_token_is_refused(sim, api, monkeypatch):
    monkeypatch.setattr(sim.simulator.config, "inventory_page_size", 1)
    monkeypatch.setattr(sim.simulator.config, "inventory_next_token_seconds", 0.2)
    sim.admin.set_stock({"A": 1, "B": 1})
    token = api.summaries().body["pagination"]["nextToken"]
    time.sleep(0.3)
    expired = api.summaries(nextToken=token)
    assert expired.status == 400
    assert "expired" in expired.body["errors"][0]["message"]


def test_garbage_next_token_is_refused(sim, api):
    assert api.summaries(nextToken="not-a-token").status == 400
