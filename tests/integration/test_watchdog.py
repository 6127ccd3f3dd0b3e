"""The watchdog flags what is stuck, once, tells the shop about an order once, and
clears each flag by itself when the condition is gone. Amazon's side moves with the
simulator's clock; bridge's side with the `now` each run is given."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from structlog.testing import capture_logs
from support import TO_COMPLETE, both_ledgers

from bridge import demo_store
from bridge.demo_store import DemoLine
from bridge.domain.states import OrderState as S
from bridge.errors import RemoteUnreachable
from bridge.ledger import repo
from bridge.ledger.tables import Order, Package
from bridge.services import health
from bridge.services.ingest import ingest_orders
from bridge.services.orders import storefront_status
from bridge.services.status import sync_status
from bridge.services.submit import submit_ready
from bridge.services.tracking import push_tracking
from bridge.services.watchdog import (
    HOLD_EXPIRING,
    POLL_OVERDUE,
    SHIP_OVERDUE,
    TRACKING_OVERDUE,
    Thresholds,
    watch,
)

MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)


def run_watchdog(shop, now):
    with capture_logs() as logs:
        result = watch(shop.ledger, [shop.storefront], lambda name: shop.cart, Thresholds(),
                       now=now)
    raised = [(entry["kind"], entry.get("order") or "") for entry in logs
              if entry["event"] == "flag_raised" and entry["log_level"] == "warning"]
    return result, raised


def flags(shop, kind: str) -> dict[str, str]:
    """Open flags of one kind, as shown by `bridge status`: order number → message."""
    report = storefront_status(shop.ledger, shop.storefront.name)
    return {flag["order"]: flag["message"] for flag in report.flags if flag["kind"] == kind}


def notes(shop, cart_order_id: str, words: str) -> list[str]:
    return [note for note in shop.notes_by_order().get(cart_order_id, []) if words in note]


def submit(shop, lines_by_number: dict[str, str], *, hold: bool = False) -> dict[str, str]:
    """Place, ingest and submit one order per number (value: its shipping method)."""
    shop.sim.admin.set_stock({"MUG-BLUE": 10})
    ids = {number: demo_store.insert_order(shop.store_url, number, [DemoLine("MUG-BLUE", 1)],
                                           shipping_method=method)
           for number, method in lines_by_number.items()}
    ingest_orders(shop.ledger, shop.cart, shop.storefront)
    if hold:
        # As a storefront policy that holds orders would have saved the request.
        with shop.ledger.transaction() as session:
            for row in session.scalars(sa.select(Order)):
                row.request = {**row.request, "hold": True}
    accepted = submit_ready(shop.ledger, shop.fba, shop.cart, shop.storefront, 10).accepted
    assert accepted == len(ids)
    return ids


@both_ledgers
def test_an_order_amazon_has_not_shipped_by_its_speed_allowance_is_flagged(shop):
    ids = submit(shop, {"#S1": "Standard", "#P1": "Priority"})
    accepted = shop.row("#P1").accepted_at
    assert shop.row("#S1").accepted_at <= accepted

    # Amazon does not move (its clock stands): bridge's deadline is acceptance + allowance.
    _, raised = run_watchdog(shop, accepted + DAY - MINUTE)
    assert flags(shop, SHIP_OVERDUE) == {}
    assert [flag for flag in raised if flag[0] == SHIP_OVERDUE] == []

    _, raised = run_watchdog(shop, accepted + DAY + MINUTE)
    assert list(flags(shop, SHIP_OVERDUE)) == ["#P1"]
    assert (SHIP_OVERDUE, "#P1") in raised
    assert "(Priority) and has not shipped it" in flags(shop, SHIP_OVERDUE)["#P1"]

    later = shop.row("#S1").accepted_at + 5 * DAY + MINUTE
    _, raised = run_watchdog(shop, later)
    assert set(flags(shop, SHIP_OVERDUE)) == {"#P1", "#S1"}
    assert (SHIP_OVERDUE, "#P1") not in raised  # still the same flag
    # The shop hears of each once, however many runs see it.
    run_watchdog(shop, later + MINUTE)
    assert len(notes(shop, ids["#P1"], "has not shipped it")) == 1
    assert len(notes(shop, ids["#S1"], "has not shipped it")) == 1

    # Amazon ships; once the status sync has seen it, the flags clear by themselves.
    shop.sim.admin.advance(TO_COMPLETE)
    sync_status(shop.ledger, shop.fba, shop.cart, shop.storefront)
    push_tracking(shop.ledger, shop.cart, shop.storefront)
    result, _ = run_watchdog(shop, later + 2 * MINUTE)
    assert flags(shop, SHIP_OVERDUE) == {}
    assert {flag.kind for flag in result.cleared} >= {SHIP_OVERDUE}


def test_tracking_not_in_the_shop_after_the_threshold_is_flagged(shop):
    ids = submit(shop, {"#T1": "Standard"})
    shop.sim.admin.advance(TO_COMPLETE)
    sync_status(shop.ledger, shop.fba, shop.cart, shop.storefront)
    assert shop.states() == {"#T1": S.SHIPPED}
    with shop.ledger.transaction() as session:
        recorded = session.scalar(sa.select(sa.func.max(Package.created_at)))

    run_watchdog(shop, recorded + timedelta(minutes=29))
    assert flags(shop, TRACKING_OVERDUE) == {}

    _, raised = run_watchdog(shop, recorded + timedelta(minutes=31))
    assert raised.count((TRACKING_OVERDUE, "#T1")) == 1
    assert "tracking is not in the shop after 30 minutes" in flags(shop, TRACKING_OVERDUE)["#T1"]
    _, raised = run_watchdog(shop, recorded + timedelta(minutes=32))
    assert (TRACKING_OVERDUE, "#T1") not in raised
    assert len(notes(shop, ids["#T1"], "tracking is not in the shop")) == 1

    assert push_tracking(shop.ledger, shop.cart, shop.storefront).written == 1
    run_watchdog(shop, recorded + timedelta(minutes=33))
    assert flags(shop, TRACKING_OVERDUE) == {}


@both_ledgers
def test_a_storefront_without_a_recent_successful_poll_is_flagged_with_its_error(shop):
    interval = timedelta(seconds=shop.storefront.poll.orders_seconds)
    with shop.ledger.transaction() as session:
        assert repo.get_cursor(session, shop.storefront.name, "orders") is None

    # Never polled: counted from when the watchdog first looked.
    run_watchdog(shop, None)
    with shop.ledger.transaction() as session:
        watched_since = repo.get_cursor(session, shop.storefront.name, "watchdog").position
    _, raised = run_watchdog(shop, watched_since + 3 * interval + timedelta(seconds=1))
    assert raised == [(POLL_OVERDUE, "")]
    assert "no successful order poll yet" in flags(shop, POLL_OVERDUE)[""]

    # A successful poll clears it; three intervals without one raise it again.
    ingest_orders(shop.ledger, shop.cart, shop.storefront)
    with shop.ledger.transaction() as session:
        polled = repo.get_cursor(session, shop.storefront.name, "orders").last_run_at
    run_watchdog(shop, polled + interval)
    assert flags(shop, POLL_OVERDUE) == {}
    run_watchdog(shop, polled + 3 * interval - timedelta(seconds=1))
    assert flags(shop, POLL_OVERDUE) == {}
    _, raised = run_watchdog(shop, polled + 3 * interval + timedelta(seconds=1))
    assert raised == [(POLL_OVERDUE, "")]

    # The last error is shown when known: the poll's latest failure, a pause's reason.
    health.record_outcome(shop.ledger, shop.storefront.name, "ingest",
                          RemoteUnreachable("shop.example: connection refused"))
    run_watchdog(shop, polled + 4 * interval)
    assert "latest with: shop.example: connection refused" in flags(shop, POLL_OVERDUE)[""]
    with shop.ledger.transaction() as session:
        repo.pause_storefront(session, shop.storefront.name, "the shop refused the API key")
    run_watchdog(shop, polled + 5 * interval)
    message = flags(shop, POLL_OVERDUE)[""]
    assert "the storefront is paused: the shop refused the API key" in message
    assert shop.notes_by_order() == {}  # a storefront's flag concerns no order

    with shop.ledger.transaction() as session:
        repo.resume_storefront(session, shop.storefront.name)
    ingest_orders(shop.ledger, shop.cart, shop.storefront)
    with shop.ledger.transaction() as session:
        polled = repo.get_cursor(session, shop.storefront.name, "orders").last_run_at
    run_watchdog(shop, polled + interval)
    assert flags(shop, POLL_OVERDUE) == {}


def test_a_held_order_is_flagged_before_amazon_cancels_it(shop):
    ids = submit(shop, {"#H1": "Standard"}, hold=True)
    assert [o["fulfillmentAction"] for o in shop.sim.admin.orders()] == ["Hold"]
    accepted = shop.row("#H1").accepted_at

    # Twelve days on hold at Amazon: still Received there.
    shop.sim.admin.advance(12 * DAY.total_seconds() + 60)
    sync_status(shop.ledger, shop.fba, shop.cart, shop.storefront)
    assert shop.row("#H1").amazon_status == "Received"

    run_watchdog(shop, accepted + 12 * DAY - MINUTE)
    assert flags(shop, HOLD_EXPIRING) == {}
    _, raised = run_watchdog(shop, accepted + 12 * DAY + MINUTE)
    assert raised.count((HOLD_EXPIRING, "#H1")) == 1
    assert "Amazon cancels held orders after 14 days" in flags(shop, HOLD_EXPIRING)["#H1"]
    run_watchdog(shop, accepted + 13 * DAY)
    assert len(notes(shop, ids["#H1"], "on hold at Amazon")) == 1
    # A held order is not late: it was never meant to ship yet.
    assert flags(shop, SHIP_OVERDUE) == {}

    # Nobody released it: Amazon cancels it on day 14; the order now needs a person
    # (with its own reason) and the warning is over.
    shop.sim.admin.advance(2 * DAY.total_seconds())
    sync_status(shop.ledger, shop.fba, shop.cart, shop.storefront)
    assert shop.states() == {"#H1": S.NEEDS_ATTENTION}
    run_watchdog(shop, accepted + 14 * DAY + MINUTE)
    assert flags(shop, HOLD_EXPIRING) == {}
