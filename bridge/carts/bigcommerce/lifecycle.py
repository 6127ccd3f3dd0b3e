"""What bridge writes to a BigCommerce order about its later life, worded for the
merchant: a delivery milestone on the package's own shipment (its `comments`, which the
control panel shows with the shipment), a cancel reason and customer returns in the
order's staff notes (seen by staff only). The words shared with other shops are
`lifecycle_words`; the shipment comment is BigCommerce's own.

Each text ends with a key in brackets (`[bridge:return:RMA-1:received]`), the stable
marker that tells whether the shop already shows it: a retry after a lost answer, or a
second bridge process, reads the comments or notes first and writes nothing twice."""

from __future__ import annotations

from bridge.carts import lifecycle_words as words
from bridge.carts.contract import CancelRequest, DeliveryUpdate, Milestone, ReturnUpdate
from bridge.domain.model import CartOrder

CANCELLED_STATUS = 5  # GET /v2/order_statuses: 5 Cancelled
SHOP = "BigCommerce"

# The shipment comment's first words: the shipment is what was delivered.
COMMENT_WORDS = {
    Milestone.DELIVERED: "Delivered",
    Milestone.DELIVERY_FAILED: "Could not be delivered",
    Milestone.RETURNED_TO_SENDER: "Returned to Amazon undelivered",
}

# The staff note, when the order no longer has the package's shipment.
delivery_note = words.delivery_note


def delivery_comment(update: DeliveryUpdate) -> str:
    """One line for the shipment's comments: the shipment already names carrier and
    tracking number, so the line says what happened, when, and the carrier's words."""
    detail = f" ({update.detail})" if update.detail else ""
    return (f"{COMMENT_WORDS[update.milestone]} on {words.when(update.happened_at)}{detail}. "
            f"{words.delivery_marker(update)}")


def return_note(order: CartOrder, update: ReturnUpdate) -> str:
    return words.return_note(update, order, refund_in=SHOP)


def cancel_note(order: CartOrder, request: CancelRequest) -> str:
    return words.cancel_note(order, request, refund_in=SHOP)


def appended(text: str, line: str) -> str:
    """`text` (staff notes, shipment comments) with one more line."""
    kept = text.rstrip("\n")
    return f"{kept}\n{line}" if kept else line
