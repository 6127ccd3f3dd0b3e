"""Shopify GraphQL payloads → bridge's domain types.

An order's lines are the FulfillmentOrderLineItems of its fulfillment orders that are
OPEN or IN_PROGRESS at the location the merchant assigned to Amazon: the items Shopify
routed there and that are still to ship. Items of other locations, of fulfillment
orders on hold or scheduled, and of closed or cancelled ones are not Amazon's work."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from bridge.domain.model import Address, CartLine, CartOrder, PaymentStatus, RiskLevel

WORKABLE_STATUSES = frozenset({"OPEN", "IN_PROGRESS"})
# Lines bridge appends to the order's note start so (bridge's notes all do): they are
# not the customer's words, and must not make the order look edited once written.
BRIDGE_NOTE_PREFIX = "bridge: "

# Order.displayFinancialStatus → what bridge's rules read. PARTIALLY_REFUNDED was
# captured in full first; PARTIALLY_PAID still has a balance to collect, so it counts as
# pending; EXPIRED is an authorization that lapsed uncaptured, which holds no money, as
# a voided one.
PAYMENT_STATUSES = {
    "PAID": PaymentStatus.PAID,
    "PARTIALLY_REFUNDED": PaymentStatus.PAID,
    "AUTHORIZED": PaymentStatus.AUTHORIZED,
    "PARTIALLY_PAID": PaymentStatus.PENDING,
    "PENDING": PaymentStatus.PENDING,
    "REFUNDED": PaymentStatus.REFUNDED,
    "VOIDED": PaymentStatus.VOIDED,
    "EXPIRED": PaymentStatus.VOIDED,
}

# Order.risk: each assessment's riskLevel (Shopify's own and apps'), and Shopify's
# recommendation; NONE and PENDING say nothing yet.
_RISK_RANK = {RiskLevel.UNKNOWN: 0, RiskLevel.LOW: 1, RiskLevel.MEDIUM: 2, RiskLevel.HIGH: 3}
_ASSESSMENT_LEVELS = {"LOW": RiskLevel.LOW, "MEDIUM": RiskLevel.MEDIUM, "HIGH": RiskLevel.HIGH}
_RECOMMENDATION_LEVELS = {"ACCEPT": RiskLevel.LOW, "INVESTIGATE": RiskLevel.MEDIUM,
                          "CANCEL": RiskLevel.HIGH}


@dataclass(frozen=True)
class FulfillmentOrderLine:
    """One FulfillmentOrderLineItem, with the fulfillment order it belongs to."""

    fulfillment_order_id: str
    line_id: str
    sku: str
    remaining: int
    requires_shipping: bool
    title: str = ""


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def search_time(moment: datetime) -> str:
    """A bound for Shopify's search syntax. Shopify keeps whole seconds, so rounding a
    bound up to the next second selects exactly the same orders."""
    utc = moment.astimezone(UTC)
    if utc.microsecond:
        utc = datetime.fromtimestamp(utc.replace(microsecond=0).timestamp() + 1, UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def window_query(since: datetime, until: datetime) -> str:
    return f"updated_at:>='{search_time(since)}' updated_at:<'{search_time(until)}'"


def workable_lines(fulfillment_orders: Iterable[dict], location_id: str) -> list[FulfillmentOrderLine]:
    lines = []
    for fo in fulfillment_orders:
        location = ((fo.get("assignedLocation") or {}).get("location") or {}).get("id")
        if location != location_id or fo.get("status") not in WORKABLE_STATUSES:
            continue
        for item in (fo.get("lineItems") or {}).get("nodes") or []:
            lines.append(FulfillmentOrderLine(
                fulfillment_order_id=fo["id"],
                line_id=item["id"],
                sku=(item.get("sku") or "").strip(),
                remaining=int(item.get("remainingQuantity") or 0),
                requires_shipping=bool(item.get("requiresShipping", True)),
                title=line_title(item),
            ))
    return lines


def line_title(item: dict) -> str:
    """The item's name as Shopify shows it on the order (LineItem.name): the product's
    title, then the variant's when it has one."""
    product, variant = _text(item.get("productTitle")), _text(item.get("variantTitle"))
    return f"{product} - {variant}" if product and variant else product or variant


def payment_status(financial_status: str | None) -> str:
    return PAYMENT_STATUSES.get(financial_status or "", PaymentStatus.UNKNOWN)


def risk_level(risk: dict | None) -> str:
    """The highest level of any assessment, raised to what Shopify's recommendation
    implies (CANCEL is high, INVESTIGATE at least medium)."""
    if not risk:
        return RiskLevel.UNKNOWN
    levels = [_ASSESSMENT_LEVELS.get(a.get("riskLevel") or "", RiskLevel.UNKNOWN)
              for a in risk.get("assessments") or []]
    levels.append(_RECOMMENDATION_LEVELS.get(risk.get("recommendation") or "", RiskLevel.UNKNOWN))
    return max(levels, key=_RISK_RANK.__getitem__)


def customer_note(note: str | None) -> str:
    """The order's note without the lines bridge appended to it."""
    lines = [line for line in (note or "").splitlines() if not line.startswith(BRIDGE_NOTE_PREFIX)]
    return "\n".join(lines).strip()


def money(price_set: dict | None) -> tuple[str, str]:
    """(amount, currency) in the shop's currency, the amount as Shopify states it."""
    shop = (price_set or {}).get("shopMoney") or {}
    return _text(shop.get("amount")), _text(shop.get("currencyCode"))


def cart_order(node: dict, lines: list[FulfillmentOrderLine], paid_statuses: frozenset[str]) -> CartOrder:
    updated_at = parse_time(node["updatedAt"])
    assert updated_at is not None  # Order.updatedAt is non-null in the schema
    total, currency = money(node.get("totalPriceSet"))
    return CartOrder(
        order_id=node["id"],
        number=node.get("name") or node["id"],
        created_at=parse_time(node.get("createdAt")) or updated_at,
        updated_at=updated_at,
        paid=(node.get("displayFinancialStatus") or "") in paid_statuses,
        cancelled=node.get("cancelledAt") is not None,
        lines=tuple(
            CartLine(line.line_id, line.sku, line.remaining, line.requires_shipping, line.title)
            for line in lines
            if line.remaining > 0
        ),
        address=address(node.get("shippingAddress")),
        shipping_method=shipping_method(node.get("shippingLine")),
        email=node.get("email") or "",
        total=total,
        currency=currency,
        tags=tuple(tag.strip() for tag in node.get("tags") or () if tag and tag.strip()),
        customer_note=customer_note(node.get("note")),
        risk=risk_level(node.get("risk")),
        payment_status=payment_status(node.get("displayFinancialStatus")),
    )


def address(data: dict | None) -> Address | None:
    if not data:
        return None
    name = data.get("name") or " ".join(
        part for part in (data.get("firstName"), data.get("lastName")) if part
    )
    company = (data.get("company") or "").strip()
    line1, line2 = _text(data.get("address1")), _text(data.get("address2"))
    line3 = ""
    if company and company != name:
        # Amazon's address has no company field; it rides on a free line.
        line3 = company
    return Address(
        name=_text(name) or company,
        line1=line1,
        line2=line2,
        line3=line3,
        city=_text(data.get("city")),
        state=_text(data.get("provinceCode")),
        postal_code=_text(data.get("zip")),
        country_code=_text(data.get("countryCodeV2")),
        phone=_text(data.get("phone")),
    )


def shipping_method(line: dict | None) -> str:
    """The method's title as the customer chose it (what the speed map is keyed on);
    the code when a title is missing."""
    if not line:
        return ""
    return _text(line.get("title")) or _text(line.get("code"))


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()
