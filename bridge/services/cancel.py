"""Cancellations from the cart: cancel at Amazon while it still can be (before
Processing); after that, the order needs a person ("too late to cancel") and the cart
gets a note saying so."""

from __future__ import annotations

from dataclasses import dataclass

from bridge.carts.contract import CartAdapter
from bridge.config import StorefrontConfig
from bridge.domain import fulfillment as amazon
from bridge.domain.fulfillment import CancelVerdict
from bridge.domain.model import CartOrder
from bridge.domain.states import OrderState as S
from bridge.fba.port import FulfillmentNetwork
from bridge.fba.priority import Priority, call_priority
from bridge.ledger import repo
from bridge.ledger.repo import Ledger
from bridge.services.common import tell_merchant


@dataclass
class CancelResult:
    cancelled: int = 0
    too_late: int = 0


@call_priority(Priority.CANCEL)  # second in the rate budget, after creates
def process_cancellations(ledger: Ledger, fba: FulfillmentNetwork, cart: CartAdapter | None,
                          storefront: StorefrontConfig, limit: int = 25) -> CancelResult:
    result = CancelResult()
    with ledger.transaction() as session:
        if repo.is_paused(session, storefront.name):
            return result
        rows = repo.claim_orders(ledger, session, storefront.name, [S.CANCEL_REQUESTED], limit)
        work = [(row.id, row.seller_fulfillment_order_id) for row in rows]
    for order_id, sfo_id in work:
        # An order never given a fulfillment order id cannot be at Amazon.
        detail = fba.fulfillment_order(sfo_id) if sfo_id else None
        status = (detail.status or None) if detail else None
        refused = ""
        if sfo_id and status in amazon.CANCELLABLE:
            outcome = fba.cancel_order(sfo_id)
            if outcome.verdict == CancelVerdict.NOT_FOUND:
                continue  # gone between the read and the cancel: the next run reads again
            if outcome.verdict == CancelVerdict.CANCELLED:
                if _finish(ledger, order_id, "cancelled at Amazon on the cart's request"):
                    result.cancelled += 1
                continue
            refused = outcome.reason  # Amazon moved on between the read and the cancel
        if status in (None, *amazon.CLOSED_UNSHIPPED) and not refused:
            why = {None: "not at Amazon", amazon.CANCELLED: "already cancelled at Amazon"}.get(
                status, f"Amazon will not ship it ({status})")
            if _finish(ledger, order_id, why):
                result.cancelled += 1
            continue
        message = f"too late to cancel: Amazon's order is {status or 'past cancelling'}"
        if refused:
            message += f" ({refused})"
        with ledger.transaction() as session:
            row = repo.existing_order(session, order_id, lock=True)
            if row.state != S.CANCEL_REQUESTED:
                continue  # settled meanwhile by another worker or the status sync
            if status:
                row.amazon_status = status
            repo.transition(session, row, S.NEEDS_ATTENTION, "needs_attention", message,
                            reason="too_late_to_cancel")
            snapshot = row.snapshot
        result.too_late += 1
        if cart is not None:
            tell_merchant(cart, CartOrder.from_snapshot(snapshot),
                          message + "; it will ship, so arrange a return or refund",
                          ledger=ledger, storefront=storefront.name)
    return result


def _finish(ledger: Ledger, order_id: int, message: str) -> bool:
    """Cancelled, unless the row was settled meanwhile. The claim's lock ends before the
    SP-API calls, so a second worker (or the status sync) may have got here first: the
    row is locked and its state checked again instead of written over."""
    with ledger.transaction() as session:
        row = repo.existing_order(session, order_id, lock=True)
        if row.state != S.CANCEL_REQUESTED:
            return False
        repo.transition(session, row, S.CANCELLED, "cancelled", message)
        return True
