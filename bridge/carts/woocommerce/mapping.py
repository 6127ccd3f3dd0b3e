"""WooCommerce order JSON (REST v3) to bridge's `CartOrder`.

Only the `*_gmt` timestamps are read: the plain ones are in the store's own time zone.
Line items carry no shipping flag, so the caller passes what it learnt about each
product (`ProductFacts`).

Money: WooCommerce has no payment state of its own, only the order status and what the
gateway left on the order. `processing`/`completed` mean captured, except cash on
delivery (nobody has paid yet, and Amazon collects no cash). `on-hold` is either
awaiting a payment (bank transfer, cheque: no transaction) or, with authorize-only card
gateways, an authorization waiting for capture: those gateways put the charge id in
`transaction_id` and mark the order `_<gateway>_charge_captured: no`."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bridge.carts.timestamps import parse_utc
from bridge.domain.model import Address, CartLine, CartOrder, PaymentStatus

CASH_ON_DELIVERY = "cod"
# Statuses WooCommerce core and its block checkout give an order, by what they say of money.
_STATUS_PAYMENT = {
    "pending": PaymentStatus.PENDING,          # awaiting payment
    "checkout-draft": PaymentStatus.PENDING,   # block checkout, not placed yet
    "refunded": PaymentStatus.REFUNDED,
    "cancelled": PaymentStatus.VOIDED,
    "failed": PaymentStatus.VOIDED,            # the payment was declined or abandoned
}
# Authorize-only gateways (Stripe, Braintree, Authorize.Net, Square, PayPal Pro…) mark an
# order whose charge is not captured yet with `_<gateway>_charge_captured` = "no".
_NOT_CAPTURED_META = re.compile(r"^_\w+_charge_captured$")


@dataclass(frozen=True)
class ProductFacts:
    """What an order line needs to know about its product or variation."""

    requires_shipping: bool
    sku: str = ""


def naive_gmt(epoch_second: int) -> str:
    """A bound for `modified_after`/`modified_before` with `dates_are_gmt=true`: no zone
    suffix, which WordPress would otherwise convert into the store's time zone."""
    return datetime.fromtimestamp(epoch_second, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def product_key(item: Mapping[str, Any]) -> int:
    """The post id whose flags decide a line: the variation if there is one."""
    return int(item.get("variation_id") or 0) or int(item.get("product_id") or 0)


def to_cart_order(
    data: Mapping[str, Any],
    facts: Mapping[int, ProductFacts],
    ready_statuses: tuple[str, ...],
    cancelled_statuses: tuple[str, ...],
) -> CartOrder:
    status = str(data.get("status") or "").lower()
    updated_at = parse_utc(data.get("date_modified_gmt"))
    if updated_at is None:
        raise ValueError(f"order {data.get('id')} has no date_modified_gmt")
    lines = []
    for item in data.get("line_items") or []:
        known = facts.get(product_key(item))
        lines.append(CartLine(
            line_id=str(item["id"]),
            sku=_text(item.get("sku")) or (known.sku if known else ""),
            quantity=_quantity(item.get("quantity")),
            # A product deleted since the sale is unknown: treat it as physical so that a
            # person, not bridge, decides it needs no parcel.
            requires_shipping=known.requires_shipping if known else True,
            # Names arrive HTML-escaped ("Ship Your Idea &ndash; Color: Black").
            title=html.unescape(_text(item.get("name"))),
        ))
    shipping_lines = data.get("shipping_lines") or []
    money = payment_status(data, ready_statuses)
    return CartOrder(
        order_id=str(data["id"]),
        number=_text(data.get("number")) or str(data["id"]),
        created_at=parse_utc(data.get("date_created_gmt")) or updated_at,
        updated_at=updated_at,
        # `processing` means paid and waiting to ship; stores may add their own statuses.
        # Captured money only: cash on delivery is not paid yet.
        paid=status in ready_statuses and money == PaymentStatus.PAID,
        cancelled=status in cancelled_statuses,
        lines=tuple(lines),
        address=_address(data.get("shipping") or {}, data.get("billing") or {}),
        shipping_method=_text(shipping_lines[0].get("method_title")) if shipping_lines else "",
        email=_text((data.get("billing") or {}).get("email")),
        total=_text(data.get("total")),
        currency=_text(data.get("currency")).upper(),
        customer_note=_text(data.get("customer_note")),
        payment_status=money,
    )


def payment_status(data: Mapping[str, Any], ready_statuses: tuple[str, ...]) -> str:
    """What the order's status and gateway traces say about its money (`PaymentStatus`)."""
    status = str(data.get("status") or "").lower()
    if status in ("processing", "completed") or status in ready_statuses:
        if status != "completed" and data.get("payment_method") == CASH_ON_DELIVERY:
            return PaymentStatus.ON_DELIVERY
        return PaymentStatus.PAID
    if status == "on-hold":
        return PaymentStatus.AUTHORIZED if _authorized(data) else PaymentStatus.PENDING
    return _STATUS_PAYMENT.get(status, PaymentStatus.UNKNOWN)


def _authorized(data: Mapping[str, Any]) -> bool:
    """An on-hold order holding a card authorization, not awaiting a transfer."""
    for meta in data.get("meta_data") or []:
        if isinstance(meta, Mapping) and _NOT_CAPTURED_META.match(str(meta.get("key", ""))):
            return str(meta.get("value", "")).lower() == "no"
    # Bank transfers and cheques leave no transaction id; a gateway's charge does.
    return bool(_text(data.get("transaction_id")))


def _address(shipping: Mapping[str, Any], billing: Mapping[str, Any]) -> Address | None:
    person = " ".join(p for p in (_text(shipping.get("first_name")), _text(shipping.get("last_name"))) if p)
    company = _text(shipping.get("company"))
    address = Address(
        name=person or company,
        line1=_text(shipping.get("address_1")),
        line2=_text(shipping.get("address_2")),
        # With a person to address the parcel to, the company goes on its own line.
        line3=company if person and company else "",
        city=_text(shipping.get("city")),
        state=_text(shipping.get("state")),
        postal_code=_text(shipping.get("postcode")),
        country_code=_text(shipping.get("country")).upper(),
        # `shipping.phone` exists since WooCommerce 5.6; older stores only have billing's.
        phone=_text(shipping.get("phone")) or _text(billing.get("phone")),
    )
    return address if address.line1 or address.city or address.name else None


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _quantity(value: Any) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0
    return int(number) if number.is_integer() else 0
