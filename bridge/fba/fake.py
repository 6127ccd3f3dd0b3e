"""An in-memory fulfillment network implementing the `FulfillmentNetwork` port, for unit
tests of the services (shipped with the package so any test suite can use it).

It keeps a small version of the simulator's rules, and `tests/contract/
test_fulfillment_network.py` runs the same cases against it and against `FbaClient` on the
simulator, so the two cannot drift apart:

    Received --30 s--> Planning --60 s--> Processing --120 s--> Complete (one package)

on an injected clock (`ManualClock` by default; `advance` moves it). Stock is reserved at
creation; an order the stock cannot cover for its policy is Invalid at once (FillOrKill
short, FillAllAvailable with nothing). Reservations are topped up when planning starts;
an order still short then follows its policy (FillOrKill: Unfulfillable; otherwise it
ships what it holds, CompletePartialled).
An order placed on Hold stays Received until Amazon cancels it after 14 days. Orders
can be cancelled while New, Received or Planning. A shipped unit can be returned once
(one authorization per request, all units back after `return_transit` and Processed
after `return_inspection` more, Defective when the reason says so, else Sellable). A
package's tracking follows the simulator's timeline of its order's outcome
(`set_tracking_outcome`: DELIVERED by default) over `transit`. Not
modelled: several fulfillment centers, FillAll's wait for stock, updates.

Faults (`inject`) apply to the next calls of one port method: TIMEOUT (nothing done;
IndeterminateError for a write, DeadlineExceeded for a read), THROTTLED (429 after the
client's retries: TransientError) and ACT_THEN_DROP (a write is done, then its answer
is lost: IndeterminateError)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import Enum

from bridge.domain import fulfillment as amazon
from bridge.domain.fulfillment import (
    CancelOutcome,
    ChangedOrders,
    FeatureSkuEligibility,
    FulfillmentOrder,
    FulfillmentOrderRequest,
    FulfillmentOrderUpdate,
    InventoryLevel,
    OrderChange,
    OrderItem,
    PackageItem,
    ShippedPackage,
    UpdateOutcome,
    UpdateVerdict,
)
from bridge.domain.mapping import FEATURE_NAMES
from bridge.errors import DeadlineExceeded, IndeterminateError, NeedsAttentionError, TransientError
from bridge.fba import returns as ret
from bridge.fba.errors import NotFound
from bridge.fba.returns import (
    CreatedReturn,
    InvalidReturn,
    OrderReturns,
    ReturnAuthorization,
    ReturnedUnit,
    ReturnReason,
    ReturnUnit,
    ShippedUnits,
)
from bridge.fba.tracking_details import PackageTracking, TrackingEvent

OPERATIONS = ("create_fulfillment_order", "fulfillment_order", "changed_orders",
              "cancel_order", "inventory_levels", "return_reasons", "create_return",
              "order_returns", "package_tracking", "update_order", "features", "feature_sku")
_WRITES = ("create_fulfillment_order", "cancel_order", "create_return", "update_order")
FEATURES = FEATURE_NAMES  # every feature is offered, as in a US marketplace
# Amazon's reason codes (a few of the simulator's), with the condition a unit returned
# for that reason is found in.
RETURN_REASONS = {
    "CR-UNWANTED_ITEM": ("No longer needed/wanted", "Sellable"),
    "CR-DEFECTIVE": ("Defective/Does not work properly", "Defective"),
    "CR-ORDERED_WRONG_ITEM": ("Accidental order", "Sellable"),
    "CR-DAMAGED_BY_CARRIER": ("Damaged during shipping", "CarrierDamaged"),
}

# How a package fares after shipping, as the simulator models it: (fraction of the
# transit time, event code, status after it).
_TRACKING_START = ((0.0, "EVENT_101", "IN_TRANSIT"), (0.1, "EVENT_102", "IN_TRANSIT"),
                   (0.5, "EVENT_201", "IN_TRANSIT"))
_TRACKING_TIMELINES = {
    "DELIVERED": _TRACKING_START + ((0.9, "EVENT_302", "OUT_FOR_DELIVERY"),
                                    (1.0, "EVENT_301", "DELIVERED")),
    "DELAYED": _TRACKING_START + ((0.9, "EVENT_418", "DELAYED"),
                                  (1.9, "EVENT_302", "OUT_FOR_DELIVERY"),
                                  (2.0, "EVENT_301", "DELIVERED")),
    "UNDELIVERABLE": _TRACKING_START + ((1.0, "EVENT_409", "UNDELIVERABLE"),),
    "RETURNED": _TRACKING_START + ((0.9, "EVENT_302", "OUT_FOR_DELIVERY"),
                                   (1.0, "EVENT_304", "DELIVERY_ATTEMPTED"),
                                   (1.05, "EVENT_407", "DELIVERY_ATTEMPTED"),
                                   (1.1, "EVENT_408", "RETURNING"),
                                   (2.0, "EVENT_309", "RETURNED")),
}
TRACKING_OUTCOMES = tuple(_TRACKING_TIMELINES)


class Fault(Enum):
    TIMEOUT = "timeout"
    THROTTLED = "throttled"
    ACT_THEN_DROP = "act_then_drop"


class ManualClock:
    """UTC time that moves only when told."""

    def __init__(self, start: datetime = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass(frozen=True)
class Lifecycle:
    """Seconds an order spends in each status (the simulator's defaults)."""

    received: float = 30.0
    planning: float = 60.0
    processing: float = 120.0
    hold_expiry: float = 14 * 86400.0
    return_transit: float = 3 * 86400.0
    transit: float = 2 * 86400.0  # shipped → at the door (the simulator's Standard)
    return_inspection: float = 86400.0


@dataclass
class _Item:
    sku: str
    item_id: str
    quantity: int
    reserved: int = 0
    # What Amazon gave up on, reported per item as the simulator does: FillAllAvailable's
    # shortfall and a cancel count as cancelled, anything else short as unfulfillable.
    cancelled: int = 0
    unfulfillable: int = 0


@dataclass
class _Order:
    order_id: str
    seq: int
    policy: str
    hold: bool
    items: list[_Item]
    status: str
    updated_at: datetime
    request: FulfillmentOrderRequest
    due_at: datetime | None = None
    packages: list[ShippedPackage] = field(default_factory=list)
    tracking_outcome: str = "DELIVERED"
    returns: list[_ReturnUnit] = field(default_factory=list)
    authorizations: list[ReturnAuthorization] = field(default_factory=list)


@dataclass
class _ReturnUnit:
    unit: ReturnUnit
    authorization_id: str
    requested_at: datetime


@dataclass
class _Stock:
    fulfillable: int = 0
    reserved: int = 0
    inbound: int = 0
    updated_at: datetime | None = None


class FakeFulfillmentNetwork:
    def __init__(self, clock: Callable[[], datetime] | None = None,
                 lifecycle: Lifecycle = Lifecycle(), carrier: str = "UPS") -> None:
        self.clock = clock or ManualClock()
        self.lifecycle = lifecycle
        self.carrier = carrier
        self.calls: Counter[str] = Counter()
        self._orders: dict[str, _Order] = {}
        # Amazon keeps stock per marketplace: "" is the home one (the client's own).
        self._stocks: dict[str, dict[str, _Stock]] = {"": {}}
        self._faults: dict[str, list[Fault]] = {}
        self._next_package = 1000
        self._enrolled = dict.fromkeys(FEATURES, True)

    # -- driving it (tests) -------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        """Move the clock (it must have `advance`, as ManualClock does)."""
        self.clock.advance(seconds)  # type: ignore[attr-defined]

    @property
    def _stock(self) -> dict[str, _Stock]:
        """The home marketplace's stock."""
        return self._stocks[""]

    def _book(self, order: _Order) -> dict[str, _Stock]:
        """The stock of the marketplace the order was sent to."""
        return self._stocks.setdefault(order.request.marketplace_id, {})

    def set_stock(self, levels: dict[str, int], *, undetected: bool = False,
                  marketplace_id: str = "") -> None:
        """Absolute fulfillable units per SKU (in one marketplace, home by default).
        `undetected` keeps the SKU's update time, so an incremental read misses the change
        (as Amazon sometimes does)."""
        book = self._stocks.setdefault(marketplace_id, {})
        for sku, units in levels.items():
            stock = book.setdefault(sku, _Stock(updated_at=self.clock()))
            stock.fulfillable = int(units)
            if not undetected:
                stock.updated_at = self.clock()

    def force_status(self, seller_fulfillment_order_id: str, status: str) -> None:
        """End an open order as Amazon may: Cancelled, Unfulfillable or Invalid (the
        sandbox's submitFulfillmentOrderStatusUpdate)."""
        order = self._orders[seller_fulfillment_order_id]
        self._catch_up()
        if status not in amazon.CLOSED_UNSHIPPED or order.status in amazon.SHIPPED:
            raise ValueError(f"cannot move {order.status} to {status}")
        self._close(order, status, self.clock())

    def set_tracking_outcome(self, seller_fulfillment_order_id: str, outcome: str) -> None:
        """How the order's packages fare (`TRACKING_OUTCOMES`), as the simulator's admin
        API sets it."""
        if outcome not in _TRACKING_TIMELINES:
            raise ValueError(f"outcome must be one of {', '.join(_TRACKING_TIMELINES)}")
        self._orders[seller_fulfillment_order_id].tracking_outcome = outcome

    def inject(self, operation: str, fault: Fault, times: int = 1) -> None:
        """The next `times` calls of `operation` (a port method's name) fail so."""
        if operation not in OPERATIONS:
            raise ValueError(f"unknown operation {operation!r}; one of {', '.join(OPERATIONS)}")
        if fault == Fault.ACT_THEN_DROP and operation not in _WRITES:
            raise ValueError("act-then-drop applies to writes only")
        self._faults.setdefault(operation, []).extend([fault] * times)

    def set_feature_enrollment(self, feature: str, eligible: bool) -> None:
        """Enroll the seller in a feature or withdraw it (the simulator's admin call)."""
        if feature not in self._enrolled:
            raise ValueError(f"unknown feature {feature!r}; one of {', '.join(FEATURES)}")
        self._enrolled[feature] = eligible

    def order_ids(self) -> list[str]:
        return list(self._orders)

    # -- the port -------------------------------------------------------------------------

    def create_fulfillment_order(self, request: FulfillmentOrderRequest) -> None:
        fault = self._enter("create_fulfillment_order")
        order_id = request.seller_fulfillment_order_id
        if order_id in self._orders:
            raise NeedsAttentionError("amazon_rejected", f"A fulfillment order with "
                                      f"sellerFulfillmentOrderId {order_id} already exists.")
        for line in request.items:
            if line.seller_sku not in self._stocks.get(request.marketplace_id, {}):
                raise NeedsAttentionError("amazon_rejected", f"The SellerSKU for Item Id: "
                                          f"{line.item_id} is invalid.")
        for feature in request.features:
            if not self._enrolled.get(feature, False):
                raise NeedsAttentionError("amazon_rejected", f"The seller is not enrolled in "
                                          f"the feature {feature}.")
        now = self.clock()
        order = _Order(
            order_id=order_id, seq=len(self._orders) + 1,
            policy=request.fulfillment_policy or "FillOrKill", hold=request.hold,
            items=[_Item(line.seller_sku, line.item_id, line.quantity) for line in request.items],
            status=amazon.RECEIVED, updated_at=now, request=request,
            due_at=now + timedelta(seconds=self.lifecycle.hold_expiry if request.hold
                                   else self.lifecycle.received),
        )
        self._reserve(order, now)
        if self._short_at_validation(order):
            # Received means validated with enough sellable stock: this one is Invalid.
            self._close(order, amazon.INVALID, now)
        self._orders[order_id] = order
        self._leave(fault)

    def fulfillment_order(self, seller_fulfillment_order_id: str) -> FulfillmentOrder | None:
        self._leave(self._enter("fulfillment_order"))
        order = self._orders.get(seller_fulfillment_order_id)
        if order is None:
            return None
        return FulfillmentOrder(order.order_id, order.status, order.updated_at,
                                tuple(order.packages),
                                tuple(OrderItem(i.sku, i.item_id, i.quantity, i.cancelled,
                                                i.unfulfillable) for i in order.items),
                                destination=order.request.destination,
                                shipping_speed=order.request.shipping_speed,
                                features=order.request.features)

    def changed_orders(self, since: datetime) -> ChangedOrders:
        self._leave(self._enter("changed_orders"))
        changed = sorted((o for o in self._orders.values() if o.updated_at >= since),
                         key=lambda o: (o.updated_at, o.seq))
        return ChangedOrders(tuple(OrderChange(o.order_id, o.status, o.updated_at)
                                   for o in changed))

    def cancel_order(self, seller_fulfillment_order_id: str) -> CancelOutcome:
        fault = self._enter("cancel_order")
        order = self._orders.get(seller_fulfillment_order_id)
        if order is None:
            return CancelOutcome.not_found()
        if order.status != amazon.CANCELLED:  # cancelling twice is harmless
            if order.status not in amazon.CANCELLABLE:
                return CancelOutcome.refused(f"The fulfillment order cannot be cancelled "
                                             f"because it is in the {order.status} state.")
            self._close(order, amazon.CANCELLED, self.clock())
        self._leave(fault)
        return CancelOutcome.cancelled()

    def update_order(self, update: FulfillmentOrderUpdate) -> UpdateOutcome:
        fault = self._enter("update_order")
        order = self._orders.get(update.seller_fulfillment_order_id)
        if order is None:
            return UpdateOutcome(UpdateVerdict.NOT_FOUND)
        refused = self._refusal(order, update)
        if refused:
            return UpdateOutcome(UpdateVerdict.REFUSED, refused)
        now = self.clock()
        request = order.request
        if update.destination is not None:
            request = replace(request, destination=update.destination)
        if update.shipping_speed is not None:
            request = replace(request, shipping_speed=update.shipping_speed)
        order.request = request
        items = {item.item_id: item for item in order.items}
        for change in update.items:
            item = items[change.item_id]
            item.quantity = change.quantity
            excess = item.reserved - item.quantity
            if excess > 0:  # fewer units: the surplus goes back on the shelf
                stock = self._book(order)[item.sku]
                stock.reserved -= excess
                stock.fulfillable += excess
                stock.updated_at = now
                item.reserved -= excess
        self._reserve(order, now)
        self._leave(fault)
        return UpdateOutcome(UpdateVerdict.UPDATED)

    @staticmethod
    def _refusal(order: _Order, update: FulfillmentOrderUpdate) -> str:
        """Why Amazon refuses the update ("" when it takes it), as the simulator does."""
        if order.status not in amazon.UPDATABLE:
            return (f"The fulfillment order cannot be updated because it is in the "
                    f"{order.status} state.")
        items = {item.item_id: item for item in order.items}
        for index, change in enumerate(update.items):
            item = items.get(change.item_id)
            if item is None:
                return (f"Value for parameter items[{index}].sellerFulfillmentOrderItemId is "
                        "invalid: the order has no such item.")
            if change.seller_sku not in ("", item.sku):
                return (f"Value for parameter items[{index}].sellerSku is invalid: it does not "
                        "match the order item.")
            if change.quantity <= 0:
                return (f"Value for parameter items[{index}].quantity is invalid: it must be "
                        "greater than 0.")
        return ""

    def features(self, marketplace_id: str = "") -> dict[str, bool]:
        self._leave(self._enter("features"))
        return dict(self._enrolled)

    def feature_sku(self, feature: str, seller_sku: str,
                    marketplace_id: str = "") -> FeatureSkuEligibility:
        self._leave(self._enter("feature_sku"))
        if feature not in self._enrolled:
            raise NeedsAttentionError("amazon_rejected", f"The feature {feature} is not "
                                      "available in this marketplace.")
        stock = self._stocks.get(marketplace_id, {}).get(seller_sku)
        if stock is None:
            return FeatureSkuEligibility(feature, seller_sku, False, ("INVALID_SKU",))
        reasons = []
        if not self._enrolled[feature]:
            reasons.append("MERCHANT_NOT_ENROLLED")
        if stock.fulfillable <= 0:
            reasons.append("SKU_NOT_ELIGIBLE")
        return FeatureSkuEligibility(feature, seller_sku, not reasons, tuple(reasons))

    def inventory_levels(self, since: datetime | None = None,
                         marketplace_id: str = "") -> list[InventoryLevel]:
        self._leave(self._enter("inventory_levels"))
        return [
            InventoryLevel(sku, stock.fulfillable, stock.inbound, stock.reserved, stock.updated_at)
            for sku, stock in sorted(self._stocks.get(marketplace_id, {}).items())
            if since is None or (stock.updated_at is not None and stock.updated_at >= since)
        ]

    def return_reasons(self, seller_sku: str,
                       seller_fulfillment_order_id: str | None = None) -> list[ReturnReason]:
        self._leave(self._enter("return_reasons"))
        if seller_sku not in self._stock:
            raise NeedsAttentionError("amazon_rejected", f"The SellerSKU {seller_sku} is invalid.")
        if seller_fulfillment_order_id and seller_fulfillment_order_id not in self._orders:
            raise NotFound(f"The fulfillment order {seller_fulfillment_order_id} was not found.",
                           "listReturnReasonCodes")
        return [ReturnReason(code, text) for code, (text, _) in RETURN_REASONS.items()]

    def create_return(self, seller_fulfillment_order_id: str,
                      units: Sequence[ReturnUnit]) -> CreatedReturn:
        fault = self._enter("create_return")
        order = self._orders.get(seller_fulfillment_order_id)
        if order is None:
            raise NotFound(f"The fulfillment order {seller_fulfillment_order_id} was not found.",
                           "createFulfillmentReturn")
        if not units:
            raise NeedsAttentionError("amazon_rejected", "Value for parameter items is invalid: "
                                      "at least one item is required.")
        accepted: list[ReturnUnit] = []
        invalid: list[InvalidReturn] = []
        for unit in units:
            code = self._return_refusal(order, unit, accepted)
            if code:
                invalid.append(InvalidReturn(unit.return_item_id, unit.item_id, code, code))
            else:
                accepted.append(unit)
        authorizations: tuple[ReturnAuthorization, ...] = ()
        if accepted:
            number = sum(len(o.authorizations) for o in self._orders.values()) + 1
            authorization = ReturnAuthorization(
                authorization_id=f"FAKE-RA{number:05d}", rma_id=f"DFAKE{number:05d}RMA",
                label_url=f"https://www.amazon.com/gp/orc/rml/DFAKE{number:05d}RMA",
                fulfillment_center_id="FAKE1",
                address={"name": "Returns Department", "addressLine1": "1 Fake Way",
                         "city": "Seattle", "stateOrRegion": "WA", "postalCode": "98101",
                         "countryCode": "US"})
            order.authorizations.append(authorization)
            authorizations = (authorization,)
            now = self.clock()
            order.returns.extend(_ReturnUnit(unit, authorization.authorization_id, now)
                                 for unit in accepted)
        created = CreatedReturn(
            accepted=tuple(self._returned(order, r) for r in order.returns
                           if r.unit in accepted),
            invalid=tuple(invalid), authorizations=authorizations)
        self._leave(fault)
        return created

    def order_returns(self, seller_fulfillment_order_id: str) -> OrderReturns | None:
        self._leave(self._enter("order_returns"))
        order = self._orders.get(seller_fulfillment_order_id)
        if order is None:
            return None
        shipped = tuple(ShippedUnits(p.shipment_id, item.item_id, item.seller_sku, item.quantity)
                        for p in order.packages for item in p.items)
        return OrderReturns(order.status, shipped,
                            tuple(self._returned(order, r) for r in order.returns),
                            tuple(order.authorizations))

    def _return_refusal(self, order: _Order, unit: ReturnUnit, accepted: list[ReturnUnit]) -> str:
        """The InvalidItemReasonCode Amazon gives this unit, or "" when it takes it."""
        taken = [r.unit for r in order.returns] + accepted
        if any(t.return_item_id == unit.return_item_id for t in taken):
            return ret.DUPLICATE_REQUEST
        if unit.reason_code not in RETURN_REASONS or \
                not any(i.item_id == unit.item_id for i in order.items):
            return ret.INVALID_VALUES
        shipped = sum(item.quantity for p in order.packages if p.shipment_id == unit.shipment_id
                      for item in p.items if item.item_id == unit.item_id)
        if not shipped:
            return ret.NO_COMPLETED_SHIP_ITEMS if order.status not in amazon.SHIPPED \
                else ret.INVALID_VALUES
        returned = sum(1 for t in taken
                       if t.shipment_id == unit.shipment_id and t.item_id == unit.item_id)
        return ret.NO_RETURNABLE_QUANTITY if returned >= shipped else ""

    def _returned(self, order: _Order, unit: _ReturnUnit) -> ReturnedUnit:
        processed_at = unit.requested_at + timedelta(
            seconds=self.lifecycle.return_transit + self.lifecycle.return_inspection)
        processed = self.clock() >= processed_at
        return ReturnedUnit(
            return_item_id=unit.unit.return_item_id, item_id=unit.unit.item_id,
            shipment_id=unit.unit.shipment_id,
            status=ret.PROCESSED if processed else ret.NEW,
            authorization_id=unit.authorization_id,
            condition=RETURN_REASONS[unit.unit.reason_code][1] if processed else "",
            status_changed_at=processed_at if processed else unit.requested_at)

    def package_tracking(self, package_number: int) -> PackageTracking | None:
        self._leave(self._enter("package_tracking"))
        for order in self._orders.values():
            for package in order.packages:
                if package.package_number == package_number:
                    return self._tracking(package, order.tracking_outcome)
        return None

    def _tracking(self, package: ShippedPackage, outcome: str) -> PackageTracking:
        """The simulator's timelines: each event at a fraction of the transit time."""
        shipped = package.shipped_at or self.clock()
        transit = timedelta(seconds=self.lifecycle.transit)
        happened = [(shipped + transit * fraction, code, status)
                    for fraction, code, status in _TRACKING_TIMELINES[outcome]
                    if shipped + transit * fraction <= self.clock()]
        status = happened[-1][2] if happened else "IN_TRANSIT"
        delayed = outcome == "DELAYED" and any(code == "EVENT_418" for _, code, _ in happened)
        return PackageTracking(
            package_number=package.package_number, status=status,
            tracking_number=package.tracking_number, carrier=package.carrier,
            shipped_at=shipped, estimated_arrival=shipped + transit * (2 if delayed else 1),
            events=tuple(TrackingEvent(code, at, code) for at, code, _ in reversed(happened)))

    # -- faults -----------------------------------------------------------------------------

    def _enter(self, operation: str) -> Fault | None:
        """Count the call, bring orders up to the clock, and raise a fault that strikes
        before anything is done; an act-then-drop is returned for `_leave`."""
        self.calls[operation] += 1
        self._catch_up()
        queue = self._faults.get(operation)
        fault = queue.pop(0) if queue else None
        if fault == Fault.THROTTLED:
            raise TransientError(f"Amazon answered 429 to {operation}: throttled")
        if fault == Fault.TIMEOUT:
            if operation in _WRITES:
                raise IndeterminateError(f"{operation} timed out; Amazon may have acted on it")
            raise DeadlineExceeded(f"{operation} timed out")
        return fault

    @staticmethod
    def _leave(fault: Fault | None) -> None:
        if fault == Fault.ACT_THEN_DROP:
            raise IndeterminateError("the answer was lost after Amazon acted")

    # -- the lifecycle ------------------------------------------------------------------------

    def _catch_up(self) -> None:
        """Apply every transition due by now, in time order, each stamped with its due time."""
        now = self.clock()
        while True:
            due = [(o.due_at, o) for o in self._orders.values() if o.due_at is not None and o.due_at <= now]
            if not due:
                return
            at, order = min(due, key=lambda pair: (pair[0], pair[1].seq))
            order.due_at = None
            self._step(order, at)

    def _step(self, order: _Order, at: datetime) -> None:
        if order.status == amazon.RECEIVED:
            if order.hold:
                self._close(order, amazon.CANCELLED, at)  # 14 days on hold
            elif self._settle_shortfall(order, at):
                self._move(order, "Planning", at, self.lifecycle.planning)
        elif order.status == "Planning":
            if self._settle_shortfall(order, at):
                self._move(order, amazon.PROCESSING, at, self.lifecycle.processing)
        elif order.status == amazon.PROCESSING:
            self._ship(order, at)

    @staticmethod
    def _short_at_validation(order: _Order) -> bool:
        """As the simulator judges it: FillOrKill needs every unit, FillAllAvailable at
        least one; FillAll is accepted and waits."""
        if all(item.reserved >= item.quantity for item in order.items):
            return False
        if order.policy == "FillOrKill":
            return True
        return order.policy == "FillAllAvailable" and not any(i.reserved for i in order.items)

    def _settle_shortfall(self, order: _Order, at: datetime) -> bool:
        """Top up reservations; an order still short follows its policy. True if it goes on."""
        self._reserve(order, at)
        short = any(item.reserved < item.quantity for item in order.items)
        if short and (order.policy == "FillOrKill" or not any(i.reserved for i in order.items)):
            self._close(order, amazon.UNFULFILLABLE, at)
            return False
        return True

    def _move(self, order: _Order, status: str, at: datetime, stay: float) -> None:
        order.status, order.updated_at = status, at
        order.due_at = at + timedelta(seconds=stay)

    def _ship(self, order: _Order, at: datetime) -> None:
        self._next_package += 1
        number = self._next_package
        items = []
        for item in order.items:
            if item.reserved:
                stock = self._book(order)[item.sku]
                stock.reserved -= item.reserved
                stock.updated_at = at
                items.append(PackageItem(item.sku, item.item_id, item.reserved))
            short = item.quantity - item.reserved
            if short > 0:
                if order.policy == "FillAllAvailable":
                    item.cancelled += short
                else:
                    item.unfulfillable += short
        order.packages.append(ShippedPackage(
            package_number=number, carrier=self.carrier, tracking_number=f"1ZFAKE{number:010d}",
            shipped_at=at, shipment_id=f"FAKE-S{order.seq:05d}", items=tuple(items)))
        partial = any(item.reserved < item.quantity for item in order.items)
        order.status = amazon.COMPLETE_PARTIALLED if partial else amazon.COMPLETE
        order.updated_at = at

    def _close(self, order: _Order, status: str, at: datetime) -> None:
        """Cancelled, Unfulfillable or Invalid: reserved units go back on the shelf, and
        every unit counts as cancelled (a cancel) or unfulfillable (the others)."""
        for item in order.items:
            if status == amazon.CANCELLED:
                item.cancelled = item.quantity
            else:
                item.unfulfillable = item.quantity
            if item.reserved:
                stock = self._book(order)[item.sku]
                stock.reserved -= item.reserved
                stock.fulfillable += item.reserved
                stock.updated_at = at
                item.reserved = 0
        order.status, order.updated_at, order.due_at = status, at, None

    def _reserve(self, order: _Order, at: datetime) -> None:
        for item in order.items:
            stock = self._book(order)[item.sku]
            taken = min(item.quantity - item.reserved, stock.fulfillable)
            if taken > 0:
                stock.fulfillable -= taken
                stock.reserved += taken
                stock.updated_at = at
                item.reserved += taken
