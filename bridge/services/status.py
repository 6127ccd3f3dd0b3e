"""Following orders at Amazon: read what changed since the last sync, apply each
order's status to its ledger row and record every shipped package.

The cursor is kept on Amazon's clock (the newest `statusUpdatedDate` seen), so a skew
between bridge's clock and Amazon's can neither skip changes nor re-read forever.

Following costs about one getFulfillmentOrder per shipped order, the same quota as
creating it: most moves (Received → Planning → Processing) carry nothing the listing
does not already say, so they are applied from the listing alone, a page of them per
transaction. An order is read whole only when it moves to a status that brings packages
or ends it (`READ_WHOLE`), once per such move. Packages Amazon ships while the order
is still Processing are recorded when it completes (or by `reconcile_open`).

One sync per storefront runs at a time (a lease, like the order poll's), and a run does
a bounded amount of work: it stops after `max_orders` changes or `max_seconds`, with the
cursor at the last change it applied, and reports `more` so the next run carries on."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from bridge.carts.contract import CartAdapter
from bridge.config import StorefrontConfig
from bridge.domain import fulfillment as amazon
from bridge.domain.fulfillment import FulfillmentOrder, OrderChange, ShippedPackage
from bridge.domain.model import CartOrder
from bridge.domain.states import AT_AMAZON_OPEN
from bridge.domain.states import OrderState as S
from bridge.fba.port import FulfillmentNetwork
from bridge.fba.priority import Priority, call_priority
from bridge.ledger import packages as packages_of_orders
from bridge.ledger import repo
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import Order
from bridge.logging import get_logger
from bridge.services import amazon_outcomes
from bridge.services.amazon_outcomes import OutcomePolicy
from bridge.services.common import tell_merchant, tell_merchant_each

log = get_logger("bridge.status")

FLOW = "status"
# Re-read this much before the cursor: Amazon's list is not promised to be in order.
OVERLAP = timedelta(minutes=5)
LEASE_SECONDS = repo.LEASE_SECONDS
# A run's bounds: then it yields the worker and the next run carries on.
MAX_ORDERS = 200
MAX_SECONDS = 60.0
# Changes applied from the listing alone, per transaction.
LIST_PAGE = 100
# Statuses that bring packages or end the order: only these are worth a getFulfillmentOrder.
READ_WHOLE = frozenset({*amazon.SHIPPED, *amazon.CLOSED_UNSHIPPED})


@dataclass
class StatusResult:
    listed: int = 0
    updated: int = 0
    packages: int = 0
    read: int = 0          # orders read whole (getFulfillmentOrder)
    skipped: bool = False  # another sync of this storefront was running
    more: bool = False     # stopped at its bounds with changes left for the next run


def sync_status(
    ledger: Ledger,
    fba: FulfillmentNetwork,
    cart: CartAdapter | None,
    storefront: StorefrontConfig,
    *,
    now: Callable[[], datetime] | None = None,
    max_orders: int = MAX_ORDERS,
    max_seconds: float = MAX_SECONDS,
    monotonic: Callable[[], float] = time.monotonic,
) -> StatusResult:
    """One bounded sync. A second one started meanwhile returns at once with `skipped`."""
    now = now or ledger.clock
    with call_priority(Priority.STATUS), \
            repo.lease(ledger, f"{storefront.name}:{FLOW}", LEASE_SECONDS) as held:
        if not held:
            return StatusResult(skipped=True)
        try:
            return _sync(ledger, fba, cart, storefront, now, held,
                         _Budget(max_orders, max_seconds, monotonic),
                         OutcomePolicy.of(storefront))
        except repo.LeaseLost:
            # Another sync has taken over; what was committed stands, the rest is its.
            log.warning("status_lease_lost", storefront=storefront.name)
            return StatusResult(skipped=True)


class _Budget:
    """How much one run may still do, on an injectable monotonic clock."""

    def __init__(self, orders: int, seconds: float, monotonic: Callable[[], float]) -> None:
        self.orders, self.seconds, self.monotonic = orders, seconds, monotonic
        self.started = monotonic()
        self.spent = 0

    def spend(self) -> bool:
        """Take one change; False when the run is out of orders or time."""
        if self.spent >= self.orders or self.monotonic() - self.started >= self.seconds:
            return False
        self.spent += 1
        return True


def _sync(ledger: Ledger, fba: FulfillmentNetwork, cart: CartAdapter | None,
          storefront: StorefrontConfig, now: Callable[[], datetime], held: repo.HeldLease,
          budget: _Budget, outcomes: OutcomePolicy) -> StatusResult:
    result = StatusResult()
    with ledger.transaction() as session:
        if repo.is_paused(session, storefront.name):
            return result
        cursor = repo.get_cursor(session, storefront.name, FLOW)
        start = (cursor.position - OVERLAP) if cursor else now() - timedelta(
            hours=storefront.poll.initial_lookback_hours)
        tracked = repo.amazon_statuses_followed(session, storefront.name)
    listing = fba.changed_orders(start)
    result.listed = len(listing.orders)
    # Oldest change first, so stopping early leaves only changes newer than the cursor.
    changes = sorted((change for change in listing.orders
                      if change.seller_fulfillment_order_id in tracked
                      and change.status != tracked[change.seller_fulfillment_order_id]),
                     key=_change_order)
    done = 0
    pending: list[OrderChange] = []
    for change in changes:
        if not budget.spend():
            result.more = True
            break
        if change.status in READ_WHOLE:
            _apply_listed(ledger, cart, pending, result, held, outcomes)
            result.read += 1
            if refresh_order(ledger, fba, cart, change.seller_fulfillment_order_id, result,
                             held=held, outcomes=outcomes):
                result.updated += 1
        else:
            pending.append(change)
            if len(pending) >= LIST_PAGE:
                _apply_listed(ledger, cart, pending, result, held, outcomes)
        done += 1
    _apply_listed(ledger, cart, pending, result, held, outcomes)

    reached = cursor.position if cursor else None
    if result.more:
        # Only as far as what was applied: the next run re-lists from there (minus the
        # overlap), and what it finds already applied is no longer a change.
        applied = [c.status_updated_at for c in changes[:done] if c.status_updated_at]
        newest = max(filter(None, (*applied[-1:], reached)), default=None)
    else:
        newest = max(filter(None, (listing.newest_update, reached)), default=None)
    with ledger.transaction() as session:
        held.confirm(session)
        if newest is not None:
            repo.set_cursor(session, storefront.name, FLOW, newest)
    return result


def _change_order(change: OrderChange) -> tuple[bool, datetime, str]:
    # A change without a time sorts first (it cannot move the cursor anyway).
    at = change.status_updated_at
    return (at is not None, at or datetime.min, change.seller_fulfillment_order_id)


def _apply_listed(ledger: Ledger, cart: CartAdapter | None, changes: list[OrderChange],
                  result: StatusResult, held: repo.HeldLease, outcomes: OutcomePolicy) -> None:
    """Moves that carry nothing but the status, applied from the listing, in one
    transaction: the same rules as an order read whole, without packages."""
    if not changes:
        return
    notes: list[tuple[CartOrder, str, str]] = []
    with ledger.transaction() as session:
        held.confirm(session)
        for change in changes:
            row = repo.lock_by_fulfillment_id(session, change.seller_fulfillment_order_id)
            if row is None:
                continue
            listed = FulfillmentOrder(change.seller_fulfillment_order_id, change.status,
                                      change.status_updated_at)
            said: list[tuple[CartOrder, str]] = []
            if apply_fulfillment_order(session, row, listed, result, said, outcomes):
                result.updated += 1
            notes += [(order, text, row.storefront) for order, text in said]
    changes.clear()
    # None of the moves that come here notes the shop today; the rule lives in one place.
    if cart is not None:
        for order, text, storefront in notes:
            tell_merchant(cart, order, text, ledger=ledger, storefront=storefront)


def reconcile_open(ledger: Ledger, fba: FulfillmentNetwork, cart: CartAdapter | None,
                   storefront: StorefrontConfig,
                   older_than: datetime, limit: int = 50) -> int:
    """Read back open orders that have not changed for a while: the safety net for a
    change the list missed."""
    with ledger.transaction() as session:
        ids = repo.unchanged_followed(session, storefront.name, older_than, limit)
    result = StatusResult()
    outcomes = OutcomePolicy.of(storefront)
    with call_priority(Priority.STATUS):
        for sfo_id in ids:
            refresh_order(ledger, fba, cart, sfo_id, result, outcomes=outcomes)
    return len(ids)


def refresh_order(ledger: Ledger, fba: FulfillmentNetwork, cart: CartAdapter | None, sfo_id: str,
                  result: StatusResult, *, held: repo.HeldLease | None = None,
                  outcomes: OutcomePolicy | None = None) -> bool:
    """Read one order whole and apply it; under `held`, only while the lease is ours.
    What Amazon did not ship is written to the shop once the transaction has committed
    (and retried by the tracking flow if the shop does not take it now)."""
    detail = fba.fulfillment_order(sfo_id)
    if detail is None:
        return False
    notes: list[tuple[CartOrder, str]] = []
    with ledger.transaction() as session:
        if held is not None:
            held.confirm(session)
        row = repo.lock_by_fulfillment_id(session, sfo_id)
        if row is None:
            return False
        changed = apply_fulfillment_order(session, row, detail, result, notes,
                                          outcomes or OutcomePolicy())
        order_id, storefront = row.id, row.storefront
    tell_after_apply(ledger, cart, storefront, order_id, notes, detail.status if changed else "")
    return changed


def tell_after_apply(ledger: Ledger, cart: CartAdapter | None, storefront: str, order_id: int,
                     notes: list[tuple[CartOrder, str]], amazon_status: str) -> None:
    """Once an applied read-back has committed: its notes to the shop, then, when Amazon
    moved the order to `amazon_status` ("": it did not move), what Amazon did not ship
    (retried by the tracking flow if the shop does not take it now)."""
    if cart is None:
        return
    tell_merchant_each(cart, notes, ledger=ledger, storefront=storefront)
    if amazon_status in amazon_outcomes.TOLD_TO_THE_SHOP:
        amazon_outcomes.write_due(ledger, cart, storefront, order_ids=[order_id])


def apply_fulfillment_order(
    session: Session, row: Order, detail: FulfillmentOrder, result: StatusResult,
    notes: list[tuple[CartOrder, str]], outcomes: OutcomePolicy,
) -> bool:
    """Bring one ledger row in line with Amazon's view of its fulfillment order. What
    Amazon did not ship is amazon_outcomes.py's to decide (hold, or tell the shop)."""
    status = detail.status
    before = (row.state, row.amazon_status)
    row.amazon_status = status
    result.packages += _record_packages(session, row, detail.packages)
    state = S(row.state)
    snapshot = CartOrder.from_snapshot(row.snapshot)

    if status == amazon.PROCESSING and state == S.ACCEPTED:
        repo.transition(session, row, S.PROCESSING, "processing", "Amazon started picking")
    elif status in amazon.SHIPPED and state in (
        S.ACCEPTED, S.PROCESSING, S.CANCEL_REQUESTED,
    ):
        message = "Amazon shipped the order"
        if status == amazon.COMPLETE_PARTIALLED:
            message = amazon_outcomes.partial_shipment(session, row, detail, outcomes)
        repo.transition(session, row, S.SHIPPED, "shipped", message)
    elif status == amazon.CANCELLED and state == S.CANCEL_REQUESTED:
        repo.transition(session, row, S.CANCELLED, "cancelled", "cancelled at Amazon")
    elif status in amazon.CLOSED_UNSHIPPED and state in AT_AMAZON_OPEN:
        held_note = amazon_outcomes.close_unshipped(session, row, status, outcomes)
        if held_note is not None:
            notes.append((snapshot, held_note))
    return before != (row.state, row.amazon_status)


def _dedupe_kit_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per cart line in a package: a kit shipped as several components is
    one line of the cart, counted as the most kits any component completes."""
    merged: dict[str, dict[str, Any]] = {}
    for line in lines:
        seen = merged.get(line["line_id"])
        if seen is None or line["quantity"] > seen["quantity"]:
            merged[line["line_id"]] = line
    return list(merged.values())


def _record_packages(session: Session, row: Order, packages: tuple[ShippedPackage, ...]) -> int:
    """One Package row per shipped package, keyed (order, packageNumber): replays add nothing."""
    if not packages:
        return 0
    item_to_line = amazon_outcomes.lines_of_items(session, row)
    existing = packages_of_orders.package_numbers(session, row.id)
    added = 0
    for package in packages:
        number = package.package_number
        if number in existing:
            continue
        lines = []
        for item in package.items:
            line = item_to_line.get(item.item_id, {})
            kit_units = line.get("kit_units", 1)
            lines.append({
                "line_id": line.get("line_id", item.item_id),
                "sku": line.get("sku", item.seller_sku),
                # A kit's component counts as the kits it completes (at least one).
                "quantity": item.quantity if kit_units == 1 else max(1, item.quantity // kit_units),
            })
        packages_of_orders.add_package(
            session, row.id,
            amazon_shipment_id=package.shipment_id,
            package_number=number,
            carrier=package.carrier,
            tracking_number=package.tracking_number,
            shipped_at=package.shipped_at,
            lines=_dedupe_kit_lines(lines),
        )
        existing.add(number)
        added += 1
        repo.record_event(session, row.storefront, row.id, "package_shipped",
                          message=f"package {number}: {package.carrier} {package.tracking_number}")
    return added
