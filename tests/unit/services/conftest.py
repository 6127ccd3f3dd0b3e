"""Services on the in-memory fulfillment network: a SQLite ledger in memory (the tables
straight from the models), a cart that keeps what it is told in lists, and the fake
network on a manual clock. Nothing listens on a port and nothing touches a disk."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from bridge.carts.contract import (
    CancelRequest,
    Capabilities,
    DeliveryUpdate,
    ReturnUpdate,
)
from bridge.config import CartConnection, FulfillmentAccount, StorefrontConfig
from bridge.domain.model import Address, CartLine, CartOrder, OrderPage, PackageShipment, StockLevel
from bridge.domain.states import OrderState as S
from bridge.errors import NeedsAttentionError
from bridge.fba.fake import FakeFulfillmentNetwork, ManualClock
from bridge.ledger import repo
from bridge.ledger.db import make_engine
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import Base, Event, Order, Package
from bridge.services import ingest
from bridge.services.ingest import IngestResult


class LifecycleWrites:
    """The cart contract's cancel, delivery and return writes, remembered in lists and
    idempotent per the contract's keys (for the in-memory carts below)."""

    capabilities: ClassVar[Capabilities]
    cancels: list[tuple[str, CancelRequest]]
    deliveries: list[tuple[str, DeliveryUpdate]]
    returns: list[tuple[str, ReturnUpdate]]

    def cancel_order(self, order: CartOrder, request: CancelRequest) -> bool:
        if request.lines is not None and not self.capabilities.cancel_lines:
            return False
        if (order.order_id, request) in self.cancels:
            return False
        self.cancels.append((order.order_id, request))
        return True

    def push_delivery(self, order: CartOrder, update: DeliveryUpdate) -> bool:
        key = (update.package.tracking_number, update.milestone)
        if any((u.package.tracking_number, u.milestone) == key for _, u in self.deliveries):
            return False
        self.deliveries.append((order.order_id, update))
        return True

    def push_return(self, order: CartOrder, update: ReturnUpdate) -> bool:
        key = (update.authorization_id, update.stage)
        if any((u.authorization_id, u.stage) == key for _, u in self.returns):
            return False
        self.returns.append((order.order_id, update))
        return True


class ListCart(LifecycleWrites):
    """A CartAdapter that only remembers: orders to hand out, and the notes, shipments
    and stock bridge writes."""

    platform: ClassVar[str] = "memory"
    capabilities: ClassVar[Capabilities] = Capabilities()

    def __init__(self) -> None:
        self.orders: list[CartOrder] = []
        self.notes: list[tuple[str, str]] = []
        self.shipments: list[tuple[str, PackageShipment]] = []
        self.stock: dict[str, int] = {}
        self.cancels: list[tuple[str, CancelRequest]] = []
        self.deliveries: list[tuple[str, DeliveryUpdate]] = []
        self.returns: list[tuple[str, ReturnUpdate]] = []

    @classmethod
    def check_settings(cls, settings: dict[str, Any]) -> list[tuple[str, str]]:
        return []

    @classmethod
    def from_settings(cls, settings: dict[str, Any], secret) -> ListCart:
        return cls()

    def fetch_orders(self, since: datetime, until: datetime, page: str | None,
                     limit: int) -> OrderPage:
        return OrderPage([o for o in self.orders if since <= o.updated_at < until][:limit])

    def push_shipment(self, order: CartOrder, shipment: PackageShipment, notify: bool) -> bool:
        self.shipments.append((order.order_id, shipment))
        return True

    def get_stock(self, skus) -> dict[str, int]:
        return {sku: self.stock[sku] for sku in skus if sku in self.stock}

    def set_stock(self, levels: list[StockLevel]) -> list[str]:
        self.stock.update({level.sku: level.quantity for level in levels})
        return []

    def add_note(self, order: CartOrder, text: str) -> None:
        self.notes.append((order.order_id, text))

    def close(self) -> None:
        pass


@dataclass
class Shop:
    """One storefront's services wired to the fake, with read helpers for assertions."""

    ledger: Ledger
    storefront: StorefrontConfig
    amazon: FakeFulfillmentNetwork
    cart: ListCart
    clock: ManualClock

    def add_ready_order(self, number: str, lines: dict[str, int],
                        titles: dict[str, str] | None = None) -> None:
        """An order recorded and mapped as an order poll leaves it: `ready`; `titles`
        names lines by SKU (untitled otherwise)."""
        at = self.clock()
        order_id = number.lstrip("#")
        titles = titles or {}
        order = CartOrder(
            order_id=order_id, number=number, created_at=at, updated_at=at,
            paid=True, cancelled=False,
            lines=tuple(CartLine(f"{order_id}-{i}", sku, qty, title=titles.get(sku, ""))
                        for i, (sku, qty) in enumerate(lines.items(), 1)),
            address=Address(name="Jane Doe", line1="1 Main St", city="Seattle", state="WA",
                            postal_code="98101", country_code="US"),
            shipping_method="standard", email="jane@example.com")
        with self.ledger.transaction() as session:
            row = repo.add_order(session, self.storefront.name, order, S.RECEIVED)
            ingest.prepare(session, self.storefront, row, order, None, IngestResult())
            assert row.state == S.READY, row.last_error

    def row(self, number: str) -> Order:
        with self.ledger.transaction() as session:
            return session.scalar(sa.select(Order).where(Order.number == number))

    def state(self, number: str) -> str:
        return self.row(number).state

    def sfo_id(self, number: str) -> str:
        return self.row(number).seller_fulfillment_order_id

    def packages(self, number: str) -> list[Package]:
        order_id = self.row(number).id
        with self.ledger.transaction() as session:
            return list(session.scalars(sa.select(Package).where(Package.order_id == order_id)
                                        .order_by(Package.package_number)))

    def event_log(self, number: str) -> list[tuple[str, str]]:
        """The order's events, oldest first, as (kind, message)."""
        order_id = self.row(number).id
        with self.ledger.transaction() as session:
            return [(e.kind, e.message) for e in session.scalars(
                sa.select(Event).where(Event.order_id == order_id).order_by(Event.id))]

    def events(self, number: str) -> list[str]:
        return [message for _kind, message in self.event_log(number)]

    def place(self, number: str, lines: dict[str, int] | None = None, **kwargs: Any) -> CartOrder:
        """An order placed in the shop (a MemoryCart) now (see `cart_order`). A poll
        reads up to its start, not including it: the clock moves on a second."""
        order = self.cart.put(cart_order(number, self.clock(), lines, **kwargs))
        self.clock.advance(1)
        return order

    def edit(self, order: CartOrder, lines: dict[str, int] | None = None,
             **changes: Any) -> CartOrder:
        """The shop changes an order (a new change time); `lines` as for `place`."""
        if lines is not None:
            changes["lines"] = cart_order(order.number, order.created_at, lines).lines
        changed = self.cart.put(replace(order, updated_at=self.clock(), **changes))
        self.clock.advance(1)
        return changed

    def move(self, number: str, target: S, message: str = "") -> None:
        with self.ledger.transaction() as session:
            row = session.scalar(sa.select(Order).where(Order.number == number))
            repo.transition(session, row, target, target.value, message)


@pytest.fixture
def clock() -> ManualClock:
    """The one clock of a test: the fake network's, the shop's and the ledger's own (state
    changes, acceptance, packages, cursors, leases and flags are stamped from it)."""
    return ManualClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def ledger(clock):
    # One connection for the whole test: an in-memory database lives as long as it.
    engine = make_engine("sqlite://", poolclass=StaticPool)
    Base.metadata.create_all(engine)
    yield Ledger(engine, clock=clock)
    engine.dispose()


@pytest.fixture
def shop(ledger, clock) -> Shop:
    storefront = StorefrontConfig(
        name="unit", cart=CartConnection(platform=ListCart.platform),
        fulfillment=FulfillmentAccount(client_id="x", client_secret="env:UNUSED",
                                       refresh_token="env:UNUSED"))
    with ledger.transaction() as session:
        # The shop was polled just now: a submit batch needs no re-check first.
        repo.set_cursor(session, storefront.name, ingest.FLOW, clock() + timedelta(days=1))
    return Shop(ledger, storefront, FakeFulfillmentNetwork(clock), ListCart(), clock)


class MemoryCart(LifecycleWrites):
    """A shop in memory that keeps the CartAdapter contract: orders by change time over a
    window in pages, a shipment written once per tracking number, stock read and set
    (conditionally when the class says so), notes. Tests script its failures: a page
    that fails, a tracking number it refuses, a sale landing just before a stock write."""

    platform: ClassVar[str] = "memory-shop"
    capabilities: ClassVar[Capabilities] = Capabilities()

    def __init__(self) -> None:
        self.orders: dict[str, CartOrder] = {}
        self.shipments: dict[str, list[PackageShipment]] = {}
        self.stock: dict[str, int] = {}
        self.notes: list[tuple[str, str]] = []
        self.windows: list[tuple[datetime, datetime, str | None]] = []
        self.page_failures: dict[str | None, Exception] = {}
        self.refused_tracking: dict[str, str] = {}
        self.sales_before_write: dict[str, int] = {}
        self.stock_reads: list[list[str]] = []
        self.stock_writes: list[list[StockLevel]] = []
        self.during_fetch: Any = None  # called with the page token, e.g. a second poll

    @classmethod
    def check_settings(cls, settings: dict[str, Any]) -> list[tuple[str, str]]:
        return []

    @classmethod
    def from_settings(cls, settings: dict[str, Any], secret) -> MemoryCart:
        return cls()

    def put(self, order: CartOrder) -> CartOrder:
        self.orders[order.order_id] = order
        return order

    def fetch_orders(self, since: datetime, until: datetime, page: str | None,
                     limit: int) -> OrderPage:
        self.windows.append((since, until, page))
        if self.during_fetch is not None:
            self.during_fetch(page)
        if page in self.page_failures:
            raise self.page_failures.pop(page)
        changed = sorted((o for o in self.orders.values() if since <= o.updated_at < until),
                         key=lambda o: (o.updated_at, o.order_id))
        start = int(page or 0)
        more = start + limit < len(changed)
        return OrderPage(changed[start:start + limit], str(start + limit) if more else None)

    def push_shipment(self, order: CartOrder, shipment: PackageShipment, notify: bool) -> bool:
        if shipment.tracking_number in self.refused_tracking:
            raise NeedsAttentionError("tracking_refused",
                                      self.refused_tracking[shipment.tracking_number])
        written = self.shipments.setdefault(order.order_id, [])
        if any(s.tracking_number == shipment.tracking_number for s in written):
            return False
        written.append(shipment)
        return True

    def get_stock(self, skus) -> dict[str, int]:
        self.stock_reads.append(list(skus))
        return {sku: self.stock[sku] for sku in skus if sku in self.stock}

    def set_stock(self, levels) -> list[str]:
        self.stock_writes.append(list(levels))
        stale = []
        for level in levels:
            if level.sku in self.sales_before_write and level.sku in self.stock:
                self.stock[level.sku] -= self.sales_before_write.pop(level.sku)
            if (self.capabilities.conditional_stock_writes and level.expected is not None
                    and self.stock.get(level.sku) != level.expected):
                stale.append(level.sku)
                continue
            self.stock[level.sku] = level.quantity
        return stale

    def add_note(self, order: CartOrder, text: str) -> None:
        self.notes.append((order.order_id, text))

    def close(self) -> None:
        pass


class ConditionalMemoryCart(MemoryCart):
    """Writes stock only while the shop still shows the quantity read (as Shopify's
    `changeFromQuantity` does); a write that finds it moved comes back stale."""

    capabilities: ClassVar[Capabilities] = Capabilities(conditional_stock_writes=True)


def cart_order(number: str, at: datetime, lines: dict[str, int] | None = None, *,
               paid: bool = True, cancelled: bool = False, address: Address | None = None,
               no_address: bool = False, shipping: dict[str, bool] | None = None) -> CartOrder:
    """A shop order as a cart adapter hands it over; `shipping` marks lines that need no
    shipping (False)."""
    order_id = number.lstrip("#")
    lines = {"MUG": 1} if lines is None else lines
    shipping = shipping or {}
    return CartOrder(
        order_id=order_id, number=number, created_at=at, updated_at=at, paid=paid,
        cancelled=cancelled,
        lines=tuple(CartLine(f"{order_id}-{i}", sku, qty, shipping.get(sku, True))
                    for i, (sku, qty) in enumerate(lines.items(), 1)),
        address=None if no_address else address or Address(
            name="Jane Doe", line1="1 Main St", city="Seattle", state="WA",
            postal_code="98101", country_code="US"),
        shipping_method="standard", email="jane@example.com")


@pytest.fixture
def configure():
    """Give a Shop's storefront other `[policy]` or `[poll]` settings (the config is
    immutable, so the storefront is replaced)."""
    def apply(shop: Shop, *, policy: dict | None = None, poll: dict | None = None) -> Shop:
        sf = shop.storefront
        shop.storefront = sf.model_copy(update={
            "policy": sf.policy.model_copy(update=policy or {}),
            "poll": sf.poll.model_copy(update=poll or {})})
        return shop
    return apply


@pytest.fixture
def store(ledger, clock) -> Shop:
    """A storefront never polled yet, on a shop that pages, dedupes and keeps stock."""
    storefront = StorefrontConfig(
        name="unit", cart=CartConnection(platform=MemoryCart.platform),
        fulfillment=FulfillmentAccount(client_id="x", client_secret="env:UNUSED",
                                       refresh_token="env:UNUSED"))
    return Shop(ledger, storefront, FakeFulfillmentNetwork(clock), MemoryCart(), clock)


@pytest.fixture
def conditional_store(store) -> Shop:
    """The same, on a shop whose stock writes are conditional (Shopify-like)."""
    store.cart = ConditionalMemoryCart()
    return store
