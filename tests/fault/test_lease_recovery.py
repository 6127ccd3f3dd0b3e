"""No lease outlives its holder. The order poll is stalled mid-read (the test locks the
store's orders table, so the poll waits inside the cart read holding its lease), then
the process holding the poll is killed with SIGKILL. Intake must resume within one poll
interval + 15 s: a worker's pool process killed (Celery re-queues the poll, the new
pool process sees the dead holder and takes over), and `bridge run` itself killed and
started again (its scheduler and poll leases are taken from the dead predecessor).
The deadline of each wait is the requirement itself; nothing asserts on time otherwise."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from processes import Daemons, wait_for

from bridge import demo_store
from bridge.demo import write_config
from bridge.ledger.db import make_engine
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import Lease, Order, utcnow
from bridge.sim.config import SimConfig
from bridge.sim.server import SimServer

pytestmark = pytest.mark.e2e

POLL_SECONDS = 2
RESUME_WITHIN = POLL_SECONDS + 15  # the requirement
SKUS = ["MUG-BLUE"]


def pool_children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


class Stall:
    """Holds an exclusive lock on the store's orders table: a poll reading it waits."""

    def __init__(self, store_url: str) -> None:
        self.engine = make_engine(store_url)
        self.connection = None

    def __enter__(self) -> Stall:
        self.connection = self.engine.connect()
        self.connection.execute(sa.text("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE"))
        return self

    def poll_is_waiting(self) -> bool:
        with self.engine.connect() as probe:
            return bool(probe.scalar(sa.text(
                "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                "WHERE NOT l.granted AND c.relname = 'orders' "
                "AND c.relnamespace = current_schema()::regnamespace")))

    def __exit__(self, *exc_info) -> None:
        self.connection.rollback()
        self.connection.close()
        self.engine.dispose()


def recorded(ledger: Ledger) -> set[str]:
    with ledger.transaction() as session:
        return set(session.scalars(sa.select(Order.number)))


def poll_lease_held(ledger: Ledger) -> bool:
    with ledger.transaction() as session:
        lease = session.get(Lease, "demo:orders")
        return lease is not None and lease.holder != "" and lease.until > utcnow()


def stall_a_poll(daemons: Daemons, ledger: Ledger, stall: Stall) -> None:
    def stalled() -> bool:
        daemons.check_alive()
        return poll_lease_held(ledger) and stall.poll_is_waiting()

    wait_for(stalled, "a poll to hold its lease and wait in the cart read", 60, daemons.logs)


def next_order_recorded(daemons: Daemons, ledger: Ledger, store_url: str, number: int,
                        what: str) -> None:
    before = len(recorded(ledger))
    demo_store.place_orders(store_url, 1, SKUS, start_number=number)

    def seen() -> bool:
        return len(recorded(ledger)) > before

    wait_for(seen, what, RESUME_WITHIN, daemons.logs)


@pytest.fixture
def setup(tmp_path, postgres_schema_factory):
    store_url = postgres_schema_factory()
    demo_store.create_schema(store_url)
    with SimServer(SimConfig(clock_factor=0, rate_limits=False)) as sim:
        sim.admin.set_stock({"MUG-BLUE": 50})
        yield tmp_path, sim, store_url


def test_worker_killed_mid_poll_intake_resumes(setup, postgres_schema_factory, redis_url):
    tmp_path, sim, store_url = setup
    ledger_url = postgres_schema_factory()
    config_dir = write_config(tmp_path, sim.base_url, database_url=ledger_url,
                              broker_url=redis_url, store_url=store_url, rate_limit_url="off",
                              poll_seconds=POLL_SECONDS)
    daemons = Daemons(tmp_path, config_dir)
    engine = make_engine(ledger_url)
    ledger = Ledger(engine)
    try:
        assert daemons.run("db", "upgrade").returncode == 0
        worker = daemons.bridge("worker", "worker", "--pool", "prefork", "-c", "1",
                                "-Q", "orders,submit,status,tracking,stock,maintenance",
                                "--loglevel", "INFO")
        daemons.bridge("beat", "beat")
        demo_store.place_orders(store_url, 1, SKUS)
        wait_for(lambda: len(recorded(ledger)) == 1, "the first poll", 60, daemons.logs)

        with Stall(store_url) as stall:
            stall_a_poll(daemons, ledger, stall)
            children = pool_children(worker.pid)
            assert children, "the worker has no pool process"
            for child in children:
                os.kill(child, signal.SIGKILL)
        next_order_recorded(daemons, ledger, store_url, 2,
                            "a poll to complete after the pool process was killed")
        daemons.check_alive()
    finally:
        daemons.stop()
        engine.dispose()


def test_bridge_run_killed_mid_poll_and_restarted_intake_resumes(setup):
    tmp_path, sim, store_url = setup
    # The embedded default: SQLite ledger and broker, the store on PostgreSQL (to stall).
    config_dir = write_config(tmp_path, sim.base_url, store_url=store_url, rate_limit_url="off",
                              poll_seconds=POLL_SECONDS)
    daemons = Daemons(tmp_path, config_dir)
    engine = None
    try:
        first = daemons.bridge("run", "run")
        demo_store.place_orders(store_url, 1, SKUS)
        engine = make_engine(f"sqlite:///{(tmp_path / 'ledger.db').resolve()}")
        ledger = Ledger(engine)

        def first_poll() -> bool:
            daemons.check_alive()
            try:
                return len(recorded(ledger)) == 1
            except sa.exc.OperationalError:  # the daemon has not created the ledger yet
                return False

        wait_for(first_poll, "the first poll", 90, daemons.logs)

        with Stall(store_url) as stall:
            stall_a_poll(daemons, ledger, stall)
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()
        daemons.children = [c for c in daemons.children if c[1] is not first]
        started = time.monotonic()
        daemons.bridge("run-again", "run")
        next_order_recorded(daemons, ledger, store_url, 2,
                            "a poll to complete after `bridge run` was killed and restarted")
        print(f"intake resumed {time.monotonic() - started:.1f}s after the restart")
        daemons.check_alive()
    finally:
        daemons.stop()
        if engine is not None:
            engine.dispose()
