"""Edits in the shop of an order Amazon has, on the in-memory network: sent with
updateFulfillmentOrder while Amazon still takes them, `edit_too_late` after, typed
refusals for what the update cannot do, and an update whose answer is lost."""

from __future__ import annotations

from bridge.domain.model import Address
from bridge.domain.states import OrderState as S
from bridge.fba.fake import Fault
from bridge.services.edits import pending_edit
from bridge.services.ingest import ingest_orders
from bridge.services.submit import submit_ready
from bridge.services.update import process_updates

ELSEWHERE = Address(name="Jane Doe", line1="9 Elm St", city="Portland", state="OR",
                    postal_code="97201", country_code="US")
RECEIVED_SECONDS, PLANNING_SECONDS = 30, 60


def poll(store):
    return ingest_orders(store.ledger, store.cart, store.storefront, now=store.clock)


def accepted(store, number: str = "#5001", lines: dict[str, int] | None = None):
    store.amazon.set_stock({"MUG": 10, "CUP": 10})
    order = store.place(number, lines or {"MUG": 1})
    poll(store)
    assert submit_ready(store.ledger, store.amazon, store.cart, store.storefront, 10).accepted == 1
    return order


def updates(store):
    return process_updates(store.ledger, store.amazon, store.cart, store.storefront)


def at_amazon(store, number: str = "#5001"):
    return store.amazon.fulfillment_order(store.sfo_id(number))


def test_an_address_edit_before_processing_reaches_amazon(store):
    order = accepted(store)
    store.edit(order, address=ELSEWHERE)

    assert poll(store).changed == 1
    assert store.state("#5001") == S.UPDATE_REQUESTED
    assert at_amazon(store).destination.city == "Seattle", "nothing is sent inside the poll"

    assert updates(store).updated == 1
    row = store.row("#5001")
    assert (row.state, pending_edit(row)) == (S.ACCEPTED, None)
    assert at_amazon(store).destination == ELSEWHERE
    assert row.snapshot["address"]["city"] == "Portland"
    assert row.request["destination"]["city"] == "Portland"
    assert any("Amazon updated the order: new shipping address" in e for e in store.events("#5001"))
    assert store.cart.notes == []
    assert store.amazon.calls["update_order"] == 1
    assert updates(store).updated == 0, "nothing left to send"


def test_an_edit_after_amazon_started_picking_is_too_late(store):
    order = accepted(store)
    store.edit(order, address=ELSEWHERE)
    poll(store)
    # The ledger still says Received; Amazon moved on: the read-back decides.
    store.amazon.advance(RECEIVED_SECONDS + PLANNING_SECONDS + 1)

    assert updates(store).too_late == 1
    row = store.row("#5001")
    assert (row.state, row.attention_reason, row.amazon_status) == (
        S.NEEDS_ATTENTION, "edit_too_late", "Processing")
    assert store.amazon.calls["update_order"] == 0
    assert at_amazon(store).destination.city == "Seattle"
    [(order_id, note)] = store.cart.notes
    assert order_id == "5001" and "no longer takes changes" in note and "Processing" in note


def test_an_edit_of_an_order_known_to_be_processing_needs_attention_at_once(store):
    order = accepted(store)
    store.move("#5001", S.PROCESSING, "Amazon started picking")
    store.edit(order, address=ELSEWHERE)

    poll(store)
    row = store.row("#5001")
    assert (row.state, row.attention_reason) == (S.NEEDS_ATTENTION, "edit_too_late")
    [(_, note)] = store.cart.notes
    assert "the shipping address changed" in note


def test_a_new_shipping_speed_and_more_units_are_sent(store, configure):
    configure(store, policy={"shipping_speeds": {"express": "Expedited"}})
    order = accepted(store, lines={"MUG": 1})
    store.edit(order, {"MUG": 3}, shipping_method="express")
    poll(store)

    assert updates(store).updated == 1
    amazon = at_amazon(store)
    assert amazon.shipping_speed == "Expedited"
    assert [(item.seller_sku, item.quantity) for item in amazon.items] == [("MUG", 3)]


def test_fewer_units_are_never_sent_with_an_address_edit(store):
    order = accepted(store, lines={"MUG": 2, "CUP": 1})
    store.edit(order, {"MUG": 1}, address=ELSEWHERE)
    poll(store)

    assert updates(store).updated == 1
    amazon = at_amazon(store)
    assert amazon.destination == ELSEWHERE
    assert sorted((item.seller_sku, item.quantity) for item in amazon.items) == [
        ("CUP", 1), ("MUG", 2)]


def test_an_added_item_is_refused_with_a_typed_reason(store):
    order = accepted(store, lines={"MUG": 1})
    store.edit(order, {"MUG": 1, "CUP": 1})
    poll(store)

    assert updates(store).refused == 1
    row = store.row("#5001")
    assert (row.state, row.attention_reason) == (S.NEEDS_ATTENTION, "edit_adds_items")
    assert store.amazon.calls["update_order"] == 0
    [(_, note)] = store.cart.notes
    assert "CUP" in note and "cancel and re-order" in note


def test_an_update_whose_answer_was_lost_is_read_back_not_sent_again(store):
    order = accepted(store)
    store.edit(order, address=ELSEWHERE)
    poll(store)
    store.amazon.inject("update_order", Fault.ACT_THEN_DROP)

    assert updates(store).unknown == 1
    assert store.state("#5001") == S.UPDATE_REQUESTED
    # Amazon moved on meanwhile: the read-back shows it already has the edit.
    store.amazon.advance(RECEIVED_SECONDS + PLANNING_SECONDS + 1)
    assert updates(store).updated == 1
    assert store.state("#5001") == S.PROCESSING, "the read-back's status applies too"
    assert store.amazon.calls["update_order"] == 1
    assert store.cart.notes == []


def test_an_order_cancelled_while_its_edit_waits_goes_to_the_cancel_flow(store):
    order = accepted(store)
    edited = store.edit(order, address=ELSEWHERE)
    poll(store)
    store.edit(edited, cancelled=True)
    # Counted as a cancel, so the poll's follow-ups nudge the cancel flow at once.
    assert poll(store).cancelled == 1

    assert updates(store).cancelled == 1
    assert store.state("#5001") == S.CANCEL_REQUESTED
    assert store.amazon.calls["update_order"] == 0


def test_an_edit_while_the_create_was_in_flight_is_sent_once_amazon_has_it(store):
    store.amazon.set_stock({"MUG": 10})
    order = store.place("#5002", {"MUG": 1})
    poll(store)
    store.amazon.inject("create_fulfillment_order", Fault.TIMEOUT)
    assert submit_ready(store.ledger, store.amazon, store.cart, store.storefront, 10).unknown == 1

    store.edit(order, address=ELSEWHERE)
    poll(store)
    assert store.state("#5002") == S.SUBMIT_UNKNOWN
    assert submit_ready(store.ledger, store.amazon, store.cart, store.storefront, 10).accepted == 1
    assert store.state("#5002") == S.UPDATE_REQUESTED
    assert at_amazon(store, "#5002").destination.city == "Seattle", "the create sends what was saved"

    assert updates(store).updated == 1
    assert at_amazon(store, "#5002").destination == ELSEWHERE
    assert store.state("#5002") == S.ACCEPTED


def test_an_edit_that_no_longer_maps_needs_attention_with_its_reason(store):
    order = accepted(store)
    store.edit(order, address=Address(name="Jane Doe", line1="1 Main St", city="Seattle",
                                      postal_code="98101", country_code="XX"))
    poll(store)

    assert updates(store).refused == 1
    row = store.row("#5001")
    assert (row.state, row.attention_reason) == (S.NEEDS_ATTENTION, "bad_country_code")
    assert store.amazon.calls["update_order"] == 0
