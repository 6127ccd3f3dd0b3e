"""Submitting orders, on the in-memory network: accepted once; an unknown outcome is
settled by a read-back, never by a blind second create."""

from __future__ import annotations

from bridge.domain.states import OrderState as S
from bridge.errors import TransientError
from bridge.fba.fake import Fault
from bridge.services.submit import Acceptances, submit_ready


def submit(shop):
    return submit_ready(shop.ledger, shop.amazon, shop.cart, shop.storefront, limit=10)


def test_a_ready_order_is_accepted_and_received_at_amazon(shop):
    shop.amazon.set_stock({"MUG": 5})
    shop.add_ready_order("#1001", {"MUG": 2})

    assert submit(shop).accepted == 1
    row = shop.row("#1001")
    assert (row.state, row.amazon_status) == (S.ACCEPTED, "Received")
    assert shop.amazon.fulfillment_order(row.seller_fulfillment_order_id).status == "Received"
    assert submit(shop).accepted == 0
    assert shop.amazon.calls["create_fulfillment_order"] == 1


def test_an_unanswered_create_is_read_back_then_created_with_the_same_id(shop):
    shop.amazon.set_stock({"MUG": 5})
    shop.add_ready_order("#1002", {"MUG": 1})
    shop.amazon.inject("create_fulfillment_order", Fault.TIMEOUT)

    assert submit(shop).unknown == 1
    assert shop.state("#1002") == S.SUBMIT_UNKNOWN
    assert shop.amazon.order_ids() == []

    assert submit(shop).accepted == 1
    assert shop.amazon.calls["fulfillment_order"] == 1, "read back before the create"
    assert shop.amazon.order_ids() == [shop.sfo_id("#1002")]
    assert shop.state("#1002") == S.ACCEPTED


def test_a_create_whose_answer_was_lost_is_found_and_not_sent_again(shop):
    shop.amazon.set_stock({"MUG": 5})
    shop.add_ready_order("#1003", {"MUG": 1})
    shop.amazon.inject("create_fulfillment_order", Fault.ACT_THEN_DROP)

    assert submit(shop).unknown == 1
    assert shop.state("#1003") == S.SUBMIT_UNKNOWN

    assert submit(shop).accepted == 1
    assert shop.amazon.calls["create_fulfillment_order"] == 1
    assert "found at Amazon on read-back" in shop.events("#1003")


def test_a_throttled_create_leaves_the_order_ready_for_the_next_run(shop):
    shop.amazon.set_stock({"MUG": 5})
    shop.add_ready_order("#1004", {"MUG": 1})
    shop.amazon.inject("create_fulfillment_order", Fault.THROTTLED)

    assert submit(shop).deferred == 1
    assert shop.state("#1004") == S.READY
    assert submit(shop).accepted == 1


def test_a_refused_create_needs_attention_with_a_note(shop):
    shop.add_ready_order("#1005", {"NOT-AT-AMAZON": 1})

    assert submit(shop).needs_attention == 1
    assert shop.state("#1005") == S.NEEDS_ATTENTION
    assert "Amazon refused" in shop.cart.notes[0][1]


def test_orders_accepted_before_a_batch_breaks_off_are_still_written(shop, monkeypatch):
    """Acceptances are written together; when a later create is throttled, the ones
    Amazon already accepted are written before the run ends, the rest wait as ready."""
    shop.amazon.set_stock({"MUG": 10})
    for number in ("#1101", "#1102", "#1103"):
        shop.add_ready_order(number, {"MUG": 1})
    create = shop.amazon.create_fulfillment_order
    calls = []

    def second_is_throttled(request):
        calls.append(request)
        if len(calls) == 2:
            raise TransientError("throttled")
        return create(request)

    monkeypatch.setattr(shop.amazon, "create_fulfillment_order", second_is_throttled)
    result = submit(shop)

    assert (result.accepted, result.deferred) == (1, 2)
    assert [shop.state(n) for n in ("#1101", "#1102", "#1103")] == [S.ACCEPTED, S.READY, S.READY]


def test_an_acceptance_the_ledger_could_not_write_is_never_created_again(shop, monkeypatch):
    """Amazon accepted the order but writing that down failed: the row stays
    `submitting`, which no submit run claims, so nothing is sent twice (the sweep makes
    it `submit_unknown` and a read-back settles it)."""
    shop.amazon.set_stock({"MUG": 5})
    shop.add_ready_order("#1104", {"MUG": 1})

    def ledger_down(self):
        raise OSError("the ledger is unreachable")

    with monkeypatch.context() as patched:
        patched.setattr(Acceptances, "commit", ledger_down)
        try:
            submit(shop)
        except OSError:
            pass
    assert shop.state("#1104") == S.SUBMITTING
    assert submit(shop).accepted == 0
    assert shop.amazon.calls["create_fulfillment_order"] == 1


def test_an_order_that_became_ready_during_a_batch_is_left_for_the_follow_up(shop, monkeypatch):
    """Its own nudge may have found this run busy (one submission per storefront at a
    time), so the run says so and its follow-up sends it."""
    shop.amazon.set_stock({"MUG": 10})
    shop.add_ready_order("#1201", {"MUG": 1})
    create = shop.amazon.create_fulfillment_order

    def a_new_order_arrives(request):
        create(request)
        if len(shop.amazon.order_ids()) == 1:
            shop.add_ready_order("#1202", {"MUG": 1})

    monkeypatch.setattr(shop.amazon, "create_fulfillment_order", a_new_order_arrives)
    result = submit(shop)
    assert (result.accepted, result.ready_left) == (1, True)
    assert shop.state("#1202") == S.READY
    assert submit(shop).ready_left is False
