"""The order notes bridge writes to a WooCommerce order about its later life: Amazon
cancelled it, where a package ended up, a customer return. WooCommerce has no delivery
events, no return records and no line cancels of its own, so each is a private order
note worded for the merchant (the words are `lifecycle_words`).

Every note ends with a key in brackets (`[bridge:delivery:1Z…:delivered]`): the stable
marker that tells whether the shop already shows it, so a retry after a lost answer or a
second bridge process reads the notes and writes nothing twice."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bridge.carts import lifecycle_words as words
from bridge.carts.contract import CancelRequest, ReturnUpdate
from bridge.domain.model import CartOrder

SHOP = "WooCommerce"

delivery_note = words.delivery_note


def return_note(order: CartOrder, update: ReturnUpdate) -> str:
    return words.return_note(update, order, refund_in=SHOP)


def cancel_note(order: CartOrder, request: CancelRequest) -> str:
    """The reason, for the merchant (private) or also the customer (a customer note, which
    WooCommerce e-mails): then it says nothing about refunds."""
    if request.notify_customer:
        return words.cancelled(request.reason)
    return words.cancel_note(order, request, refund_in=SHOP)


def cancel_marker(order: CartOrder, request: CancelRequest) -> str:
    """What shows the cancel note is there: its key, or the customer's whole text (a
    note the customer reads carries no key)."""
    return cancel_note(order, request) if request.notify_customer else words.cancel_marker(order)


def shows(notes: Iterable[Mapping[str, Any]], marker: str) -> bool:
    """Whether any of the order's notes (`GET /orders/<id>/notes`) carries this marker or text."""
    return any(isinstance(note.get("note"), str) and marker in note["note"] for note in notes)
