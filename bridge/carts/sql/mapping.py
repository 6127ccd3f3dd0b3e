"""Rows of a merchant's order database to bridge's domain types, and back.

Decisions worth knowing:
- Unpaid orders are returned with `paid=False`; the ingest service decides to ignore them.
- Naive timestamps in the cart database are taken as UTC.
- The payment state comes from the `paid` column's value, sorted by the settings' value
  lists (paid, authorized, refunded, voided, shipped); any other value is pending. `paid`
  stays True only for the paid values (money captured, not shipped yet).
- A total stored as a float or an integer (SQLite's NUMERIC) reads with two decimals;
  one stored as DECIMAL or text reads as stored.
- Lifecycle notes (delivery milestones, returns) carry a stable event key, in the notes
  table's event-key column or, where the table has none, at the end of the note's text:
  that key is how a retry finds the note already written.
- The page token keeps the last row's raw stored (updated_at, id), so a page boundary is
  exact whatever the database's timestamp text looks like.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from bridge.carts.money import decimal_or_none
from bridge.carts.sql.settings import SqlMapping
from bridge.domain.model import (
    Address,
    CartLine,
    CartOrder,
    PackageShipment,
    PaymentStatus,
)
from bridge.errors import NeedsAttentionError
from bridge.logging import get_logger

log = get_logger(__name__)

_FALSE_WORDS = frozenset({"0", "false", "f", "no", "n", "off", ""})
_ADDRESS_FIELDS = (
    "name", "line1", "line2", "line3", "city", "state", "postal_code", "country_code", "phone",
)


def as_utc(value: Any) -> datetime | None:
    """A cart timestamp as an aware UTC datetime; naive values are UTC. None if unreadable."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str) and value.strip():
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    else:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def as_quantity(value: Any) -> int:
    """A line quantity; anything that is not a whole number reads as 0 (validation,
    not the adapter, turns that into a problem for a person)."""
    if isinstance(value, bool) or value is None:
        return 0
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return 0
    if not number.is_finite() or number != number.to_integral_value():
        return 0
    return int(number)


def as_flag(value: Any, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() not in _FALSE_WORDS
    return bool(value)


def as_text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def matches_any(value: Any, candidates: Sequence) -> bool:
    """Whether a status value is one of the configured ones (text compared case-blind)."""
    for candidate in candidates:
        if isinstance(value, str) and isinstance(candidate, str):
            if value.strip().lower() == candidate.strip().lower():
                return True
        elif value == candidate and value is not None:
            return True
    return False


# --- page tokens ----------------------------------------------------------------------


def encode_page_token(updated_raw: Any, order_id_raw: Any) -> str:
    """The last row's (updated_at, id) exactly as the database gave them."""
    if isinstance(updated_raw, datetime):
        stamp = {"d": updated_raw.isoformat()}
    else:
        stamp = {"s": str(updated_raw)}
    if isinstance(order_id_raw, (int, str)) and not isinstance(order_id_raw, bool):
        key = order_id_raw
    else:
        key = str(order_id_raw)
    raw = json.dumps({"u": stamp, "i": key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str) -> tuple[Any, Any]:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        stamp, key = data["u"], data["i"]
        updated = datetime.fromisoformat(stamp["d"]) if "d" in stamp else stamp["s"]
    except (ValueError, KeyError, TypeError) as exc:
        # Tokens only come from this adapter; a broken one is a bug, not a cart problem.
        raise ValueError(f"not a page token of the SQL cart adapter: {token!r}") from exc
    return updated, key


# --- rows to domain types ---------------------------------------------------------------


def cart_line(row: Mapping[str, Any]) -> CartLine:
    """A line row, its columns labelled `f_<mapping key>`."""
    return CartLine(
        line_id=as_text(row["f_id"]),
        sku=as_text(row["f_sku"]),
        quantity=as_quantity(row["f_quantity"]),
        requires_shipping=as_flag(row.get("f_requires_shipping"), default=True),
        title=as_text(row.get("f_title")),
    )


def as_amount(value: Any) -> str:
    """A money column as a decimal string; "" when it holds no number."""
    number = decimal_or_none(value)
    if number is None:
        return ""
    if isinstance(value, (int, float)) and number.as_tuple().exponent > -2:  # type: ignore[operator]
        number = number.quantize(Decimal("0.01"))
    return str(number)


def as_tags(value: Any) -> tuple[str, ...]:
    """A comma-separated tags column, blanks and repeats dropped."""
    return tuple(dict.fromkeys(tag.strip() for tag in as_text(value).split(",") if tag.strip()))


def payment_status(value: Any, mapping: SqlMapping) -> str:
    if not mapping.orders["paid"]:
        return PaymentStatus.PAID  # no payment column: every order counts as paid
    for values, status in (
        (mapping.paid_values, PaymentStatus.PAID),
        (mapping.authorized_values, PaymentStatus.AUTHORIZED),
        (mapping.refunded_values, PaymentStatus.REFUNDED),
        (mapping.voided_values, PaymentStatus.VOIDED),
        (mapping.shipped_values, PaymentStatus.PAID),
    ):
        if matches_any(value, values):
            return status
    return PaymentStatus.PENDING


def cart_order(
    row: Mapping[str, Any], lines: Sequence[CartLine], since: datetime, mapping: SqlMapping
) -> CartOrder:
    """An order row, its columns labelled `f_<mapping key>`, read in a window from `since`."""
    order_id = as_text(row["f_id"])
    updated_at = as_utc(row["f_updated_at"])
    if updated_at is None:
        # The database ordered it inside the window, so the window start is a safe stand-in.
        log.warning("cart_order_unreadable_timestamp", order_id=order_id, column="updated_at")
        updated_at = since
    created_at = as_utc(row.get("f_created_at")) or updated_at
    m = mapping
    payment = payment_status(row.get("f_paid"), m)
    # A shipped status is paid, but not for bridge to ship: paid stays False, as for a
    # WooCommerce order that is completed.
    paid = payment == PaymentStatus.PAID and not (
        m.orders["paid"] and matches_any(row.get("f_paid"), m.shipped_values))
    if not m.orders["cancelled"]:
        cancelled = False
    elif m.cancelled_values:
        cancelled = matches_any(row["f_cancelled"], m.cancelled_values)
    else:
        cancelled = row["f_cancelled"] is not None
    address = Address(**{f: as_text(row.get(f"f_{f}")) for f in _ADDRESS_FIELDS})
    return CartOrder(
        order_id=order_id,
        number=as_text(row.get("f_number")) or order_id,
        created_at=created_at,
        updated_at=updated_at,
        paid=paid,
        cancelled=cancelled,
        lines=tuple(lines),
        address=address if any(vars(address).values()) else None,
        shipping_method=as_text(row.get("f_shipping_method")),
        email=as_text(row.get("f_email")),
        total=as_amount(row.get("f_total")),
        currency=as_text(row.get("f_currency")).upper(),
        tags=as_tags(row.get("f_tags")),
        customer_note=as_text(row.get("f_customer_note")),
        payment_status=payment,
    )


def stock_levels(
    rows: Sequence[tuple[Any, Any]], asked: Sequence[str], column: str
) -> dict[str, int]:
    """(sku, quantity) rows of one read. A NULL quantity is a SKU whose stock is not kept;
    rows sharing a SKU (a table without a unique SKU) read as the smallest."""
    wanted = set(asked)
    found: dict[str, int] = {}
    for raw_sku, raw_quantity in rows:
        sku = as_text(raw_sku)
        quantity = stock_quantity(sku, raw_quantity, column)
        # A case-blind collation may match other spellings: keep only what was asked.
        if sku in wanted and quantity is not None:
            found[sku] = min(quantity, found.get(sku, quantity))
    return found


def stock_quantity(sku: str, value: Any, column: str) -> int | None:
    if value is None:
        return None
    try:
        number = Decimal(str(value).strip())
        if isinstance(value, bool) or not number.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        where = f"cart.stock.quantity ({column})"
        raise NeedsAttentionError(
            "cart_rejected", f"reading stock: SKU {sku!r} has {value!r} in {where}, not a number"
        ) from None
    return int(number.to_integral_value(rounding="ROUND_FLOOR"))


# --- domain types to rows ---------------------------------------------------------------


def shipment_values(order: CartOrder, shipment: PackageShipment, notify: bool) -> dict[str, Any]:
    """A package's row by mapping key; keys the merchant left unmapped are dropped later."""
    return {
        "order_id": order.order_id,
        "tracking_number": shipment.tracking_number,
        "carrier": shipment.carrier,
        "tracking_url": shipment.tracking_url,
        "shipped_at": shipment.shipped_at or datetime.now(UTC),
        "package_number": shipment.package_number,
        "lines": json.dumps([vars(line) for line in shipment.lines]),
        "notify": notify,
    }


def note_values(order: CartOrder, text: str) -> dict[str, Any]:
    return {"order_id": order.order_id, "note": text, "created_at": datetime.now(UTC)}


def note_event_values(order: CartOrder, text: str, key: str) -> dict[str, Any]:
    return {**note_values(order, text), "event_key": key}
