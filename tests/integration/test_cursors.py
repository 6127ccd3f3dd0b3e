"""The order poll's cursor: half-open windows [since, until), an overlap re-read before
the cursor, pages that split runs of equal timestamps, and a cursor that moves only
with the last page. Whatever the timing, no order is missed and none is recorded or
sent twice."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from support import SKUS

from bridge import demo_store
from bridge.demo_store import DemoLine
from bridge.errors import TransientError
from bridge.ledger import repo
from bridge.ledger.tables import utcnow
from bridge.services.ingest import ingest_orders
from bridge.services.submit import submit_ready
from bridge.services.update import process_updates


def at(moment: datetime):
    return lambda: moment


def poll(shop, until: datetime, storefront=None):
    return ingest_orders(shop.ledger, shop.cart, storefront or shop.storefront, now=at(until))


def place(shop, number: str, updated_at: datetime) -> str:
    return demo_store.insert_order(shop.store_url, number, [DemoLine("MUG-BLUE")],
                                   updated_at=updated_at)


def cursor_position(shop) -> datetime:
    with shop.ledger.transaction() as session:
        return repo.get_cursor(session, shop.storefront.name, "orders").position


def assert_each_sent_once(shop, numbers: set[str]) -> None:
    shop.sim.admin.set_stock({"MUG-BLUE": 100})
    submit_ready(shop.ledger, shop.fba, shop.cart, shop.storefront, limit=100)
    assert sorted(row.number for row in shop.rows()) == sorted(numbers)
    assert shop.creates() == len(numbers)
    assert {row.seller_fulfillment_order_id for row in shop.rows()} == set(shop.sim_orders())


def test_order_at_exactly_until_is_left_for_the_next_poll(shop):
    overlap = timedelta(seconds=shop.storefront.poll.overlap_seconds)
    first_until = utcnow() - timedelta(minutes=10)
    place(shop, "#BEFORE", first_until - timedelta(minutes=1))
    place(shop, "#AT-UNTIL", first_until)

    first = poll(shop, first_until)
    assert first.recorded == 1 and [row.number for row in shop.rows()] == ["#BEFORE"]
    assert cursor_position(shop) == first_until

    second_until = first_until + overlap * 2
    second = poll(shop, second_until)
    assert second.recorded == 1
    assert sorted(row.number for row in shop.rows()) == ["#AT-UNTIL", "#BEFORE"]
    assert second.window == (first_until - overlap, second_until)

    assert_each_sent_once(shop, {"#BEFORE", "#AT-UNTIL"})


def test_order_committed_late_inside_the_overlap_is_picked_up_once(shop):
    overlap = timedelta(seconds=shop.storefront.poll.overlap_seconds)
    first_until = utcnow() - timedelta(minutes=10)
    place(shop, "#ON-TIME", first_until - overlap / 3)
    poll(shop, first_until)

    # Committed after the first poll read, but stamped before its `until`.
    place(shop, "#LATE", first_until - overlap / 2)
    # Changed at the cursor's exact timestamp.
    place(shop, "#AT-CURSOR", first_until)

    second = poll(shop, first_until + timedelta(minutes=1))
    assert second.recorded == 2
    # #ON-TIME was re-read by the overlap and recognised, not recorded again.
    assert second.seen == 3

    third = poll(shop, first_until + timedelta(minutes=2))
    assert third.recorded == 0

    assert_each_sent_once(shop, {"#ON-TIME", "#LATE", "#AT-CURSOR"})


def test_pages_that_split_equal_timestamps_miss_and_double_nothing(shop):
    small_pages = shop.storefront.model_copy(
        update={"poll": shop.storefront.poll.model_copy(update={"page_size": 2})}
    )
    stamp = utcnow() - timedelta(minutes=5)
    tied = {f"#TIE{i}" for i in range(5)}
    for number in sorted(tied):
        place(shop, number, stamp)
    place(shop, "#LATER1", stamp + timedelta(seconds=1))
    place(shop, "#LATER2", stamp + timedelta(seconds=1))

    until = stamp + timedelta(minutes=1)
    first = poll(shop, until, small_pages)
    assert (first.seen, first.recorded) == (7, 7)
    again = poll(shop, until + timedelta(seconds=1), small_pages)
    assert again.recorded == 0

    assert_each_sent_once(shop, tied | {"#LATER1", "#LATER2"})


class FailsOnSecondPage:
    """The real cart adapter, but the cart goes away after the first page."""

    def __init__(self, real) -> None:
        self._real = real
        self.pages_read = 0

    def __getattr__(self, name):
        return getattr(self._real, name)

    def fetch_orders(self, since, until, page, limit):
        if page is not None:
            raise TransientError("the cart database went away")
        self.pages_read += 1
        return self._real.fetch_orders(since, until, page, limit)


def test_cursor_stays_put_when_a_later_page_fails_and_the_retry_doubles_nothing(shop):
    small_pages = shop.storefront.model_copy(
        update={"poll": shop.storefront.poll.model_copy(update={"page_size": 2})}
    )
    stamp = utcnow() - timedelta(minutes=5)
    numbers = {f"#PAGE{i}" for i in range(5)}
    for offset, number in enumerate(sorted(numbers)):
        place(shop, number, stamp + timedelta(seconds=offset))
    until = stamp + timedelta(minutes=1)

    flaky = FailsOnSecondPage(shop.cart)
    with pytest.raises(TransientError):
        ingest_orders(shop.ledger, flaky, small_pages, now=at(until))
    assert flaky.pages_read == 1
    assert len(shop.rows()) == 2, "the first page's orders are recorded"
    with shop.ledger.transaction() as session:
        assert repo.get_cursor(session, shop.storefront.name, "orders") is None

    retried = poll(shop, until + timedelta(seconds=5), small_pages)
    assert retried.recorded == 3

    assert_each_sent_once(shop, numbers)


def test_cart_edit_before_submission_remaps_and_after_submission_updates_amazon(shop):
    shop.sim.admin.set_stock({sku: 50 for sku in SKUS})
    start = utcnow() - timedelta(minutes=10)
    order_id = demo_store.insert_order(shop.store_url, "#EDIT", [DemoLine("MUG-BLUE", 1)],
                                       updated_at=start)
    poll(shop, start + timedelta(minutes=1))
    first_request = shop.row("#EDIT").request

    # Edited in the cart before bridge sent it: mapped again, still one row.
    demo_store.update_order(shop.store_url, order_id, updated_at=start + timedelta(minutes=2),
                            ship_city="Portland", ship_state="OR", ship_zip="97205")
    edited = poll(shop, start + timedelta(minutes=3))
    assert (edited.changed, edited.recorded, edited.ready) == (1, 0, 1)
    row = shop.row("#EDIT")
    assert row.request["destination"]["city"] == "Portland"
    assert row.request["seller_fulfillment_order_id"] == first_request["seller_fulfillment_order_id"]

    assert submit_ready(shop.ledger, shop.fba, shop.cart, shop.storefront, limit=10,
                        now=at(start + timedelta(minutes=3))).accepted == 1

    # Edited after Amazon has it: the poll records the edit, the update flow sends it to
    # Amazon with updateFulfillmentOrder (never a second create).
    demo_store.update_order(shop.store_url, order_id, updated_at=start + timedelta(minutes=4),
                            ship_city="Seattle", ship_state="WA", ship_zip="98101")
    late_edit = poll(shop, start + timedelta(minutes=5))
    assert (late_edit.changed, late_edit.edits) == (1, 1)
    assert shop.row("#EDIT").state == "update_requested"
    assert process_updates(shop.ledger, shop.fba, shop.cart, shop.storefront).updated == 1
    assert shop.row("#EDIT").state == "accepted"
    sfo_id = shop.row("#EDIT").seller_fulfillment_order_id
    assert shop.fba.fulfillment_order(sfo_id).destination.city == "Seattle"
    assert shop.creates() == 1
    assert len(shop.rows()) == 1

    # The cart touching the order again (the address Amazon has, fewer units left to
    # ship, as carts do while fulfilling) is recorded but changes nothing.
    engine = sa.create_engine(shop.store_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE order_lines SET quantity = 0 WHERE order_id = :id"),
                     {"id": int(order_id)})
    engine.dispose()
    demo_store.update_order(shop.store_url, order_id, updated_at=start + timedelta(minutes=6),
                            ship_city="Seattle", ship_state="WA", ship_zip="98101")
    touched = poll(shop, start + timedelta(minutes=7))
    assert (touched.changed, touched.edits) == (1, 0)
    assert shop.row("#EDIT").state == "accepted"
    assert any(e.kind == "cart_changed_after_submit" for e in shop.events("#EDIT"))
