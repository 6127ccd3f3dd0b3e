"""One shop selling to the US, Canada and Mexico through one North America seller
account, end to end through the real daemon and the simulator: each order goes to the
marketplace its country routes to, an order to a country no marketplace serves stops
with the typed reason `no_marketplace` (and says so in `bridge status` and the shop),
and the shop's stock shows the home marketplace's units, or every marketplace's added
up, as `shop_stock` says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from processes import Daemons, wait_for
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from bridge import demo_store
from bridge.demo import write_config
from bridge.demo_store import DemoLine
from bridge.ledger.db import make_engine
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import Order
from bridge.sim.config import SimConfig
from bridge.sim.server import SimServer

pytestmark = pytest.mark.e2e

US, CA, MX = "ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1AM78C64UM0Y8"
STOCK = {US: {"MUG-BLUE": 40, "TEE-M": 30}, CA: {"MUG-BLUE": 7}, MX: {"TEE-M-MX": 5}}


def address(country: str, city: str, postal_code: str, state: str) -> dict[str, str]:
    return {"ship_name": f"Customer in {country}", "ship_address1": "1 Main Street",
            "ship_address2": "", "ship_city": city, "ship_state": state,
            "ship_zip": postal_code, "ship_country": country, "ship_phone": "5550100",
            "email": "customer@example.com"}


ORDERS = {
    "#US1": ([DemoLine("MUG-BLUE", 2)], address("US", "Seattle", "98109", "WA")),
    "#CA1": ([DemoLine("MUG-BLUE", 1)], address("CA", "Toronto", "M5V 2T6", "ON")),
    "#MX1": ([DemoLine("TEE-M", 1)], address("MX", "Ciudad de Mexico", "06600", "CMX")),
    "#ZA1": ([DemoLine("MUG-BLUE", 1)], address("ZA", "Cape Town", "8001", "WC")),
}


def route(config_dir: Path, shop_stock: str) -> None:
    path = config_dir / "storefronts" / "demo.toml"
    text = path.read_text().replace(
        'region = "NA"\n', f'region = "NA"\nseller_id = "A3SELLER0NA"\nshop_stock = "{shop_stock}"\n')
    path.write_text(text + (
        "\n[fulfillment.routing]\n"
        f'US = "{US}"\n'
        'CA = "CA"\n'                      # a marketplace by its short name
        f'MX = "{MX}"\n'
        'default = "refuse"\n'
        "\n[policy.marketplace_sku_maps.MX]\n"
        '"TEE-M" = "TEE-M-MX"\n'))


@pytest.mark.parametrize("shop_stock", ["sum", "home"])
def test_orders_go_to_the_marketplace_of_their_country(shop_stock, tmp_path):
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    with SimServer(SimConfig(clock_factor=0, rate_limits=False)) as sim:
        for marketplace_id, levels in STOCK.items():
            sim.admin.set_stock(levels, marketplace_id=marketplace_id)
        config_dir = write_config(tmp_path, sim.base_url, store_url=store_url,
                                  poll_seconds=1, stock_seconds=2)
        route(config_dir, shop_stock)
        demo_store.create_schema(store_url)
        daemons = Daemons(tmp_path, config_dir)
        engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
        ledger = Ledger(engine)
        try:
            daemons.bridge("run", "run")
            numbers = {}
            for number, (lines, ship_to) in ORDERS.items():
                numbers[demo_store.insert_order(store_url, number, lines, address=ship_to)] = number

            def settled() -> bool:
                daemons.check_alive()
                try:
                    with ledger.transaction() as session:
                        rows = session.execute(select(Order.cart_order_id, Order.state,
                                                      Order.attention_reason)).all()
                except OperationalError:  # the daemon is still creating the ledger
                    return False
                states = {numbers[order_id]: (state, reason) for order_id, state, reason in rows}
                return states == {"#US1": ("accepted", ""), "#CA1": ("accepted", ""),
                                  "#MX1": ("accepted", ""),
                                  "#ZA1": ("needs_attention", "no_marketplace")}

            wait_for(settled, "three orders accepted, one refused by the routing", 90, daemons.logs)

            # Three marketplaces' orders at Amazon, each from its own stock and SKU map.
            at_amazon = {order["marketplaceId"]: [(item["sellerSku"], item["quantity"])
                                                  for item in order["items"]]
                         for order in sim.admin.orders()}
            assert at_amazon == {US: [("MUG-BLUE", 2)], CA: [("MUG-BLUE", 1)],
                                 MX: [("TEE-M-MX", 1)]}
            assert sim.admin.inventory(CA)["MUG-BLUE"]["fulfillable"] == 6
            assert sim.admin.inventory(US)["MUG-BLUE"]["fulfillable"] == 38

            # The refusal is typed, in words, in `bridge status` and in the shop.
            status = daemons.run("status", "--json")
            assert status.returncode in (0, 1), status.stdout + status.stderr
            report = json.loads(status.stdout)["storefronts"][0]
            assert report["needs_attention"]["by_reason"] == {"no_marketplace": 1}
            assert report["unrouted_countries"] == "refused"
            assert report["shop_stock"] == shop_stock
            assert {line["marketplace"]: line["countries"] for line in report["marketplaces"]} == {
                f"{US} (US)": ["US"], f"{CA} (CA)": ["CA"], f"{MX} (MX)": ["MX"]}
            za = next(order_id for order_id, number in numbers.items() if number == "#ZA1")
            notes = [note["note"] for note in demo_store.read_notes(store_url, order_id=za)]
            assert any("no marketplace of this seller account ships to ZA" in note for note in notes)
            shown = daemons.run("orders", "show", "#CA1")
            assert f"marketplace: {CA} (CA)" in shown.stdout, shown.stdout

            # The shop's one number per SKU: the home marketplace's units, or all of them.
            # The refused order's unit stays held back from home stock (the shop sold it).
            if shop_stock == "sum":
                want = {"MUG-BLUE": (40 - 2 - 1) + (7 - 1), "TEE-M": 30 + (5 - 1)}
            else:
                want = {"MUG-BLUE": 40 - 2 - 1, "TEE-M": 30}

            def shop_shows() -> bool:
                daemons.check_alive()
                shop = demo_store.read_stock(store_url)
                return {sku: shop.get(sku) for sku in want} == want

            wait_for(shop_shows, f"the shop shows the {shop_stock} stock", 60, daemons.logs)
        finally:
            daemons.stop()
            engine.dispose()
