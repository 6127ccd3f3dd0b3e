"""Following orders at Amazon: read what changed since the last sync, apply each
order's status to its ledger row and record every shipped package.

The cursor is kept on Amazon's clock (the newest `statusUpdatedDate` seen), so a skew
between bridge's clock and Amazon's can neither skip changes nor re-read forever."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from bridge.carts.contract import CartAdapter
from bridge.config import StorefrontConfig
from bridge.domain import fulfillment as amazon
from bridge.domain.fulfillment import FulfillmentOrder, ShippedPackage
from bridge.domain.ids import fulfillment_item_id
from bridge.domain.model import CartOrder
from bridge.domain.states import AT_AMAZON_OPEN
from bridge.domain.states import OrderState as S
from bridge.fba.port import FulfillmentNetwork
from bridge.ledger import packages as packages_of_orders
from bridge.ledger import repo
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import Order
from bridge.services.common import tell_merchant

FLOW = "status"
# Re-read this much before the cursor: Amazon's list is not promised to be in order.
OVERLAP = timedelta(minutes=5)


@dataclass
class StatusResult:
    listed: int = 0
    updated: int = 0
    packages: int = 0


def sync_status(
    ledger: Ledger,
    fba: FulfillmentNetwork,
    cart: CartAdapter | None,
    storefront: StorefrontConfig,
    *,
    now: Callable[[], datetime] | None = None,
) -> StatusResult:
    now = now or ledger.clock
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
    newest = max(filter(None, (listing.newest_update, cursor.position if cursor else None)),
                 default=None)
    changed = [change.seller_fulfillment_order_id for change in listing.orders
               if change.seller_fulfillment_order_id in tracked
               and change.status != tracked[change.seller_fulfillment_order_id]]
    for sfo_id in changed:
        if refresh_order(ledger, fba, cart, sfo_id, result):
            result.updated += 1
    with ledger.transaction() as session:
        if newest is not None:
            repo.set_cursor(session, storefront.name, FLOW, newest)
    return result


def reconcile_open(ledger: Ledger, fba: FulfillmentNetwork, cart: CartAdapter | None,
                   storefront: StorefrontConfig,
                   older_than: datetime, limit: int = 50) -> int:
    """Read back open orders that have not changed for a while: the safety net for a
    change the list missed."""
    with ledger.transaction() as session:
        ids = repo.unchanged_followed(session, storefront.name, older_than, limit)
    result = StatusResult()
    for sfo_id in ids:
        refresh_order(ledger, fba, cart, sfo_id, result)
    return len(ids)


def refresh_order(ledger: Ledger, fba: FulfillmentNetwork, cart: CartAdapter | None, sfo_id: str,
                  result: StatusResult) -> bool:
    detail = fba.fulfillment_order(sfo_id)
    if detail is None:
        return False
    notes: list[tuple[CartOrder, str]] = []
    with ledger.transaction() as session:
        row = repo.lock_by_fulfillment_id(session, sfo_id)
        if row is None:
            return False
        changed = apply_fulfillment_order(session, row, detail, result, notes)
    if cart is not None:
        for order, text in notes:
            tell_merchant(cart, order, text, ledger=ledger, storefront=row.storefront)
    return changed


def apply_fulfillment_order(
    session: Session, row: Order, detail: FulfillmentOrder, result: StatusResult,
    notes: list[tuple[CartOrder, str]],
) -> bool:
    """Bring one ledger row in line with Amazon's view of its fulfillment order."""
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
            message = "Amazon shipped part of the order and cancelled the rest"
            notes.append((snapshot, message))
        repo.transition(session, row, S.SHIPPED, "shipped", message)
    elif status == amazon.CANCELLED and state in AT_AMAZON_OPEN:
        if state == S.CANCEL_REQUESTED:
            repo.transition(session, row, S.CANCELLED, "cancelled", "cancelled at Amazon")
        else:
            message = "Amazon cancelled the fulfillment order"
            repo.transition(session, row, S.NEEDS_ATTENTION, "needs_attention", message,
                            reason="cancelled_at_amazon")
            notes.append((snapshot, message))
    elif status in (amazon.UNFULFILLABLE, amazon.INVALID) and state in AT_AMAZON_OPEN:
        message = (
            "Amazon cannot fulfill the order (no sellable stock for its items)"
            if status == amazon.UNFULFILLABLE
            else "Amazon found the order invalid (address or stock)"
        )
        repo.transition(session, row, S.NEEDS_ATTENTION, "needs_attention", message,
                        reason=f"amazon_{status.lower()}")
        notes.append((snapshot, message))
    return before != (row.state, row.amazon_status)


def _items_to_lines(session: Session, row: Order) -> dict[str, dict[str, Any]]:
    """Amazon item id → the cart line it ships (a kit's components all lead to the kit's
    line), from the order's recorded items; plain lines also by their derived id."""
    out = {fulfillment_item_id(line["line_id"]): dict(line)
           for line in row.snapshot.get("lines", [])}
    for item in repo.order_lines(session, row.id):
        if item.item_id:
            out[item.item_id] = {"line_id": item.line_id, "sku": item.cart_sku,
                                 "kit_units": item.kit_units}
    return out


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
    item_to_line = _items_to_lines(session, row)
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
