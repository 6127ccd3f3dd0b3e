"""Fixtures for the service integration tests: every part is real. The simulated
fulfillment network runs on a free port with a frozen clock (tests move it with
`advance`), the store is a SQLite demo store read through the SQL cart adapter, the
ledger is migrated with Alembic (SQLite by default, PostgreSQL where a test asks for
it), and the storefront config is the one `bridge demo` writes, loaded as a real
StorefrontConfig."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from support import DROP_SECONDS, make_cart

from bridge import demo_store
from bridge.config import StorefrontConfig, load_config
from bridge.demo import write_config
from bridge.fba.client import FbaClient
from bridge.fba.ratelimit import NoLimiter
from bridge.fba.v2026.client import client_class
from bridge.ledger import migrate
from bridge.ledger.db import make_engine
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import Event, Order
from bridge.sim.config import SimConfig
from bridge.sim.server import SimServer


@pytest.fixture(scope="session")
def sim_server():
    config = SimConfig(clock_factor=0, rate_limits=False, drop_seconds=DROP_SECONDS)
    with SimServer(config) as server:
        yield server


@pytest.fixture
def sim(sim_server: SimServer) -> SimServer:
    """The session's simulator, emptied: no orders, stock, faults or call counts."""
    sim_server.admin.reset()
    sim_server.admin.set_clock_factor(0)
    sim_server.admin.set_rate_limits(enabled=False)
    return sim_server


@pytest.fixture
def ledger_backend(request) -> str:
    return getattr(request, "param", "sqlite")


@pytest.fixture(scope="session")
def migrated_sqlite_ledger(tmp_path_factory) -> Path:
    """A SQLite ledger migrated once; each test gets a copy (same schema, less time)."""
    path = tmp_path_factory.mktemp("ledger-template") / "ledger.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def ledger_url(ledger_backend: str, tmp_path: Path, request) -> str:
    if ledger_backend == "postgres":
        url = request.getfixturevalue("postgres_url")
        migrate.upgrade(url)
        return url
    template = request.getfixturevalue("migrated_sqlite_ledger")
    for sibling in template.parent.glob(template.name + "*"):  # the file and any WAL files
        shutil.copy(sibling, tmp_path / sibling.name)
    url = f"sqlite:///{tmp_path / template.name}"
    assert migrate.current_revision(url) == migrate.head_revision(url)
    return url


@pytest.fixture
def ledger(ledger_url: str):
    engine = make_engine(ledger_url)
    yield Ledger(engine)
    engine.dispose()


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    demo_store.create_schema(url)
    return url


@pytest.fixture
def storefront(tmp_path: Path, sim: SimServer, ledger_url: str, store_url: str) -> StorefrontConfig:
    config_dir = write_config(tmp_path, sim.base_url, database_url=ledger_url, store_url=store_url)
    return load_config(config_dir).storefront("demo")


@pytest.fixture
def fba(storefront: StorefrontConfig):
    # The client for the Fulfillment Outbound version the storefront is set to speak.
    client = client_class(storefront.fulfillment.outbound_api).from_account(
        storefront.fulfillment, storefront.secret, NoLimiter())
    yield client
    client.close()


@pytest.fixture
def cart(storefront: StorefrontConfig):
    adapter = make_cart(storefront)
    yield adapter
    adapter.close()


@dataclass
class Shop:
    """Everything one storefront's services need, plus read helpers for assertions."""

    sim: SimServer
    ledger: Ledger
    storefront: StorefrontConfig
    fba: FbaClient
    cart: object
    store_url: str

    # -- the ledger

    def rows(self) -> list[Order]:
        with self.ledger.transaction() as session:
            return list(session.scalars(
                sa.select(Order).where(Order.storefront == self.storefront.name).order_by(Order.id)
            ))

    def row(self, number: str) -> Order:
        matches = [row for row in self.rows() if row.number == number]
        assert len(matches) == 1, f"expected one ledger row for {number}, found {len(matches)}"
        return matches[0]

    def states(self) -> dict[str, str]:
        return {row.number: row.state for row in self.rows()}

    def events(self, number: str) -> list[Event]:
        order_id = self.row(number).id
        with self.ledger.transaction() as session:
            return list(session.scalars(
                sa.select(Event).where(Event.order_id == order_id).order_by(Event.id)
            ))

    # -- the simulated fulfillment network

    def sim_orders(self) -> dict[str, dict]:
        return {order["sellerFulfillmentOrderId"]: order for order in self.sim.admin.orders()}

    def creates(self) -> int:
        """Creates through either Outbound version (a storefront uses one of them)."""
        return self.sim.admin.calls("createFulfillmentOrder") + self.sim.admin.calls("createOrder")

    def fulfillable(self) -> dict[str, int]:
        return {sku: int(item["fulfillable"]) for sku, item in self.sim.admin.inventory().items()}

    # -- the store

    def notes_by_order(self) -> dict[str, list[str]]:
        notes: dict[str, list[str]] = {}
        for note in demo_store.read_notes(self.store_url):
            notes.setdefault(note["order_id"], []).append(note["note"])
        return notes


@pytest.fixture
def shop(sim, ledger, storefront, fba, cart, store_url) -> Shop:
    return Shop(sim=sim, ledger=ledger, storefront=storefront, fba=fba, cart=cart,
                store_url=store_url)
