"""Cancellations from the store: before submission the order is simply never sent;
while Amazon is still receiving or planning it, it is cancelled there; once Amazon is
picking it, it is too late, the order needs a person and the store gets a note."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa
from support import (
    TO_COMPLETE,
    TO_PLANNING,
    TO_PROCESSING,
    both_ledgers,
    postgres_ledger,
    sweep_now_and_everything_stale,
)

from bridge import demo_store
from bridge.demo_store import DemoLine
from bridge.domain.fulfillment import FulfillmentOrderRequest
from bridge.domain.states import OrderState as S
from bridge.fba.client import FbaClient
from bridge.fba.ratelimit import NoLimiter
from bridge.ledger import repo
from bridge.services.cancel import process_cancellations
from bridge.services.ingest import ingest_orders
from bridge.services.orders import retry, storefront_status
from bridge.services.status import sync_status
from bridge.services.stock import sync_stock
from bridge.services.submit import submit_ready
from bridge.services.sweep import sweep
from bridge.services.tracking import push_tracking


def place_and_ingest(shop, number: str = "#C1", quantity: int = 2) -> str:
    shop.sim.admin.set_stock({"MUG-BLUE": 10})
    order_id = demo_store.insert_order(shop.store_url, number, [DemoLine("MUG-BLUE", quantity)])
    ingest_orders(shop.ledger, shop.cart, shop.storefront)
    return order_id


def submit(shop):
    return submit_ready(shop.ledger, shop.fba, shop.cart, shop.storefront, limit=10)


def cancel_in_store_and_poll(shop, order_id: str):
    demo_store.cancel_order(shop.store_url, order_id)
    return ingest_orders(shop.ledger, shop.cart, shop.storefront)


@both_ledgers
def test_cancelled_before_submission_is_never_sent(shop):
    order_id = place_and_ingest(shop)
    assert shop.states() == {"#C1": S.READY}

    polled = cancel_in_store_and_poll(shop, order_id)

    assert polled.cancelled == 1
    assert shop.states() == {"#C1": S.CANCELLED}
    assert submit(shop).accepted == 0
    assert process_cancellations(shop.ledger, shop.fba, shop.cart, shop.storefront).cancelled == 0
    assert shop.creates() == 0
    assert shop.sim_orders() == {}


def test_order_cancelled_and_unpaid_before_the_first_poll_is_not_recorded(shop):
    shop.sim.admin.set_stock({"MUG-BLUE": 10})
    order_id = demo_store.insert_order(shop.store_url, "#GONE", [DemoLine("MUG-BLUE")])
    demo_store.cancel_order(shop.store_url, order_id)
    demo_store.insert_order(shop.store_url, "#UNPAID", [DemoLine("MUG-BLUE")], paid=False)

    polled = ingest_orders(shop.ledger, shop.cart, shop.storefront)

    assert (polled.seen, polled.ignored, polled.recorded) == (2, 2, 0)
    assert shop.rows() == []


@both_ledgers
@pytest.mark.parametrize("amazon_status, advance", [("Received", 0), ("Planning", TO_PLANNING)])
def test_cancelled_while_amazon_can_still_stop_it_is_cancelled_there(shop, amazon_status, advance):
    order_id = place_and_ingest(shop)
    assert submit(shop).accepted == 1
    if advance:
        shop.sim.admin.advance(advance)
    (sim_order,) = shop.sim_orders().values()
    assert sim_order["status"] == amazon_status

    polled = cancel_in_store_and_poll(shop, order_id)
    assert polled.cancelled == 1
    assert shop.states() == {"#C1": S.CANCEL_REQUESTED}

    result = process_cancellations(shop.ledger, shop.fba, shop.cart, shop.storefront)

    assert (result.cancelled, result.too_late) == (1, 0)
    assert shop.states() == {"#C1": S.CANCELLED}
    (sim_order,) = shop.sim_orders().values()
    assert sim_order["status"] == "Cancelled"
    # The reservation went back to sellable stock at Amazon.
    assert shop.fulfillable()["MUG-BLUE"] == 10
    # A second pass finds nothing to do and calls nothing.
    cancels = shop.sim.admin.calls("cancelFulfillmentOrder")
    assert process_cancellations(shop.ledger, shop.fba, shop.cart, shop.storefront).cancelled == 0
    assert shop.sim.admin.calls("cancelFulfillmentOrder") == cancels == 1


@both_ledgers
def test_cancelled_after_amazon_started_picking_is_too_late_and_noted(shop):
    order_id = place_and_ingest(shop)
    submit(shop)
    shop.sim.admin.advance(TO_PROCESSING)
    sync_status(shop.ledger, shop.fba, shop.cart, shop.storefront)
    assert shop.states() == {"#C1": S.PROCESSING}

    cancel_in_store_and_poll(shop, order_id)
    assert shop.states() == {"#C1": S.CANCEL_REQUESTED}
    result = process_cancellations(shop.ledger, shop.fba, shop.cart, shop.storefront)

    assert (result.cancelled, result.too_late) == (0, 1)
    row = shop.row("#C1")
    assert (row.state, row.attention_reason) == (S.NEEDS_ATTENTION, "too_late_to_cancel")
    (sim_order,) = shop.sim_orders().values()
    assert sim_order["status"] == "Processing"
    (note,) = shop.notes_by_order()[order_id]
    assert "too late to cancel" in note
    attention = storefront_status(shop.ledger, shop.storefront.name).attention
    assert [(a["number"], a["reason"]) for a in attention] == [("#C1", "too_late_to_cancel")]


def test_cancelled_after_acceptance_but_before_status_sync_sees_processing(shop):
    """The ledger still says `accepted` while Amazon has moved on to Processing: the
    cancel flow reads Amazon's status before trying, and reports too late."""
    order_id = place_and_ingest(shop)
    submit(shop)
    shop.sim.admin.advance(TO_PROCESSING)
    assert shop.states() == {"#C1": S.ACCEPTED}

    cancel_in_store_and_poll(shop, order_id)
    result = process_cancellations(shop.ledger, shop.fba, shop.cart, shop.storefront)

    assert result.too_late == 1
    assert shop.row("#C1").attention_reason == "too_late_to_cancel"
    assert shop.sim.admin.calls("cancelFulfillmentOrder") == 0


def test_cancelling_returns_reserved_units_to_store_stock(shop):
    order_id = place_and_ingest(shop, quantity=3)
    sync_stock(shop.ledger, shop.fba, shop.cart, shop.storefront)
    assert demo_store.read_stock(shop.store_url) == {"MUG-BLUE": 7}

    cancel_in_store_and_poll(shop, order_id)
    sync_stock(shop.ledger, shop.fba, shop.cart, shop.storefront, read_amazon=False)

    assert demo_store.read_stock(shop.store_url) == {"MUG-BLUE": 10}


@both_ledgers
def test_cancelled_while_the_outcome_is_unknown_and_amazon_never_got_it_is_not_created(shop):
    order_id = place_and_ingest(shop)
    shop.sim.admin.add_fault("createFulfillmentOrder", status=503, count=1)
    assert submit(shop).unknown == 1
    assert shop.sim_orders() == {}

    cancel_in_store_and_poll(shop, order_id)
    assert shop.states() == {"#C1": S.SUBMIT_UNKNOWN}, "only a read-back may leave submit_unknown"
    submit(shop)

    assert shop.states() == {"#C1": S.CANCELLED}
    assert shop.sim_orders() == {}
    assert shop.creates() == 1  # only the refused first attempt


@both_ledgers
def test_cancelled_while_the_outcome_is_unknown_and_amazon_has_it_is_cancelled_there(shop):
    order_id = place_and_ingest(shop)
    shop.sim.admin.add_fault("createFulfillmentOrder", status=503, count=1)
    submit(shop)
    # The lost attempt did reach Amazon after all.
    shop.fba.create_fulfillment_order(FulfillmentOrderRequest.from_json(shop.row("#C1").request))

    cancel_in_store_and_poll(shop, order_id)
    submit(shop)
    assert shop.states() == {"#C1": S.CANCEL_REQUESTED}
    process_cancellations(shop.ledger, shop.fba, shop.cart, shop.storefront)

    assert shop.states() == {"#C1": S.CANCELLED}
    (sim_order,) = shop.sim_orders().values()
    assert sim_order["status"] == "Cancelled"


def wait_until_someone_waits_for_a_row_lock(engine, thread) -> None:
    """Block until another PostgreSQL session is waiting for a lock (or the thread ended)."""
    query = sa.text(
        "select count(*) from pg_stat_activity "
        "where wait_event_type = 'Lock' and pid <> pg_backend_pid()"
    )
    # Autocommit: inside one transaction PostgreSQL would keep showing the same
    # snapshot of pg_stat_activity, and the wait would never see the lock.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        deadline = time.monotonic() + 30
        while thread.is_alive():
            if conn.execute(query).scalar():
                return
            if time.monotonic() > deadline:
                raise AssertionError("the poll never waited for the claimed row's lock")
            threading.Event().wait(0.01)


@postgres_ledger
def test_cancel_polled_while_a_worker_claims_the_order_does_not_overwrite_the_claim(shop):
    """A poll that read the row as `ready` just before a submit worker claimed it must not
    write `cancelled` over the claim: the worker is about to send the order to Amazon."""
    order_id = place_and_ingest(shop)
    demo_store.cancel_order(shop.store_url, order_id)
    poll = threading.Thread(target=ingest_orders, args=(shop.ledger, shop.cart, shop.storefront))

    with shop.ledger.transaction() as session:  # a submit worker's claim, as submit_ready makes it
        (row,) = repo.claim_orders(shop.ledger, session, shop.storefront.name, [S.READY], 10)
        repo.transition(session, row, S.SUBMITTING, "submitting", "claimed by a worker")
        session.flush()
        poll.start()
        wait_until_someone_waits_for_a_row_lock(shop.ledger.engine, poll)
    poll.join()

    assert shop.states() == {"#C1": S.SUBMITTING}
    assert "cancel_pending" in [event.kind for event in shop.events("#C1")]
    # The worker "died" before sending; the sweep and a read-back settle it: never sent.
    sweep(shop.ledger, [shop.storefront], **sweep_now_and_everything_stale())
    submit(shop)
    assert shop.states() == {"#C1": S.CANCELLED}
    assert shop.creates() == 0


@both_ledgers
def test_two_cancel_workers_on_one_order_cancel_it_once_without_errors(shop):
    order_id = place_and_ingest(shop)
    submit(shop)
    cancel_in_store_and_poll(shop, order_id)
    # Slow reads keep both workers inside the flow together, if both were let in.
    shop.sim.admin.add_fault("getFulfillmentOrder", status=None, latency=0.3, count=2)

    start = threading.Barrier(2)
    results, errors = [], []

    def worker() -> None:
        with FbaClient.from_account(shop.storefront.fulfillment, shop.storefront.secret,
                                    NoLimiter()) as fba:
            try:
                start.wait()
                results.append(process_cancellations(shop.ledger, fba, shop.cart, shop.storefront))
            except Exception as exc:  # reported in the test's thread
                errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sum(result.cancelled for result in results) == 1
    assert shop.states() == {"#C1": S.CANCELLED}
    (sim_order,) = shop.sim_orders().values()
    assert sim_order["status"] == "Cancelled"


def test_too_late_order_retried_by_hand_is_followed_to_shipment_and_tracking(shop):
    order_id = place_and_ingest(shop)
    submit(shop)
    shop.sim.admin.advance(TO_PROCESSING)
    cancel_in_store_and_poll(shop, order_id)
    process_cancellations(shop.ledger, shop.fba, shop.cart, shop.storefront)
    assert shop.row("#C1").attention_reason == "too_late_to_cancel"

    # A person acknowledges it: bridge follows Amazon again and writes the tracking back.
    assert retry(shop.ledger, {shop.storefront.name: shop.storefront}, "#C1") == S.ACCEPTED
    shop.sim.admin.advance(TO_COMPLETE)
    sync_status(shop.ledger, shop.fba, shop.cart, shop.storefront)
    assert push_tracking(shop.ledger, shop.cart, shop.storefront).written == 1
    assert shop.states() == {"#C1": S.COMPLETE}
    assert [row["order_id"] for row in demo_store.read_shipments(shop.store_url)] == [order_id]
