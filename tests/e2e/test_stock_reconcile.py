"""Stock that can really be sold, end to end through the real daemon, on the embedded
default and on the production topology: a held order's units stay out of the shop, a
mapped SKU and its same-named shop SKU both follow Amazon, a kit ships as its
components and its stock follows them, a change in the shop behind bridge's back is
corrected (and `bridge stock drift` shows it before and not after), and an Amazon
change the incremental reads miss is repaired by the periodic full read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from processes import Daemons, wait_for
from sqlalchemy import select

from bridge import demo_store
from bridge.demo import write_config
from bridge.demo_store import DemoLine
from bridge.ledger.db import make_engine
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import Order
from bridge.sim.config import SimConfig
from bridge.sim.server import SimServer

pytestmark = pytest.mark.e2e

AMAZON = {"MUG-BLUE": 40, "TEE-M": 30, "CAP-01": 25, "MUG-RED": 20}
KIT = {"MUG-BLUE": 2, "TEE-M": 1}
NO_ADDRESS = {"ship_name": "", "ship_address1": "", "ship_address2": "", "ship_city": "",
              "ship_state": "", "ship_zip": "", "ship_country": "", "ship_phone": "", "email": ""}
FULL_READ_SECONDS = 12


def expected(amazon: dict[str, int], held: dict[str, int]) -> dict[str, int]:
    seller = {sku: max(0, amazon[sku] - held.get(sku, 0)) for sku in amazon}
    return seller | {"blue-mug": seller["MUG-BLUE"],
                     "GIFT-SET": min(seller[sku] // n for sku, n in KIT.items())}


def add_policy(config_dir: Path) -> None:
    path = config_dir / "storefronts" / "demo.toml"
    path.write_text(path.read_text() + (
        f"full_inventory_hours = {FULL_READ_SECONDS / 3600}\n\n"
        "[policy.sku_map]\n"
        '"blue-mug" = "MUG-BLUE"\n'
        '"GIFT-SET" = { "MUG-BLUE" = 2, "TEE-M" = 1 }\n'))


def shop_sells(store_url: str, sku: str, quantity: int) -> None:
    """What the shop itself does when it sells: take the units off its own count."""
    engine = make_engine(store_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.update(demo_store.stock).where(demo_store.stock.c.sku == sku)
                         .values(quantity=demo_store.stock.c.quantity - quantity))
    finally:
        engine.dispose()


def edit_stock(store_url: str, sku: str, quantity: int) -> None:
    engine = make_engine(store_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.update(demo_store.stock).where(demo_store.stock.c.sku == sku)
                         .values(quantity=quantity))
    finally:
        engine.dispose()


@pytest.mark.parametrize("production", [False, True], ids=["embedded", "postgres-redis"])
def test_the_shop_shows_what_can_really_be_sold(production, tmp_path, request):
    if production:
        ledger_url = request.getfixturevalue("postgres_schema_factory")()
        store_url = request.getfixturevalue("postgres_schema_factory")()
        broker = request.getfixturevalue("redis_url")
    else:
        ledger_url = f"sqlite:///{tmp_path / 'ledger.db'}"
        store_url = f"sqlite:///{tmp_path / 'store.db'}"
        broker = None
    with SimServer(SimConfig(clock_factor=0, rate_limits=False)) as sim:
        sim.admin.set_stock(AMAZON)
        config_dir = write_config(tmp_path, sim.base_url, database_url=ledger_url,
                                  broker_url=broker, store_url=store_url,
                                  poll_seconds=1, stock_seconds=2)
        add_policy(config_dir)
        demo_store.create_schema(store_url)
        daemons = Daemons(tmp_path, config_dir)
        engine = make_engine(ledger_url)
        ledger = Ledger(engine)
        try:
            _start(daemons, production)

            def in_line(want: dict[str, int]):
                def check() -> bool:
                    daemons.check_alive()
                    shop = demo_store.read_stock(store_url)
                    return {sku: shop.get(sku) for sku in want} == want
                return check

            wait_for(in_line(expected(AMAZON, {})), "first stock sync", 90, daemons.logs)

            # A held order (no address) and a kit order; the shop takes their units.
            shop_sells(store_url, "CAP-01", 3)
            held = demo_store.insert_order(store_url, "#H1", [DemoLine("CAP-01", 3)],
                                           address=NO_ADDRESS)
            shop_sells(store_url, "GIFT-SET", 2)
            kit = demo_store.insert_order(store_url, "#K1", [DemoLine("GIFT-SET", 2)])

            def state_of(order_id: str) -> str | None:
                with ledger.transaction() as session:
                    return session.scalar(select(Order.state).where(Order.cart_order_id == order_id))

            wait_for(lambda: state_of(held) == "needs_attention" and state_of(kit) == "accepted",
                     "held order held, kit order accepted", 60, daemons.logs)
            at_amazon = {(item["sellerSku"], item["quantity"])
                         for order in sim.admin.orders() for item in order["items"]}
            assert at_amazon == {("MUG-BLUE", 4), ("TEE-M", 2)}
            # The held order keeps its 3 units out of the shop; the kit's components moved.
            after_orders = expected({**AMAZON, "MUG-BLUE": 36, "TEE-M": 28}, {"CAP-01": 3})
            wait_for(in_line(after_orders), "stock after the orders", 60, daemons.logs)

            # A change in the shop behind bridge's back: seen by `stock drift`, then corrected.
            paused = daemons.run("storefront", "pause", "demo")
            assert paused.returncode == 0, paused.stdout + paused.stderr
            edit_stock(store_url, "MUG-RED", 999)
            drift = daemons.run("stock", "drift", "--json")
            assert drift.returncode == 1, drift.stdout + drift.stderr
            rows = [json.loads(line) for line in drift.stdout.splitlines() if line.strip()]
            assert [(r["sku"], r["shop"], r["target"], r["difference"]) for r in rows] == [
                ("MUG-RED", 999, 20, 979)]
            assert daemons.run("storefront", "resume", "demo").returncode == 0
            wait_for(in_line(after_orders), "drift corrected", 60, daemons.logs)
            clean = daemons.run("stock", "drift")
            assert clean.returncode == 0, clean.stdout + clean.stderr
            assert "0 of" in clean.stdout

            # Amazon's count moves without moving lastUpdatedTime: only a full read sees it.
            sim.admin.set_stock({"MUG-RED": 7}, undetected=True)
            wait_for(in_line({"MUG-RED": 7}), "missed change repaired by the full read",
                     FULL_READ_SECONDS * 6, daemons.logs)
            assert demo_store.read_stock(store_url)["CAP-01"] == AMAZON["CAP-01"] - 3
        finally:
            daemons.stop()
            engine.dispose()


def _start(daemons: Daemons, production: bool) -> None:
    if not production:
        daemons.bridge("run", "run")
        return
    migrated = daemons.run("db", "upgrade")
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    daemons.bridge("worker", "worker", "--pool", "prefork", "-c", "2", "-Q",
                   "orders,submit,status,tracking,stock,maintenance", "-n", "w0@%h",
                   "--loglevel", "INFO")
    daemons.bridge("beat", "beat", "--loglevel", "INFO")
