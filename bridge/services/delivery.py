"""Delivery milestones: follow each shipped package whose tracking is in the shop at
Amazon (getPackageTrackingDetails) until it reaches a final state — delivered, delivery
failed, returned to sender — and write that milestone to the shop and the event log,
once.

Cost: one call per package per look, and few looks. A package is first looked at
`delivery_recheck_hours` after it shipped, then not before its estimated arrival, then
every `delivery_recheck_hours`, and no more once final. After `delivery_give_up_days`
without a final state bridge stops following it, with an event and `gave_up_at` on its
row for a person to see. A storefront with nothing due makes no call at all.

Amazon's dates are on Amazon's clock and the schedule is on bridge's: the wait until
the estimated arrival is measured from the ship date (both Amazon's), and laid from the
moment bridge recorded the package (its own clock, at or after the shipment), so a
skew between the two clocks neither polls early nor stalls the following."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bridge.carts.contract import CartAdapter, DeliveryUpdate, Milestone
from bridge.config import StorefrontConfig
from bridge.domain.model import CartOrder
from bridge.errors import MalformedAnswer, NeedsAttentionError
from bridge.fba.port import FulfillmentNetwork
from bridge.fba.priority import Priority, call_priority
from bridge.fba.tracking_details import PackageTracking, TrackingEvent
from bridge.ledger import delivery as deliveries
from bridge.ledger import repo
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import Package, PackageDelivery, session_now
from bridge.logging import get_logger
from bridge.services.tracking import shipment_of

log = get_logger("bridge.delivery")

FLOW = "delivery"
LEASE_SECONDS = repo.LEASE_SECONDS
# A run's bounds: then it yields the worker and the next run carries on.
MAX_PACKAGES = 100
MAX_SECONDS = 60.0
# Packages started per run, and milestones written to the shop per transaction.
FOLLOW_BATCH = 500
PUSH_BATCH = 50
# How far back the schedule looks for packages not followed yet when it decides
# whether a storefront's run is worth sending (the run itself looks back as far as
# `delivery_give_up_days`).
SCHEDULE_LOOKBACK = timedelta(days=7)


@dataclass(frozen=True)
class FollowPolicy:
    recheck: timedelta
    give_up: timedelta

    @classmethod
    def of(cls, storefront: StorefrontConfig) -> FollowPolicy:
        poll = storefront.poll
        return cls(timedelta(hours=poll.delivery_recheck_hours),
                   timedelta(days=poll.delivery_give_up_days))

    @property
    def enabled(self) -> bool:
        return self.give_up > timedelta(0)


@dataclass
class DeliveryResult:
    followed: int = 0       # packages newly followed
    looked: int = 0         # getPackageTrackingDetails calls answered
    final: int = 0          # packages that reached a final state in this run
    written: int = 0        # milestones written to the shop now
    already_there: int = 0  # milestones the shop had already
    refused: int = 0        # milestones the shop refused
    given_up: int = 0
    not_read: int = 0       # packages Amazon answered for with no usable tracking (odd or refused)
    skipped: bool = False   # another run of this storefront was under way
    more: bool = False      # stopped at its bounds with packages still due


def first_look_at(policy: FollowPolicy, recorded_at: datetime, now: datetime) -> datetime:
    """A package is first looked at `recheck` after bridge recorded its shipment."""
    return max(now, recorded_at + policy.recheck)


def next_look_at(policy: FollowPolicy, tracking: PackageTracking, shipped_at: datetime | None,
                 recorded_at: datetime, now: datetime) -> datetime:
    """Not before the estimated arrival (moved onto bridge's clock); after it, every
    `recheck`."""
    shipped = tracking.shipped_at or shipped_at
    if tracking.estimated_arrival is not None and shipped is not None:
        arrival = recorded_at + (tracking.estimated_arrival - shipped)
        if arrival > now:
            return arrival
    return now + policy.recheck


def follow_deliveries(
    ledger: Ledger,
    fba: FulfillmentNetwork,
    cart: CartAdapter,
    storefront: StorefrontConfig,
    *,
    now: Callable[[], datetime] | None = None,
    max_packages: int = MAX_PACKAGES,
    max_seconds: float = MAX_SECONDS,
    monotonic: Callable[[], float] = time.monotonic,
) -> DeliveryResult:
    """One bounded run. A second one started meanwhile returns at once with `skipped`."""
    now = now or ledger.clock
    policy = FollowPolicy.of(storefront)
    if not policy.enabled:
        return DeliveryResult()
    with call_priority(Priority.STATUS), \
            repo.lease(ledger, f"{storefront.name}:{FLOW}", LEASE_SECONDS) as held:
        if not held:
            return DeliveryResult(skipped=True)
        try:
            return _run(ledger, fba, cart, storefront, policy, now, held,
                        max_packages, max_seconds, monotonic)
        except repo.LeaseLost:
            log.warning("delivery_lease_lost", storefront=storefront.name)
            return DeliveryResult(skipped=True)


def _run(ledger: Ledger, fba: FulfillmentNetwork, cart: CartAdapter,
         storefront: StorefrontConfig, policy: FollowPolicy, now: Callable[[], datetime],
         held: repo.HeldLease, max_packages: int, max_seconds: float,
         monotonic: Callable[[], float]) -> DeliveryResult:
    result = DeliveryResult()
    with ledger.transaction() as session:
        if repo.is_paused(session, storefront.name):
            return result
        at = now()
        for package in deliveries.not_yet_followed(session, storefront.name,
                                                   at - policy.give_up, FOLLOW_BATCH):
            if deliveries.start_following(session, package.id, storefront.name,
                                          first_look_at(policy, package.created_at, at)):
                result.followed += 1
        due = deliveries.due(session, storefront.name, at, max_packages + 1)
    if len(due) > max_packages:
        due, result.more = due[:max_packages], True
    started = monotonic()
    for _delivery, package in due:
        if monotonic() - started >= max_seconds:
            result.more = True
            break
        if now() >= package.created_at + policy.give_up:
            _give_up(ledger, held, package, policy, now(), result)
            continue
        try:
            tracking = fba.package_tracking(package.package_number)
        except MalformedAnswer as bad:
            # One package's odd answer must not stop the others; it is looked at again.
            _not_read(ledger, held, package, policy, now(), str(bad), result)
            continue
        except NeedsAttentionError as refused:
            _not_read(ledger, held, package, policy, now(), refused.message, result)
            continue
        result.looked += 1
        _apply(ledger, held, package, tracking, policy, now(), result)
    push_milestones(ledger, cart, storefront, result)
    return result


def _apply(ledger: Ledger, held: repo.HeldLease, package: Package,
           tracking: PackageTracking | None, policy: FollowPolicy, at: datetime,
           result: DeliveryResult) -> None:
    with ledger.transaction() as session:
        held.confirm(session)
        row = deliveries.lock(session, package.id)
        if row is None or row.next_poll_at is None:
            return  # archived, or settled meanwhile
        row.polls += 1
        row.last_polled_at = at
        row.last_error = ""
        if tracking is None:
            # Amazon has no tracking for it (yet): looked at again later.
            row.next_poll_at = at + policy.recheck
            return
        previous, row.amazon_status = row.amazon_status, tracking.status[:32]
        row.estimated_arrival = tracking.estimated_arrival
        outcome = tracking.outcome
        if outcome is None:
            if not tracking.known_status and tracking.status != previous:
                _unknown_status(session, row, package, tracking)
            row.next_poll_at = next_look_at(policy, tracking, package.shipped_at,
                                            package.created_at, at)
            return
        event = tracking.outcome_event()
        row.milestone = outcome.value
        row.happened_at = event.at if event is not None else at
        row.detail = describe(tracking, event)
        row.next_poll_at = None
        result.final += 1
        repo.record_event(session, row.storefront, package.order_id, f"delivery_{outcome.value}",
                          message=f"package {package.package_number} "
                                  f"({_tracking_of(package)}): {row.detail}")


def _unknown_status(session: Session, row: PackageDelivery, package: Package,
                    tracking: PackageTracking) -> None:
    """A status the model does not list: not final; said once per package and value."""
    log.warning("delivery_status_unknown", storefront=row.storefront,
                package=package.package_number, status=tracking.status[:64])
    repo.record_event(session, row.storefront, package.order_id, "delivery_status_unknown",
                      message=f"package {package.package_number}: Amazon reports the status "
                              f"{tracking.status[:64]!r}, which bridge does not know; "
                              "it is followed on")


def _not_read(ledger: Ledger, held: repo.HeldLease, package: Package, policy: FollowPolicy,
              at: datetime, error: str, result: DeliveryResult) -> None:
    result.not_read += 1
    log.warning("delivery_not_read", package=package.package_number, error=error)
    with ledger.transaction() as session:
        held.confirm(session)
        row = deliveries.lock(session, package.id)
        if row is None or row.next_poll_at is None:
            return
        row.polls += 1
        row.last_polled_at = at
        row.last_error = error
        row.next_poll_at = at + policy.recheck


def _give_up(ledger: Ledger, held: repo.HeldLease, package: Package, policy: FollowPolicy,
             at: datetime, result: DeliveryResult) -> None:
    with ledger.transaction() as session:
        held.confirm(session)
        row = deliveries.lock(session, package.id)
        if row is None or row.next_poll_at is None:
            return
        row.next_poll_at = None
        row.gave_up_at = at
        result.given_up += 1
        days = policy.give_up / timedelta(days=1)
        last = row.amazon_status or "never read"
        log.warning("delivery_given_up", storefront=row.storefront,
                    package=package.package_number, status=last)
        repo.record_event(session, row.storefront, package.order_id, "delivery_not_followed",
                          message=f"package {package.package_number} ({_tracking_of(package)}) "
                                  f"has no final delivery state {days:g} days after it shipped "
                                  f"(last status: {last}); bridge stopped following it")


def describe(tracking: PackageTracking, event: TrackingEvent | None) -> str:
    """The carrier's words for the outcome, and where (for the shop and the log)."""
    if tracking.status not in ("DELIVERED", "UNDELIVERABLE", "RETURNED"):
        # A customer return's stage: the package reached the customer before it.
        return (f"Amazon reports {tracking.status} (a customer return under way), so the "
                "package reached the customer")
    if event is None:
        return tracking.status_description or tracking.status
    place = ", ".join(part for part in (event.city, event.state, event.country) if part)
    text = event.description or tracking.status_description or tracking.status
    return f"{text} ({place})" if place else text


def _tracking_of(package: Package) -> str:
    return " ".join(part for part in (package.carrier, package.tracking_number) if part) \
        or "no tracking number"


def push_milestones(ledger: Ledger, cart: CartAdapter, storefront: StorefrontConfig,
                    result: DeliveryResult) -> None:
    """Write each final milestone to the shop once. A milestone is marked written in the
    transaction that held its row during the write; if that commit is lost, the
    adapter's own check (the shop already shows it) keeps the replay from adding it
    twice."""
    while True:
        with ledger.transaction() as session:
            batch = deliveries.claim_unpushed(ledger, session, storefront.name, PUSH_BATCH)
            for row, package, order in batch:
                update = DeliveryUpdate(
                    package=shipment_of(package),
                    milestone=Milestone(row.milestone),
                    happened_at=row.happened_at or session_now(session),
                    detail=row.detail,
                )
                try:
                    written = cart.push_delivery(CartOrder.from_snapshot(order.snapshot), update)
                except NeedsAttentionError as refused:
                    # The shop will not take it; the order is shipped all the same.
                    row.push_error = refused.message
                    result.refused += 1
                    repo.record_event(session, row.storefront, order.id, "delivery_refused",
                                      message=f"the shop refused the milestone {row.milestone} "
                                              f"of package {package.package_number}: "
                                              f"{refused.message}")
                    continue
                row.pushed_at = session_now(session)
                if written:
                    result.written += 1
                else:
                    result.already_there += 1
                repo.record_event(
                    session, row.storefront, order.id,
                    "delivery_written" if written else "delivery_already_in_cart",
                    message=f"package {package.package_number}: {row.milestone}")
        if len(batch) < PUSH_BATCH:
            return
