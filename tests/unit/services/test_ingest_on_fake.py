"""Order polls, on an in-memory shop: what is recorded and how, what an edit or a
cancel in the shop does, where the cursor stands after a poll, and one poll at a time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bridge.domain.model import Address
from bridge.domain.states import OrderState as S
from bridge.errors import TransientError
from bridge.services.ingest import ingest_orders
from bridge.services.submit import submit_ready

ELSEWHERE = Address(name="Jane Doe", line1="9 Elm St", city="Portland", state="OR",
                    postal_code="97201", country_code="US")


def poll(store):
    return ingest_orders(store.ledger, store.cart, store.storefront, now=store.clock)


def test_a_paid_order_is_recorded_and_ready(store):
    store.place("#1001", {"MUG": 2})

    result = poll(store)
    assert (result.seen, result.recorded, result.ready) == (1, 1, 1)
    row = store.row("#1001")
    assert row.state == S.READY
    assert row.seller_fulfillment_order_id == "unit-1001"
    assert [(i["seller_sku"], i["quantity"]) for i in row.request["items"]] == [("MUG", 2)]


def test_an_unpaid_order_is_not_recorded_until_it_is_paid(store):
    order = store.place("#1002", paid=False)

    result = poll(store)
    assert (result.seen, result.recorded, result.ignored) == (1, 0, 1)
    assert store.row("#1002") is None

    # Paying changes the order in the shop, so the next poll reads it again.
    store.edit(order, paid=True)
    assert poll(store).ready == 1
    assert store.state("#1002") == S.READY


def test_an_order_cancelled_before_bridge_saw_it_is_not_recorded(store):
    store.place("#1003", cancelled=True)
    assert poll(store).recorded == 0
    assert store.row("#1003") is None


@pytest.mark.parametrize(("lines", "shipping", "reason"), [
    ({"GIFT-CARD": 1}, {"GIFT-CARD": False}, "nothing_to_ship"),
    ({}, None, "no_lines"),
])
def test_a_paid_order_with_nothing_to_ship_is_recorded_ignored(store, lines, shipping, reason):
    store.place("#1004", lines, shipping=shipping)

    result = poll(store)
    assert (result.recorded, result.nothing_to_ship, result.ready) == (1, 1, 0)
    row = store.row("#1004")
    # Visible with the reason, and no lines: it reserves no stock.
    assert (row.state, row.attention_reason) == (S.IGNORED, reason)
    assert "nothing for Amazon to ship" in row.last_error
    assert store.cart.notes == []


def test_an_order_without_an_address_needs_attention_with_a_note(store):
    store.place("#1005", no_address=True)
    store.place("#1006")

    result = poll(store)
    assert (result.needs_attention, result.ready) == (1, 1)
    row = store.row("#1005")
    assert (row.state, row.attention_reason) == (S.NEEDS_ATTENTION, "missing_address")
    assert store.cart.notes == [
        ("1005", "bridge: not sent to Amazon: the order has no shipping address")]
    # One held order does not hold the others back.
    assert store.state("#1006") == S.READY


def test_a_cancel_in_the_shop_before_submission_cancels_the_order(store):
    order = store.place("#1007")
    poll(store)
    store.edit(order, cancelled=True)

    result = poll(store)
    assert (result.changed, result.cancelled) == (1, 1)
    assert store.state("#1007") == S.CANCELLED
    assert store.amazon.calls["create_fulfillment_order"] == 0


def test_an_edit_before_submission_maps_the_order_again(store):
    order = store.place("#1008", {"MUG": 1})
    poll(store)
    store.edit(order, {"MUG": 3, "TEE": 1})

    result = poll(store)
    assert (result.changed, result.ready) == (1, 1)
    row = store.row("#1008")
    assert row.state == S.READY
    assert sorted((i["seller_sku"], i["quantity"]) for i in row.request["items"]) == [
        ("MUG", 3), ("TEE", 1)]
    assert "mapping the changed order again" in store.events("#1008")
    assert store.cart.notes == []


def test_an_edit_that_fixes_a_held_order_maps_it_again(store):
    order = store.place("#1009", no_address=True)
    poll(store)
    store.edit(order, address=ELSEWHERE)

    poll(store)
    assert store.state("#1009") == S.READY


def test_an_edit_after_amazon_accepted_the_order_is_recorded_not_sent_by_the_poll(store):
    store.amazon.set_stock({"MUG": 5})
    order = store.place("#1010", {"MUG": 1})
    poll(store)
    assert submit_ready(store.ledger, store.amazon, store.cart, store.storefront, 10).accepted == 1
    request = store.amazon.fulfillment_order(store.sfo_id("#1010"))

    store.edit(order, address=ELSEWHERE)
    result = poll(store)
    assert result.changed == 1 and result.edits == 1
    # The poll only records the edit; the update flow sends it (bridge.services.update).
    assert store.state("#1010") == S.UPDATE_REQUESTED
    assert store.amazon.calls["create_fulfillment_order"] == 1
    assert store.amazon.fulfillment_order(store.sfo_id("#1010")) == request


def test_an_email_change_after_acceptance_is_no_edit(store):
    store.amazon.set_stock({"MUG": 5})
    order = store.place("#1012", {"MUG": 1})
    poll(store)
    submit_ready(store.ledger, store.amazon, store.cart, store.storefront, 10)
    store.edit(order, email="other@example.com")
    result = poll(store)
    assert result.changed == 1 and result.edits == 0
    assert store.state("#1012") == S.ACCEPTED


def test_fewer_units_after_acceptance_is_fulfilment_not_an_edit(store):
    store.amazon.set_stock({"MUG": 5})
    order = store.place("#1011", {"MUG": 2})
    poll(store)
    submit_ready(store.ledger, store.amazon, store.cart, store.storefront, 10)
    # Carts lower what is left to ship as they fulfil: not worth a note.
    store.edit(order, {"MUG": 1})

    assert poll(store).changed == 1
    assert store.cart.notes == []
    assert store.state("#1011") == S.ACCEPTED


def test_the_cursor_moves_with_the_last_page(store, configure):
    configure(store, poll={"page_size": 2})
    for n in range(5):
        store.place(f"#20{n}")

    first = poll(store)
    assert first.recorded == 5
    assert [page for _since, _until, page in store.cart.windows] == [None, "2", "4"]
    # The next poll starts from where the last one read to, less the overlap.
    store.clock.advance(30)
    second = poll(store)
    overlap = timedelta(seconds=store.storefront.poll.overlap_seconds)
    assert second.window == (first.window[1] - overlap, store.clock())
    assert (second.recorded, second.changed) == (0, 0)


def test_a_re_read_order_is_not_recorded_twice(store):
    store.place("#1012")
    poll(store)
    # Within the overlap: read again, same content, nothing changes.
    result = poll(store)
    assert (result.seen, result.recorded, result.changed) == (1, 0, 0)


def test_a_failed_page_does_not_move_the_cursor(store, configure):
    configure(store, poll={"page_size": 2})
    before = poll(store).window[1]  # an earlier poll left the cursor here
    for n in range(5):
        store.place(f"#30{n}")
    store.cart.page_failures["2"] = TransientError("the shop answered 503")

    with pytest.raises(TransientError):
        poll(store)
    failed_since = store.cart.windows[-2][0]
    # The first page's rows stand; the orders after the failure are read next time.
    assert store.state("#300") == S.READY
    assert store.row("#302") is None

    store.clock.advance(30)
    retry = poll(store)
    overlap = timedelta(seconds=store.storefront.poll.overlap_seconds)
    assert retry.window[0] == failed_since == before - overlap, "read again from the same place"
    assert retry.recorded == 3
    assert store.state("#304") == S.READY


def test_a_second_poll_while_one_runs_is_skipped(store):
    store.place("#1013")
    inner = []
    # A beat tick or a nudge starting another poll of the same storefront meanwhile.
    store.cart.during_fetch = lambda _page: inner.append(poll(store))

    outer = poll(store)
    assert [r.skipped for r in inner] == [True]
    assert (outer.skipped, outer.recorded) == (False, 1)
    assert len(store.cart.windows) == 1, "the skipped poll read nothing"

    # Once the first poll is done, the next one runs.
    store.cart.during_fetch = None
    assert poll(store).skipped is False


def test_a_gift_wrap_line_without_a_sku_does_not_hold_the_order_and_the_shop_is_told_once(store):
    store.place("#1901", {"MUG": 1, "": 1})

    assert poll(store).ready == 1
    row = store.row("#1901")
    assert [(i["seller_sku"], i["quantity"]) for i in row.request["items"]] == [("MUG", 1)]
    told = [text for order_id, text in store.cart.notes if order_id == "1901"]
    assert len(told) == 1 and "no SKU" in told[0] and "1901-2" in told[0]
    assert told[0].removeprefix("bridge: ") in store.events("#1901")  # and in the event log

    store.clock.advance(60)
    poll(store)  # read again inside the overlap: nothing new is said
    assert len([text for order_id, text in store.cart.notes if order_id == "1901"]) == 1


def test_an_order_whose_every_line_lacks_a_sku_is_held(store):
    store.place("#1902", {"": 2})

    assert poll(store).needs_attention == 1
    assert store.row("#1902").attention_reason == "missing_sku"
