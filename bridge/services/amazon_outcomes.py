"""What Amazon did not ship, told to the shop.

Amazon can end an order bridge did not ask to cancel: Cancelled by itself, Unfulfillable
(no sellable stock) or Invalid; or ship only part of it (CompletePartialled), giving up on
the rest of each item (`cancelledQuantity`, `unfulfillableQuantity`). The status sync
applies these in its transaction and calls here to decide:

- Cancelled / Unfulfillable: per the storefront's `when_amazon_cancels` /
  `when_unfulfillable`, the order is held for a person (needs_attention, a note) or
  cancelled: `cancelled` in the ledger and the shop order cancelled, with a note. Invalid
  is always held: it is about the request (an address, a SKU) a person can fix.
- CompletePartialled: the cart lines not shipped are cancelled in the shop where the
  platform cancels single lines, and a note always names each line shipped and not.

Nothing is refunded: money stays the merchant's decision.

The shop writes are recorded as a `shop_cancels` row in the same transaction and made
after it commits (`write_due`): at once by the status sync, and again by the tracking
flow (which the sweep nudges while any is due) until the shop has them, with a growing
wait between tries. A cancel is idempotent at the shop; a note may at worst be written
twice if the process dies between writing it and recording that. Writes still failing
after a few tries are flagged by the watchdog (`bridge status`) and each failure is in
the order's event log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from sqlalchemy.orm import Session

from bridge.carts.contract import CancelRequest, CartAdapter
from bridge.config import StorefrontConfig
from bridge.domain import fulfillment as amazon
from bridge.domain.fulfillment import FulfillmentOrder
from bridge.domain.ids import fulfillment_item_id
from bridge.domain.model import CartOrder, ShippedLine
from bridge.domain.states import OrderState as S
from bridge.errors import BridgeError, FatalError
from bridge.ledger import repo, shop_cancels
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import Order, ShopCancel, session_now
from bridge.logging import get_logger

log = get_logger("bridge.amazon_outcomes")

HOLD = "hold"
CANCEL_IN_SHOP = "cancel_in_shop"
# Shop writes per run of the flow that retries them.
RETRY_BATCH = 20
# The wait after the first failed try, doubled after each one up to the longest.
FIRST_WAIT = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=1)
# Tries after which a write that keeps failing is flagged for a person (retries go on).
FLAG_AFTER_ATTEMPTS = 3
# A task's time limit ends the task; it is not a failed write.
_NOT_A_WRITE_FAILURE = (SoftTimeLimitExceeded, TimeLimitExceeded)

# Statuses whose application may leave a write for the shop.
TOLD_TO_THE_SHOP = frozenset({amazon.COMPLETE_PARTIALLED, amazon.CANCELLED, amazon.UNFULFILLABLE})
# Why Amazon closed an order unshipped: the attention reason and the words for people.
_CLOSED = {
    amazon.CANCELLED: ("cancelled_at_amazon", "Amazon cancelled the fulfillment order"),
    amazon.UNFULFILLABLE: ("amazon_unfulfillable",
                           "Amazon cannot fulfill the order (no sellable stock for its items)"),
    amazon.INVALID: ("amazon_invalid", "Amazon found the order invalid (address or stock)"),
}


@dataclass(frozen=True)
class OutcomePolicy:
    """The storefront's settings for what Amazon did not ship (hold is today's default)."""

    when_amazon_cancels: str = HOLD
    when_unfulfillable: str = HOLD
    notify_customer: bool = False

    @classmethod
    def of(cls, storefront: StorefrontConfig) -> OutcomePolicy:
        policy = storefront.policy
        return cls(policy.when_amazon_cancels, policy.when_unfulfillable,
                   policy.notify_customer)

    def cancels_in_shop(self, status: str) -> bool:
        if status == amazon.CANCELLED:
            return self.when_amazon_cancels == CANCEL_IN_SHOP
        if status == amazon.UNFULFILLABLE:
            return self.when_unfulfillable == CANCEL_IN_SHOP
        return False  # Invalid: the request needs a person, never a cancel


# ---------------------------------------------------------------- inside the status transaction

def close_unshipped(session: Session, row: Order, status: str, policy: OutcomePolicy) -> str | None:
    """Amazon closed an open order without shipping any of it (not at bridge's asking).
    Held: needs_attention, and the note for the shop is returned (written best effort,
    as every note of the status sync). Cancelled in the shop: the row ends `cancelled`
    and the shop's cancel and note wait in `shop_cancels`; None is returned."""
    reason, message = _CLOSED[status]
    if not policy.cancels_in_shop(status):
        repo.transition(session, row, S.NEEDS_ATTENTION, "needs_attention", message,
                        reason=reason)
        return message
    repo.transition(session, row, S.CANCELLED, "cancelled",
                    f"{message} ({reason}); the shop order is cancelled too, nothing refunded")
    shop_cancels.add(session, row, reason=message, lines=None,
                     notify_customer=policy.notify_customer,
                     note=f"{message}, so none of it ships.", now=session_now(session))
    return None


def partial_shipment(session: Session, row: Order, detail: FulfillmentOrder,
                     policy: OutcomePolicy) -> str:
    """CompletePartialled: record the shop's cancel of the lines Amazon did not ship and
    the note naming what shipped and what did not. Returns the words for the event log."""
    snapshot = CartOrder.from_snapshot(row.snapshot)
    missing = not_shipped_lines(session, row, detail)
    if not missing:
        note = ("Amazon shipped part of the order and cancelled the rest, without saying "
                "which items: compare its shipments with the order.")
        shop_cancels.add(session, row, reason=note, lines=[], notify_customer=False,
                         note=note, now=session_now(session))
        return note
    shipped = _shipped_lines(session, snapshot, row, missing)
    not_shipped = "; ".join(_describe(snapshot, line) for line in missing)
    note = (f"Amazon shipped part of the order. Shipped: "
            f"{'; '.join(_describe(snapshot, line) for line in shipped) or 'nothing'}. "
            f"Not shipped (Amazon cancelled them or found them unfulfillable): {not_shipped}.")
    shop_cancels.add(
        session, row, reason=f"Amazon could not ship {not_shipped}",
        lines=[{"line_id": line.line_id, "sku": line.sku, "quantity": line.quantity}
               for line in missing],
        notify_customer=policy.notify_customer, note=note, now=session_now(session))
    return f"Amazon shipped part of the order; not shipped: {not_shipped}"


def not_shipped_lines(session: Session, row: Order,
                      detail: FulfillmentOrder) -> tuple[ShippedLine, ...]:
    """The cart lines, with the quantity, that Amazon will not ship. A kit's line counts
    the kits its most-short component leaves incomplete; never more than was ordered."""
    ordered = {line["line_id"]: line for line in row.snapshot.get("lines", [])}
    by_item = lines_of_items(session, row)
    short: dict[str, int] = {}
    for item in detail.items:
        if item.not_shipped <= 0:
            continue
        line = by_item.get(item.item_id)
        if line is None or line["line_id"] not in ordered:
            log.warning("unknown_item_not_shipped", order=row.cart_order_id, item=item.item_id)
            continue
        kit_units = max(1, int(line.get("kit_units", 1)))
        kits = -(-item.not_shipped // kit_units)  # one short unit leaves a whole kit short
        line_id = line["line_id"]
        short[line_id] = min(int(ordered[line_id]["quantity"]), max(short.get(line_id, 0), kits))
    return tuple(ShippedLine(line_id, ordered[line_id]["sku"], quantity)
                 for line_id, quantity in short.items())


def lines_of_items(session: Session, row: Order) -> dict[str, dict[str, Any]]:
    """Amazon item id → the cart line it ships (a kit's components all lead to the kit's
    line), from the order's recorded items; plain lines also by their derived id."""
    out = {fulfillment_item_id(line["line_id"]): dict(line)
           for line in row.snapshot.get("lines", [])}
    for item in repo.order_lines(session, row.id):
        if item.item_id:
            out[item.item_id] = {"line_id": item.line_id, "sku": item.cart_sku,
                                 "kit_units": item.kit_units}
    return out


def _shipped_lines(session: Session, snapshot: CartOrder, row: Order,
                   missing: Sequence[ShippedLine]) -> list[ShippedLine]:
    """The lines sent to Amazon (those it has items for), less what it did not ship."""
    sent = {item.line_id for item in repo.order_lines(session, row.id)}
    short = {line.line_id: line.quantity for line in missing}
    out = []
    for line in snapshot.lines:
        # Rows recorded before items were kept: every line Amazon could ship was sent.
        was_sent = line.line_id in sent if sent else line.requires_shipping and bool(line.sku)
        if not was_sent:
            continue
        quantity = line.quantity - short.get(line.line_id, 0)
        if quantity > 0:
            out.append(ShippedLine(line.line_id, line.sku, quantity))
    return out


def _describe(snapshot: CartOrder, line: ShippedLine) -> str:
    titles = {cart_line.line_id: cart_line.title for cart_line in snapshot.lines}
    title = titles.get(line.line_id, "")
    return f"{line.quantity} × {title} (SKU {line.sku})" if title else f"{line.quantity} × {line.sku}"


# ---------------------------------------------------------------- after the commit

@dataclass
class WriteResult:
    written: int = 0
    failed: int = 0


def write_due(ledger: Ledger, cart: CartAdapter, storefront: str, *,
              order_ids: Sequence[int] | None = None, limit: int = RETRY_BATCH) -> WriteResult:
    """Make the shop writes that are due (only those of `order_ids` when given). Each
    write stands alone: a failure is recorded on it (and in the event log) and retried
    later; refused credentials are raised once the others' progress is committed."""
    result = WriteResult()
    refused: FatalError | None = None
    with ledger.transaction() as session:
        now = session_now(session)
        for cancel, order in shop_cancels.claim_due(ledger, session, storefront, now, limit,
                                                    order_ids):
            if refused is not None:
                break
            try:
                _write(cart, cancel, CartOrder.from_snapshot(order.snapshot))
            except _NOT_A_WRITE_FAILURE:
                raise
            except FatalError as exc:
                _failed(session, cancel, exc, now)
                refused = exc
                continue
            except Exception as exc:  # one write's failure must not cost the others
                _failed(session, cancel, exc, now)
                result.failed += 1
                continue
            cancel.done_at = now
            repo.record_event(session, storefront, cancel.order_id, "shop_cancel_written",
                              message=_outcome(cart, cancel))
            result.written += 1
    if refused is not None:
        raise refused
    return result


def _write(cart: CartAdapter, cancel: ShopCancel, order: CartOrder) -> None:
    """Cancel first (once its answer is recorded it is not asked again), then the note,
    which says how the cancel went."""
    if cancel.cancelled_in_shop is None:
        if cancel.lines == []:  # Amazon named no items: nothing to cancel, the note says so
            cancel.cancelled_in_shop = False
        else:
            lines = None if cancel.lines is None else tuple(
                ShippedLine(**line) for line in cancel.lines)
            cancel.cancelled_in_shop = cart.cancel_order(
                order, CancelRequest(cancel.reason, lines, cancel.notify_customer))
    if cart.capabilities.notes:
        cart.add_note(order, f"bridge: {cancel.note} {_outcome(cart, cancel)}".rstrip())


def _outcome(cart: CartAdapter, cancel: ShopCancel) -> str:
    """What became of the cancel in the shop, in the merchant's words."""
    if cancel.lines == []:
        return ""
    if cancel.lines is None:
        return ("The order is cancelled in the shop; nothing was refunded." if cancel.cancelled_in_shop
                else "The shop already shows the order cancelled; nothing was refunded.")
    if cancel.cancelled_in_shop:
        return "Those lines are cancelled in the shop; nothing was refunded."
    if cart.capabilities.cancel_lines:
        return "The shop already shows those lines cancelled; nothing was refunded."
    return ("This shop cannot cancel single lines: those lines stay open here; "
            "cancel or refund them by hand.")


def _failed(session: Session, cancel: ShopCancel, exc: BaseException, now: datetime) -> None:
    cancel.attempts += 1
    # bridge's own errors never carry a secret; of anything else only its kind is kept.
    cancel.last_error = str(exc) if isinstance(exc, BridgeError) else f"unexpected {type(exc).__name__}"
    wait = min(LONGEST_WAIT, FIRST_WAIT * 2 ** (cancel.attempts - 1))
    cancel.next_try_at = now + wait
    what = "the cancel" if cancel.cancelled_in_shop is None else "the note"
    log.warning("shop_cancel_not_written", order_id=cancel.order_id, error=cancel.last_error,
                attempts=cancel.attempts)
    repo.record_event(
        session, cancel.storefront, cancel.order_id, "shop_cancel_failed",
        message=(f"the shop did not take {what} of what Amazon did not ship "
                 f"(try {cancel.attempts}: {cancel.last_error}); trying again from "
                 f"{cancel.next_try_at.isoformat(timespec='seconds')}"))


# ---------------------------------------------------------------- for the sweep and watchdog

def storefronts_with_due_writes(session: Session, now: datetime) -> set[str]:
    return shop_cancels.storefronts_with_due(session, now)


def failing_writes(session: Session, storefront: str) -> list[tuple[int, str, str]]:
    """(order id, number, message) of the writes still failing after a few tries."""
    return [
        (cancel.order_id, number,
         f"the shop has not taken what Amazon did not ship after {cancel.attempts} tries "
         f"(last: {cancel.last_error}); bridge keeps trying")
        for cancel, number in shop_cancels.failing(session, storefront, FLAG_AFTER_ATTEMPTS)
    ]
