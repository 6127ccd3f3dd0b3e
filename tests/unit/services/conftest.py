"""Services on the in-memory fulfillment network: a SQLite ledger in memory (the tables
straight from the models), a cart that keeps what it is told in lists, and the fake
network on a manual clock. Nothing listens on a port and nothing touches a disk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from bridge.carts.contract import Capabilities
from bridge.config import CartConnection, FulfillmentAccount, StorefrontConfig
from bridge.domain.model import Address, CartLine, CartOrder, OrderPage, PackageShipment, StockLevel
from bridge.domain.states import OrderState as S
from bridge.fba.fake import FakeFulfillmentNetwork, ManualClock
from bridge.ledger import repo
from bridge.ledger.db import make_engine
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import Base, Event, Order, Package
from bridge.services import ingest
from bridge.services.ingest import IngestResult


class ListCart:
    """A CartAdapter that only remembers: orders to hand out, and the notes, shipments
    and stock bridge writes."""

    platform: ClassVar[str] = "memory"
    capabilities: ClassVar[Capabilities] = Capabilities()

    def __init__(self) -> None:
        self.orders: list[CartOrder] = []
        self.notes: list[tuple[str, str]] = []
        self.shipments: list[tuple[str, PackageShipment]] = []
        self.stock: dict[str, int] = {}

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

    def add_ready_order(self, number: str, lines: dict[str, int]) -> None:
        """An order recorded and mapped as an order poll leaves it: `ready`."""
        at = self.clock()
        order = CartOrder(
            order_id=number.lstrip("#"), number=number, created_at=at, updated_at=at,
            paid=True, cancelled=False,
            lines=tuple(CartLine(f"{number.lstrip('#')}-{i}", sku, qty)
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

    def events(self, number: str) -> list[str]:
        order_id = self.row(number).id
        with self.ledger.transaction() as session:
            return [e.message for e in session.scalars(
                sa.select(Event).where(Event.order_id == order_id).order_by(Event.id))]

    def move(self, number: str, target: S, message: str = "") -> None:
        with self.ledger.transaction() as session:
            row = session.scalar(sa.select(Order).where(Order.number == number))
            repo.transition(session, row, target, target.value, message)


@pytest.fixture
def ledger():
    # One connection for the whole test: an in-memory database lives as long as it.
    engine = make_engine("sqlite://", poolclass=StaticPool)
    Base.metadata.create_all(engine)
    yield Ledger(engine)
    engine.dispose()


@pytest.fixture
def shop(ledger) -> Shop:
    clock = ManualClock(datetime.now(timezone.utc).replace(microsecond=0))
    storefront = StorefrontConfig(
        name="unit", cart=CartConnection(platform=ListCart.platform),
        fulfillment=FulfillmentAccount(client_id="x", client_secret="env:UNUSED",
                                       refresh_token="env:UNUSED"))
    with ledger.transaction() as session:
        # The shop was polled just now: a submit batch needs no re-check first.
        repo.set_cursor(session, storefront.name, ingest.FLOW, clock() + timedelta(days=1))
    return Shop(ledger, storefront, FakeFulfillmentNetwork(clock), ListCart(), clock)
