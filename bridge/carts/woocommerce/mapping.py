"""WooCommerce order JSON (REST v3) to bridge's `CartOrder`.

Only the `*_gmt` timestamps are read: the plain ones are in the store's own time zone.
Line items carry no shipping flag, so the caller passes what it learnt about each
product (`ProductFacts`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bridge.carts.timestamps import parse_utc
from bridge.domain.model import Address, CartLine, CartOrder


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
        ))
    shipping_lines = data.get("shipping_lines") or []
    return CartOrder(
        order_id=str(data["id"]),
        number=_text(data.get("number")) or str(data["id"]),
        created_at=parse_utc(data.get("date_created_gmt")) or updated_at,
        updated_at=updated_at,
        # `processing` means paid and waiting to ship; stores may add their own statuses.
        paid=status in ready_statuses,
        cancelled=status in cancelled_statuses,
        lines=tuple(lines),
        address=_address(data.get("shipping") or {}, data.get("billing") or {}),
        shipping_method=_text(shipping_lines[0].get("method_title")) if shipping_lines else "",
        email=_text((data.get("billing") or {}).get("email")),
    )


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
