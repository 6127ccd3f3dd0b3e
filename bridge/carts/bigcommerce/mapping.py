"""BigCommerce V2 order payloads into bridge's domain types, and the page token of the
incremental order walk.

V2 dates are RFC-2822 strings with whole seconds (``Wed, 05 Dec 2018 20:16:55 +0000``);
the order filters accept RFC-2822 or ISO-8601. Everything here works in whole UTC seconds.

Money: `payment_status` is the gateway's word (the spec's enum). An authorize-only
gateway leaves the order Awaiting Fulfillment with `authorized` until someone captures
it; offline methods (bank deposit, cheque) leave it empty or `pending`, and the merchant
moving the order to a ready status is then the only confirmation there is."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from bridge.carts.money import decimal_or_none
from bridge.domain.model import Address, CartLine, CartOrder, PaymentStatus

# Line types that leave a warehouse; `digital` and `giftcertificate` do not.
PHYSICAL = "physical"

# The gateway's `payment_status` (orders.v2.oas2.yml, order_Shared) by what it says of
# the money; "" and "pending" are decided by the order's status (see `payment_status`).
GATEWAY_PAYMENT = {
    "captured": PaymentStatus.PAID,
    "paid": PaymentStatus.PAID,
    "partially refunded": PaymentStatus.PAID,        # captured, some given back
    "authorized": PaymentStatus.AUTHORIZED,
    "capture pending": PaymentStatus.AUTHORIZED,     # asked for, not captured yet
    "held for review": PaymentStatus.PENDING,        # the gateway's fraud review
    "refunded": PaymentStatus.REFUNDED,
    "declined": PaymentStatus.VOIDED,
    "void": PaymentStatus.VOIDED,
    "void pending": PaymentStatus.VOIDED,
}
# Order statuses (GET /order_statuses) that settle the money when the gateway says nothing.
STATUS_PAYMENT = {
    0: PaymentStatus.PENDING, 1: PaymentStatus.PENDING, 7: PaymentStatus.PENDING,
    4: PaymentStatus.REFUNDED, 14: PaymentStatus.PAID,
    5: PaymentStatus.VOIDED, 6: PaymentStatus.VOIDED,
}

# What bridge writes into a shipment's `comments`: it marks the shipments bridge made, so
# an order that moved on to Shipped because of bridge is told apart from one the
# merchant shipped themselves.
SHIPMENT_MARK = "bridge"


def rfc2822(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0))


def parse_date(value: Any) -> datetime | None:
    """A V2 date (RFC-2822, or ISO-8601 as some stores return) as aware UTC; None if empty."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def epoch_floor(moment: datetime) -> int:
    return math.floor(moment.timestamp())


def from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


# --- page token ---------------------------------------------------------------------


@dataclass(frozen=True)
class OrderCursor:
    """Where the walk stands: the `date_modified` second of the last order returned and
    the ids already returned at that second. The next request starts at that second
    again (the filter is inclusive and has no tie-breaker), and skips those ids; so rows
    that change or move between two requests are neither lost nor returned twice."""

    at: int
    seen: tuple[int, ...] = ()

    def after(self, returned: Sequence[Mapping[str, Any]]) -> OrderCursor:
        if not returned:
            return self
        last = modified_second(returned[-1])
        if last is None:
            raise ValueError(f"order {returned[-1].get('id')} has no date_modified")
        same = tuple(int(row["id"]) for row in returned if modified_second(row) == last)
        if last == self.at:
            same = tuple(dict.fromkeys((*self.seen, *same)))
        return OrderCursor(last, same)

    def encode(self) -> str:
        raw = json.dumps({"t": self.at, "s": list(self.seen)}, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> OrderCursor:
        try:
            data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            return cls(int(data["t"]), tuple(int(i) for i in data["s"]))
        except (ValueError, KeyError, TypeError) as exc:
            # Tokens only come from this adapter; a broken one is a bug, not a cart problem.
            raise ValueError(f"not a page token of the BigCommerce adapter: {token!r}") from exc


def modified_second(row: Mapping[str, Any]) -> int | None:
    stamp = parse_date(row.get("date_modified"))
    return epoch_floor(stamp) if stamp else None


# --- orders -------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusRules:
    ready: frozenset[int]
    cancelled: frozenset[int]
    shipped: frozenset[int]


def physical_products(products: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [p for p in products if str(p.get("type", PHYSICAL)).lower() == PHYSICAL]


def shipping_address_id(products: Iterable[Mapping[str, Any]]) -> int | None:
    """The one address the physical lines go to; None when they go to several."""
    ids = {p.get("order_address_id") for p in physical_products(products)}
    return ids.pop() if len(ids) == 1 else None


def bridge_shipped(shipments: Iterable[Mapping[str, Any]]) -> bool:
    return any(str(s.get("comments") or "").startswith(SHIPMENT_MARK) for s in shipments)


def cart_order(
    row: Mapping[str, Any],
    products: Sequence[Mapping[str, Any]],
    address_row: Mapping[str, Any] | None,
    rules: StatusRules,
    shipped_by_bridge: bool = False,
) -> CartOrder:
    status = _int(row.get("status_id"))
    updated_at = parse_date(row.get("date_modified"))
    if updated_at is None:
        raise ValueError(f"order {row.get('id')} has no date_modified")
    created_at = parse_date(row.get("date_created")) or updated_at
    # "Paid" means handed to bridge: Awaiting Fulfillment, or already Shipped by bridge
    # (so bridge's own shipment does not read as an edit), with the money captured. An
    # order the merchant shipped themselves stays unpaid and is never sent to Amazon.
    money = payment_status(row, rules)
    paid = (status in rules.ready or (status in rules.shipped and shipped_by_bridge)) \
        and money == PaymentStatus.PAID
    billing = row.get("billing_address") or {}
    return CartOrder(
        order_id=str(row["id"]),
        number=str(row["id"]),
        created_at=created_at,
        updated_at=updated_at,
        paid=paid,
        cancelled=status in rules.cancelled,
        lines=tuple(_line(p) for p in products),
        address=_address(address_row) if address_row else None,
        shipping_method=_text((address_row or {}).get("shipping_method")),
        email=_text((address_row or {}).get("email")) or _text(billing.get("email")),
        total=amount(row.get("total_inc_tax")),
        currency=_text(row.get("currency_code")).upper(),
        customer_note=_text(row.get("customer_message")),
        payment_status=money,
    )


def payment_status(row: Mapping[str, Any], rules: StatusRules) -> str:
    """The order's money as `PaymentStatus`: the gateway's word where it gives one."""
    gateway = _text(row.get("payment_status")).lower()
    if gateway in GATEWAY_PAYMENT:
        return GATEWAY_PAYMENT[gateway]
    status = _int(row.get("status_id"))
    if status in rules.ready or status in rules.shipped:
        # An offline method: the merchant's move to a ready status confirmed the money.
        return PaymentStatus.PAID
    return STATUS_PAYMENT.get(status, PaymentStatus.UNKNOWN) if status is not None \
        else PaymentStatus.UNKNOWN


def amount(value: Any) -> str:
    """A V2 money string ("361.9500", "1000.74") with the padding zeros of its four
    decimals dropped, keeping two: "361.95"."""
    number = decimal_or_none(value)
    if number is None:
        return ""
    cents = number.quantize(Decimal("0.01"))
    return str(cents if cents == number else number.normalize())


def _line(product: Mapping[str, Any]) -> CartLine:
    # Pick-list children (`parent_order_product_id` set) are items of their own that
    # travel with the parent, so each is a line with its own SKU.
    return CartLine(
        line_id=str(product["id"]),
        sku=_text(product.get("sku")),
        quantity=_int(product.get("quantity")) or 0,
        requires_shipping=str(product.get("type", PHYSICAL)).lower() == PHYSICAL,
        title=_text(product.get("name")),
    )


def _address(row: Mapping[str, Any]) -> Address:
    name = " ".join(_text(row.get(k)) for k in ("first_name", "last_name")).strip()
    return Address(
        name=name,
        line1=_text(row.get("street_1")),
        line2=_text(row.get("street_2")),
        line3=_text(row.get("company")),
        city=_text(row.get("city")),
        state=_text(row.get("state")),
        postal_code=_text(row.get("zip")),
        country_code=_text(row.get("country_iso2")).upper(),
        phone=_text(row.get("phone")),
    )


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()
