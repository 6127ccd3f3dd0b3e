"""One problem never blocks the rest: a package the cart refuses, an order Amazon
cannot fulfil that the cart then cancels, a too-late cancel whose shipment must still
reach the cart, and two polls of one storefront started at once."""

from __future__ import annotations

import threading

from support import TO_COMPLETE, TO_PROCESSING

from bridge import demo_store
from bridge.demo_store import DemoLine
from bridge.domain.states import OrderState as S
from bridge.errors import NeedsAttentionError
from bridge.ledger.tables import utcnow
from bridge.services.cancel import process_cancellations
from bridge.services.ingest import ingest_orders
from bridge.services.orders import retry, storefront_status
from bridge.services.status import reconcile_open, sync_status
from bridge.services.submit import submit_ready
from bridge.services.tracking import push_tracking


class RefusingCart:
    """The real adapter, except that the cart refuses tracking for one order."""

    def __init__(self, inner, refused_order_id: str) -> None:
        self.inner, self.refused = inner, refused_order_id
        self.capabilities = inner.capabilities

    def push_shipment(self, order, shipment, notify):
        if order.order_id == self.refused:
            raise NeedsAttentionError("cart_rejected", "order is closed for fulfilment")
        return self.inner.push_shipment(order, shipment, notify)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def ship_two_orders(shop) -> tuple[str, str]:
    shop.sim.admin.set_stock({"MUG-BLUE": 10})
    first = demo_store.insert_order(shop.store_url, "#R1", [DemoLine("MUG-BLUE", 1)])
    second = demo_store.insert_order(shop.store_url, "#R2", [DemoLine("MUG-BLUE", 1)])
    ingest_orders(shop.ledger, shop.cart, shop.storefront)
    assert submit_ready(shop.ledger, shop.fba, shop.cart, shop.storefront, 10).accepted == 2
    shop.sim.admin.advance(TO_COMPLETE)
    sync_status(shop.ledger, shop.fba, shop.cart, shop.storefront)
    return first, second


def test_a_refused_package_does_not_block_the_others_and_waits_for_a_person(shop):
    first, second = ship_two_orders(shop)
    refusing = RefusingCart(shop.cart, first)

    result = push_tracking(shop.ledger, refusing, shop.storefront)

    assert (result.written, result.refused) == (1, 1)
    assert {row["order_id"] for row in demo_store.read_shipments(shop.store_url)} == {second}
    assert shop.states() == {"#R1": S.NEEDS_ATTENTION, "#R2": S.COMPLETE}
    attention = storefront_status(shop.ledger, shop.storefront.name).attention
    assert attention[0]["reason"] == "tracking_refused"
    # Tried again later: the refused package is not offered to the cart again ...
    assert push_tracking(shop.ledger, refusing, shop.storefront).refused == 0
    # ... until a person retries the order; then it reaches the cart and completes.
    retry(shop.ledger, {shop.storefront.name: shop.storefront}, "#R1")
    reconcile_open(shop.ledger, shop.fba, shop.cart, shop.storefront, older_than=utcnow())
    assert push_tracking(shop.ledger, shop.cart, shop.storefront).written == 1
    assert shop.states() == {"#R1": S.COMPLETE, "#R2": S.COMPLETE}


def test_a_too_late_cancel_still_gets_its_tracking_into_the_cart(shop):
    shop.sim.admin.set_stock({"MUG-BLUE": 10})
    order_id = demo_store.insert_order(shop.store_url, "#L1", [DemoLine("MUG-BLUE", 1)])
    ingest_orders(shop.ledger, shop.cart, shop.storefront)
    submit_ready(shop.ledger, shop.fba, shop.cart, shop.storefront, 10)
    shop.sim.admin.advance(TO_PROCESSING)
    sync_status(shop.ledger, shop.fba, shop.cart, shop.storefront)
    demo_store.cancel_order(shop.store_url, order_id)
    ingest_orders(shop.ledger, shop.cart, shop.storefront)
    process_cancellations(shop.ledger, shop.fba, shop.cart, shop.storefront)
    assert shop.row("#L1").attention_reason == "too_late_to_cancel"

    shop.sim.admin.advance(TO_COMPLETE)
    sync_status(shop.ledger, shop.fba, shop.cart, shop.storefront)
    push_tracking(shop.ledger, shop.cart, shop.storefront)

    (shipment,) = demo_store.read_shipments(shop.store_url)
    assert shipment["order_id"] == order_id  # the merchant can tell the customer where it is


def test_an_order_amazon_cannot_fulfil_that_the_cart_cancels_is_simply_cancelled(shop):
    shop.sim.admin.set_stock({"MUG-BLUE": 5})
    order_id = demo_store.insert_order(shop.store_url, "#U1", [DemoLine("MUG-BLUE", 5)])
    ingest_orders(shop.ledger, shop.cart, shop.storefront)
    submit_ready(shop.ledger, shop.fba, shop.cart, shop.storefront, 10)
    shop.sim.admin.lose_stock("MUG-BLUE", 4)  # found missing after Amazon accepted it
    shop.sim.admin.advance(TO_PROCESSING)
    sync_status(shop.ledger, shop.fba, shop.cart, shop.storefront)
    assert shop.row("#U1").attention_reason == "amazon_unfulfillable"

    demo_store.cancel_order(shop.store_url, order_id)
    ingest_orders(shop.ledger, shop.cart, shop.storefront)
    result = process_cancellations(shop.ledger, shop.fba, shop.cart, shop.storefront)

    assert (result.cancelled, result.too_late) == (1, 0)
    assert shop.states() == {"#U1": S.CANCELLED}
    assert not any("too late" in n for n in shop.notes_by_order().get(order_id, []))


def test_two_polls_of_one_storefront_at_once_do_the_work_once(shop):
    shop.sim.admin.set_stock({"MUG-BLUE": 100})
    demo_store.place_orders(shop.store_url, 40, ["MUG-BLUE"])
    barrier = threading.Barrier(2)
    results = []

    def poll():
        barrier.wait()
        results.append(ingest_orders(shop.ledger, shop.cart, shop.storefront))

    threads = [threading.Thread(target=poll) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    ran = [r for r in results if not r.skipped]
    assert len(results) == 2 and len(ran) >= 1
    assert sum(r.recorded for r in ran) == 40
    assert len(shop.rows()) == 40
    # The lease is given back: the next poll runs (and finds nothing new).
    assert not ingest_orders(shop.ledger, shop.cart, shop.storefront).skipped
