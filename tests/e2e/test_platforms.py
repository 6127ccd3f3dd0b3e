"""Every HTTP cart adapter end to end: the platform's stateful fake serves the shop over
real HTTP on the loopback (threads of this test process), the simulated fulfillment
network serves Amazon, and the real `bridge` daemon runs in a child process between
them. Orders placed in the fake must reach Amazon once, ship, come back to the right
cart order as tracking (each package exactly once), and the shop's stock must end equal
to FBA's fulfillable quantity. One order is cancelled in the shop before it ships.

Each platform runs on the embedded default (SQLite ledger and broker, `bridge run`);
one also runs on the production topology (PostgreSQL ledger, Redis broker, prefork
workers and `bridge beat`)."""

from __future__ import annotations

import abc
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from fakes.bigcommerce_fake import BigCommerceFake
from fakes.magento_fake import MagentoFake
from fakes.server import FakeServer
from fakes.shopify_fake import DEFAULT_LOCATION, ShopifyFake
from fakes.woocommerce_fake import WooStore, create_app
from processes import Daemons, wait_for
from sqlalchemy import func, select

from bridge.config import load_config
from bridge.demo import write_config
from bridge.domain.ids import seller_fulfillment_order_id
from bridge.ledger.db import make_engine
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import Order
from bridge.sim.config import SimConfig
from bridge.sim.server import SimServer

pytestmark = pytest.mark.e2e

PREFIX = "E2E"
# Amazon's clock from Received through Planning and Processing to Complete.
THROUGH_TO_SHIPPED = 30 + 60 + 120 + 1
# Stock on Amazon's default shelf (ABE2). SOCK-3 lies only in PHX6, so an order holding
# both MUG-BLUE and SOCK-3 splits into two shipments, hence two packages.
STOCK_AT_DEFAULT_CENTER = {"MUG-BLUE": 40, "TEE-M": 30, "CAP-01": 25}
STOCK_ELSEWHERE = [("SOCK-3", "PHX6", 12)]
AMAZON_SKUS = (*STOCK_AT_DEFAULT_CENTER, *(sku for sku, _fc, _qty in STOCK_ELSEWHERE))
DIGITAL_SKU = "GIFT-CARD"


@dataclass(frozen=True)
class Line:
    sku: str
    quantity: int = 1
    ships: bool = True


@dataclass(frozen=True)
class PlannedOrder:
    number: str
    lines: tuple[Line, ...]
    paid: bool = True
    cancel_before_shipping: bool = False


ORDERS = (
    PlannedOrder("1001", (Line("MUG-BLUE", 2),)),
    PlannedOrder("1002", (Line("TEE-M"), Line("CAP-01"))),
    PlannedOrder("1003", (Line("MUG-BLUE"), Line("SOCK-3"))),              # two packages
    PlannedOrder("1004", (Line("CAP-01"), Line(DIGITAL_SKU, ships=False))),  # digital line
    PlannedOrder("1005", (Line("TEE-M", 3),), paid=False),                   # never sent
    PlannedOrder("1006", (Line("MUG-BLUE"),), cancel_before_shipping=True),
)


@dataclass(frozen=True)
class ShipTo:
    first: str = "Ava"
    last: str = "Johnson"
    line1: str = "1200 Pine St"
    line2: str = "Apt 4"
    city: str = "Seattle"
    state: str = "WA"
    postal_code: str = "98101"
    country: str = "US"
    phone: str = "+12065550100"


SHIP_TO = ShipTo()


def now() -> datetime:
    # The fakes keep whole seconds, as the platforms do.
    return datetime.now(UTC).replace(microsecond=0)


class Shop(abc.ABC):
    """One platform's fake, driven as a merchant and their customers would."""

    platform: str
    app: object

    @abc.abstractmethod
    def cart_settings(self, base_url: str, secrets_dir: Path) -> dict:
        """The storefront's `[cart]` table, its secrets written as files."""

    @abc.abstractmethod
    def place(self, order: PlannedOrder) -> str:
        """Place the order now; return the cart's order id."""

    @abc.abstractmethod
    def cancel(self, order_id: str) -> None: ...

    @abc.abstractmethod
    def tracking(self) -> list[tuple[str, str]]:
        """(cart order id, tracking number) of every shipment the shop holds."""

    @abc.abstractmethod
    def stock(self) -> dict[str, int]:
        """Sellable quantity per SKU, where the shop tracks one."""

    @abc.abstractmethod
    def order_states(self) -> dict[str, str]:
        """Per cart order id, the shop's own view of it: "open", "shipped" or "cancelled"
        (anything else in the platform's words)."""

    @abc.abstractmethod
    def notes(self) -> list[tuple[str, str]]:
        """(cart order id, text) of every note on an order."""

    def prepare_catalog(self, skus: Sequence[str]) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Make the SKUs known to the shop before bridge writes their stock."""


def secret_file(secrets_dir: Path, name: str, value: str) -> str:
    path = secrets_dir / name
    path.write_text(value + "\n")
    return f"file:{path.resolve()}"


class ShopifyShop(Shop):
    platform = "shopify"
    token = "shpat_e2e_admin_token_0123456789"

    def __init__(self) -> None:
        # The restore rate of Shopify Plus, so a 1-second poll never waits on the bucket.
        self.fake = ShopifyFake(access_tokens=(self.token,), restore_rate=1000.0)
        self.app = self.fake.app

    def cart_settings(self, base_url, secrets_dir):
        return {"platform": "shopify", "shop": base_url, "api_version": "2026-07",
                "access_token": secret_file(secrets_dir, "shopify-token", self.token),
                "location_id": DEFAULT_LOCATION}

    def place(self, order):
        address = {"firstName": SHIP_TO.first, "lastName": SHIP_TO.last, "company": None,
                   "address1": SHIP_TO.line1, "address2": SHIP_TO.line2, "city": SHIP_TO.city,
                   "provinceCode": SHIP_TO.state, "zip": SHIP_TO.postal_code,
                   "countryCodeV2": SHIP_TO.country, "phone": SHIP_TO.phone}
        items = [(line.sku, line.quantity, line.ships) for line in order.lines]
        return self.fake.add_order(
            f"#{order.number}", updated_at=now(), address=address,
            financial_status="PAID" if order.paid else "PENDING",
            fulfillment_orders=[(DEFAULT_LOCATION, "OPEN", items)])

    def cancel(self, order_id):
        self.fake.cancel_order(order_id, updated_at=now())

    def tracking(self):
        return [(f.order_id, f.number) for f in self.fake.all_fulfillments()]

    def stock(self):
        return self.fake.stock_by_sku()

    def order_states(self):
        # Shopify tracks shipping per fulfillment-order line; a digital line stays open
        # for whatever delivers it, so only lines that require shipping count.
        def state(order) -> str:
            if order.cancelled_at:
                return "cancelled"
            lines = [line for fo in order.fulfillment_orders for line in fo.lines
                     if line.requires_shipping]
            if all(line.remaining == 0 for line in lines):
                return "shipped"
            if all(line.remaining == line.total for line in lines):
                return "open"
            return "/".join(fo.status for fo in order.fulfillment_orders)

        with self.fake.lock:
            return {order.id: state(order) for order in self.fake.orders.values()}

    def notes(self):
        with self.fake.lock:
            return [(order.id, line) for order in self.fake.orders.values()
                    for line in (order.note or "").splitlines()]

    def prepare_catalog(self, skus):
        for sku in skus:
            self.fake.ensure_variant(sku)


class WooCommerceShop(Shop):
    platform = "woocommerce"

    def __init__(self) -> None:
        self.store = WooStore(consumer_key="ck_e2e_0123456789abcdef",
                              consumer_secret="cs_e2e_0123456789abcdef")
        self.app = create_app(self.store)

    def cart_settings(self, base_url, secrets_dir):
        return {"platform": "woocommerce", "url": base_url,
                "consumer_key": secret_file(secrets_dir, "woo-key", self.store.consumer_key),
                "consumer_secret": secret_file(secrets_dir, "woo-secret", self.store.consumer_secret)}

    def place(self, order):
        for line in order.lines:
            if not line.ships and self.store.product_by_sku(line.sku) is None:
                self.store.add_product(line.sku, virtual=True, downloadable=True)
        shipping = {"first_name": SHIP_TO.first, "last_name": SHIP_TO.last, "company": "",
                    "address_1": SHIP_TO.line1, "address_2": SHIP_TO.line2, "city": SHIP_TO.city,
                    "state": SHIP_TO.state, "postcode": SHIP_TO.postal_code,
                    "country": SHIP_TO.country, "phone": SHIP_TO.phone}
        return str(self.store.add_order(
            order.number, [(line.sku, line.quantity) for line in order.lines], modified=now(),
            status="processing" if order.paid else "pending", shipping=shipping))

    def cancel(self, order_id):
        self.store.touch(int(order_id), now(), status="cancelled")

    def tracking(self):
        with self.store.lock:
            return [(str(order_id), item["tracking_number"])
                    for order_id, items in self.store.trackings.items() for item in items]

    def stock(self):
        with self.store.lock:
            return {p["sku"]: p["stock_quantity"] for p in self.store.products.values()
                    if p["manage_stock"]}

    def order_states(self):
        words = {"pending": "open", "processing": "open", "completed": "shipped",
                 "cancelled": "cancelled"}
        with self.store.lock:
            return {str(order_id): words.get(order["status"], order["status"])
                    for order_id, order in self.store.orders.items()}

    def notes(self):
        with self.store.lock:
            return [(str(order_id), note["note"])
                    for order_id, notes in self.store.notes.items() for note in notes]

    def prepare_catalog(self, skus):
        for sku in skus:
            if self.store.product_by_sku(sku) is None:
                self.store.add_product(sku)


class BigCommerceShop(Shop):
    platform = "bigcommerce"
    token = "bc-e2e-token-5f2a9e"

    def __init__(self) -> None:
        self.fake = BigCommerceFake(token=self.token)
        self.app = self.fake.app

    def cart_settings(self, base_url, secrets_dir):
        return {"platform": "bigcommerce", "store_hash": self.fake.store_hash,
                "access_token": secret_file(secrets_dir, "bigcommerce-token", self.token),
                "api_base": base_url + "/stores/{store_hash}"}

    def place(self, order):
        address = {"first_name": SHIP_TO.first, "last_name": SHIP_TO.last, "company": "",
                   "street_1": SHIP_TO.line1, "street_2": SHIP_TO.line2, "city": SHIP_TO.city,
                   "state": SHIP_TO.state, "zip": SHIP_TO.postal_code,
                   "country_iso2": SHIP_TO.country, "phone": SHIP_TO.phone,
                   "email": "ava@example.com"}
        lines = [{"sku": line.sku, "quantity": line.quantity,
                  "type": "physical" if line.ships else "digital"} for line in order.lines]
        # 11 Awaiting Fulfillment (paid), 7 Awaiting Payment.
        return str(self.fake.add_order(int(order.number), modified=now(),
                                       status_id=11 if order.paid else 7, lines=lines,
                                       address=address))

    def cancel(self, order_id):
        self.fake.set_status(int(order_id), 5, now())

    def tracking(self):
        with self.fake.lock:
            return [(str(order_id), row["tracking_number"])
                    for order_id, rows in self.fake.shipments.items() for row in rows]

    def stock(self):
        return self.fake.stock()

    def order_states(self):
        words = {7: "open", 11: "open", 2: "shipped", 5: "cancelled"}
        with self.fake.lock:
            return {str(order_id): words.get(order["status_id"], order["status"])
                    for order_id, order in self.fake.orders.items()}

    def notes(self):
        with self.fake.lock:
            return [(str(order_id), line) for order_id, order in self.fake.orders.items()
                    for line in order["staff_notes"].splitlines()]

    def prepare_catalog(self, skus):
        # Half with options (stock per variant), half without (stock on the product).
        for index, sku in enumerate(skus):
            self.fake.add_catalog_sku(sku, with_options=index % 2 == 0)


class MagentoShop(Shop):
    platform = "magento"
    token = "adm1n7oken0fe2em4gent0st0reXXXXX"

    def __init__(self) -> None:
        self.fake = MagentoFake(admin_tokens={self.token})
        self.app = self.fake.app

    def cart_settings(self, base_url, secrets_dir):
        return {"platform": "magento", "url": base_url,
                "access_token": secret_file(secrets_dir, "magento-token", self.token)}

    def place(self, order):
        rows = [self.fake.item(line.sku, line.quantity, virtual=not line.ships)
                for line in order.lines]
        address = {"firstname": SHIP_TO.first, "lastname": SHIP_TO.last,
                   "street": [SHIP_TO.line1, SHIP_TO.line2], "city": SHIP_TO.city,
                   "region_code": SHIP_TO.state, "region": SHIP_TO.state,
                   "postcode": SHIP_TO.postal_code, "country_id": SHIP_TO.country,
                   "telephone": SHIP_TO.phone}
        return str(self.fake.add_order(order.number, rows, updated_at=now(),
                                       state="processing" if order.paid else "new",
                                       address=address))

    def cancel(self, order_id):
        self.fake.touch(int(order_id), now(), state="canceled", status="canceled")

    def tracking(self):
        with self.fake._lock:
            return [(str(order_id), track["track_number"]) for order_id, track in self.fake.tracks()]

    def stock(self):
        with self.fake._lock:
            return {sku: item["quantity"] for (sku, source), item in self.fake.source_items.items()
                    if source == "default"}

    def order_states(self):
        words = {"new": "open", "processing": "open", "complete": "shipped", "canceled": "cancelled"}
        with self.fake._lock:
            return {str(order_id): words.get(order["state"], order["state"])
                    for order_id, order in self.fake.orders.items()}

    def notes(self):
        with self.fake._lock:
            return [(str(order_id), text) for order_id, text in self.fake.comments()]


SHOPS = {shop.platform: shop for shop in (ShopifyShop, WooCommerceShop, BigCommerceShop, MagentoShop)}


# -- configuration ------------------------------------------------------------------


def toml_value(value) -> str:
    # Strings, numbers, booleans and flat lists: JSON's spelling is valid TOML for them.
    return json.dumps(value)


def write_storefront(config_dir: Path, platform: str, cart: dict, sim_url: str) -> None:
    """Replaces the demo storefront `write_config` wrote with one for the platform."""
    storefronts = config_dir / "storefronts"
    (storefronts / "demo.toml").unlink()
    secrets_dir = config_dir.parent / "secrets"
    cart_table = "\n".join(f"{key} = {toml_value(value)}" for key, value in cart.items())
    (storefronts / f"{platform}.toml").write_text(f'''name = "{platform}"
order_id_prefix = "{PREFIX}"

[cart]
{cart_table}

[fulfillment]
region = "NA"
marketplace_id = "ATVPDKIKX0DER"
endpoint = "{sim_url}"
client_id = "amzn1.application-oa2-client.e2e"
client_secret = "file:{(secrets_dir / 'lwa-client-secret').resolve()}"
refresh_token = "file:{(secrets_dir / 'lwa-refresh-token').resolve()}"
timeout_seconds = 10

[policy]
shipping_speeds = {{ Standard = "Standard" }}
default_speed = "Standard"
comment_template = "Thank you for your order {{number}}."

[poll]
orders_seconds = 1
status_seconds = 1
stock_seconds = 2
overlap_seconds = 30
''')


def seed_amazon(sim: SimServer) -> None:
    sim.admin.set_stock(STOCK_AT_DEFAULT_CENTER)
    # The admin API places stock in one center when given its id; the Python admin
    # client only sets the default shelf, so this one call goes over HTTP directly.
    items = [{"sellerSku": sku, "quantity": qty, "fulfillmentCenterId": fc}
             for sku, fc, qty in STOCK_ELSEWHERE]
    requests.post(f"{sim.base_url}/_sim/inventory", json={"items": items},
                  timeout=10).raise_for_status()


# -- the scenario -------------------------------------------------------------------


@dataclass
class Topology:
    database_url: str | None = None
    broker_url: str | None = None
    rate_limit_url: str = ""
    production: bool = False


def run_platform_flow(platform: str, workdir: Path, topology: Topology) -> None:
    shop = SHOPS[platform]()
    shop.prepare_catalog(AMAZON_SKUS)
    with FakeServer(shop.app) as shop_server, \
            SimServer(SimConfig(clock_factor=0, rate_limits=False)) as sim:
        seed_amazon(sim)
        config_dir = write_config(workdir, sim.base_url, database_url=topology.database_url,
                                  broker_url=topology.broker_url,
                                  rate_limit_url=topology.rate_limit_url,
                                  stale_after_seconds=10)
        cart = shop.cart_settings(shop_server.base_url, workdir / "secrets")
        write_storefront(config_dir, platform, cart, sim.base_url)
        daemons = Daemons(workdir, config_dir)
        checked = daemons.run("config", "check")
        assert checked.returncode == 0, checked.stdout + checked.stderr

        def context() -> str:
            return (f"at Amazon: {json.dumps(sim.admin.orders(), indent=1)[-4000:]}\n"
                    f"shop tracking: {shop.tracking()}\nshop stock: {shop.stock()}\n"
                    f"Amazon stock: {amazon_fulfillable(sim)}\n{daemons.logs()}")

        try:
            start_daemon(daemons, topology)
            placed = {order.number: shop.place(order) for order in ORDERS}
            sfo_of = {number: seller_fulfillment_order_id(PREFIX, order_id)
                      for number, order_id in placed.items()}
            to_send = {sfo_of[o.number] for o in ORDERS if o.paid}

            def at_amazon() -> dict[str, dict]:
                daemons.check_alive()
                return {o["sellerFulfillmentOrderId"]: o for o in sim.admin.orders()}

            wait_for(lambda: set(at_amazon()) == to_send, "every paid order accepted at Amazon",
                     90, context)

            # Cancelled in the shop while Amazon still holds it as Received.
            [cancelled] = [o for o in ORDERS if o.cancel_before_shipping]
            shop.cancel(placed[cancelled.number])
            wait_for(lambda: at_amazon()[sfo_of[cancelled.number]]["status"] == "Cancelled",
                     "the shop's cancellation carried to Amazon", 60, context)

            sim.admin.advance(THROUGH_TO_SHIPPED)
            shipping = to_send - {sfo_of[cancelled.number]}
            wait_for(lambda: all(at_amazon()[sfo]["status"] == "Complete" for sfo in shipping),
                     "every other order shipped by Amazon", 30, context)
            shipped = at_amazon()
            cart_order_of = {sfo_of[number]: order_id for number, order_id in placed.items()}
            expected_tracking = Counter(
                (cart_order_of[sfo], package["trackingNumber"])
                for sfo in shipping for package in shipped[sfo]["packages"])

            wait_for(lambda: Counter(shop.tracking()) == expected_tracking,
                     "each package's tracking on its cart order", 90, context)

            def stock_in_line() -> bool:
                daemons.check_alive()
                shop_stock = shop.stock()
                return all(shop_stock.get(sku) == qty
                           for sku, qty in amazon_fulfillable(sim).items())

            wait_for(stock_in_line, "shop stock equal to FBA fulfillable", 90, context)
            ledger_states = wait_for_ledger(config_dir, daemons, context)
        finally:
            daemons.stop()

        # -- what the run left behind, checked after the daemon stopped --
        assert Counter(shop.tracking()) == expected_tracking  # no tracking written twice
        # One package per order, two for the order Amazon split between centers.
        assert sum(expected_tracking.values()) == len(shipping) + 1
        split = shipped[sfo_of["1003"]]
        assert len(split["packages"]) == 2
        assert {p["fulfillmentCenterId"] for p in split["packages"]} == {"ABE2", "PHX6"}
        assert sim.admin.calls("createFulfillmentOrder") == len(to_send)  # each sent once
        unpaid = next(o for o in ORDERS if not o.paid)
        assert sfo_of[unpaid.number] not in shipped
        digital = shipped[sfo_of["1004"]]
        assert [(i["sellerSku"], i["quantity"]) for i in digital["items"]] == [("CAP-01", 1)]
        ordered = {sfo_of[o.number]: sorted((line.sku, line.quantity) for line in o.lines if line.ships)
                   for o in ORDERS if o.paid}
        for sfo, lines in ordered.items():
            assert sorted((i["sellerSku"], i["quantity"]) for i in shipped[sfo]["items"]) == lines
        assert ledger_states == {"complete": len(shipping), "cancelled": 1}
        assert set(shop.stock()) >= set(AMAZON_SKUS)
        # The shop itself shows each order where it belongs.
        shop_states = shop.order_states()
        expected_states = {o.number: "cancelled" if o.cancel_before_shipping
                           else "shipped" if o.paid else "open" for o in ORDERS}
        assert {number: shop_states[order_id] for number, order_id in placed.items()} == expected_states
        # bridge told the merchant nothing but shipping news: the only notes a platform
        # may carry (WooCommerce's customer note on a partial shipment) name a package
        # of the split order.
        split_tracking = {p["trackingNumber"] for p in split["packages"]}
        for order_id, text in shop.notes():
            assert order_id == placed["1003"], text
            assert any(number in text for number in split_tracking), text
        logs = "".join(path.read_text(errors="replace") for path in workdir.glob("*.log"))
        for secret in (workdir / "secrets").iterdir():
            assert secret.read_text().strip() not in logs


def start_daemon(daemons: Daemons, topology: Topology) -> None:
    if not topology.production:
        daemons.bridge("run", "run")
        return
    migrated = daemons.run("db", "upgrade")
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    daemons.bridge("worker", "worker", "--pool", "prefork", "-c", "2", "-Q",
                   "orders,submit,status,tracking,stock,maintenance", "-n", "w0@%h",
                   "--loglevel", "INFO")
    daemons.bridge("beat", "beat", "--loglevel", "INFO")


def amazon_fulfillable(sim: SimServer) -> dict[str, int]:
    return {sku: int(item["fulfillable"]) for sku, item in sim.admin.inventory().items()}


def wait_for_ledger(config_dir: Path, daemons: Daemons, context) -> dict[str, int]:
    """Orders by state once every order has settled (tracking written ⇒ complete)."""
    engine = make_engine(load_config(config_dir).settings.database_url)
    ledger = Ledger(engine)
    states: dict[str, int] = {}

    def settled() -> bool:
        daemons.check_alive()
        with ledger.transaction() as session:
            states.clear()
            states.update(session.execute(
                select(Order.state, func.count()).group_by(Order.state)).all())
        return set(states) <= {"complete", "cancelled"}

    try:
        wait_for(settled, "every order complete or cancelled in the ledger", 60,
                 lambda: f"ledger: {states}\n{context()}")
    finally:
        engine.dispose()
    return dict(states)


# -- the tests ------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def children_work_in_tmp(tmp_path, monkeypatch):
    # The daemons inherit the working directory: whatever they would leave there stays
    # with the test. The embedded scheduler keeps its schedule in memory, so nothing does.
    monkeypatch.chdir(tmp_path)
    yield
    assert not list(tmp_path.glob("celerybeat-schedule*"))


@pytest.mark.parametrize("platform", list(SHOPS))
def test_orders_flow_between_the_platform_and_amazon_on_the_embedded_default(platform, tmp_path):
    run_platform_flow(platform, tmp_path, Topology())


def test_woocommerce_flow_on_postgres_and_redis_workers(tmp_path, postgres_schema_factory, redis_url):
    # The Redis fixture owns one database; the shared rate-limit buckets take another.
    limits = redis_url.rsplit("/", 1)[0] + "/14"
    run_platform_flow("woocommerce", tmp_path, Topology(
        database_url=postgres_schema_factory(), broker_url=redis_url, rate_limit_url=limits,
        production=True))
