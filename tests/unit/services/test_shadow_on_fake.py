"""Shadow mode on the in-memory network and shop: orders are read, recorded and mapped,
stock targets computed, and the exact request each order would be created with is on
record, while nothing is written to Amazon or the shop. Going live, each order is sent
once, and one the shop shows fulfilled meanwhile is left alone."""

from __future__ import annotations

from dataclasses import replace

import pytest
import sqlalchemy as sa

from bridge.config import SHADOW_ENV, load_config
from bridge.demo import write_config
from bridge.domain.fulfillment import FulfillmentOrderRequest
from bridge.domain.model import PaymentStatus, StockLevel
from bridge.domain.states import OrderState as S
from bridge.fba.outbound_mapping import create_order_body
from bridge.fba.v2026 import mapping as v2026_mapping
from bridge.ledger.tables import Event, ShopStock
from bridge.services import shadow
from bridge.services.cancel import process_cancellations
from bridge.services.ingest import ingest_orders
from bridge.services.orders import storefront_status
from bridge.services.status import sync_status
from bridge.services.stock import sync_stock
from bridge.services.submit import submit_ready
from bridge.services.tracking import push_tracking
from bridge.shadow import ReadOnlyCart, ReadOnlyFulfillmentNetwork, ShadowWrite

# The fake network's methods that change something at Amazon.
AMAZON_WRITES = ("create_fulfillment_order", "cancel_order", "update_order", "create_return")


def in_shadow(store):
    """The storefront in shadow mode, reaching Amazon and the shop as bootstrap wires
    them: through the read-only guards."""
    storefront = store.storefront.model_copy(update={"mode": "shadow"})
    guarded_cart = ReadOnlyCart(store.cart, storefront.name)
    guarded_amazon = ReadOnlyFulfillmentNetwork(store.amazon, storefront.name)
    return storefront, guarded_cart, guarded_amazon


def run_every_flow(store, storefront, cart, amazon) -> None:
    ingest_orders(store.ledger, cart, storefront, now=store.clock)
    submit_ready(store.ledger, amazon, cart, storefront, 50, now=store.clock)
    sync_stock(store.ledger, amazon, cart, storefront, now=store.clock)
    sync_status(store.ledger, amazon, cart, storefront, now=store.clock)
    push_tracking(store.ledger, cart, storefront)
    process_cancellations(store.ledger, amazon, cart, storefront)


def would_send_bodies(store, number: str) -> list[dict]:
    order_id = store.row(number).id
    with store.ledger.transaction() as session:
        return [shadow.would_send_body_of(e.message)[1] for e in session.scalars(
            sa.select(Event).where(Event.order_id == order_id, Event.kind == shadow.WOULD_SEND)
            .order_by(Event.id))]


def test_shadow_reads_and_decides_but_writes_nothing(store):
    storefront, cart, amazon = in_shadow(store)
    store.amazon.set_stock({"MUG": 10, "TEE": 4})
    store.cart.stock = {"MUG": 3, "TEE": 4}
    store.place("#8001", {"MUG": 2})
    store.place("#8002", {"TEE": 1})
    store.place("#8003", {"MUG": 1}, no_address=True)  # needs attention: a note in live

    for _ in range(2):
        run_every_flow(store, storefront, cart, amazon)
        store.clock.advance(60)

    assert not any(store.amazon.calls[name] for name in AMAZON_WRITES)
    assert store.amazon.calls["inventory_levels"] > 0  # Amazon was read
    assert store.amazon.order_ids() == []
    assert store.cart.stock_writes == [] and store.cart.notes == []
    assert store.cart.stock == {"MUG": 3, "TEE": 4}
    assert [store.state(n) for n in ("#8001", "#8002", "#8003")] == [
        S.READY, S.READY, S.NEEDS_ATTENTION]
    # Targets and drift are on record as a live run would compute them.
    with store.ledger.transaction() as session:
        stock = {row.cart_sku: (row.target, row.shop_quantity)
                 for row in session.scalars(sa.select(ShopStock))}
    assert stock == {"MUG": (7, 3), "TEE": (3, 4)}  # 10 less the 3 units of #8001 and #8003
    status = storefront_status(store.ledger, storefront.name, mode=storefront.mode)
    assert (status.mode, status.would_send, status.drifted_skus) == ("shadow", 2, 2)


def test_the_would_be_request_is_the_exact_create_body_recorded_once_per_change(store):
    storefront, cart, amazon = in_shadow(store)
    order = store.place("#8101", {"MUG": 2})
    run_every_flow(store, storefront, cart, amazon)
    run_every_flow(store, storefront, cart, amazon)

    request = FulfillmentOrderRequest.from_json(store.row("#8101").request)
    expected = {"marketplaceId": storefront.fulfillment.marketplace_id, **create_order_body(request)}
    assert would_send_bodies(store, "#8101") == [expected]
    assert expected["items"][0]["quantity"] == 2

    store.edit(order, {"MUG": 5})
    run_every_flow(store, storefront, cart, amazon)
    bodies = would_send_bodies(store, "#8101")
    assert len(bodies) == 2 and bodies[-1]["items"][0]["quantity"] == 5


def test_the_guards_pass_reads_and_refuse_every_write(store):
    cart = ReadOnlyCart(store.cart, "unit")
    amazon = ReadOnlyFulfillmentNetwork(store.amazon, "unit")
    store.cart.stock = {"MUG": 1}
    assert cart.get_stock(["MUG"]) == {"MUG": 1}
    assert amazon.fulfillment_order("nope") is None
    assert cart.capabilities.notes is False and store.cart.capabilities.notes is True

    with pytest.raises(ShadowWrite, match="cart.set_stock"):
        cart.set_stock([StockLevel("MUG", 9)])
    with pytest.raises(ShadowWrite, match="amazon.cancel_order"):
        amazon.cancel_order("X-1")
    with pytest.raises(ShadowWrite):
        amazon.create_fulfillment_order(None)
    with pytest.raises(ShadowWrite):  # a method nobody listed is not taken for a read
        amazon.set_stock({"MUG": 1})
    assert store.cart.stock == {"MUG": 1}
    assert store.amazon.calls["cancel_order"] == 0


def test_going_live_sends_each_order_once_and_leaves_the_one_fulfilled_elsewhere(store):
    storefront, cart, amazon = in_shadow(store)
    store.amazon.set_stock({"MUG": 10})
    store.place("#8201", {"MUG": 1})
    shipped_by_hand = store.place("#8202", {"MUG": 1})
    store.place("#8203", {"MUG": 1})
    cancelled = store.place("#8204", {"MUG": 1})
    run_every_flow(store, storefront, cart, amazon)
    assert store.amazon.order_ids() == []

    # Meanwhile the old system ships #8202 (WooCommerce's `completed`: paid, out of the
    # statuses that ship) and the merchant cancels #8204.
    store.edit(shipped_by_hand, paid=False, payment_status=PaymentStatus.PAID)
    store.edit(cancelled, cancelled=True)
    live = storefront.model_copy(update={"mode": "live"})
    store.clock.advance(60)
    for _ in range(2):
        submit_ready(store.ledger, store.amazon, store.cart, live, 50, now=store.clock)

    assert store.amazon.calls["create_fulfillment_order"] == 2
    assert sorted(store.amazon.order_ids()) == sorted(
        [store.sfo_id("#8201"), store.sfo_id("#8203")])
    row = store.row("#8202")
    assert (row.state, row.attention_reason) == (S.IGNORED, "fulfilled_elsewhere")
    assert store.state("#8204") == S.CANCELLED


def test_going_live_without_a_poll_in_between_still_checks_the_shop_first(store):
    """The check reads the shop itself: even when no poll ran since the shop changed."""
    storefront, cart, amazon = in_shadow(store)
    store.amazon.set_stock({"MUG": 10})
    store.place("#8301", {"MUG": 1})
    done = store.place("#8302", {"MUG": 2})
    store.place("#8303", {"MUG": 1})
    run_every_flow(store, storefront, cart, amazon)
    store.cart.put(replace(done, lines=tuple(replace(line, quantity=0) for line in done.lines),
                           updated_at=store.clock()))  # every unit fulfilled in the shop
    store.clock.advance(1)
    del store.cart.orders["8303"]  # gone from the shop

    live = storefront.model_copy(update={"mode": "live"})
    result = shadow.check_before_first_create(store.ledger, store.cart, live, store.clock)
    assert (result.checked, result.fulfilled_elsewhere, result.not_in_shop) == (3, 1, 1)
    submit_ready(store.ledger, store.amazon, store.cart, live, 50, now=store.clock)

    assert store.amazon.order_ids() == [store.sfo_id("#8301")]
    assert store.state("#8302") == S.IGNORED
    row = store.row("#8303")
    assert (row.state, row.attention_reason) == (S.NEEDS_ATTENTION, "not_in_shop")
    # Checked once: a later run reads the shop for nothing more.
    windows = len(store.cart.windows)
    assert shadow.check_before_first_create(store.ledger, store.cart, live, store.clock).checked == 0
    assert len(store.cart.windows) == windows
    # The next polls re-read the fulfilled order (it changed in the shop): it stays ignored.
    for _ in range(2):
        ingest_orders(store.ledger, store.cart, live, now=store.clock)
        submit_ready(store.ledger, store.amazon, store.cart, live, 50, now=store.clock)
        store.clock.advance(60)
    assert store.state("#8302") == S.IGNORED
    assert store.amazon.order_ids() == [store.sfo_id("#8301")]


def test_a_v2026_storefront_would_send_the_v2026_create_order_body(store):
    storefront, cart, amazon = in_shadow(store)
    account = storefront.fulfillment.model_copy(update={"outbound_api": "2026-07-04"})
    storefront = storefront.model_copy(update={"fulfillment": account})
    store.place("#8401", {"MUG": 3})
    run_every_flow(store, storefront, cart, amazon)

    order_id = store.row("#8401").id
    with store.ledger.transaction() as session:
        [event] = session.scalars(sa.select(Event).where(
            Event.order_id == order_id, Event.kind == shadow.WOULD_SEND))
        recorded = shadow.would_send_body_of(event.message)
    request = FulfillmentOrderRequest.from_json(store.row("#8401").request)
    assert recorded == ("createOrder", v2026_mapping.create_order_body(request, account.marketplace_id))
    assert store.amazon.calls["create_fulfillment_order"] == 0


def test_bridge_run_shadow_makes_every_storefront_shadow_for_that_process(tmp_path, monkeypatch):
    config_dir = write_config(tmp_path, "http://127.0.0.1:9")
    assert {s.mode for s in load_config(config_dir).storefronts} == {"live"}
    monkeypatch.setenv(SHADOW_ENV, "1")
    assert {s.mode for s in load_config(config_dir).storefronts} == {"shadow"}
