"""Turns a cart order into the fulfillment order bridge asks Amazon for (a
`FulfillmentOrderRequest`, checked against the limits in bridge.domain.limits: the
createFulfillmentOrder model's and conservative ones where it is silent), or says precisely
why it cannot (a NeedsAttentionError with a stable reason code naming the field). Nothing
is truncated to fit; a message quotes at most 40 characters of a value. Pure: no I/O."""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC

from bridge.domain.dates import check_order_date
from bridge.domain.fulfillment import FulfillmentOrderRequest, RequestedItem
from bridge.domain.ids import fulfillment_item_id, is_valid_seller_fulfillment_order_id
from bridge.domain.limits import (
    ADDRESS_LABELS,
    ADDRESS_LIMITS,
    COUNTRY_CODES,
    MAX_COMMENT,
    MAX_DISPLAYABLE_ID,
    MAX_EMAIL,
    MAX_LINES,
    MAX_SELLER_SKU,
    MAX_UNITS,
    has_control,
    is_control,
)
from bridge.domain.marketplaces import Routing
from bridge.domain.model import Address, CartLine, CartOrder
from bridge.domain.skus import SkuMap
from bridge.errors import NeedsAttentionError

# One @, no spaces, a dot in the domain: enough to refuse what is not an address at all.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_QUOTE_CHARS = 40  # a message quotes at most this much of a value


@dataclass(frozen=True)
class MappingPolicy:
    sku_map: SkuMap
    speed_for: Callable[[str], str]
    fulfillment_policy: str
    comment_template: str
    require_latin_address: bool = True
    # Amazon's featureConstraints to ask for (e.g. BLANK_BOX, BLOCK_AMZL), each Required.
    features: tuple[str, ...] = ()
    # Which marketplace ships the order, by its country (None: the client's own), and
    # the SKU map of each marketplace whose seller SKUs differ from `sku_map`.
    routing: Routing | None = None
    marketplace_sku_maps: Mapping[str, SkuMap] = field(default_factory=dict)

    def sku_map_for(self, marketplace_id: str) -> SkuMap:
        return self.marketplace_sku_maps.get(marketplace_id, self.sku_map)

    def marketplace_for(self, country: str) -> str:
        """The routed marketplace ("": home); NeedsAttentionError
        `no_marketplace` when the country is refused."""
        if self.routing is None:
            return ""
        return self.routing.key(self.routing.marketplace_for(country))

    def reserving_marketplace(self, order: CartOrder) -> str:
        """The marketplace whose stock an order holds units of even when it cannot be
        sent: its routed one, or home ("") when its country is refused or unreadable."""
        if order.address is None:
            return ""
        try:
            return self.marketplace_for(order.address.country_code)
        except NeedsAttentionError:
            return ""


# The featureConstraints names of Amazon's model (FeatureSettings.featureName).
FEATURE_NAMES = ("BLOCK_AMZL", "BLANK_BOX", "OVERBOX", "PACKING_SLIP", "SIGNATURE_CONFIRMATION",
                 "DELIVER_TOGETHER")


def requested_features(features: Collection[str]) -> tuple[str, ...]:
    """The features to ask Amazon for, each once, in the order given. A name Amazon does
    not know would have the whole order refused, so it holds the order here instead."""
    unknown = [name for name in features if name not in FEATURE_NAMES]
    if unknown:
        raise NeedsAttentionError(
            "unknown_feature",
            "Amazon has no fulfillment feature " + ", ".join(quoted(name) for name in unknown)
            + "; known: " + ", ".join(FEATURE_NAMES))
    return tuple(dict.fromkeys(features))


@dataclass(frozen=True)
class MappedLine:
    """One item of Amazon's order. A kit's cart line becomes one of these per component,
    each with its own item id; `kit_units` is that component's units per cart unit."""

    line_id: str
    cart_sku: str
    seller_sku: str
    quantity: int
    item_id: str = ""
    kit_units: int = 1


def expand_line(line: CartLine, sku_map: SkuMap) -> tuple[MappedLine, ...]:
    """The Amazon items one cart line ships as."""
    parts = sku_map.components(line.sku)
    if not sku_map.is_kit(line.sku):
        seller_sku = parts[0][0]
        return (MappedLine(line.line_id, line.sku, seller_sku, line.quantity,
                           fulfillment_item_id(line.line_id)),)
    return tuple(
        MappedLine(line.line_id, line.sku, seller_sku, line.quantity * units,
                   fulfillment_item_id(f"{line.line_id}_k{index}"), units)
        for index, (seller_sku, units) in enumerate(parts)
    )


def reserved_lines(order: CartOrder, sku_map: SkuMap) -> tuple[MappedLine, ...]:
    """The units an order takes from the shop's stock, as far as they can be told even
    when the order cannot be sent (it is held, but the shop already sold the units)."""
    return tuple(
        mapped
        for line in order.shippable_lines
        if line.sku.strip() and line.quantity > 0
        for mapped in expand_line(line, sku_map)
    )


@dataclass(frozen=True)
class MappedOrder:
    request: FulfillmentOrderRequest
    lines: tuple[MappedLine, ...]
    # Lines left out because they have no SKU (gift wrap, a custom charge): Amazon has
    # nothing to pick for them, so the rest of the order ships and the merchant is told.
    lines_without_sku: tuple[str, ...] = ()


def _is_latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def quoted(value: str) -> str:
    """`value` for a message: at most 40 characters, control characters escaped, so a
    hostile value can neither flood a note nor inject lines into it."""
    head = value[:_QUOTE_CHARS]
    shown = "".join(f"\\x{ord(c):02x}" if is_control(c) else c for c in head)
    return f'"{shown}…"' if len(value) > _QUOTE_CHARS else f'"{shown}"'


def check_text(label: str, value: str, limit: int | None = None) -> None:
    """No control character in `value` and, with `limit`, no more than that many characters.
    `label` names the field for the merchant ("the shipping address's city")."""
    if has_control(value):
        raise NeedsAttentionError(
            "control_character",
            f"{label} {quoted(value)} has a control character; Amazon takes none (edit it in the shop)",
        )
    if limit is not None and len(value) > limit:
        raise NeedsAttentionError(
            "field_too_long",
            f"{label} is {len(value):,} characters; Amazon takes at most {limit:,} "
            f"(starts {quoted(value)})",
        )


def _check_email(email: str) -> None:
    """Amazon mails the recipient from this address list: a CR/LF would forge headers."""
    if not email:
        return
    check_text("the customer's e-mail address", email, MAX_EMAIL)
    if not _EMAIL.fullmatch(email):
        raise NeedsAttentionError(
            "bad_email", f"the customer's e-mail address {quoted(email)} is not an e-mail address"
        )


def _render_comment(template: str, order: CartOrder) -> str:
    values = {"number": order.number, "order_id": order.order_id, "email": order.email}
    try:
        return string.Formatter().vformat(template, (), values)
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        raise NeedsAttentionError(
            "bad_comment_template", f"the order comment template cannot be rendered: {exc}"
        ) from None


def _check_address(order: CartOrder, require_latin: bool) -> Address:
    address = order.address
    if address is None or not any(
        (address.name, address.line1, address.city, address.postal_code, address.country_code)
    ):
        raise NeedsAttentionError("missing_address", "the order has no shipping address")
    missing = [
        label
        for label, value in (
            ("name", address.name),
            ("address line 1", address.line1),
            ("postal code", address.postal_code),
            ("country code", address.country_code),
        )
        if not value.strip()
    ]
    if address.country_code.upper() != "JP" and not address.city.strip():
        missing.append("city")
    if missing:
        raise NeedsAttentionError(
            "incomplete_address", "the shipping address has no " + ", ".join(missing)
        )
    country = address.country_code.strip().upper()
    if len(country) != 2 or not country.isalpha() or not country.isascii():
        raise NeedsAttentionError(
            "bad_country_code",
            f"the shipping address's country code {quoted(address.country_code)} is not an "
            "ISO 3166 two-letter code",
        )
    if country not in COUNTRY_CODES:
        raise NeedsAttentionError(
            "bad_country_code",
            f"the shipping address's country code {quoted(country)} is not an assigned "
            "ISO 3166-1 country code",
        )
    fields = {
        "name": address.name.strip(),
        "addressLine1": address.line1.strip(),
        "addressLine2": address.line2.strip(),
        "addressLine3": address.line3.strip(),
        "city": address.city.strip(),
        "stateOrRegion": address.state.strip(),
        "postalCode": address.postal_code.strip(),
        "countryCode": country,
        "phone": address.phone.strip(),
    }
    # What is sent is checked: surrounding whitespace (CR/LF and tabs included) is trimmed as
    # it always was, anything else that is a control character holds the order.
    for key, value in fields.items():
        check_text(f"the shipping address's {ADDRESS_LABELS[key]}", value, ADDRESS_LIMITS[key])
    if require_latin:
        bad = [key for key, value in fields.items() if value and not _is_latin1(value)]
        if bad:
            raise NeedsAttentionError(
                "non_latin_address",
                "the shipping address has characters outside Latin-1 in "
                + ", ".join(bad)
                + "; enter a transliterated address in the cart",
            )
    return Address(
        name=fields["name"],
        line1=fields["addressLine1"],
        line2=fields["addressLine2"],
        line3=fields["addressLine3"],
        city=fields["city"],
        state=fields["stateOrRegion"],
        postal_code=fields["postalCode"],
        country_code=country,
        phone=fields["phone"],
    )


def _map_lines(
    order: CartOrder, sku_map: SkuMap, known_skus: Collection[str] | None
) -> tuple[tuple[MappedLine, ...], tuple[str, ...]]:
    """The items to send, and the ids of the lines left out for having no SKU. An order
    whose every line to ship lacks a SKU is held: there is nothing Amazon could pick."""
    shippable = order.shippable_lines
    if not shippable:
        raise NeedsAttentionError("no_shippable_lines", "the order has no line that needs shipping")
    without_sku = tuple(line.line_id for line in shippable if not line.sku.strip())
    lines = tuple(line for line in shippable if line.sku.strip())
    if not lines:
        named = ", ".join(quoted(line_id) for line_id in without_sku[:5])
        raise NeedsAttentionError("missing_sku", f"no line of the order has a SKU (lines {named})")
    if len(lines) > MAX_LINES:
        raise NeedsAttentionError(
            "too_many_lines", f"the order has {len(lines)} lines; Amazon accepts at most {MAX_LINES}"
        )
    mapped: list[MappedLine] = []
    for line in lines:
        if line.quantity <= 0:
            raise NeedsAttentionError(
                "bad_quantity", f"line {quoted(line.line_id)} (SKU {quoted(line.sku)}) has quantity {line.quantity}"
            )
        for item in expand_line(line, sku_map):
            _check_seller_sku(line, item.seller_sku, known_skus)
            mapped.append(item)
    if len(mapped) > MAX_LINES:  # a kit ships as one item per component
        raise NeedsAttentionError(
            "too_many_lines",
            f"the order ships {len(mapped)} items; Amazon accepts at most {MAX_LINES}")
    units = sum(line.quantity for line in mapped)
    if units > MAX_UNITS:
        raise NeedsAttentionError(
            "too_many_units", f"the order has {units} units; Amazon accepts at most {MAX_UNITS}"
        )
    return tuple(mapped), without_sku


def _check_seller_sku(line: CartLine, seller_sku: str, known_skus: Collection[str] | None) -> None:
    check_text(f"line {quoted(line.line_id)}'s seller SKU", seller_sku)
    if len(seller_sku) > MAX_SELLER_SKU:
        raise NeedsAttentionError(
            "sku_too_long",
            f"line {quoted(line.line_id)}'s seller SKU is {len(seller_sku):,} characters; Amazon "
            f"takes at most {MAX_SELLER_SKU} (starts {quoted(seller_sku)})",
        )
    if known_skus is not None and seller_sku not in known_skus:
        raise NeedsAttentionError(
            "unknown_sku",
            f"SKU {quoted(line.sku)} maps to seller SKU {quoted(seller_sku)}, which has no FBA inventory "
            "record; add it to the SKU map or send stock to Amazon",
        )


def build_fulfillment_request(
    order: CartOrder,
    seller_fulfillment_order_id: str,
    policy: MappingPolicy,
    known_skus: Collection[str] | Mapping[str, Collection[str]] | None = None,
) -> MappedOrder:
    """The fulfillment order to ask Amazon for `order`. `known_skus` (seller SKUs Amazon
    holds stock records for, or those per marketplace id, "" the home one) catches
    unknown SKUs before Amazon does; None (or no records for the routed marketplace)
    skips it."""
    if order.cancelled:
        raise NeedsAttentionError("cancelled", "the order is cancelled in the cart")
    if not is_valid_seller_fulfillment_order_id(seller_fulfillment_order_id):
        raise NeedsAttentionError(
            "bad_fulfillment_order_id",
            f"the fulfillment order id {quoted(seller_fulfillment_order_id)} is not 1-40 of "
            "A-Z, a-z, 0-9, '-' and '_'; check the storefront's id prefix",
        )
    # Before inner whitespace is collapsed: split() would turn CR, LF and some C0 into spaces.
    check_text("the order number", order.number.strip())
    displayable_id = " ".join(order.number.split())
    if not displayable_id:
        raise NeedsAttentionError("missing_number", "the order has no order number")
    if len(displayable_id) > MAX_DISPLAYABLE_ID or not _is_latin1(displayable_id):
        raise NeedsAttentionError(
            "bad_order_number",
            f"the order number {quoted(order.number)} ({len(displayable_id):,} characters) is not "
            f"1-{MAX_DISPLAYABLE_ID} Latin-1 characters as Amazon's displayableOrderId requires",
        )
    check_order_date(order.created_at)
    comment = _render_comment(policy.comment_template, order).strip()
    if not comment or len(comment) > MAX_COMMENT:
        raise NeedsAttentionError(
            "bad_comment",
            f"the order comment is {len(comment):,} characters; Amazon needs 1-{MAX_COMMENT}",
        )
    email = order.email.strip()
    _check_email(email)
    check_text("the order comment (from the storefront's comment template)", comment)
    address = _check_address(order, policy.require_latin_address)
    marketplace = policy.marketplace_for(address.country_code)
    if isinstance(known_skus, Mapping):
        known_skus = known_skus.get(marketplace or "")
    lines, without_sku = _map_lines(order, policy.sku_map_for(marketplace), known_skus)
    request = FulfillmentOrderRequest(
        seller_fulfillment_order_id=seller_fulfillment_order_id,
        displayable_id=displayable_id,
        displayable_date=order.created_at.astimezone(UTC),
        comment=comment,
        shipping_speed=policy.speed_for(order.shipping_method),
        destination=address,
        fulfillment_policy=policy.fulfillment_policy,
        items=tuple(RequestedItem(line.seller_sku, line.item_id, line.quantity) for line in lines),
        notification_emails=(email,) if email else (),
        features=requested_features(policy.features),
        marketplace_id=marketplace,
    )
    return MappedOrder(request=request, lines=lines, lines_without_sku=without_sku)
