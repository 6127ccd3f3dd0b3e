"""Reading Magento orders: the search criteria of an incremental poll, the page token,
and the translation of a `sales-data-order-interface` payload into a `CartOrder`.

Line decisions (see `Magento\\Sales\\Model\\Order\\ShipmentFactory`):
- A configurable product is two rows: the parent (`product_type` configurable, the row
  Magento ships and counts quantities on) and its child (`parent_item_id` set, the
  simple product whose SKU the warehouse knows). bridge makes one line of the pair:
  the parent's `item_id` and quantities with the child's SKU.
- A bundle's children are the products that physically ship, each with its own SKU and
  quantities, so each child is a line and the bundle row is not. `push_shipment` names
  the bundle row as well, because a bundle shipped "together" is shipped through it.
- `is_virtual` rows (virtual, downloadable) are lines that need no shipping.
- The quantity is what is left to ship: ordered − shipped − canceled − refunded; rows
  with nothing left are dropped, rows with a fractional remainder get quantity 0 so
  that mapping stops the order for a person instead of rounding.

What rules read (see `payment_status` for the payment decision):
- `total` is `grand_total` as a decimal string (two decimals when Magento sends a whole
  or one-decimal number), `currency` is `order_currency_code`.
- `customer_note` is the order's `customer_note` field (core Magento has no checkout
  comment field of its own; extensions that add one usually fill this field).
- Magento has no order tags and no fraud verdict of its own: `tags` and `risk` stay empty.
- A line's title is its row's `name` (for a configurable pair, the parent's).
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from bridge.carts.money import decimal_or_none
from bridge.carts.timestamps import parse_utc
from bridge.domain.model import Address, CartLine, CartOrder, PaymentStatus

MAGENTO_TIME = "%Y-%m-%d %H:%M:%S"
_SUBTRACTED = ("qty_shipped", "qty_canceled", "qty_refunded")


# --- time ----------------------------------------------------------------------------


def magento_time(moment: datetime) -> str:
    """A bound for a filter on a second-precision UTC column. Rounded up: for whole
    seconds s, `s >= t` and `s < t` hold exactly when they hold for `ceil(t)`."""
    moment = moment.astimezone(UTC)
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return moment.strftime(MAGENTO_TIME)


# --- search criteria -----------------------------------------------------------------


def search_params(
    groups: Sequence[Sequence[tuple[str, str, Any]]],
    sort: Sequence[tuple[str, str]] = (),
    page_size: int | None = None,
    current_page: int | None = None,
) -> dict[str, str]:
    """Flatten search criteria into Magento's query parameters. Groups are ANDed, the
    (field, condition, value) filters inside one group are ORed."""
    params: dict[str, str] = {}
    for g, filters in enumerate(groups):
        for f, (field, condition, value) in enumerate(filters):
            prefix = f"searchCriteria[filter_groups][{g}][filters][{f}]"
            params[f"{prefix}[field]"] = field
            params[f"{prefix}[value]"] = str(value)
            params[f"{prefix}[condition_type]"] = condition
    for s, (field, direction) in enumerate(sort):
        params[f"searchCriteria[sortOrders][{s}][field]"] = field
        params[f"searchCriteria[sortOrders][{s}][direction]"] = direction
    if page_size is not None:
        params["searchCriteria[pageSize]"] = str(page_size)
    if current_page is not None:
        params["searchCriteria[currentPage]"] = str(current_page)
    return params


def changed_orders_params(
    since: datetime, until: datetime, after: tuple[str, int] | None, limit: int
) -> dict[str, str]:
    """One page of orders changed in [since, until), oldest change first.

    Pages are keyset pages, not page numbers: every page asks for the first `limit`
    rows after the last row returned, (updated_at, entity_id) > the token's. An order
    that changes between two pages therefore neither shifts the rest of the window
    (as an offset would) nor hides another order; it moves to its new place and is
    read there. The "after" condition is the OR group of a third filter group."""
    start = magento_time(since)
    groups: list[list[tuple[str, str, Any]]] = [
        [("updated_at", "gteq", start)],
        [("updated_at", "lt", magento_time(until))],
    ]
    if after is not None:
        stamp, entity_id = after
        groups[0] = [("updated_at", "gteq", max(stamp, start))]
        groups.append([("updated_at", "gt", stamp), ("entity_id", "gt", entity_id)])
    sort = [("updated_at", "ASC"), ("entity_id", "ASC")]
    return search_params(groups, sort, page_size=limit, current_page=1)


# --- page token ----------------------------------------------------------------------


def encode_page_token(updated_at: str, entity_id: int) -> str:
    raw = json.dumps({"u": updated_at, "i": entity_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str) -> tuple[str, int]:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        stamp, entity_id = data["u"], data["i"]
        if not isinstance(stamp, str) or parse_utc(stamp) is None:
            raise ValueError(stamp)
        if isinstance(entity_id, bool) or not isinstance(entity_id, int):
            raise ValueError(entity_id)
    except (ValueError, KeyError, TypeError) as exc:
        # Tokens only come from this adapter; a broken one is a bug, not a cart problem.
        raise ValueError(f"not a page token of the Magento cart adapter: {token!r}") from exc
    return stamp, entity_id


# --- quantities ----------------------------------------------------------------------


def as_number(value: Any) -> Decimal:
    """A Magento number (quantity or amount); 0 where there is none."""
    if value is None or isinstance(value, bool):
        return Decimal(0)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return Decimal(0)
    return number if number.is_finite() else Decimal(0)


def remaining(item: Mapping[str, Any]) -> Decimal:
    """What is left to ship of one order row."""
    left = as_number(item.get("qty_ordered")) - sum(as_number(item.get(k)) for k in _SUBTRACTED)
    return max(left, Decimal(0))


def whole(quantity: Decimal) -> int:
    """A whole quantity as int; a fractional one as 0 (see the module docstring)."""
    return int(quantity) if quantity == quantity.to_integral_value() else 0


def ship_quantity(quantity: Decimal) -> int | float:
    """A JSON number for Magento's `qty`."""
    return int(quantity) if quantity == quantity.to_integral_value() else float(quantity)


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false")
    return bool(value)


# --- items ---------------------------------------------------------------------------


class OrderItems:
    """The rows of one order, with the parent/child structure Magento gives them."""

    def __init__(self, items: Iterable[Mapping[str, Any]]) -> None:
        self.rows: list[Mapping[str, Any]] = [i for i in items if isinstance(i, Mapping)]
        self.by_id: dict[str, Mapping[str, Any]] = {str(i.get("item_id")): i for i in self.rows}
        self.children: dict[str, list[Mapping[str, Any]]] = {}
        for row in self.rows:
            parent = row.get("parent_item_id")
            if parent is not None:
                self.children.setdefault(str(parent), []).append(row)

    def parent_of(self, row: Mapping[str, Any]) -> Mapping[str, Any] | None:
        parent_id = row.get("parent_item_id")
        if parent_id is None:
            return None
        return self.by_id.get(str(parent_id)) or row.get("parent_item")

    def lines(self) -> list[CartLine]:
        lines = []
        for row in self.rows:
            line = self._line_for(row)
            if line is not None:
                lines.append(line)
        return lines

    def _line_for(self, row: Mapping[str, Any]) -> CartLine | None:
        parent = self.parent_of(row)
        if parent is not None and parent.get("product_type") == "configurable":
            return None  # the parent's line carries this row's SKU
        kids = self.children.get(str(row.get("item_id")), [])
        if row.get("product_type") == "bundle" and kids:
            return None  # its children are the lines
        sku, virtual = str(row.get("sku") or ""), _flag(row.get("is_virtual"))
        if row.get("product_type") == "configurable" and kids:
            sku = str(kids[0].get("sku") or sku)
            virtual = virtual or _flag(kids[0].get("is_virtual"))
        left = remaining(row)
        if left == 0:
            return None
        return CartLine(
            line_id=str(row.get("item_id")),
            sku=sku.strip(),
            quantity=whole(left),
            requires_shipping=not virtual,
            title=str(row.get("name") or "").strip(),
        )


# --- orders --------------------------------------------------------------------------


def shipping_of(order: Mapping[str, Any]) -> Mapping[str, Any]:
    assignments = (order.get("extension_attributes") or {}).get("shipping_assignments") or []
    if assignments and isinstance(assignments[0], Mapping):
        return assignments[0].get("shipping") or {}
    return {}


def address_of(raw: Mapping[str, Any] | None) -> Address | None:
    if not raw:
        return None
    street = [str(s).strip() for s in raw.get("street") or [] if str(s).strip()]
    name = " ".join(
        str(raw.get(k)).strip() for k in ("firstname", "middlename", "lastname") if raw.get(k)
    )
    return Address(
        name=name,
        line1=street[0] if street else "",
        line2=street[1] if len(street) > 1 else "",
        line3=", ".join(street[2:]),
        city=str(raw.get("city") or ""),
        state=str(raw.get("region_code") or raw.get("region") or ""),
        postal_code=str(raw.get("postcode") or ""),
        country_code=str(raw.get("country_id") or ""),
        phone=str(raw.get("telephone") or ""),
    )


def cart_order(
    order: Mapping[str, Any],
    ready_states: frozenset[str],
    cancelled_states: frozenset[str],
    fallback_time: datetime,
) -> CartOrder:
    state = str(order.get("state") or "").lower()
    updated_at = parse_utc(order.get("updated_at")) or fallback_time
    shipping = shipping_of(order)
    payment = payment_status(order, ready_states)
    return CartOrder(
        order_id=str(order.get("entity_id")),
        number=str(order.get("increment_id") or order.get("entity_id")),
        created_at=parse_utc(order.get("created_at")) or updated_at,
        updated_at=updated_at,
        paid=state in ready_states and payment == PaymentStatus.PAID,
        cancelled=state in cancelled_states,
        lines=tuple(OrderItems(order.get("items") or []).lines()),
        address=address_of(shipping.get("address")),
        shipping_method=str(shipping.get("method") or ""),
        email=str(order.get("customer_email") or ""),
        total=amount(order.get("grand_total")),
        currency=str(order.get("order_currency_code") or "").strip().upper(),
        customer_note=str(order.get("customer_note") or "").strip(),
        payment_status=payment,
    )


def amount(value: Any) -> str:
    """A money field as a decimal string; "" when it holds no number."""
    number = decimal_or_none(value)
    if number is None:
        return ""
    if number.as_tuple().exponent > -2:  # type: ignore[operator]
        number = number.quantize(Decimal("0.01"))
    return str(number)


def payment_status(order: Mapping[str, Any], ready_states: frozenset[str] = frozenset()) -> str:
    """Where the order's money stands, from its state and amounts:
    - `canceled` → voided (an authorization is voided by the cancel, nothing captured);
      `closed`, or everything paid refunded → refunded;
    - money paid (`total_paid`, `payment.amount_paid`) or invoiced (`total_invoiced`) →
      paid (a partial refund keeps it paid);
    - nothing paid or invoiced but an amount authorized (`payment.amount_authorized`,
      `base_amount_authorized`): authorized, to be captured by an invoice later (the
      "Authorize Only" payment action puts such an order in `processing`);
    - otherwise `processing`, `complete` or one of the merchant's `ready_states` → paid
      (Magento's "invoiced"; payloads of offline methods carry no amounts), any other
      state (`new`, `pending_payment`, `payment_review`, `holded`) → pending."""
    state = str(order.get("state") or "").lower()
    pay = order.get("payment") if isinstance(order.get("payment"), Mapping) else {}
    assert isinstance(pay, Mapping)
    paid = max(as_number(order.get("total_paid")), as_number(pay.get("amount_paid")))
    refunded = max(as_number(order.get("total_refunded")), as_number(pay.get("amount_refunded")))
    authorized = max(as_number(pay.get("amount_authorized")), as_number(pay.get("base_amount_authorized")))
    if state == "canceled":
        return PaymentStatus.VOIDED
    if state == "closed" or (paid > 0 and refunded >= paid):
        return PaymentStatus.REFUNDED
    if paid > 0 or as_number(order.get("total_invoiced")) > 0:
        return PaymentStatus.PAID
    if authorized > 0:
        return PaymentStatus.AUTHORIZED
    if state in ("processing", "complete") or state in ready_states:
        return PaymentStatus.PAID
    return PaymentStatus.PENDING


def ceil_div(numerator: Decimal, denominator: Decimal) -> Decimal:
    return Decimal(math.ceil(numerator / denominator)) if denominator > 0 else numerator


# Magento's own carrier codes; any other carrier is "custom" with its name as the title.
CARRIER_CODES = {"ups": "ups", "usps": "usps", "fedex": "fedex", "fedexground": "fedex", "dhl": "dhl"}


def carrier_code(carrier: str) -> str:
    return CARRIER_CODES.get("".join(carrier.lower().split()), "custom")
