"""Delivery milestones on the in-memory network: a package whose tracking is in the shop
is followed at Amazon until a final state, its milestone written to the shop and the
event log once, with few looks (not before the estimated arrival, none after the end),
and bridge gives up visibly when no final state comes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from fake_timing import TO_COMPLETE, TRANSIT

from bridge.carts.contract import Milestone
from bridge.errors import MalformedAnswer, NeedsAttentionError
from bridge.fba.tracking_details import PackageTracking
from bridge.ledger.tables import PackageDelivery, Schedule
from bridge.services import schedule
from bridge.services.delivery import (
    DeliveryResult,
    FollowPolicy,
    follow_deliveries,
    next_look_at,
)
from bridge.services.orders import storefront_status
from bridge.services.status import sync_status
from bridge.services.submit import submit_ready
from bridge.services.tracking import push_tracking

HOUR = 3600


def shipped(shop, *numbers: str, outcome: str = "DELIVERED") -> None:
    """Orders accepted, shipped by Amazon (each package fares as `outcome`), recorded
    and their tracking written to the shop."""
    shop.amazon.set_stock({"MUG": 10})
    for number in numbers:
        shop.add_ready_order(number, {"MUG": 1})
    submit_ready(shop.ledger, shop.amazon, shop.cart, shop.storefront, 10, now=shop.clock)
    for number in numbers:
        shop.amazon.set_tracking_outcome(shop.sfo_id(number), outcome)
    shop.amazon.advance(TO_COMPLETE)
    sync_status(shop.ledger, shop.amazon, shop.cart, shop.storefront, now=shop.clock)
    assert push_tracking(shop.ledger, shop.cart, shop.storefront).written == len(numbers)


def follow(shop) -> DeliveryResult:
    return follow_deliveries(shop.ledger, shop.amazon, shop.cart, shop.storefront, now=shop.clock)


def looks(shop) -> int:
    return shop.amazon.calls["package_tracking"]


def delivery_rows(shop) -> list[PackageDelivery]:
    with shop.ledger.transaction() as session:
        return list(session.scalars(sa.select(PackageDelivery).order_by(PackageDelivery.package_id)))


def event_kinds(shop, number: str) -> list[str]:
    return [kind for kind, _message in shop.event_log(number)]


def until_nothing_due(shop, hours: float, step_hours: float = 1) -> int:
    """Run the flow every `step_hours` for `hours`; the looks it made."""
    before = looks(shop)
    for _ in range(int(hours / step_hours)):
        shop.clock.advance(step_hours * HOUR)
        follow(shop)
    return looks(shop) - before


def test_a_delivered_package_is_written_to_the_shop_once_and_followed_no_more(shop):
    shipped(shop, "#7001")
    [package] = shop.packages("#7001")

    started = follow(shop)
    assert (started.followed, started.looked) == (1, 0), "first look only after a while"

    # Hourly runs for four days: one look in transit (12 h after shipping), one at the
    # estimated arrival (two days), which finds it delivered; none after.
    assert until_nothing_due(shop, hours=4 * 24) == 2
    [(order_id, update)] = shop.cart.deliveries
    assert order_id == "7001"
    assert update.milestone == Milestone.DELIVERED
    assert update.package.tracking_number == package.tracking_number
    assert update.package.carrier == package.carrier
    assert update.happened_at == package.shipped_at + timedelta(seconds=TRANSIT)
    assert update.detail.startswith("EVENT_301")  # the fake's description is the code

    [row] = delivery_rows(shop)
    assert (row.milestone, row.amazon_status, row.polls) == ("delivered", "DELIVERED", 2)
    assert row.next_poll_at is None and row.pushed_at is not None
    kinds = event_kinds(shop, "#7001")
    assert kinds.count("delivery_delivered") == 1 and kinds.count("delivery_written") == 1

    assert until_nothing_due(shop, hours=30 * 24, step_hours=24) == 0
    assert len(shop.cart.deliveries) == 1


def test_a_refused_package_is_returned_to_sender_after_it_is_back_at_amazon(shop):
    shipped(shop, "#7002", outcome="RETURNED")

    # Attempted at the arrival and on its way back after it: followed on till RETURNED.
    spent = until_nothing_due(shop, hours=5 * 24)
    [(_, update)] = shop.cart.deliveries
    assert update.milestone == Milestone.RETURNED_TO_SENDER
    [package] = shop.packages("#7002")
    assert update.happened_at == package.shipped_at + timedelta(seconds=2 * TRANSIT)
    # In transit (12 h), at the arrival (48 h), then every 12 h until it is back at
    # Amazon two days later (60, 72, 84, 96 h): six looks.
    assert spent == 6
    assert "delivery_returned_to_sender" in event_kinds(shop, "#7002")
    assert until_nothing_due(shop, hours=10 * 24, step_hours=24) == 0


def test_a_lost_package_is_a_failed_delivery(shop):
    shipped(shop, "#7003", outcome="UNDELIVERABLE")
    until_nothing_due(shop, hours=3 * 24)
    [(_, update)] = shop.cart.deliveries
    assert update.milestone == Milestone.DELIVERY_FAILED
    assert "delivery_delivery_failed" in event_kinds(shop, "#7003")


def test_bridge_gives_up_after_its_budget_visibly_and_looks_no_more(shop, configure):
    configure(shop, poll={"delivery_give_up_days": 1})
    shipped(shop, "#7004", outcome="DELAYED")  # delivered only after two transits

    until_nothing_due(shop, hours=2 * 24)
    [row] = delivery_rows(shop)
    assert row.gave_up_at is not None and row.next_poll_at is None and row.milestone == ""
    assert "delivery_not_followed" in event_kinds(shop, "#7004")
    assert shop.cart.deliveries == []
    assert storefront_status(shop.ledger, shop.storefront.name).deliveries_given_up == 1
    assert until_nothing_due(shop, hours=10 * 24, step_hours=24) == 0


def test_nothing_to_follow_makes_no_call(shop):
    assert follow(shop) == DeliveryResult()
    shop.amazon.set_stock({"MUG": 10})
    shop.add_ready_order("#7005", {"MUG": 1})
    submit_ready(shop.ledger, shop.amazon, shop.cart, shop.storefront, 10, now=shop.clock)
    shop.amazon.advance(TO_COMPLETE)
    sync_status(shop.ledger, shop.amazon, shop.cart, shop.storefront, now=shop.clock)

    # Shipped, but its tracking is not in the shop yet: not followed.
    assert until_nothing_due(shop, hours=24) == 0
    assert delivery_rows(shop) == []


def test_following_can_be_switched_off(shop, configure):
    configure(shop, poll={"delivery_give_up_days": 0})
    shipped(shop, "#7006")
    assert until_nothing_due(shop, hours=4 * 24) == 0
    assert delivery_rows(shop) == []
    assert "delivery" not in schedule.periodic_flows(shop.storefront)


def test_a_status_bridge_does_not_know_is_logged_once_and_followed_on(shop, monkeypatch):
    shipped(shop, "#7007")
    [package] = shop.packages("#7007")
    odd = PackageTracking(package.package_number, "TELEPORTED")
    monkeypatch.setattr(shop.amazon, "package_tracking", lambda number: odd)

    until_nothing_due(shop, hours=3 * 24)
    kinds = event_kinds(shop, "#7007")
    assert kinds.count("delivery_status_unknown") == 1
    [row] = delivery_rows(shop)
    assert row.amazon_status == "TELEPORTED" and row.next_poll_at is not None
    assert row.polls >= 2


def test_one_odd_answer_does_not_stop_the_other_packages(shop, monkeypatch):
    shipped(shop, "#7008", "#7009")
    [odd] = shop.packages("#7008")
    real = shop.amazon.package_tracking

    def answer(number: int) -> PackageTracking | None:
        if number == odd.package_number:
            raise MalformedAnswer("Amazon answered getPackageTrackingDetails with packageNumber as str")
        return real(number)
    monkeypatch.setattr(shop.amazon, "package_tracking", answer)

    until_nothing_due(shop, hours=3 * 24)
    assert [order for order, _ in shop.cart.deliveries] == ["7009"]
    row = next(r for r in delivery_rows(shop) if r.package_id == odd.id)
    assert "packageNumber" in row.last_error and row.next_poll_at is not None


def test_a_milestone_the_shop_refuses_is_set_aside_with_the_reason(shop, monkeypatch):
    shipped(shop, "#7010")

    def refuse(order, update):
        raise NeedsAttentionError("delivery_refused", "the order is archived in the shop")
    monkeypatch.setattr(shop.cart, "push_delivery", refuse)

    result = DeliveryResult()
    for _ in range(4 * 24):
        shop.clock.advance(HOUR)
        step = follow(shop)
        result.refused += step.refused
    assert result.refused == 1, "refused once, not offered again"
    [row] = delivery_rows(shop)
    assert row.push_error == "the order is archived in the shop" and row.pushed_at is None
    assert "delivery_refused" in event_kinds(shop, "#7010")


def test_a_lost_commit_is_replayed_without_a_second_milestone(shop):
    shipped(shop, "#7011")
    until_nothing_due(shop, hours=3 * 24)
    with shop.ledger.transaction() as session:
        # The shop got the milestone, the ledger's commit did not.
        session.execute(sa.update(PackageDelivery).values(pushed_at=None))

    replay = follow(shop)
    assert (replay.written, replay.already_there) == (0, 1)
    assert len(shop.cart.deliveries) == 1


def test_the_arrival_is_laid_on_bridges_clock_whatever_amazons_reads():
    policy = FollowPolicy(recheck=timedelta(hours=12), give_up=timedelta(days=30))
    recorded = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)          # bridge's clock
    amazon_ship = datetime(2026, 3, 4, 11, 55, tzinfo=UTC)      # Amazon's, days ahead
    tracking = PackageTracking(1, "IN_TRANSIT", shipped_at=amazon_ship,
                               estimated_arrival=amazon_ship + timedelta(days=2))

    assert next_look_at(policy, tracking, None, recorded, recorded + timedelta(hours=12)) == \
        recorded + timedelta(days=2)
    # Past the arrival: every `recheck`.
    late = recorded + timedelta(days=3)
    assert next_look_at(policy, tracking, None, recorded, late) == late + timedelta(hours=12)
    # No arrival given: every `recheck` too.
    bare = replace(tracking, estimated_arrival=None)
    assert next_look_at(policy, bare, None, recorded, recorded) == recorded + timedelta(hours=12)


def test_the_schedule_sends_a_delivery_run_only_where_there_is_something_to_follow(shop):
    assert schedule.periodic_flows(shop.storefront)["delivery"] == 1800
    config = type("Config", (), {"storefronts": [shop.storefront]})()
    schedule.sync_schedule(shop.ledger, config, now=shop.clock(), unit=lambda: 0.0)

    def due_delivery(after: timedelta) -> bool:
        """Whether a tick `after` from now sends the storefront's delivery run (its row
        is made due at that moment first)."""
        at = shop.clock() + after
        with shop.ledger.transaction() as session:
            session.execute(sa.update(Schedule).values(next_due_at=at))
        due, _next = schedule.claim_due_and_next(shop.ledger, at, unit=lambda: 0.5)
        return any(d.flow == "delivery" for d in due)

    assert not due_delivery(timedelta(0)), "nothing shipped: no run"
    shipped(shop, "#7012")
    assert due_delivery(timedelta(0)), "a package to start following"
    follow(shop)
    assert not due_delivery(timedelta(hours=1)), "followed, its first look not due yet"
    assert due_delivery(timedelta(hours=13)), "its first look is due"
