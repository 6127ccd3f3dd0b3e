"""A cart order changed after bridge handed it to Amazon (or may have): decide what the
change means for the fulfillment order and tell the merchant.

While Amazon may still take an edit (the order is `accepted`, or its create is in
flight), a change to the address, the shipping speed or the items is recorded as a
pending edit and the order waits in `update_requested` for `bridge.services.update`,
which sends it with updateFulfillmentOrder outside this (ingest's) transaction. Once
Amazon is picking, the order needs a person (`edit_too_late`); after shipment the shop
is told the edit came too late.

The row's `snapshot` stays the order as Amazon has it; the edited order waits under
`PENDING_EDIT` in the row's saved request (what a create or retry sends ignores it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from bridge.config import StorefrontConfig
from bridge.domain.model import CartOrder
from bridge.domain.states import OrderState as S
from bridge.ledger import repo
from bridge.ledger.tables import Order

# The key of the edited cart order (its snapshot) in the row's saved request.
PENDING_EDIT = "pending_edit"
# Amazon may still take an edit of an order in these states.
EDITABLE_AT_AMAZON = (S.ACCEPTED, S.UPDATE_REQUESTED)
IN_FLIGHT = (S.SUBMITTING, S.SUBMIT_UNKNOWN)
IN_FLIGHT_MESSAGE = ("the order changed in the cart while it was being sent to Amazon; the "
                     "change is sent once Amazon has the order")


def changed_after_submission(session: Session, storefront: StorefrontConfig, row: Order,
                             order: CartOrder, notes: list[tuple[CartOrder, str]]) -> bool:
    """Carts change orders themselves as they are fulfilled (remaining quantities drop,
    statuses move), so only an edit that would change what Amazon ships is acted on.
    Notes for the shop are appended to `notes`. True when an edit now waits to be sent
    to Amazon (the update flow has work)."""
    row.content_hash = order.content_hash()
    sent = CartOrder.from_snapshot(row.snapshot)
    speed_for = storefront.policy.speed_for
    state = S(row.state)
    if state in EDITABLE_AT_AMAZON or state in IN_FLIGHT:
        change = edit_that_matters(sent, order, speed_for)
        if change is None and pending_edit(row) is None:
            repo.record_event(session, row.storefront, row.id, "cart_changed_after_submit",
                              message="the cart updated the order (no change to what ships)")
            return False
        # The latest edit replaces any earlier one still waiting: Amazon gets the cart's
        # order as it is now (an edit back to what Amazon has sends nothing).
        set_pending_edit(row, order)
        described = change or "the order changed back to what Amazon has"
        if state == S.ACCEPTED:
            repo.transition(session, row, S.UPDATE_REQUESTED, "update_requested",
                            f"{described} in the cart; updating Amazon's order")
        elif state == S.UPDATE_REQUESTED:
            repo.record_event(session, row.storefront, row.id, "cart_edited_after_submit",
                              message=f"{described} in the cart; updating Amazon's order")
        elif not repo.has_event(session, row.id, "cart_edited_in_flight", IN_FLIGHT_MESSAGE):
            repo.record_event(session, row.storefront, row.id, "cart_edited_in_flight",
                              message=IN_FLIGHT_MESSAGE)
        return True
    change = edit_that_matters(sent, order, speed_for)
    if change is None:
        repo.record_event(session, row.storefront, row.id, "cart_changed_after_submit",
                          message="the cart updated the order (no change to what ships)")
        return False
    if state == S.PROCESSING:
        message = (f"{change} in the cart after Amazon started picking the order; Amazon "
                   "no longer takes changes, so it ships as first sent: cancel and re-order, "
                   "or arrange the change with the customer")
        repo.transition(session, row, S.NEEDS_ATTENTION, "needs_attention", message,
                        reason="edit_too_late")
        notes.append((order, message))
        return False
    message = (f"{change} in the cart after the order was sent to Amazon; the fulfillment "
               "order was not changed: change it in Seller Central or cancel and re-order")
    if not repo.has_event(session, row.id, "cart_edited_after_submit", message):
        repo.record_event(session, row.storefront, row.id, "cart_edited_after_submit",
                          message=message)
        notes.append((order, message))
    return False


def pending_edit(row: Order) -> CartOrder | None:
    """The edited cart order waiting to be sent to Amazon, if any."""
    data = (row.request or {}).get(PENDING_EDIT)
    return CartOrder.from_snapshot(data) if isinstance(data, dict) else None


def set_pending_edit(row: Order, order: CartOrder | None) -> None:
    """A new dict each time: the JSON column notices only a new value."""
    request: dict[str, Any] = {key: value for key, value in (row.request or {}).items()
                               if key != PENDING_EDIT}
    if order is not None:
        request[PENDING_EDIT] = order.snapshot()
    row.request = request


def _units(order: CartOrder) -> dict[str, int]:
    units: dict[str, int] = {}
    for line in order.shippable_lines:
        units[line.sku] = units.get(line.sku, 0) + line.quantity
    return units


def _address_or_speed(sent: CartOrder, now: CartOrder,
                      speed_for: Callable[[str], str]) -> str | None:
    if now.address is not None and sent.address is not None and now.address != sent.address:
        return "the shipping address changed"
    if speed_for(now.shipping_method) != speed_for(sent.shipping_method):
        return (f"the shipping speed changed ({speed_for(sent.shipping_method)} → "
                f"{speed_for(now.shipping_method)})")
    return None


def edit_that_matters(sent: CartOrder, now: CartOrder,
                      speed_for: Callable[[str], str] | None = None) -> str | None:
    """What changed between the order as sent and the cart's order now that Amazon's
    shipment would not follow: a new address or speed, or more of an item. Fewer units
    left to ship is what fulfilment itself does (a line fulfilled or refunded in the
    shop looks the same), and is not an edit: Amazon's quantities are never lowered."""
    change = _address_or_speed(sent, now, speed_for or (lambda method: method))
    if change is not None:
        return change
    sent_units, now_units = _units(sent), _units(now)
    added = sorted(sku for sku, units in now_units.items() if units > sent_units.get(sku, 0))
    if added:
        return "items were added (" + ", ".join(added) + ")"
    return None
