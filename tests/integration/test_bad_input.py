"""Orders bridge cannot send go to needs_attention with a specific reason and a note in
the store; the good orders of the same batch go through; a fix in the config plus
`retry` moves a held order on."""

from __future__ import annotations

import random

from support import SKUS, TO_PLANNING, both_ledgers, with_policy

from bridge import demo_store
from bridge.demo_store import DemoLine
from bridge.domain.states import OrderState as S
from bridge.services.ingest import ingest_orders
from bridge.services.orders import retry, storefront_status
from bridge.services.status import sync_status
from bridge.services.stock import sync_stock
from bridge.services.submit import submit_ready

# Most of the comment is fixed text; the customer's e-mail address decides whether the
# rendered comment fits Amazon's 750 characters.
COMMENT_TEMPLATE = "Thank you for your order {number}. " + "-" * 600 + " Contact: {email}"
LONG_EMAIL = "a" * 150 + "@example.com"

CYRILLIC_ADDRESS = {
    "ship_name": "Иван Петров",
    "ship_address1": "ул. Ленина, 10",
    "ship_city": "Москва",
    "ship_zip": "101000",
    "ship_country": "RU",
    "email": "ivan@example.com",
}

EXPECTED_REASONS = {
    "#NOADDR": "missing_address",
    "#UNKNOWN-SKU": "unknown_sku",
    "#ZERO": "bad_quantity",
    "#" + "9" * 40: "bad_order_number",
    "#LONG-COMMENT": "bad_comment",
    "#CYRILLIC": "non_latin_address",
}


def place_bad_and_good_orders(store_url: str) -> list[str]:
    place = demo_store.insert_order
    place(store_url, "#NOADDR", [DemoLine("MUG-BLUE")], address={})
    place(store_url, "#UNKNOWN-SKU", [DemoLine("MUG-BLUE"), DemoLine("NOT-AT-AMAZON")])
    place(store_url, "#ZERO", [DemoLine("MUG-RED", 0)])
    place(store_url, "#" + "9" * 40, [DemoLine("TEE-M")])
    long_comment = {**demo_store.random_address(random.Random(7)), "email": LONG_EMAIL}
    place(store_url, "#LONG-COMMENT", [DemoLine("TEE-L")], address=long_comment)
    place(store_url, "#CYRILLIC", [DemoLine("CAP-01")], address=CYRILLIC_ADDRESS)
    return [place(store_url, f"#GOOD{i}", [DemoLine(SKUS[i % len(SKUS)], 1)]) for i in range(4)]


@both_ledgers
def test_bad_orders_wait_with_reasons_and_good_ones_go_through(shop):
    storefront = with_policy(shop.storefront, comment_template=COMMENT_TEMPLATE)
    shop.sim.admin.set_stock({sku: 20 for sku in SKUS})
    # A stock sync first: from then on bridge knows which SKUs Amazon stocks.
    sync_stock(shop.ledger, shop.fba, shop.cart, storefront)
    place_bad_and_good_orders(shop.store_url)

    ingested = ingest_orders(shop.ledger, shop.cart, storefront)
    assert (ingested.needs_attention, ingested.ready) == (len(EXPECTED_REASONS), 4)
    submitted = submit_ready(shop.ledger, shop.fba, shop.cart, storefront, limit=100)

    assert submitted.accepted == 4
    assert shop.creates() == 4
    states = shop.states()
    assert {number for number, state in states.items() if state == S.ACCEPTED} == {
        f"#GOOD{i}" for i in range(4)
    }
    attention = storefront_status(shop.ledger, storefront.name).attention
    assert {item["number"]: item["reason"] for item in attention} == EXPECTED_REASONS
    assert all(item["message"] for item in attention)

    # The merchant reads why in the store, once per held order.
    notes = shop.notes_by_order()
    for number in EXPECTED_REASONS:
        row = shop.row(number)
        assert len(notes.get(row.cart_order_id, [])) == 1, number
        assert row.last_error in notes[row.cart_order_id][0]

    # A repeat poll of the same (unchanged) orders adds no rows and no notes.
    ingest_orders(shop.ledger, shop.cart, storefront)
    assert len(shop.rows()) == len(EXPECTED_REASONS) + 4
    assert sum(len(n) for n in shop.notes_by_order().values()) == len(EXPECTED_REASONS)


def test_retry_after_a_sku_map_fix_sends_the_order(shop):
    shop.sim.admin.set_stock({"MUG-BLUE": 10})
    sync_stock(shop.ledger, shop.fba, shop.cart, shop.storefront)
    demo_store.insert_order(shop.store_url, "#MAPME", [DemoLine("OLD-BLUE-MUG", 2)])
    ingest_orders(shop.ledger, shop.cart, shop.storefront)
    assert shop.row("#MAPME").attention_reason == "unknown_sku"

    fixed = with_policy(shop.storefront, sku_map={"OLD-BLUE-MUG": "MUG-BLUE"})
    assert retry(shop.ledger, {fixed.name: fixed}, "#MAPME") == S.READY
    assert submit_ready(shop.ledger, shop.fba, shop.cart, fixed, limit=10).accepted == 1

    (at_amazon,) = shop.sim_orders().values()
    assert [(item["sellerSku"], item["quantity"]) for item in at_amazon["items"]] == [("MUG-BLUE", 2)]
    assert storefront_status(shop.ledger, fixed.name).attention == []


def test_retry_without_a_fix_keeps_the_order_waiting_with_its_reason(shop):
    shop.sim.admin.set_stock({"MUG-BLUE": 10})
    sync_stock(shop.ledger, shop.fba, shop.cart, shop.storefront)
    demo_store.insert_order(shop.store_url, "#STILL-BAD", [DemoLine("OLD-BLUE-MUG", 1)])
    ingest_orders(shop.ledger, shop.cart, shop.storefront)

    assert retry(shop.ledger, {shop.storefront.name: shop.storefront}, "#STILL-BAD") == S.NEEDS_ATTENTION
    assert shop.row("#STILL-BAD").attention_reason == "unknown_sku"
    assert submit_ready(shop.ledger, shop.fba, shop.cart, shop.storefront, limit=10).accepted == 0
    assert shop.creates() == 0


def test_amazon_refusing_an_order_holds_it_with_a_note(shop):
    # No stock sync yet, so bridge cannot know the SKU is unknown: Amazon refuses it.
    shop.sim.admin.set_stock({"MUG-BLUE": 10})
    demo_store.insert_order(shop.store_url, "#REFUSED", [DemoLine("NEVER-STOCKED")])
    demo_store.insert_order(shop.store_url, "#FINE", [DemoLine("MUG-BLUE")])
    ingest_orders(shop.ledger, shop.cart, shop.storefront)

    result = submit_ready(shop.ledger, shop.fba, shop.cart, shop.storefront, limit=10)

    assert (result.accepted, result.needs_attention) == (1, 1)
    refused = shop.row("#REFUSED")
    assert (refused.state, refused.attention_reason) == (S.NEEDS_ATTENTION, "amazon_rejected")
    assert "NEVER-STOCKED" in refused.last_error or "SellerSKU" in refused.last_error
    assert len(shop.notes_by_order()[refused.cart_order_id]) == 1
    assert len(shop.sim_orders()) == 1


@both_ledgers
def test_an_order_short_of_stock_at_amazon_is_invalid_and_needs_attention_with_a_note(shop):
    # bridge's stock view is not synced, so it sends the order; Amazon's validation finds
    # too little sellable stock and the order is Invalid at once.
    shop.sim.admin.set_stock({"MUG-BLUE": 1, "MUG-RED": 10})
    demo_store.insert_order(shop.store_url, "#SHORT", [DemoLine("MUG-BLUE", 3)])
    demo_store.insert_order(shop.store_url, "#ENOUGH", [DemoLine("MUG-RED", 3)])
    ingest_orders(shop.ledger, shop.cart, shop.storefront)
    assert submit_ready(shop.ledger, shop.fba, shop.cart, shop.storefront, limit=10).accepted == 2

    sync_status(shop.ledger, shop.fba, shop.cart, shop.storefront)

    short = shop.row("#SHORT")
    assert (short.state, short.attention_reason) == (S.NEEDS_ATTENTION, "amazon_invalid")
    assert short.amazon_status == "Invalid"
    assert shop.row("#ENOUGH").state == S.ACCEPTED
    (note,) = shop.notes_by_order()[short.cart_order_id]
    assert "invalid" in note and "stock" in note
    attention = storefront_status(shop.ledger, shop.storefront.name).attention
    assert [(a["number"], a["reason"]) for a in attention] == [("#SHORT", "amazon_invalid")]


@both_ledgers
def test_amazon_unfulfillable_order_needs_attention_with_a_note(shop):
    shop.sim.admin.set_stock({"MUG-BLUE": 3, "MUG-RED": 10})
    demo_store.insert_order(shop.store_url, "#SHORT", [DemoLine("MUG-BLUE", 3)])
    demo_store.insert_order(shop.store_url, "#ENOUGH", [DemoLine("MUG-RED", 3)])
    ingest_orders(shop.ledger, shop.cart, shop.storefront)
    assert submit_ready(shop.ledger, shop.fba, shop.cart, shop.storefront, limit=10).accepted == 2
    # Accepted with its stock reserved, then two units go missing in the warehouse.
    shop.sim.admin.lose_stock("MUG-BLUE", 2)

    shop.sim.admin.advance(TO_PLANNING + 60)
    sync_status(shop.ledger, shop.fba, shop.cart, shop.storefront)

    short = shop.row("#SHORT")
    assert (short.state, short.attention_reason) == (S.NEEDS_ATTENTION, "amazon_unfulfillable")
    assert short.amazon_status == "Unfulfillable"
    assert shop.row("#ENOUGH").state in (S.ACCEPTED, S.PROCESSING)
    (note,) = shop.notes_by_order()[short.cart_order_id]
    assert "cannot fulfill" in note
    attention = storefront_status(shop.ledger, shop.storefront.name).attention
    assert [(a["number"], a["reason"]) for a in attention] == [("#SHORT", "amazon_unfulfillable")]


def test_fixing_the_order_in_the_store_sends_it_on_the_next_poll(shop):
    shop.sim.admin.set_stock({"MUG-BLUE": 10})
    order_id = demo_store.insert_order(shop.store_url, "#FIXME", [DemoLine("MUG-BLUE")], address={})
    ingest_orders(shop.ledger, shop.cart, shop.storefront)
    assert shop.row("#FIXME").attention_reason == "missing_address"

    address = demo_store.random_address(random.Random(1))
    demo_store.update_order(shop.store_url, order_id, **address)
    polled = ingest_orders(shop.ledger, shop.cart, shop.storefront)

    assert (polled.changed, polled.ready, polled.recorded) == (1, 1, 0)
    assert submit_ready(shop.ledger, shop.fba, shop.cart, shop.storefront, limit=10).accepted == 1
    (at_amazon,) = shop.sim_orders().values()
    assert at_amazon["sellerFulfillmentOrderId"] == shop.row("#FIXME").seller_fulfillment_order_id
