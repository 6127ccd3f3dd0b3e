"""The stock rule as a property: whatever happens between two cycles (orders, held
orders, cancellations, Amazon's stock moving, people editing the shop), after a cycle
every shop SKU shows exactly the sellable stock defined in `bridge.domain.stock`,
never more. The expected numbers are worked out here from the events alone."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field

from fakes.inventory import InventoryStandIn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import make_cart, with_policy

from bridge import demo_store
from bridge.config import load_config
from bridge.demo import write_config
from bridge.demo_store import DemoLine
from bridge.domain.model import StockLevel
from bridge.ledger.db import make_engine
from bridge.ledger.repo import Ledger
from bridge.services.ingest import ingest_orders
from bridge.services.stock import sync_stock

SELLER_SKUS = ("MUG-BLUE", "MUG-RED", "TEE-M")
KIT = {"MUG-BLUE": 2, "TEE-M": 1}
SHOP_SKUS = SELLER_SKUS + ("GIFT-SET", "blue-mug")
BUFFER = 1
NO_ADDRESS = {"ship_name": "", "ship_address1": "", "ship_address2": "", "ship_city": "",
              "ship_state": "", "ship_zip": "", "ship_country": "", "ship_phone": "", "email": ""}


@dataclass
class World:
    """What really happened, from which the right shop quantities follow."""

    amazon: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SELLER_SKUS, 0))
    open_orders: dict[str, dict[str, int]] = field(default_factory=dict)  # id → seller units

    def sellable(self) -> dict[str, int]:
        held = dict.fromkeys(SELLER_SKUS, 0)
        for units in self.open_orders.values():
            for sku, n in units.items():
                held[sku] += n
        seller = {sku: max(0, self.amazon[sku] - held[sku] - BUFFER) for sku in SELLER_SKUS}
        return seller | {
            "GIFT-SET": min(seller[sku] // n for sku, n in KIT.items()),
            "blue-mug": seller["MUG-BLUE"],
        }


def seller_units(sku: str, quantity: int) -> dict[str, int]:
    if sku == "GIFT-SET":
        return {part: n * quantity for part, n in KIT.items()}
    return {"MUG-BLUE" if sku == "blue-mug" else sku: quantity}


amazon_change = st.tuples(st.just("amazon"), st.sampled_from(SELLER_SKUS), st.integers(0, 40))
shop_edit = st.tuples(st.just("edit"), st.sampled_from(SHOP_SKUS), st.integers(0, 999))
order = st.tuples(st.just("order"), st.sampled_from(SHOP_SKUS), st.integers(1, 3), st.booleans())
cancel = st.tuples(st.just("cancel"), st.integers(0, 30))
step = st.lists(st.one_of(amazon_change, shop_edit, order, cancel), max_size=4)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=1, max_size=6))
def test_after_every_cycle_the_shop_shows_exactly_the_sellable_stock(
        steps, tmp_path_factory, migrated_sqlite_ledger):
    tmp = tmp_path_factory.mktemp("stock-property")
    shutil.copy(migrated_sqlite_ledger, tmp / "ledger.db")
    store_url = f"sqlite:///{tmp / 'store.db'}"
    demo_store.create_schema(store_url)
    config_dir = write_config(tmp, "http://127.0.0.1:9", database_url=f"sqlite:///{tmp / 'ledger.db'}",
                              store_url=store_url)
    storefront = with_policy(load_config(config_dir).storefront("demo"), stock_buffer=BUFFER,
                             sku_map={"GIFT-SET": KIT, "blue-mug": "MUG-BLUE"})
    engine = make_engine(f"sqlite:///{tmp / 'ledger.db'}")
    ledger, amazon, cart, world = Ledger(engine), InventoryStandIn(), make_cart(storefront), World()
    cart.set_stock([StockLevel(sku, 0) for sku in SHOP_SKUS])
    # Amazon has a record of every seller SKU (a SKU it has none of is not bridge's to set).
    amazon.set(world.amazon)
    placed: list[str] = []
    try:
        for number, ops in enumerate(steps):
            for op in ops:
                apply(op, store_url, cart, amazon, world, placed, f"#{number}-{len(placed)}")
            ingest_orders(ledger, cart, storefront)
            sync_stock(ledger, amazon, cart, storefront)
            shop = demo_store.read_stock(store_url)
            assert {sku: shop[sku] for sku in SHOP_SKUS} == world.sellable()
    finally:
        cart.close()
        engine.dispose()


def apply(op, store_url, cart, amazon, world, placed, number) -> None:
    kind = op[0]
    if kind == "amazon":
        _, sku, quantity = op
        world.amazon[sku] = quantity
        amazon.set({sku: quantity})
    elif kind == "edit":  # a person or another app, behind bridge's back
        _, sku, quantity = op
        cart.set_stock([StockLevel(sku, quantity)])
    elif kind == "order":
        _, sku, quantity, held = op
        shop = demo_store.read_stock(store_url)
        if shop.get(sku, 0) < quantity:
            return  # the shop would not sell what it does not show
        cart.set_stock([StockLevel(sku, shop[sku] - quantity)])  # the shop takes the units
        order_id = demo_store.insert_order(store_url, number, [DemoLine(sku, quantity)],
                                           address=NO_ADDRESS if held else None)
        placed.append(order_id)
        world.open_orders[order_id] = seller_units(sku, quantity)
    elif kind == "cancel":
        _, index = op
        live = [order_id for order_id in placed if order_id in world.open_orders]
        if live:
            order_id = live[index % len(live)]
            demo_store.cancel_order(store_url, order_id)
            world.open_orders.pop(order_id)
