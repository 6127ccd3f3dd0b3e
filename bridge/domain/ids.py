"""Deterministic ids for Amazon. The same cart order always gets the same
sellerFulfillmentOrderId, so a retry can never create a second fulfillment order.

Amazon allows 40 characters; bridge uses only A-Z a-z 0-9 - _ because `+` and spaces
are mangled in the GET path (see the models' known issues)."""

from __future__ import annotations

import hashlib
import re

MAX_ORDER_ID = 40
MAX_ITEM_ID = 50
_SAFE = re.compile(r"^[A-Za-z0-9_-]+$")


def _digest(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def seller_fulfillment_order_id(prefix: str, cart_order_id: str) -> str:
    """`<prefix>-<cart id>` when that is short and safe, else `<prefix>-h<hash>`.
    The hashed form carries 24 hex digits (96 bits), plenty against collisions."""
    plain = f"{prefix}-{cart_order_id}"
    if _SAFE.match(cart_order_id) and len(plain) <= MAX_ORDER_ID:
        return plain
    return f"{prefix}-h{_digest(cart_order_id, 24)}"[:MAX_ORDER_ID]


def fulfillment_item_id(cart_line_id: str) -> str:
    if _SAFE.match(cart_line_id) and len(cart_line_id) <= MAX_ITEM_ID:
        return cart_line_id
    return "h" + _digest(cart_line_id, 32)


def is_valid_seller_fulfillment_order_id(value: str) -> bool:
    return bool(_SAFE.match(value)) and len(value) <= MAX_ORDER_ID
