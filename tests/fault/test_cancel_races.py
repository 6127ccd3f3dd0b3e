"""Cancellations that race bridge, with the real daemon (`bridge run`) between the SQL
demo store and the simulator: an order cancelled in the shop after bridge recorded it
but before Amazon has it is never created there; one cancelled after Amazon shipped it
goes to needs_attention with a note in the shop, since nothing can be recalled."""

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

THROUGH_TO_SHIPPED = 30 + 60 + 120 + 1


@pytest.fixture
def running(tmp_path):
    with SimServer(SimConfig(clock_factor=0, rate_limits=False)) as sim:
        sim.admin.set_stock({"MUG-BLUE": 50, "TEE-M": 50})
        store_url = f"sqlite:///{tmp_path / 'store.db'}"
        demo_store.create_schema(store_url)
        config_dir = write_config(tmp_path, sim.base_url, store_url=store_url,
                                  poll_seconds=1, stock_seconds=30)
        daemons = Daemons(tmp_path, config_dir)
        engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
        try:
            migrated = daemons.run("db", "upgrade")
            assert migrated.returncode == 0, migrated.stdout + migrated.stderr
            daemons.bridge("run", "run")
            yield sim, store_url, Ledger(engine), daemons
        finally:
            daemons.stop()
            engine.dispose()


def state_of(ledger: Ledger, order_id: str) -> tuple[str | None, str | None]:
    with ledger.transaction() as session:
        row = session.execute(select(Order.state, Order.attention_reason)
                              .where(Order.cart_order_id == order_id)).first()
    return (row[0], row[1]) if row else (None, None)


def test_a_cancel_between_ingest_and_create_never_reaches_amazon(running):
    sim, store_url, ledger, daemons = running
    # Amazon answers every create with 503 for now: bridge records the order, cannot hand it over.
    sim.admin.add_fault("createFulfillmentOrder", status=503)
    order_id = demo_store.insert_order(store_url, "#RACE1", [DemoLine("MUG-BLUE", 2)])
    wait_for(lambda: state_of(ledger, order_id)[0] in ("ready", "submit_unknown"),
             "the order recorded and tried", 60, daemons.logs)
    demo_store.cancel_order(store_url, order_id)
    wait_for(lambda: state_of(ledger, order_id)[0] == "cancelled", "the cancel seen", 60, daemons.logs)
    sim.admin.clear_faults()
    # A later order goes through, so the daemon is demonstrably submitting again.
    later = demo_store.insert_order(store_url, "#RACE2", [DemoLine("TEE-M", 1)])
    wait_for(lambda: state_of(ledger, later)[0] == "accepted", "the next order accepted", 60,
             daemons.logs)
    at_amazon = {order["sellerFulfillmentOrderId"] for order in sim.admin.orders()}
    assert at_amazon == {f"DEMO-{later}"}  # write_config's prefix; #RACE1 never created


def test_a_cancel_after_shipment_needs_attention_with_a_note(running):
    sim, store_url, ledger, daemons = running
    order_id = demo_store.insert_order(store_url, "#SHIPPED1", [DemoLine("MUG-BLUE", 1)])
    wait_for(lambda: state_of(ledger, order_id)[0] == "accepted", "accepted", 60, daemons.logs)
    sim.admin.advance(THROUGH_TO_SHIPPED)
    wait_for(lambda: state_of(ledger, order_id)[0] == "complete", "complete", 90, daemons.logs)
    demo_store.cancel_order(store_url, order_id)
    wait_for(lambda: state_of(ledger, order_id) == ("needs_attention", "cancelled_after_shipment"),
             "needs attention after a cancel of a shipped order", 60, daemons.logs)
    notes = [n["note"] for n in demo_store.read_notes(store_url, order_id=order_id)]
    assert any("shipped" in note.lower() for note in notes), notes
