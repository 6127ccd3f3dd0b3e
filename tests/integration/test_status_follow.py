"""Following orders at the create quota, against the simulator: moves that carry nothing
new (Received → Planning → Processing) are applied from listAllFulfillmentOrders alone;
getFulfillmentOrder is called once per order that shipped (or ended), never for an order
that did not move; and a bounded run stops at its bounds with the rest for the next run,
which neither misses nor repeats an order. Calls are counted at the simulator."""

from __future__ import annotations

from support import SKUS, TO_COMPLETE, TO_PLANNING, TO_PROCESSING, both_ledgers

from bridge import demo_store
from bridge.domain.states import OrderState as S
from bridge.ledger.tables import utcnow
from bridge.services.followups import Nudge, after_status
from bridge.services.ingest import ingest_orders
from bridge.services.status import reconcile_open, sync_status
from bridge.services.submit import submit_ready
from bridge.services.tracking import push_tracking

GET = "getFulfillmentOrder"
LIST = "listAllFulfillmentOrders"


def place_and_submit(shop, count: int, start_number: int = 1) -> list[str]:
    numbers = [f"#{1000 + start_number + i}" for i in range(count)]
    demo_store.place_orders(shop.store_url, count, SKUS, start_number=start_number)
    ingest_orders(shop.ledger, shop.cart, shop.storefront)
    assert submit_ready(shop.ledger, shop.fba, shop.cart, shop.storefront, limit=100).accepted == count
    return numbers


def gets(shop) -> int:
    return shop.sim.admin.calls(GET)


def sync(shop, **bounds):
    return sync_status(shop.ledger, shop.fba, shop.cart, shop.storefront, **bounds)


@both_ledgers
def test_one_get_per_shipped_order_and_none_for_moves_the_list_says_in_full(shop):
    shop.sim.admin.set_stock({sku: 200 for sku in SKUS})
    count = 10
    place_and_submit(shop, count)
    before = gets(shop)

    shop.sim.admin.advance(TO_PLANNING)
    planning = sync(shop)
    assert planning.updated == count and planning.read == 0
    assert {row.amazon_status for row in shop.rows()} == {"Planning"}
    assert set(shop.states().values()) == {S.ACCEPTED}

    shop.sim.admin.advance(TO_PROCESSING - TO_PLANNING)
    processing = sync(shop)
    assert processing.updated == count and processing.read == 0
    assert set(shop.states().values()) == {S.PROCESSING}
    assert gets(shop) == before, "a move to Planning or Processing needs no getFulfillmentOrder"

    shop.sim.admin.advance(TO_COMPLETE - TO_PROCESSING)
    complete = sync(shop)
    assert complete.read == complete.updated == count
    assert gets(shop) == before + count
    assert set(shop.states().values()) == {S.SHIPPED}
    sim_packages = sum(len(order["packages"]) for order in shop.sim_orders().values())
    assert complete.packages == sim_packages >= count

    # Nothing moved since: the next sync lists, and reads nothing.
    lists = shop.sim.admin.calls(LIST)
    again = sync(shop)
    assert (again.updated, again.read, again.packages) == (0, 0, 0)
    assert gets(shop) == before + count
    assert shop.sim.admin.calls(LIST) == lists + 1


def test_only_orders_that_shipped_are_read_while_others_only_move(shop):
    shop.sim.admin.set_stock({sku: 200 for sku in SKUS})
    early = place_and_submit(shop, 6)
    shop.sim.admin.advance(TO_COMPLETE - 30)  # the early ones are Processing
    late = place_and_submit(shop, 4, start_number=7)
    shop.sim.admin.advance(TO_PLANNING)  # early ones ship, late ones reach Planning
    before = gets(shop)

    result = sync(shop)
    assert result.read == len(early)
    assert gets(shop) == before + len(early)
    states = shop.states()
    assert {states[n] for n in early} == {S.SHIPPED}
    assert {states[n] for n in late} == {S.ACCEPTED}
    assert {shop.row(n).amazon_status for n in late} == {"Planning"}


def test_a_bounded_run_stops_at_its_orders_and_the_next_runs_finish_without_gaps_or_repeats(shop):
    shop.sim.admin.set_stock({sku: 200 for sku in SKUS})
    count = 12
    place_and_submit(shop, count)
    sync(shop)  # the cursor, as a running deployment has one
    shop.sim.admin.advance(TO_COMPLETE)
    before = gets(shop)

    runs = []
    while True:
        result = sync(shop, max_orders=5)
        runs.append(result)
        assert len(runs) <= 5, "the runs do not converge"
        if not result.more:
            break
        assert after_status(shop.storefront.name, result)[-1] == Nudge("status", (shop.storefront.name,))
    assert [run.read for run in runs] == [5, 5, 2]
    assert [run.more for run in runs] == [True, True, False]
    assert after_status(shop.storefront.name, runs[-1]) == [Nudge("tracking", (shop.storefront.name,))]
    # Every order read exactly once: twelve reads and twelve shipped orders.
    assert gets(shop) == before + count
    assert set(shop.states().values()) == {S.SHIPPED}
    assert sum(run.packages for run in runs) == sum(
        len(order["packages"]) for order in shop.sim_orders().values())


def test_a_run_out_of_time_stops_and_the_next_carries_on(shop):
    shop.sim.admin.set_stock({sku: 200 for sku in SKUS})
    count = 7
    place_and_submit(shop, count)
    shop.sim.admin.advance(TO_COMPLETE)
    before = gets(shop)
    ticks = iter(range(0, 10_000, 10))  # each look at the clock: 10 s later

    def monotonic() -> float:
        return float(next(ticks))

    first = sync(shop, max_seconds=25, monotonic=monotonic)
    assert first.more and first.read == 2  # 10 s and 20 s in: go on; 30 s: stop
    rest = sync(shop)
    assert not rest.more and rest.read == count - 2
    assert gets(shop) == before + count
    assert set(shop.states().values()) == {S.SHIPPED}


def test_reconcile_still_reads_back_what_the_list_did_not_report(shop):
    shop.sim.admin.set_stock({sku: 200 for sku in SKUS})
    numbers = place_and_submit(shop, 3)
    shop.sim.admin.advance(TO_COMPLETE)
    before = gets(shop)
    assert reconcile_open(shop.ledger, shop.fba, shop.cart, shop.storefront, older_than=utcnow()) == 3
    assert gets(shop) == before + 3
    assert {shop.states()[n] for n in numbers} == {S.SHIPPED}
    assert push_tracking(shop.ledger, shop.cart, shop.storefront).completed == 3
    # The status sync then finds them applied and reads nothing again.
    assert sync(shop).read == 0
    assert gets(shop) == before + 3


def test_a_run_that_stops_early_does_not_nudge_tracking_without_packages():
    from bridge.services.status import StatusResult

    assert after_status("north", StatusResult(updated=3, more=True)) == [Nudge("status", ("north",))]
    assert after_status("north", StatusResult(updated=3)) == []
