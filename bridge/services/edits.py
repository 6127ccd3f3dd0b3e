"""A cart order changed after bridge handed it to Amazon (or may have): decide what the
change means for the fulfillment order and tell the merchant."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bridge.config import StorefrontConfig
from bridge.domain.model import CartOrder
from bridge.ledger import repo
from bridge.ledger.tables import Order


def changed_after_submission(session: Session, storefront: StorefrontConfig, row: Order,
                             order: CartOrder, notes: list[tuple[CartOrder, str]]) -> None:
    """Carts change orders themselves as they are fulfilled (remaining quantities drop,
    statuses move), so only an edit that would change what Amazon ships is worth telling
    the merchant. Notes for the shop are appended to `notes`."""
    row.content_hash = order.content_hash()
    change = edit_that_matters(CartOrder.from_snapshot(row.snapshot), order)
    if change is None:
        repo.record_event(session, row.storefront, row.id, "cart_changed_after_submit",
                          message="the cart updated the order (no change to what ships)")
        return
    message = (f"{change} in the cart after the order was sent to Amazon; the fulfillment "
               "order was not changed: change it in Seller Central or cancel and re-order")
    if not repo.has_event(session, row.id, "cart_edited_after_submit", message):
        repo.record_event(session, row.storefront, row.id, "cart_edited_after_submit",
                          message=message)
        notes.append((order, message))


def edit_that_matters(sent: CartOrder, now: CartOrder) -> str | None:
    """What changed between the order as sent and the cart's order now that Amazon's
    shipment would not follow: a new address, or more of an item. Fewer units left to
    ship is what fulfilment itself does, and is not an edit."""
    if now.address is not None and sent.address is not None and now.address != sent.address:
        return "the shipping address changed"
    sent_units: dict[str, int] = {}
    for line in sent.shippable_lines:
        sent_units[line.sku] = sent_units.get(line.sku, 0) + line.quantity
    now_units: dict[str, int] = {}
    for line in now.shippable_lines:
        now_units[line.sku] = now_units.get(line.sku, 0) + line.quantity
    added = sorted(sku for sku, units in now_units.items() if units > sent_units.get(sku, 0))
    if added:
        return "items were added (" + ", ".join(added) + ")"
    return None
