"""A worker process killed (SIGKILL) while Amazon is handling its create call: the
fulfillment order exists at Amazon but the worker never learned it. The row stays
`submitting`; the sweep turns it into `submit_unknown`; a read-back finds the order.
Exactly one fulfillment order results, with no second create."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from processes import Daemons, wait_for
from sqlalchemy import select

from bridge import demo_store
from bridge.demo import write_config
from bridge.ledger.db import make_engine
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import Event, Order
from bridge.sim.config import SimConfig
from bridge.sim.server import SimServer

pytestmark = pytest.mark.e2e


def pool_children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def test_worker_killed_during_create_yields_exactly_one_order(
    tmp_path, postgres_schema_factory, redis_url
):
    ledger_url, store_url = postgres_schema_factory(), postgres_schema_factory()
    # Amazon acts, then holds its answer back for 60 s: time enough to kill the worker.
    with SimServer(SimConfig(clock_factor=0, rate_limits=False, drop_seconds=60)) as sim:
        sim.admin.set_stock({"MUG-BLUE": 50})
        sim.admin.add_fault("createFulfillmentOrder", status=None, drop_after_act=True, count=1)
        config_dir = write_config(tmp_path, sim.base_url, database_url=ledger_url,
                                  broker_url=redis_url, store_url=store_url,
                                  rate_limit_url="off", poll_seconds=1,
                                  stale_after_seconds=10, timeout_seconds=45)
        daemons = Daemons(tmp_path, config_dir)
        engine = make_engine(ledger_url)
        ledger = Ledger(engine)
        try:
            assert daemons.run("db", "upgrade").returncode == 0
            demo_store.create_schema(store_url)
            demo_store.place_orders(store_url, 1, ["MUG-BLUE"])
            worker = daemons.bridge("worker", "worker", "--pool", "prefork", "-c", "1",
                                    "-Q", "orders,submit,status,tracking,stock,maintenance",
                                    "--loglevel", "INFO")
            daemons.bridge("beat", "beat")

            wait_for(lambda: sim.admin.calls("createFulfillmentOrder") == 1,
                     "the create call to reach Amazon", 60, daemons.logs)
            with ledger.transaction() as session:
                assert session.scalar(select(Order.state)) == "submitting"
            assert len(sim.admin.orders()) == 1  # Amazon acted ...
            children = pool_children(worker.pid)
            assert children, "the worker has no pool process"
            for child in children:
                os.kill(child, signal.SIGKILL)  # ... and the worker dies before hearing back

            def accepted() -> bool:
                daemons.check_alive()
                with ledger.transaction() as session:
                    return session.scalar(select(Order.state)) in ("accepted", "processing")

            wait_for(accepted, "the order to be resolved by reading back", 90, daemons.logs)
            assert sim.admin.calls("createFulfillmentOrder") == 1
            assert len(sim.admin.orders()) == 1
            with ledger.transaction() as session:
                kinds = [e.kind for e in session.scalars(select(Event).order_by(Event.id))]
            assert "submit_unknown" in kinds and kinds.index("submit_unknown") < kinds.index("accepted")
        finally:
            daemons.stop()
            engine.dispose()
