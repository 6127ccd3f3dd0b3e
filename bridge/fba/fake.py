"""An in-memory fulfillment network implementing the `FulfillmentNetwork` port, for unit
tests of the services (shipped with the package so any test suite can use it).

It keeps a small version of the simulator's rules, and `tests/contract/
test_fulfillment_network.py` runs the same cases against it and against `FbaClient` on the
simulator, so the two cannot drift apart:

    Received --30 s--> Planning --60 s--> Processing --120 s--> Complete (one package)

on an injected clock (`ManualClock` by default; `advance` moves it). Stock is reserved at
creation and topped up when planning starts; an order still short then follows its
policy (FillOrKill: Unfulfillable; otherwise it ships what it holds, CompletePartialled).
An order placed on Hold stays Received until Amazon cancels it after 14 days. Orders
can be cancelled while New, Received or Planning. Not modelled: several fulfillment
centers, FillAll's wait for stock, updates, returns.

Faults (`inject`) apply to the next calls of one port method: TIMEOUT (nothing done;
IndeterminateError for a write, DeadlineExceeded for a read), THROTTLED (429 after the
client's retries: TransientError) and ACT_THEN_DROP (a write is done, then its answer
is lost: IndeterminateError)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum

from bridge.domain import fulfillment as amazon
from bridge.domain.fulfillment import (
    CancelOutcome,
    ChangedOrders,
    FulfillmentOrder,
    FulfillmentOrderRequest,
    InventoryLevel,
    OrderChange,
    PackageItem,
    ShippedPackage,
)
from bridge.errors import DeadlineExceeded, IndeterminateError, NeedsAttentionError, TransientError

OPERATIONS = ("create_fulfillment_order", "fulfillment_order", "changed_orders",
              "cancel_order", "inventory_levels")
_WRITES = ("create_fulfillment_order", "cancel_order")


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


@dataclass
class _Item:
    sku: str
    item_id: str
    quantity: int
    reserved: int = 0


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
        self._stock: dict[str, _Stock] = {}
        self._faults: dict[str, list[Fault]] = {}
        self._next_package = 1000

    # -- driving it (tests) -------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        """Move the clock (it must have `advance`, as ManualClock does)."""
        self.clock.advance(seconds)  # type: ignore[attr-defined]

    def set_stock(self, levels: dict[str, int], *, undetected: bool = False) -> None:
        """Absolute fulfillable units per SKU. `undetected` keeps the SKU's update time,
        so an incremental read misses the change (as Amazon sometimes does)."""
        for sku, units in levels.items():
            stock = self._stock.setdefault(sku, _Stock(updated_at=self.clock()))
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

    def inject(self, operation: str, fault: Fault, times: int = 1) -> None:
        """The next `times` calls of `operation` (a port method's name) fail so."""
        if operation not in OPERATIONS:
            raise ValueError(f"unknown operation {operation!r}; one of {', '.join(OPERATIONS)}")
        if fault == Fault.ACT_THEN_DROP and operation not in _WRITES:
            raise ValueError("act-then-drop applies to writes only")
        self._faults.setdefault(operation, []).extend([fault] * times)

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
            if line.seller_sku not in self._stock:
                raise NeedsAttentionError("amazon_rejected", f"The SellerSKU for Item Id: "
                                          f"{line.item_id} is invalid.")
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
        self._orders[order_id] = order
        self._leave(fault)

    def fulfillment_order(self, seller_fulfillment_order_id: str) -> FulfillmentOrder | None:
        self._leave(self._enter("fulfillment_order"))
        order = self._orders.get(seller_fulfillment_order_id)
        if order is None:
            return None
        return FulfillmentOrder(order.order_id, order.status, order.updated_at,
                                tuple(order.packages))

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

    def inventory_levels(self, since: datetime | None = None) -> list[InventoryLevel]:
        self._leave(self._enter("inventory_levels"))
        return [
            InventoryLevel(sku, stock.fulfillable, stock.inbound, stock.reserved, stock.updated_at)
            for sku, stock in sorted(self._stock.items())
            if since is None or (stock.updated_at is not None and stock.updated_at >= since)
        ]

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
                stock = self._stock[item.sku]
                stock.reserved -= item.reserved
                stock.updated_at = at
                items.append(PackageItem(item.sku, item.item_id, item.reserved))
        order.packages.append(ShippedPackage(
            package_number=number, carrier=self.carrier, tracking_number=f"1ZFAKE{number:010d}",
            shipped_at=at, shipment_id=f"FAKE-S{order.seq:05d}", items=tuple(items)))
        partial = any(item.reserved < item.quantity for item in order.items)
        order.status = amazon.COMPLETE_PARTIALLED if partial else amazon.COMPLETE
        order.updated_at = at

    def _close(self, order: _Order, status: str, at: datetime) -> None:
        """Cancelled, Unfulfillable or Invalid: reserved units go back on the shelf."""
        for item in order.items:
            if item.reserved:
                stock = self._stock[item.sku]
                stock.reserved -= item.reserved
                stock.fulfillable += item.reserved
                stock.updated_at = at
                item.reserved = 0
        order.status, order.updated_at, order.due_at = status, at, None

    def _reserve(self, order: _Order, at: datetime) -> None:
        for item in order.items:
            stock = self._stock[item.sku]
            taken = min(item.quantity - item.reserved, stock.fulfillable)
            if taken > 0:
                stock.fulfillable -= taken
                stock.reserved += taken
                stock.updated_at = at
                item.reserved += taken
