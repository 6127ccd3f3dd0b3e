"""Stock back to the store: absolute quantities, written only where they changed, less
the safety buffer and the units of orders bridge holds that Amazon does not have yet."""

from __future__ import annotations

from support import SKUS, both_ledgers, with_policy

from bridge import demo_store
from bridge.demo_store import DemoLine
from bridge.services.ingest import ingest_orders
from bridge.services.stock import sync_stock
from bridge.services.submit import submit_ready


def stock(shop, storefront=None, **options):
    return sync_stock(shop.ledger, shop.fba, shop.cart, storefront or shop.storefront, **options)


def test_only_changed_quantities_are_written_as_absolute_values(shop):
    shop.sim.admin.set_stock({sku: 10 + i for i, sku in enumerate(SKUS)})

    first = stock(shop)
    assert (first.read, first.written) == (len(SKUS), len(SKUS))
    assert demo_store.read_stock(shop.store_url) == {sku: 10 + i for i, sku in enumerate(SKUS)}

    second = stock(shop)
    assert second.written == 0

    shop.sim.admin.set_stock({"TEE-M": 3})
    third = stock(shop)
    assert third.written == 1
    assert demo_store.read_stock(shop.store_url)["TEE-M"] == 3
    assert stock(shop, full=True).written == 0


def test_buffer_is_kept_back_and_quantities_never_go_below_zero(shop):
    storefront = with_policy(shop.storefront, stock_buffer=3)
    shop.sim.admin.set_stock({"MUG-BLUE": 10, "MUG-RED": 2, "CAP-01": 0})

    stock(shop, storefront)

    assert demo_store.read_stock(shop.store_url) == {"MUG-BLUE": 7, "MUG-RED": 0, "CAP-01": 0}


def test_stock_is_written_under_the_cart_skus_that_map_to_a_seller_sku_and_its_namesake(shop):
    storefront = with_policy(shop.storefront, sku_map={"blue-mug": "MUG-BLUE", "mug-blue-xl": "MUG-BLUE"})
    shop.sim.admin.set_stock({"MUG-BLUE": 8, "TEE-L": 4})

    stock(shop, storefront)

    # The seller SKU's own name in the shop keeps following it, mapped entries or not.
    assert demo_store.read_stock(shop.store_url) == {
        "blue-mug": 8, "mug-blue-xl": 8, "MUG-BLUE": 8, "TEE-L": 4}


@both_ledgers
def test_orders_not_yet_at_amazon_are_reserved_and_the_hand_over_does_not_flicker(shop):
    shop.sim.admin.set_stock({"MUG-BLUE": 20, "MUG-RED": 20})
    stock(shop)
    demo_store.insert_order(shop.store_url, "#S1", [DemoLine("MUG-BLUE", 3), DemoLine("MUG-RED", 1)])
    demo_store.insert_order(shop.store_url, "#S2", [DemoLine("MUG-BLUE", 2)])
    ingest_orders(shop.ledger, shop.cart, shop.storefront)

    # Bridge's own reservations apply without asking Amazon.
    calls_before = shop.sim.admin.calls("getInventorySummaries")
    local = stock(shop, read_amazon=False)
    assert shop.sim.admin.calls("getInventorySummaries") == calls_before
    assert local.written == 2
    expected = {"MUG-BLUE": 15, "MUG-RED": 19}
    assert demo_store.read_stock(shop.store_url) == expected

    # Submitted: Amazon reserves the units itself. Before and after bridge reads that,
    # the store shows the same number, never the units twice or not at all.
    assert submit_ready(shop.ledger, shop.fba, shop.cart, shop.storefront, limit=10).accepted == 2
    assert stock(shop, read_amazon=False).written == 0
    assert demo_store.read_stock(shop.store_url) == expected

    assert stock(shop).written == 0
    assert shop.fulfillable() == expected
    assert demo_store.read_stock(shop.store_url) == expected
