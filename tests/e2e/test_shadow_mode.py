"""Shadow mode end to end, through the real daemon on the embedded default: the SQL demo
store as the shop and the simulator as Amazon. `bridge run --shadow` reads the shop,
maps the orders and computes stock, and the simulator sees reads only (counted there)
while the shop gets no stock, note or shipment; `bridge status` and `bridge orders show`
show the would-be requests. Run live afterwards, each order still to ship is created once
and the order cancelled in the shop meanwhile is not sent."""

from __future__ import annotations

import json

import pytest
from processes import Daemons, wait_for
from sqlalchemy import select

from bridge import demo_store
from bridge.demo import write_config
from bridge.demo_store import DemoLine
from bridge.ledger.db import make_engine
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import Order, ShopStock
from bridge.sim.config import SimConfig
from bridge.sim.server import SimServer

pytestmark = pytest.mark.e2e

AMAZON = {"MUG-BLUE": 10, "TEE-M": 10}
# SP-API operations that only read (and the token exchange, which changes nothing).
READ_PREFIXES = ("get", "list", "lwaToken")


def test_shadow_run_writes_nothing_and_the_live_run_sends_each_order_once(tmp_path):
    ledger_url = f"sqlite:///{tmp_path / 'ledger.db'}"
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    with SimServer(SimConfig(clock_factor=0, rate_limits=False)) as sim:
        sim.admin.set_stock(AMAZON)
        config_dir = write_config(tmp_path, sim.base_url, database_url=ledger_url,
                                  store_url=store_url, poll_seconds=1, stock_seconds=2)
        demo_store.create_schema(store_url)
        daemons = Daemons(tmp_path, config_dir)
        engine = make_engine(ledger_url)
        ledger = Ledger(engine)
        try:
            migrated = daemons.run("db", "upgrade")
            assert migrated.returncode == 0, migrated.stdout + migrated.stderr
            first = demo_store.insert_order(store_url, "#S1", [DemoLine("MUG-BLUE", 2)])
            second = demo_store.insert_order(store_url, "#S2", [DemoLine("TEE-M", 1)])
            dropped = demo_store.insert_order(store_url, "#S3", [DemoLine("MUG-BLUE", 1)])
            daemons.bridge("shadow", "run", "--shadow")

            def rows() -> dict[str, tuple[str, str]]:
                with ledger.transaction() as session:
                    return {cart_id: (state, sfo or "") for cart_id, state, sfo in session.execute(
                        select(Order.cart_order_id, Order.state, Order.seller_fulfillment_order_id))}

            def stock_computed() -> bool:
                with ledger.transaction() as session:
                    return session.scalar(select(ShopStock.target)
                                          .where(ShopStock.cart_sku == "TEE-M")) == 9  # 10 less #S2

            def shadow_done() -> bool:
                daemons.check_alive()
                shown = daemons.run("status")
                return ("would send: 3 order(s)" in shown.stdout and stock_computed()
                        and all(state == "ready" for state, _sfo in rows().values()))

            wait_for(shadow_done, "three would-be sends and stock computed in shadow", 90,
                     daemons.logs)
            status = daemons.run("status")
            assert "SHADOW" in status.stdout, status.stdout + status.stderr
            shown = daemons.run("orders", "show", "#S1")
            assert shown.returncode == 0, shown.stdout + shown.stderr
            assert "would send (shadow mode): createFulfillmentOrder" in shown.stdout
            body = json.loads(shown.stdout[shown.stdout.index("\n{") + 1:
                                           shown.stdout.index("\n}") + 2])
            assert body["sellerFulfillmentOrderId"] == rows()[first][1]
            assert body["marketplaceId"] == "ATVPDKIKX0DER"
            assert [(i["sellerSku"], i["quantity"]) for i in body["items"]] == [("MUG-BLUE", 2)]

            daemons.stop()
            called = {op for op, counts in sim.admin.stats().items() if counts.get("calls")}
            assert called, "the shadow run read nothing at the simulator"
            assert not [op for op in called if not op.startswith(READ_PREFIXES)], called
            assert sim.admin.orders() == []
            assert demo_store.read_stock(store_url) == {}
            assert demo_store.read_notes(store_url) == []
            assert demo_store.read_shipments(store_url) == []

            # The merchant cancels one in the shop, then runs bridge live.
            demo_store.cancel_order(store_url, dropped)
            daemons = Daemons(tmp_path, config_dir)
            daemons.bridge("live", "run")

            def sent() -> bool:
                daemons.check_alive()
                now = rows()
                return (now[first][0] == "accepted" and now[second][0] == "accepted"
                        and now[dropped][0] == "cancelled")

            wait_for(sent, "#S1 and #S2 accepted, #S3 cancelled", 90, daemons.logs)
            at_amazon = [o["sellerFulfillmentOrderId"] for o in sim.admin.orders()]
            assert sorted(at_amazon) == sorted([rows()[first][1], rows()[second][1]])
            assert sim.admin.calls("createFulfillmentOrder") == 2
            assert "SHADOW" not in daemons.run("status").stdout
        finally:
            daemons.stop()
            engine.dispose()
