"""The whole order flow through the services, against the simulated fulfillment network:
placed in the store → ingested → submitted once each → shipped → tracking in the store
once per package → complete, and the store's stock follows Amazon's."""

from __future__ import annotations

import pytest
from support import SKUS, TO_COMPLETE, TO_PROCESSING, both_ledgers, with_fulfillment, with_policy

from bridge import demo_store
from bridge.demo_store import DemoLine
from bridge.domain.states import OrderState as S
from bridge.ledger.tables import utcnow
from bridge.services.ingest import ingest_orders
from bridge.services.orders import storefront_status
from bridge.services.status import reconcile_open, sync_status
from bridge.services.stock import sync_stock
from bridge.services.submit import submit_ready
from bridge.services.tracking import push_tracking

ORDER_COUNT = 12
STOCK_PER_SKU = 200


# The flow runs on each Fulfillment Outbound version bridge speaks.
@pytest.fixture(params=["2020-07-01", "2026-07-04"])
def storefront(request, storefront):
    return with_fulfillment(storefront, outbound_api=request.param)


@both_ledgers
def test_orders_flow_from_store_to_amazon_and_tracking_back(shop):
    shop.sim.admin.set_stock({sku: STOCK_PER_SKU for sku in SKUS})
    demo_store.place_orders(shop.store_url, ORDER_COUNT, SKUS)

    ingested = ingest_orders(shop.ledger, shop.cart, shop.storefront)
    assert (ingested.recorded, ingested.ready, ingested.needs_attention) == (ORDER_COUNT, ORDER_COUNT, 0)

    submitted = submit_ready(shop.ledger, shop.fba, shop.cart, shop.storefront, limit=100)
    assert submitted.accepted == ORDER_COUNT
    at_amazon = shop.sim_orders()
    assert len(at_amazon) == ORDER_COUNT
    assert shop.creates() == ORDER_COUNT
    assert {row.seller_fulfillment_order_id for row in shop.rows()} == set(at_amazon)
    assert set(shop.states().values()) == {S.ACCEPTED}

    # Nothing left to submit: a second run sends nothing.
    assert submit_ready(shop.ledger, shop.fba, shop.cart, shop.storefront, limit=100).accepted == 0
    assert shop.creates() == ORDER_COUNT

    shop.sim.admin.advance(TO_PROCESSING)
    sync_status(shop.ledger, shop.fba, shop.cart, shop.storefront)
    assert set(shop.states().values()) == {S.PROCESSING}

    shop.sim.admin.advance(TO_COMPLETE)
    status = sync_status(shop.ledger, shop.fba, shop.cart, shop.storefront)
    assert status.updated == ORDER_COUNT
    assert set(shop.states().values()) == {S.SHIPPED}
    sim_packages = {
        (sfo_id, package["trackingNumber"])
        for sfo_id, order in shop.sim_orders().items()
        for package in order["packages"]
    }
    assert status.packages == len(sim_packages) >= ORDER_COUNT

    tracking = push_tracking(shop.ledger, shop.cart, shop.storefront)
    assert tracking.written == len(sim_packages)
    assert tracking.completed == ORDER_COUNT
    assert set(shop.states().values()) == {S.COMPLETE}

    # Each package's tracking number is in the store exactly once, on the right order.
    cart_id_by_sfo = {row.seller_fulfillment_order_id: row.cart_order_id for row in shop.rows()}
    in_store = [(row["order_id"], row["tracking_number"]) for row in demo_store.read_shipments(shop.store_url)]
    assert sorted(in_store) == sorted((cart_id_by_sfo[sfo], number) for sfo, number in sim_packages)

    # Replays of status and tracking change nothing.
    assert sync_status(shop.ledger, shop.fba, shop.cart, shop.storefront).packages == 0
    again = push_tracking(shop.ledger, shop.cart, shop.storefront)
    assert (again.written, again.already_there, again.completed) == (0, 0, 0)
    assert len(demo_store.read_shipments(shop.store_url)) == len(sim_packages)
    assert storefront_status(shop.ledger, shop.storefront.name).unpushed_packages == 0


@both_ledgers
def test_store_stock_is_amazon_fulfillable_less_pending_orders_and_buffer(shop):
    buffer = 2
    storefront = with_policy(shop.storefront, stock_buffer=buffer)
    shop.sim.admin.set_stock({sku: 50 for sku in SKUS})

    # Some orders go all the way through Amazon ...
    demo_store.place_orders(shop.store_url, 6, SKUS)
    ingest_orders(shop.ledger, shop.cart, storefront)
    submit_ready(shop.ledger, shop.fba, shop.cart, storefront, limit=100)
    shop.sim.admin.advance(TO_COMPLETE)
    sync_status(shop.ledger, shop.fba, shop.cart, storefront)
    push_tracking(shop.ledger, shop.cart, storefront)
    assert set(shop.states().values()) == {S.COMPLETE}

    # ... others are in the ledger but not yet at Amazon.
    pending_units = {"MUG-BLUE": 3 + 4, "TEE-M": 5}
    demo_store.insert_order(shop.store_url, "#P1", [DemoLine("MUG-BLUE", 3), DemoLine("TEE-M", 5)])
    demo_store.insert_order(shop.store_url, "#P2", [DemoLine("MUG-BLUE", 4)])
    ingest_orders(shop.ledger, shop.cart, storefront)
    assert shop.states()["#P1"] == shop.states()["#P2"] == S.READY

    sync_stock(shop.ledger, shop.fba, shop.cart, storefront)

    fulfillable = shop.fulfillable()
    assert sum(fulfillable.values()) < 50 * len(SKUS), "shipped orders must have used stock"
    expected = {
        sku: max(0, fulfillable[sku] - pending_units.get(sku, 0) - buffer) for sku in SKUS
    }
    assert demo_store.read_stock(shop.store_url) == expected


def test_reconcile_reads_back_orders_the_status_list_did_not_report(shop):
    shop.sim.admin.set_stock({"MUG-BLUE": 10})
    demo_store.insert_order(shop.store_url, "#R1", [DemoLine("MUG-BLUE", 1)])
    ingest_orders(shop.ledger, shop.cart, shop.storefront)
    submit_ready(shop.ledger, shop.fba, shop.cart, shop.storefront, limit=10)
    shop.sim.admin.advance(TO_COMPLETE)

    # The safety net alone (no status list) brings the order to shipped with its package.
    checked = reconcile_open(shop.ledger, shop.fba, shop.cart, shop.storefront, older_than=utcnow())
    assert checked == 1
    assert shop.states()["#R1"] == S.SHIPPED
    assert push_tracking(shop.ledger, shop.cart, shop.storefront).written == 1
    assert shop.states()["#R1"] == S.COMPLETE
