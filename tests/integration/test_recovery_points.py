"""Exactly one fulfillment order per cart order, whatever goes wrong around the create:
a worker dying before or after the call, an answer lost after Amazon acted, a 5xx, and
two workers reaching for the same order at once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from support import (
    DROP_SECONDS,
    both_ledgers,
    sweep_now_and_everything_stale,
    with_fulfillment,
)

from bridge import demo_store
from bridge.demo_store import DemoLine
from bridge.domain.fulfillment import FulfillmentOrderRequest
from bridge.domain.states import OrderState as S
from bridge.fba.client import FbaClient
from bridge.fba.ratelimit import NoLimiter
from bridge.services.ingest import ingest_orders
from bridge.services.submit import submit_ready
from bridge.services.sweep import sweep


class WorkerDied(Exception):
    """Stands for a worker process killed mid-task: nothing after it runs."""


class DiesBeforeSending:
    """The real SP-API client, except that the worker dies as the create is about to
    leave: the row is committed as `submitting`, Amazon never hears of the order."""

    def __init__(self, real: FbaClient) -> None:
        self._real = real

    def __getattr__(self, name):
        return getattr(self._real, name)

    def create_fulfillment_order(self, request: FulfillmentOrderRequest) -> None:
        raise WorkerDied("killed before the create was sent")


def one_ready_order(shop, number: str = "#5001") -> None:
    shop.sim.admin.set_stock({"MUG-BLUE": 10})
    demo_store.insert_order(shop.store_url, number, [DemoLine("MUG-BLUE", 2)])
    ingest_orders(shop.ledger, shop.cart, shop.storefront)
    assert shop.states() == {number: S.READY}


def crash_during_submit(shop) -> None:
    with pytest.raises(WorkerDied):
        submit_ready(shop.ledger, DiesBeforeSending(shop.fba), shop.cart, shop.storefront, limit=10)


def submit(shop, fba=None):
    return submit_ready(shop.ledger, fba or shop.fba, shop.cart, shop.storefront, limit=10)


@both_ledgers
def test_crash_before_the_create_is_resolved_by_a_read_back_and_one_create(shop):
    one_ready_order(shop)
    crash_during_submit(shop)
    assert shop.states() == {"#5001": S.SUBMITTING}
    assert shop.creates() == 0

    # Until the sweep says otherwise, a `submitting` row is somebody's work in flight.
    assert submit(shop).accepted == 0
    sweep(shop.ledger, [shop.storefront], stale_after=timedelta(minutes=5))
    assert shop.states() == {"#5001": S.SUBMITTING}

    nudges = sweep(shop.ledger, [shop.storefront], **sweep_now_and_everything_stale())
    assert shop.states() == {"#5001": S.SUBMIT_UNKNOWN}
    assert "submit" in nudges[shop.storefront.name]

    gets_before = shop.sim.admin.calls("getFulfillmentOrder")
    result = submit(shop)
    assert result.accepted == 1
    assert shop.sim.admin.calls("getFulfillmentOrder") == gets_before + 1, "read back first"
    assert shop.creates() == 1
    assert list(shop.sim_orders()) == [shop.row("#5001").seller_fulfillment_order_id]
    assert shop.states() == {"#5001": S.ACCEPTED}


@both_ledgers
def test_crash_after_the_create_before_the_commit_finds_the_order_and_creates_nothing(shop):
    one_ready_order(shop)
    crash_during_submit(shop)
    row = shop.row("#5001")
    assert row.state == S.SUBMITTING
    # The create reached Amazon; the worker died before recording the answer.
    shop.fba.create_fulfillment_order(FulfillmentOrderRequest.from_json(row.request))
    assert shop.creates() == 1

    sweep(shop.ledger, [shop.storefront], **sweep_now_and_everything_stale())
    assert shop.states() == {"#5001": S.SUBMIT_UNKNOWN}
    result = submit(shop)

    assert (result.accepted, result.unknown) == (1, 0)
    assert shop.creates() == 1, "found on read-back: no second create"
    assert len(shop.sim_orders()) == 1
    assert shop.states() == {"#5001": S.ACCEPTED}
    assert "found at Amazon on read-back" in [event.message for event in shop.events("#5001")]


@both_ledgers
def test_answer_lost_after_amazon_created_the_order_is_resolved_by_read_back(shop):
    one_ready_order(shop)
    impatient = with_fulfillment(shop.storefront, timeout_seconds=1)
    assert impatient.fulfillment.timeout_seconds < DROP_SECONDS
    shop.sim.admin.add_fault("createFulfillmentOrder", status=None, drop_after_act=True, count=1)

    with FbaClient.from_account(impatient.fulfillment, impatient.secret, NoLimiter()) as fba:
        first = submit_ready(shop.ledger, fba, shop.cart, impatient, limit=10)
        assert (first.accepted, first.unknown) == (0, 1)
        assert shop.states() == {"#5001": S.SUBMIT_UNKNOWN}
        assert len(shop.sim_orders()) == 1, "the simulator acted before dropping the answer"

        second = submit_ready(shop.ledger, fba, shop.cart, impatient, limit=10)

    assert second.accepted == 1
    assert shop.creates() == 1
    assert len(shop.sim_orders()) == 1
    assert shop.states() == {"#5001": S.ACCEPTED}


@both_ledgers
def test_server_error_on_create_is_read_back_then_created_again_with_the_same_id(shop):
    one_ready_order(shop)
    shop.sim.admin.add_fault("createFulfillmentOrder", status=503, count=1)

    first = submit(shop)
    assert first.unknown == 1
    assert shop.sim_orders() == {}, "the 503 came before the simulator acted"

    second = submit(shop)
    assert second.accepted == 1
    assert shop.creates() == 2  # the refused one and the real one
    assert list(shop.sim_orders()) == [shop.row("#5001").seller_fulfillment_order_id]


def race(shop, workers: int = 2) -> list:
    """Run `submit_ready` in several threads released at the same moment, each with its
    own SP-API client (as separate worker processes would have)."""
    clients = [
        FbaClient.from_account(shop.storefront.fulfillment, shop.storefront.secret, NoLimiter())
        for _ in range(workers)
    ]
    start = threading.Barrier(workers)
    results: list = [None] * workers
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            start.wait()
            results[index] = submit_ready(shop.ledger, clients[index], shop.cart,
                                          shop.storefront, limit=10)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client in clients:
        client.close()
    assert not errors, errors
    return results


@both_ledgers
def test_two_workers_racing_on_a_ready_order_create_it_once(shop):
    one_ready_order(shop)
    results = race(shop)

    assert sum(result.accepted for result in results) == 1
    assert shop.creates() == 1
    assert len(shop.sim_orders()) == 1
    assert shop.states() == {"#5001": S.ACCEPTED}


@both_ledgers
def test_two_workers_racing_on_an_unknown_outcome_create_it_once(shop):
    one_ready_order(shop)
    shop.sim.admin.add_fault("createFulfillmentOrder", status=503, count=1)
    assert submit(shop).unknown == 1
    creates_before = shop.creates()
    # Slow read-backs keep both workers between their read-back and their create at once,
    # if both were let in.
    shop.sim.admin.add_fault("getFulfillmentOrder", status=None, latency=0.3, count=2)

    results = race(shop)

    assert shop.creates() == creates_before + 1
    assert sum(result.accepted for result in results) == 1
    assert len(shop.sim_orders()) == 1
    assert shop.states() == {"#5001": S.ACCEPTED}
