"""Magento's side of the order lifecycle: why Magento will not cancel an order, and the
order comments bridge writes for cancels, delivery milestones and returns.

Magento's REST API has no delivery events, no line cancels and no return objects that an
outside fulfiller can write (RMA is an Adobe Commerce feature for returns the store
handles itself), so milestones and returns are order comments. Each comment ends with an
event key in brackets; before writing, the adapter reads the order's status histories
for that key, so a retry after a lost answer writes nothing. The keys and words are
`lifecycle_words`, shared with the other shops."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.carts import lifecycle_words as words
from bridge.carts.magento.mapping import as_number


def cannot_cancel_because(order: Mapping[str, Any]) -> str:
    """Why `Order::canCancel()` says no, in a merchant's words (after Magento's checks:
    held, under payment review, complete or closed, or nothing left to invoice)."""
    state = str(order.get("state") or "").lower()
    if state == "holded":
        return "it is on hold in Magento; release the hold first"
    if state == "payment_review":
        return "its payment is under review in Magento"
    if state in ("complete", "closed"):
        return f"it is {state} in Magento"
    rows = [row for row in order.get("items") or [] if isinstance(row, Mapping)
            and row.get("parent_item_id") is None]
    to_invoice = [row for row in rows if as_number(row.get("qty_ordered"))
                  - as_number(row.get("qty_invoiced")) - as_number(row.get("qty_canceled")) > 0]
    if rows and not to_invoice:
        return ("it is invoiced: Magento closes an invoiced order only with a credit memo "
                "(a refund), which bridge never issues")
    return f"Magento refused the cancel (state {state or 'unknown'})"


def is_cancelled(order: Mapping[str, Any]) -> bool:
    return str(order.get("state") or "").lower() == "canceled"


def has_event(order: Mapping[str, Any], key: str) -> bool:
    """The order's status histories already hold a comment with this event key."""
    marker = words.bracketed(key)
    return any(isinstance(history, Mapping) and marker in str(history.get("comment") or "")
               for history in order.get("status_histories") or [])


# The comments' words are the shared ones, by the adapter's names.
with_key = words.with_key
delivery_comment = words.delivery_sentence
return_comment = words.return_sentence
cancel_comment = words.cancel_sentence
