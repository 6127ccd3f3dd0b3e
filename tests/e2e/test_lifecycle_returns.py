"""A customer return end to end through the real daemon and the `bridge` command, on the
simulator's clock: an order Amazon shipped, a return asked with `bridge returns create`,
Amazon's authorization and label URL in the shop once, and once the simulator's clock
has passed the units' transit and inspection, "received" in the shop once, with the
condition Amazon found them in and the return received in the ledger."""

from __future__ import annotations

from pathlib import Path

import pytest
from processes import Daemons, wait_for
from sqlalchemy import select

from bridge import demo_store
from bridge.demo import write_config
from bridge.demo_store import DemoLine
from bridge.ledger.db import make_engine
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import Order, Return
from bridge.sim.config import SimConfig
from bridge.sim.server import SimServer

pytestmark = pytest.mark.e2e

TO_COMPLETE = 30 + 60 + 120 + 1  # the simulator's Received → Planning → Processing → Complete
defaults = SimConfig()
PAST_TRANSIT_AND_INSPECTION = defaults.return_transit_seconds + defaults.return_inspection_seconds + 1


def follow_returns_every_second(config_dir: Path) -> None:
    path = config_dir / "storefronts" / "demo.toml"
    path.write_text(path.read_text().replace("[poll]\n", "[poll]\nreturns_seconds = 1\n"))


@pytest.mark.parametrize("production", [False, True], ids=["embedded", "postgres-redis"])
def test_a_return_from_the_command_to_received_in_the_shop(production, tmp_path, request):
    if production:
        ledger_url = request.getfixturevalue("postgres_schema_factory")()
        store_url = request.getfixturevalue("postgres_schema_factory")()
        broker = request.getfixturevalue("redis_url")
    else:
        ledger_url = f"sqlite:///{tmp_path / 'ledger.db'}"
        store_url = f"sqlite:///{tmp_path / 'store.db'}"
        broker = None
    with SimServer(SimConfig(clock_factor=0, rate_limits=False)) as sim:
        sim.admin.set_stock({"MUG-BLUE": 10, "TEE-M": 10})
        config_dir = write_config(tmp_path, sim.base_url, database_url=ledger_url,
                                  broker_url=broker, store_url=store_url, poll_seconds=1)
        follow_returns_every_second(config_dir)
        demo_store.create_schema(store_url)
        daemons = Daemons(tmp_path, config_dir)
        engine = make_engine(ledger_url)
        ledger = Ledger(engine)
        try:
            migrated = daemons.run("db", "upgrade")
            assert migrated.returncode == 0, migrated.stdout + migrated.stderr
            if production:  # the worker lanes and the scheduler, as deployed
                daemons.lanes()
                daemons.bridge("beat", "beat", "--loglevel", "INFO")
            else:
                daemons.bridge("run", "run")
            order_id = demo_store.insert_order(store_url, "#R1", [DemoLine("MUG-BLUE", 2),
                                                                  DemoLine("TEE-M", 1)])

            def state() -> str | None:
                daemons.check_alive()
                with ledger.transaction() as session:
                    return session.scalar(select(Order.state)
                                          .where(Order.cart_order_id == order_id))

            wait_for(lambda: state() == "accepted", "the order at Amazon", 90, daemons.logs)
            sim.admin.advance(TO_COMPLETE)
            wait_for(lambda: state() == "complete", "the order shipped, tracking in the shop",
                     90, daemons.logs)

            created = daemons.run("returns", "create", "#R1", "--lines", "MUG-BLUE=1",
                                  "--reason", "CR-DEFECTIVE", "--comment", "the handle broke")
            assert created.returncode == 0, created.stdout + created.stderr
            assert "authorized" in created.stdout
            assert "https://www.amazon.com/gp/orc/rml/" in created.stdout
            [at_amazon] = sim.admin.orders()
            assert at_amazon["returnItems"] == 1
            assert sim.admin.calls("createFulfillmentReturn") == 1

            def stages() -> list[str]:
                return sorted(stage for _, stage in
                              demo_store.read_event_keys(store_url, order_id, "return"))

            assert stages() == ["authorized"]
            label_notes = [note["note"] for note in demo_store.read_notes(store_url, order_id=order_id)
                           if "Return label" in note["note"]]
            assert len(label_notes) == 1 and "/gp/orc/rml/" in label_notes[0]

            sim.admin.advance(PAST_TRANSIT_AND_INSPECTION)

            def received() -> bool:
                daemons.check_alive()
                with ledger.transaction() as session:
                    return session.scalar(select(Return.state)) == "received"

            wait_for(received, "the units back at Amazon and the shop told", 90, daemons.logs)
            assert stages() == ["authorized", "received"]
            back = [note["note"] for note in demo_store.read_notes(store_url, order_id=order_id)
                    if "received by Amazon" in note["note"]]
            assert len(back) == 1 and "condition Defective" in back[0]
            assert sim.admin.calls("createFulfillmentReturn") == 1

            shown = daemons.run("returns", "show", "1")
            assert shown.returncode == 0 and "received" in shown.stdout
            assert "Processed" in shown.stdout and "Defective" in shown.stdout
        finally:
            daemons.stop()
            engine.dispose()
