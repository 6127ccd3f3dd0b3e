"""Tracking back to the shop, on the in-memory network and shop: every package once, a
package the shop refuses set aside while the others go on, and an order complete only
once every package is in the shop."""

from __future__ import annotations

import sqlalchemy as sa
from fake_timing import TO_COMPLETE

from bridge.domain.states import OrderState as S
from bridge.ledger.tables import Package
from bridge.services.ingest import ingest_orders
from bridge.services.status import sync_status
from bridge.services.submit import submit_ready
from bridge.services.tracking import push_tracking


def shipped(store, *numbers: str) -> None:
    """Orders placed, polled, accepted and shipped by Amazon, their packages recorded."""
    store.amazon.set_stock({"MUG": 10})
    for number in numbers:
        store.place(number, {"MUG": 1})
    ingest_orders(store.ledger, store.cart, store.storefront, now=store.clock)
    submit_ready(store.ledger, store.amazon, store.cart, store.storefront, 10, now=store.clock)
    store.amazon.advance(TO_COMPLETE)
    sync_status(store.ledger, store.amazon, store.cart, store.storefront, now=store.clock)
    assert all(store.state(number) == S.SHIPPED for number in numbers)


def push(store, limit: int = 50):
    return push_tracking(store.ledger, store.cart, store.storefront, limit)


def tracking_in_shop(store, number: str) -> list[str]:
    return [s.tracking_number for s in store.cart.shipments.get(number.lstrip("#"), [])]


def test_each_package_is_written_to_the_shop_once(store):
    shipped(store, "#5001", "#5002")

    result = push(store)
    assert (result.written, result.already_there, result.refused) == (2, 0, 0)
    for number in ("#5001", "#5002"):
        [package] = store.packages(number)
        assert tracking_in_shop(store, number) == [package.tracking_number]
        assert package.pushed_at is not None
    [written] = store.cart.shipments["5001"]
    assert written.carrier == "UPS" and written.tracking_url.startswith("https://www.ups.com/")

    assert push(store).written == 0
    assert len(store.cart.shipments["5001"]) == 1


def test_a_package_whose_commit_was_lost_is_found_in_the_shop_not_added_again(store):
    shipped(store, "#5003")
    push(store)
    with store.ledger.transaction() as session:
        # The write reached the shop, the ledger's commit did not.
        session.execute(sa.update(Package).values(pushed_at=None))

    result = push(store)
    assert (result.written, result.already_there) == (0, 1)
    assert len(tracking_in_shop(store, "#5003")) == 1
    assert store.state("#5003") == S.COMPLETE


def test_a_refused_package_gets_a_note_and_the_others_still_go(store):
    shipped(store, "#5004", "#5005")
    [refused] = store.packages("#5004")
    store.cart.refused_tracking[refused.tracking_number] = "the order is archived"

    result = push(store)
    assert (result.written, result.refused) == (1, 1)
    assert tracking_in_shop(store, "#5005") != []
    row = store.row("#5004")
    assert (row.state, row.attention_reason) == (S.NEEDS_ATTENTION, "tracking_refused")
    [(order_id, note)] = store.cart.notes
    assert order_id == "5004"
    assert f"package {refused.package_number}" in note and refused.tracking_number in note
    assert "the order is archived" in note

    # Set aside with its reason: not tried again on every run.
    assert push(store).refused == 0
    assert store.packages("#5004")[0].push_error == "the order is archived"
    assert store.state("#5005") == S.COMPLETE


def test_an_order_is_complete_only_once_every_package_is_in_the_shop(store):
    shipped(store, "#5006")
    [first] = store.packages("#5006")
    with store.ledger.transaction() as session:
        # Amazon split the order: a second package of the same shipment.
        session.add(Package(order_id=first.order_id, amazon_shipment_id=first.amazon_shipment_id,
                            package_number=first.package_number + 1, carrier="USPS",
                            tracking_number="9400100000000000000001",
                            shipped_at=first.shipped_at, lines=first.lines))

    one = push(store, limit=1)
    assert (one.written, one.completed) == (1, 0)
    assert store.state("#5006") == S.SHIPPED

    other = push(store, limit=1)
    assert (other.written, other.completed) == (1, 1)
    assert store.state("#5006") == S.COMPLETE
    assert len(tracking_in_shop(store, "#5006")) == 2
