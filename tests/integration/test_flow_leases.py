"""At most one status sync and one stock cycle per storefront at a time: a second run
started while the first is inside its call to Amazon returns at once (skipped) and calls
nothing; once the first is done, the next run works again."""

from __future__ import annotations

import threading
from collections.abc import Callable

from support import SKUS, TO_COMPLETE, both_ledgers

from bridge import demo_store
from bridge.domain.states import OrderState as S
from bridge.services.ingest import ingest_orders
from bridge.services.status import sync_status
from bridge.services.stock import sync_stock
from bridge.services.submit import submit_ready

WAIT = 30.0  # a deadline for the other thread to get where the test needs it


class Gate:
    """Wraps one method of the client so that the first call waits inside until opened."""

    def __init__(self, target: object, method: str) -> None:
        self.inside = threading.Event()
        self.open = threading.Event()
        self._real: Callable = getattr(target, method)
        self._first = True
        setattr(target, method, self._call)

    def _call(self, *args, **kwargs):
        if self._first:
            self._first = False
            self.inside.set()
            assert self.open.wait(WAIT), "the gate was never opened"
        return self._real(*args, **kwargs)


def run_in_thread(work: Callable[[], object]) -> tuple[threading.Thread, list]:
    out: list = []
    thread = threading.Thread(target=lambda: out.append(work()))
    thread.start()
    return thread, out


@both_ledgers
def test_two_status_syncs_at_once_one_runs_one_skips(shop):
    shop.sim.admin.set_stock({sku: 100 for sku in SKUS})
    demo_store.place_orders(shop.store_url, 4, SKUS)
    ingest_orders(shop.ledger, shop.cart, shop.storefront)
    submit_ready(shop.ledger, shop.fba, shop.cart, shop.storefront, limit=10)
    shop.sim.admin.advance(TO_COMPLETE)
    lists = shop.sim.admin.calls("listAllFulfillmentOrders")

    gate = Gate(shop.fba, "changed_orders")
    first, out = run_in_thread(lambda: sync_status(shop.ledger, shop.fba, shop.cart, shop.storefront))
    assert gate.inside.wait(WAIT)
    second = sync_status(shop.ledger, shop.fba, shop.cart, shop.storefront)
    assert second.skipped and (second.listed, second.read) == (0, 0)
    gate.open.set()
    first.join(WAIT)
    assert not first.is_alive()

    (result,) = out
    assert not result.skipped and result.read == 4
    assert shop.sim.admin.calls("listAllFulfillmentOrders") == lists + 1
    assert set(shop.states().values()) == {S.SHIPPED}
    # The lease was released: the next sync runs.
    assert not sync_status(shop.ledger, shop.fba, shop.cart, shop.storefront).skipped


@both_ledgers
def test_two_stock_cycles_at_once_one_runs_one_skips(shop):
    shop.sim.admin.set_stock({sku: 40 for sku in SKUS})
    reads = shop.sim.admin.calls("getInventorySummaries")

    gate = Gate(shop.fba, "inventory_levels")
    first, out = run_in_thread(lambda: sync_stock(shop.ledger, shop.fba, shop.cart, shop.storefront))
    assert gate.inside.wait(WAIT)
    second = sync_stock(shop.ledger, shop.fba, shop.cart, shop.storefront)
    assert second.skipped and (second.read, second.checked, second.written) == (0, 0, 0)
    assert shop.sim.admin.calls("getInventorySummaries") == reads
    gate.open.set()
    first.join(WAIT)
    assert not first.is_alive()

    (result,) = out
    assert not result.skipped and result.read == len(SKUS)
    assert demo_store.read_stock(shop.store_url) == {sku: 40 for sku in SKUS}
    assert not sync_stock(shop.ledger, shop.fba, shop.cart, shop.storefront).skipped


def test_storefronts_have_their_own_leases(shop):
    """A sync held for one storefront does not stop another's (names differ by storefront)."""
    from bridge.ledger import repo

    with repo.lease(shop.ledger, "elsewhere:status") as held:
        assert held
        assert not sync_status(shop.ledger, shop.fba, shop.cart, shop.storefront).skipped
    with repo.lease(shop.ledger, f"{shop.storefront.name}:status") as held:
        assert held
        assert sync_status(shop.ledger, shop.fba, shop.cart, shop.storefront).skipped
