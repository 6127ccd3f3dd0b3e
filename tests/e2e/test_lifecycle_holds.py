"""Holds end to end, through the real daemon on the simulator's clock with the SQL demo
store as the shop: a rule holds two orders at ingest while an order it does not match goes
straight to Amazon; the held order a person approves with `bridge orders approve` reaches
the simulator and ships, the one nobody approves never does."""

from __future__ import annotations

import pytest
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

AMAZON = {"MUG-BLUE": 10, "TEE-M": 10}
THROUGH_TO_SHIPPED = 30 + 60 + 120 + 1
RULES = """
[[rules]]
name = "mugs-need-a-look"
action = "hold"
skus = ["MUG-BLUE"]
"""


def test_an_approved_order_reaches_amazon_and_one_not_approved_does_not(tmp_path):
    ledger_url = f"sqlite:///{tmp_path / 'ledger.db'}"
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    with SimServer(SimConfig(clock_factor=0, rate_limits=False)) as sim:
        sim.admin.set_stock(AMAZON)
        config_dir = write_config(tmp_path, sim.base_url, database_url=ledger_url,
                                  store_url=store_url, poll_seconds=1, stock_seconds=30)
        storefront_file = config_dir / "storefronts" / "demo.toml"
        storefront_file.write_text(storefront_file.read_text() + RULES)
        demo_store.create_schema(store_url)
        daemons = Daemons(tmp_path, config_dir)
        engine = make_engine(ledger_url)
        ledger = Ledger(engine)
        try:
            migrated = daemons.run("db", "upgrade")
            assert migrated.returncode == 0, migrated.stdout + migrated.stderr
            daemons.bridge("run", "run")
            approved = demo_store.insert_order(store_url, "#H1", [DemoLine("MUG-BLUE", 2)])
            waiting = demo_store.insert_order(store_url, "#H2", [DemoLine("MUG-BLUE", 1)])
            plain = demo_store.insert_order(store_url, "#N1", [DemoLine("TEE-M", 1)])

            def row(order_id: str) -> tuple[str, str, str]:
                with ledger.transaction() as session:
                    found = session.execute(
                        select(Order.state, Order.attention_reason,
                               Order.seller_fulfillment_order_id)
                        .where(Order.cart_order_id == order_id)).one_or_none()
                return (found[0], found[1], found[2] or "") if found else ("", "", "")

            def at_amazon() -> set[str]:
                return {o["sellerFulfillmentOrderId"] for o in sim.admin.orders()}

            def held_and_plain_sent() -> bool:
                daemons.check_alive()
                return (row(plain)[0] == "accepted"
                        and row(approved)[:2] == ("on_hold", "mugs-need-a-look")
                        and row(waiting)[:2] == ("on_hold", "mugs-need-a-look"))

            wait_for(held_and_plain_sent, "#N1 at Amazon, #H1 and #H2 on hold", 90, daemons.logs)
            assert at_amazon() == {row(plain)[2]}

            decided = daemons.run("orders", "approve", "#H1", "--by", "ops")
            assert decided.returncode == 0, decided.stdout + decided.stderr
            assert "order #H1 is now ready" in decided.stdout

            wait_for(lambda: row(approved)[0] == "accepted", "#H1 accepted by Amazon", 90,
                     daemons.logs)
            sfo_approved = row(approved)[2]
            assert sfo_approved in at_amazon()

            sim.admin.advance(THROUGH_TO_SHIPPED)

            def shipped() -> bool:
                daemons.check_alive()
                return row(approved)[0] == "complete" and row(plain)[0] == "complete"

            wait_for(shipped, "#H1 and #N1 shipped with tracking in the shop", 90, daemons.logs)
            # The order nobody approved stayed with bridge, whatever Amazon's clock did.
            assert row(waiting)[:2] == ("on_hold", "mugs-need-a-look")
            assert at_amazon() == {row(plain)[2], sfo_approved}
            notes = [n["note"] for n in demo_store.read_notes(store_url, order_id=approved)]
            assert any(note.startswith("bridge: on hold for approval: rule 'mugs-need-a-look'")
                       for note in notes)
            assert "bridge: approved by ops: mugs-need-a-look; the order is now ready" in notes
        finally:
            daemons.stop()
            engine.dispose()
