"""The sweep and the watchdog, on an injected clock: rows that waited too long are
nudged again (a stuck submission becomes unknown), and each kind of flag is raised
past its deadline, not before, noted in the shop once, and cleared when it is gone.

The ledger stamps its own times (state changes, acceptance, packages) with the test's
clock (conftest's `clock` fixture), so a time read off the clock right after a step is
the time the ledger recorded for it."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from fake_timing import TO_COMPLETE

from bridge.domain.states import OrderState as S
from bridge.errors import FatalError
from bridge.ledger.tables import Order
from bridge.services.followups import pause_for
from bridge.services.ingest import ingest_orders
from bridge.services.status import sync_status
from bridge.services.submit import submit_ready
from bridge.services.sweep import sweep
from bridge.services.tracking import push_tracking
from bridge.services.watchdog import (
    HOLD_EXPIRING,
    POLL_OVERDUE,
    SHIP_OVERDUE,
    TRACKING_OVERDUE,
    Thresholds,
    watch,
)

STALE = timedelta(seconds=300)


def accepted(store, *numbers: str) -> None:
    store.amazon.set_stock({"MUG": 10})
    for number in numbers:
        store.place(number, {"MUG": 1})
    ingest_orders(store.ledger, store.cart, store.storefront, now=store.clock)
    submit_ready(store.ledger, store.amazon, store.cart, store.storefront, 10, now=store.clock)
    assert all(store.state(number) == S.ACCEPTED for number in numbers)


def pin(store, number: str, **values) -> None:
    """Set an order row's columns (its saved request) by hand."""
    with store.ledger.transaction() as session:
        session.execute(sa.update(Order).where(Order.number == number).values(**values))


def nudges(store, at):
    return sweep(store.ledger, [store.storefront], STALE, now=at)


def run_watch(store, at, thresholds: Thresholds | None = None):
    return watch(store.ledger, [store.storefront], lambda _name: store.cart,
                 thresholds or Thresholds(), now=at)


def kinds(result, kind: str) -> list[tuple[str, str]]:
    """The flags of `kind` a run raised (a jump of days also makes the poll overdue)."""
    return sorted((f.kind, f.number) for f in result.raised if f.kind == kind)


def cleared(result, kind: str) -> int:
    return sum(flag.kind == kind for flag in result.cleared)


# ---------------------------------------------------------------- sweep

def test_a_submission_stuck_in_submitting_becomes_unknown_once_stale(store):
    store.place("#7001")
    ingest_orders(store.ledger, store.cart, store.storefront, now=store.clock)
    t0 = store.clock()
    store.move("#7001", S.SUBMITTING, "a worker claimed it and died")

    # Not stale yet: the worker may still be calling Amazon.
    assert nudges(store, t0 + STALE - timedelta(seconds=1)) == {}
    assert store.state("#7001") == S.SUBMITTING

    assert nudges(store, t0 + STALE + timedelta(seconds=1)) == {"unit": {"submit"}}
    # Only a read-back may settle it now, never a blind second create.
    assert store.state("#7001") == S.SUBMIT_UNKNOWN


def test_each_kind_of_waiting_work_nudges_its_flow(store):
    store.amazon.set_stock({"MUG": 5})
    store.place("#7002")
    ingest_orders(store.ledger, store.cart, store.storefront, now=store.clock)
    assert nudges(store, store.clock()) == {"unit": {"submit"}}

    t0 = store.clock()
    submit_ready(store.ledger, store.amazon, store.cart, store.storefront, 10, now=store.clock)
    assert nudges(store, t0) == {}, "accepted and recently changed: the status sync follows it"
    # Quiet at Amazon for longer than the stale period: read it back.
    assert nudges(store, t0 + STALE + timedelta(seconds=1)) == {"unit": {"reconcile"}}

    store.move("#7002", S.CANCEL_REQUESTED, "cancelled in the cart")
    assert nudges(store, t0) == {"unit": {"cancel"}}


def test_an_unwritten_package_nudges_tracking(store):
    accepted(store, "#7003")
    store.amazon.advance(TO_COMPLETE)
    sync_status(store.ledger, store.amazon, store.cart, store.storefront, now=store.clock)
    assert nudges(store, store.clock()) == {"unit": {"tracking"}}

    push_tracking(store.ledger, store.cart, store.storefront)
    assert nudges(store, store.clock()) == {}


def test_a_paused_storefront_is_not_nudged(store):
    store.place("#7004")
    ingest_orders(store.ledger, store.cart, store.storefront, now=store.clock)
    pause_for(store.ledger, "unit", FatalError("the shop refused the access token"))
    assert nudges(store, store.clock()) == {}


# ---------------------------------------------------------------- watchdog

@pytest.mark.parametrize(("speed", "allowance"), [
    ("Standard", timedelta(days=5)), ("Expedited", timedelta(days=2)),
    ("Priority", timedelta(days=1)),
])
def test_an_order_not_shipped_within_its_speeds_allowance_is_flagged(store, configure, speed,
                                                                    allowance):
    configure(store, policy={"shipping_speeds": {"standard": speed}})
    accepted(store, "#7101")
    t0 = store.clock()

    early = run_watch(store, t0 + allowance - timedelta(minutes=1))
    assert kinds(early, SHIP_OVERDUE) == []
    late = run_watch(store, t0 + allowance + timedelta(minutes=1))
    assert kinds(late, SHIP_OVERDUE) == [(SHIP_OVERDUE, "#7101")]
    assert speed in late.raised[0].message
    assert late.noted == 1
    [(order_id, note)] = store.cart.notes
    assert order_id == "7101" and "has not shipped it by" in note

    # Still overdue: one open flag, the shop told once.
    again = run_watch(store, t0 + allowance + timedelta(hours=1))
    assert (kinds(again, SHIP_OVERDUE), again.noted, len(store.cart.notes)) == ([], 0, 1)

    # Shipped: the flag clears by itself.
    store.amazon.advance(TO_COMPLETE)
    sync_status(store.ledger, store.amazon, store.cart, store.storefront, now=store.clock)
    done = run_watch(store, t0 + allowance + timedelta(hours=2))
    assert cleared(done, SHIP_OVERDUE) == 1


def test_tracking_not_in_the_shop_after_the_threshold_is_flagged(store):
    accepted(store, "#7102")
    store.amazon.advance(TO_COMPLETE)
    t0 = store.clock()
    sync_status(store.ledger, store.amazon, store.cart, store.storefront, now=store.clock)
    thresholds = Thresholds(tracking_overdue=timedelta(minutes=30))

    early = run_watch(store, t0 + timedelta(minutes=29), thresholds)
    assert kinds(early, TRACKING_OVERDUE) == []
    late = run_watch(store, t0 + timedelta(minutes=31), thresholds)
    assert kinds(late, TRACKING_OVERDUE) == [(TRACKING_OVERDUE, "#7102")]
    assert "after 30 minutes" in late.raised[0].message

    push_tracking(store.ledger, store.cart, store.storefront)
    done = run_watch(store, t0 + timedelta(minutes=32), thresholds)
    assert cleared(done, TRACKING_OVERDUE) == 1


def test_a_storefront_never_polled_is_flagged_after_three_intervals(store):
    t0 = store.clock()
    interval = timedelta(seconds=store.storefront.poll.orders_seconds)

    assert kinds(run_watch(store, t0), POLL_OVERDUE) == []  # the watchdog starts watching now
    assert kinds(run_watch(store, t0 + 3 * interval), POLL_OVERDUE) == []
    late = run_watch(store, t0 + 3 * interval + timedelta(seconds=1))
    assert kinds(late, POLL_OVERDUE) == [(POLL_OVERDUE, "")]
    assert "no successful order poll yet" in late.raised[0].message
    assert store.cart.notes == [], "a storefront's flag concerns no order: no note"


def test_a_poll_overdue_flag_names_the_pause_and_clears_after_a_poll(store):
    t0 = store.clock()
    run_watch(store, t0)
    pause_for(store.ledger, "unit", FatalError("the shop refused the access token"))
    late = run_watch(store, t0 + timedelta(minutes=10))
    assert kinds(late, POLL_OVERDUE) == [(POLL_OVERDUE, "")]
    assert "paused: the shop refused the access token" in late.raised[0].message

    # A successful poll, run on the same clock as the watchdog.
    ingest_orders(store.ledger, store.cart, store.storefront, now=store.clock)
    done = run_watch(store, t0)
    assert cleared(done, POLL_OVERDUE) == 1


def test_an_order_still_on_hold_on_day_twelve_is_flagged(store):
    accepted(store, "#7103")
    t0 = store.clock()
    row = store.row("#7103")
    # bridge's mapping asks for Ship; an order whose saved request asked Amazon for Hold.
    pin(store, "#7103", request={**row.request, "hold": True})

    early = run_watch(store, t0 + timedelta(days=12) - timedelta(minutes=1))
    assert kinds(early, HOLD_EXPIRING) == []
    late = run_watch(store, t0 + timedelta(days=12))
    assert kinds(late, HOLD_EXPIRING) == [(HOLD_EXPIRING, "#7103")]
    assert "Amazon cancels held orders after 14 days" in late.raised[0].message
    # A held order's ship deadline starts when the hold could end: not overdue yet.
    assert kinds(late, SHIP_OVERDUE) == []
