"""What bridge needs to know from Amazon's fulfillment network, in bridge's own words:
a fulfillment order's status and shipped packages, the orders that changed since a
moment, a SKU's inventory, and how a cancel went; and, the other way, the fulfillment order
bridge asks Amazon to create. The SP-API's JSON is turned into and out of these in
`bridge/fba/` and nowhere else, so services never walk Amazon's payloads."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from bridge.domain.model import Address

# Amazon's fulfillmentOrderStatus values bridge acts on.
RECEIVED = "Received"
PROCESSING = "Processing"
COMPLETE = "Complete"
COMPLETE_PARTIALLED = "CompletePartialled"
CANCELLED = "Cancelled"
UNFULFILLABLE = "Unfulfillable"
INVALID = "Invalid"
# Nothing has been picked yet: Amazon still takes a cancel.
CANCELLABLE = ("New", RECEIVED, "Planning")
# updateFulfillmentOrder changes an order only while nothing has been picked either.
UPDATABLE = CANCELLABLE
SHIPPED = (COMPLETE, COMPLETE_PARTIALLED)
# Amazon will not ship these.
CLOSED_UNSHIPPED = (CANCELLED, UNFULFILLABLE, INVALID)


@dataclass(frozen=True)
class RequestedItem:
    """One item of a fulfillment order bridge asks for."""

    seller_sku: str
    item_id: str  # becomes the item's sellerFulfillmentOrderItemId
    quantity: int


@dataclass(frozen=True)
class PackageItem:
    """Units of one order item in a package."""

    seller_sku: str
    item_id: str  # the order item's sellerFulfillmentOrderItemId
    quantity: int


@dataclass(frozen=True)
class ShippedPackage:
    package_number: int  # unique per seller at Amazon
    carrier: str
    tracking_number: str
    shipped_at: datetime | None
    shipment_id: str  # Amazon's shipment the package left in
    items: tuple[PackageItem, ...] = ()


@dataclass(frozen=True)
class OrderItem:
    """One item of a fulfillment order as Amazon reports it: the units asked for and
    how many of them it will not ship (cancelledQuantity, unfulfillableQuantity)."""

    seller_sku: str
    item_id: str  # the item's sellerFulfillmentOrderItemId
    quantity: int
    cancelled: int = 0
    unfulfillable: int = 0

    @property
    def not_shipped(self) -> int:
        """Units Amazon gave up on, never more than were asked for."""
        return min(self.quantity, self.cancelled + self.unfulfillable)


@dataclass(frozen=True)
class FulfillmentOrder:
    """A fulfillment order as Amazon has it now; `packages` are the shipped ones only,
    `items` what was asked for with what Amazon gave up on (empty from a listing)."""

    seller_fulfillment_order_id: str
    status: str  # Amazon's fulfillmentOrderStatus, "" when it gave none
    status_updated_at: datetime | None
    packages: tuple[ShippedPackage, ...] = ()
    items: tuple[OrderItem, ...] = ()
    # What Amazon will ship to, as it holds it now (an edit is compared with these);
    # None / "" from a listing.
    destination: Address | None = None
    shipping_speed: str = ""
    features: tuple[str, ...] = ()  # the Required featureConstraints it was created with


@dataclass(frozen=True)
class OrderChange:
    """One line of the changed-orders listing: enough to decide whether to read it whole."""

    seller_fulfillment_order_id: str
    status: str
    status_updated_at: datetime | None


@dataclass(frozen=True)
class ChangedOrders:
    """Every order whose status changed at or after the moment asked, across pages."""

    orders: tuple[OrderChange, ...] = ()

    @property
    def newest_update(self) -> datetime | None:
        """The latest status change listed, on Amazon's clock (the next cursor)."""
        return max((o.status_updated_at for o in self.orders if o.status_updated_at),
                   default=None)


@dataclass(frozen=True)
class InventoryLevel:
    """One seller SKU's units in this marketplace; counts are never negative."""

    seller_sku: str
    fulfillable: int
    inbound: int  # working + shipped + receiving
    reserved: int
    updated_at: datetime | None  # when Amazon last changed it, on Amazon's clock


class CancelVerdict(StrEnum):
    CANCELLED = "cancelled"  # Amazon took the cancel (or had it cancelled already)
    REFUSED = "refused"  # too late: Amazon is picking or has shipped
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class CancelOutcome:
    verdict: CancelVerdict
    reason: str = ""  # Amazon's words when it refused

    @classmethod
    def cancelled(cls) -> CancelOutcome:
        return cls(CancelVerdict.CANCELLED)

    @classmethod
    def refused(cls, reason: str) -> CancelOutcome:
        return cls(CancelVerdict.REFUSED, reason)

    @classmethod
    def not_found(cls) -> CancelOutcome:
        return cls(CancelVerdict.NOT_FOUND)


@dataclass(frozen=True)
class FulfillmentOrderRequest:
    """The fulfillment order bridge asks Amazon to create, checked by the domain's mapping.
    `destination` holds trimmed values ("" where the shop gave none), its country code in
    upper case. Saved on the ledger row as `to_json()` (bridge's own field names), read
    back with `from_json`; `bridge.fba.outbound_mapping.create_order_body` writes
    Amazon's createFulfillmentOrder body from it."""

    seller_fulfillment_order_id: str
    displayable_id: str
    displayable_date: datetime  # aware
    comment: str
    shipping_speed: str  # Amazon's shippingSpeedCategory value
    destination: Address
    fulfillment_policy: str
    items: tuple[RequestedItem, ...]
    notification_emails: tuple[str, ...] = ()
    hold: bool = False  # created on hold: Amazon ships it only once released
    # Amazon's featureConstraints (BLANK_BOX, BLOCK_AMZL, ...), each sent as Required.
    features: tuple[str, ...] = ()
    # Asked for, but Amazon could not give them and the merchant chose to send without:
    # a record of that decision (never sent), so a retry does not ask again.
    features_dropped: tuple[str, ...] = ()
    # The marketplace whose network ships it (the routing's choice); "" for requests
    # saved before routing existed, which go to the storefront's home marketplace.
    marketplace_id: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "marketplace_id": self.marketplace_id,
            "seller_fulfillment_order_id": self.seller_fulfillment_order_id,
            "displayable_id": self.displayable_id,
            "displayable_date": self.displayable_date.isoformat(),
            "comment": self.comment,
            "shipping_speed": self.shipping_speed,
            "destination": asdict(self.destination),
            "fulfillment_policy": self.fulfillment_policy,
            "items": [asdict(item) for item in self.items],
            "notification_emails": list(self.notification_emails),
            "hold": self.hold,
            "features": list(self.features),
            "features_dropped": list(self.features_dropped),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FulfillmentOrderRequest:
        """The request `to_json` saved."""
        return cls(
            seller_fulfillment_order_id=data["seller_fulfillment_order_id"],
            displayable_id=data["displayable_id"],
            displayable_date=datetime.fromisoformat(data["displayable_date"]),
            comment=data["comment"],
            shipping_speed=data["shipping_speed"],
            destination=Address(**data["destination"]),
            fulfillment_policy=data["fulfillment_policy"],
            items=tuple(RequestedItem(**item) for item in data["items"]),
            notification_emails=tuple(data.get("notification_emails", ())),
            hold=bool(data.get("hold", False)),
            # Requests saved before features existed have none.
            features=tuple(data.get("features", ())),
            features_dropped=tuple(data.get("features_dropped", ())),
            marketplace_id=data.get("marketplace_id", ""),
        )


@dataclass(frozen=True)
class FulfillmentOrderUpdate:
    """The changes bridge asks updateFulfillmentOrder for: only what differs from Amazon's
    order is set (None / empty: unchanged). `items` change quantities of items the order
    was created with; Amazon adds and removes none."""

    seller_fulfillment_order_id: str
    destination: Address | None = None
    shipping_speed: str | None = None
    items: tuple[RequestedItem, ...] = ()
    # The order's marketplace ("": the client's own): Amazon does not move an order.
    marketplace_id: str = ""

    @property
    def empty(self) -> bool:
        return self.destination is None and self.shipping_speed is None and not self.items


class UpdateVerdict(StrEnum):
    UPDATED = "updated"
    REFUSED = "refused"  # too late, or a change Amazon does not take
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class UpdateOutcome:
    verdict: UpdateVerdict
    reason: str = ""  # Amazon's words when it refused


@dataclass(frozen=True)
class FeatureSkuEligibility:
    """getFeatureSKU's answer: may this SKU ship with the feature, and if not, why
    (Amazon's ineligibleReasons: MERCHANT_NOT_ENROLLED, SKU_NOT_ELIGIBLE, INVALID_SKU)."""

    feature: str
    seller_sku: str
    eligible: bool
    reasons: tuple[str, ...] = ()
