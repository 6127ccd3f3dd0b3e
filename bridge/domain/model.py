"""The types every part of bridge speaks: what a cart order is, what a shipment is,
what a stock level is. Adapters translate platform payloads into these."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Address:
    name: str = ""
    line1: str = ""
    line2: str = ""
    line3: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    country_code: str = ""
    phone: str = ""


@dataclass(frozen=True)
class CartLine:
    line_id: str
    sku: str
    quantity: int
    requires_shipping: bool = True
    # What the shop calls the item, for notes that name lines ("Blue mug × 2").
    title: str = ""


class PaymentStatus:
    """What the shop says about an order's money, normalised across platforms.
    `CartOrder.paid` stays the plain "captured" flag; rules may also ship AUTHORIZED."""

    PAID = "paid"               # captured (or partly refunded after capture)
    AUTHORIZED = "authorized"   # approved, to be captured by hand later
    PENDING = "pending"         # not paid yet (awaiting payment, on hold at the gateway)
    # Cash (or card) collected at the door: the shop treats the order as ready, but Amazon
    # collects nothing, so whether it ships is the storefront's `ship_payment` decision.
    ON_DELIVERY = "on_delivery"
    REFUNDED = "refunded"
    VOIDED = "voided"
    UNKNOWN = ""


class RiskLevel:
    """The platform's own fraud verdict, where it has one."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    UNKNOWN = ""


@dataclass(frozen=True)
class CartOrder:
    """One order as the cart shows it now. `updated_at` is the cart's own change time,
    the value incremental polling filters on."""

    order_id: str
    number: str
    created_at: datetime
    updated_at: datetime
    paid: bool
    cancelled: bool
    lines: tuple[CartLine, ...]
    address: Address | None = None
    shipping_method: str = ""
    email: str = ""
    # What rules read. Each is left at its empty default where the platform has no such
    # thing, and only a set value enters the snapshot, so adding a field here does not
    # make every recorded order look edited.
    total: str = ""                 # the order's grand total as a decimal string
    currency: str = ""              # ISO 4217
    tags: tuple[str, ...] = ()
    customer_note: str = ""
    risk: str = RiskLevel.UNKNOWN
    payment_status: str = PaymentStatus.UNKNOWN

    @property
    def shippable_lines(self) -> tuple[CartLine, ...]:
        return tuple(line for line in self.lines if line.requires_shipping)

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready copy, stored in the ledger and hashed to detect edits."""
        # By hand, not dataclasses.asdict: this runs several times per order on every
        # poll, and asdict deep-copies every field. The result is the same dict.
        return {
            "order_id": self.order_id,
            "number": self.number,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "paid": self.paid,
            "cancelled": self.cancelled,
            "lines": [_line_snapshot(line) for line in self.lines],
            "address": dict(vars(self.address)) if self.address is not None else None,
            "shipping_method": self.shipping_method,
            "email": self.email,
            **{key: (list(value) if isinstance(value, tuple) else value)
               for key in _OPTIONAL_FIELDS if (value := getattr(self, key))},
        }

    def content_hash(self, snapshot: dict[str, Any] | None = None) -> str:
        """Hash of what matters for fulfillment; `updated_at` is left out so that a
        touch without a change does not count as an edit. `snapshot`: this order's
        snapshot when the caller has it already."""
        data = dict(snapshot) if snapshot is not None else self.snapshot()
        data.pop("updated_at")
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> CartOrder:
        address = data.get("address")
        return cls(
            order_id=data["order_id"],
            number=data["number"],
            created_at=datetime.fromisoformat(data["created_at"]),
            updated_at=datetime.fromisoformat(data["updated_at"]),
            paid=data["paid"],
            cancelled=data["cancelled"],
            lines=tuple(CartLine(**line) for line in data["lines"]),
            address=Address(**address) if address else None,
            shipping_method=data.get("shipping_method", ""),
            email=data.get("email", ""),
            total=data.get("total", ""),
            currency=data.get("currency", ""),
            tags=tuple(data.get("tags", ())),
            customer_note=data.get("customer_note", ""),
            risk=data.get("risk", ""),
            payment_status=data.get("payment_status", ""),
        )


# Fields that enter a snapshot only when set (see CartOrder).
_OPTIONAL_FIELDS = ("total", "currency", "tags", "customer_note", "risk", "payment_status")


def _line_snapshot(line: CartLine) -> dict[str, Any]:
    data = dict(vars(line))
    if not data["title"]:
        del data["title"]  # as before titles were read: old hashes still match
    return data


@dataclass(frozen=True)
class OrderPage:
    """One page of `fetch_orders`: the orders and the token of the next page (None at the end)."""

    orders: list[CartOrder]
    next_page: str | None = None


@dataclass(frozen=True)
class ShippedLine:
    line_id: str
    sku: str
    quantity: int


@dataclass(frozen=True)
class PackageShipment:
    """One package Amazon shipped: what the cart needs to mark lines fulfilled."""

    package_number: int
    carrier: str
    tracking_number: str
    shipped_at: datetime | None = None
    lines: tuple[ShippedLine, ...] = field(default_factory=tuple)
    tracking_url: str = ""


@dataclass(frozen=True)
class StockLevel:
    """Absolute sellable quantity of one cart SKU. `expected` is the quantity bridge just
    read from the shop: a platform that can write conditionally writes only while the
    shop still shows it (a sale in between makes the write stale, not wrong)."""

    sku: str
    quantity: int
    expected: int | None = None
