"""The order's note, the one free text a merchant sees on a Shopify order page that an
app can write: read it whole, append a line. `orderUpdate` replaces the whole note, so
every append reads the note first and keeps what is there."""

from __future__ import annotations

from collections.abc import Callable

from bridge.carts.shopify import queries as q
from bridge.carts.shopify.client import ShopifyHttp, mutation_payload, user_errors
from bridge.domain.model import CartOrder
from bridge.errors import MalformedAnswer

NOTE_SEPARATOR = "\n"


def read_note(http: ShopifyHttp, order: CartOrder) -> str:
    data = http.graphql(q.ORDER_NOTE, {"id": order.order_id}, cost=q.ORDER_NOTE_COST)
    found = data.get("order") if isinstance(data, dict) else None
    current = found.get("note") if isinstance(found, dict) else None
    if current is not None and not isinstance(current, str):
        raise MalformedAnswer(f"Shopify answered the note of order {order.number} "
                              "with something other than text")
    return (current or "").rstrip()


def append_line(http: ShopifyHttp, order: CartOrder, text: str,
                present: Callable[[list[str]], bool]) -> bool:
    """Append `text` as a line of the order's note unless `present(lines)` finds it
    there already; True when written now."""
    current = read_note(http, order)
    if present(current.split(NOTE_SEPARATOR) if current else []):
        return False
    note = f"{current}{NOTE_SEPARATOR}{text}" if current else text
    data = http.graphql(q.ORDER_NOTE_UPDATE, {"input": {"id": order.order_id, "note": note}},
                        cost=q.MUTATION_COST, write=True)
    what = f"the note on order {order.number}"
    user_errors(what, mutation_payload(data, "orderUpdate", what)["userErrors"])
    return True
