"""Time from a worker killed (SIGKILL) in the middle of an order poll to the next poll
that completes. A Celery worker (prefork, one pool process) and beat run against a
PostgreSQL ledger and store and a Redis broker; each round stalls a poll inside the cart
read (an exclusive lock on the store's orders table), kills the pool process holding
the poll's lease, lifts the lock, places an order and waits until the ledger records it.

    python bench/lease_recovery.py                  # 20 kills, orders poll every 2 s
    python bench/lease_recovery.py --kills 5 --poll 5"""

from __future__ import annotations

import argparse
import json
import os
import signal
import time
from pathlib import Path

import sqlalchemy as sa
from common import (
    bridge_cmd,
    bridge_env,
    configure,
    percentile,
    postgres_databases,
    redis_database,
    simulator,
    spawn,
    stop,
    wait_until,
    workdir,
)

from bridge import demo_store
from bridge.ledger.tables import Lease, Order, utcnow

QUEUES = "orders,submit,status,tracking,stock,maintenance"


def pool_children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def recorded(ledger: sa.Engine) -> int:
    with ledger.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(Order.__table__))


def stalled(ledger: sa.Engine, store: sa.Engine) -> bool:
    with ledger.connect() as conn:
        lease = conn.execute(sa.select(Lease.holder, Lease.until)
                             .where(Lease.name == "demo:orders")).first()
    if lease is None or not lease.holder or lease.until <= utcnow():
        return False
    with store.connect() as conn:
        return bool(conn.scalar(sa.text(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE NOT l.granted AND c.relname = 'orders'")))


def one_kill(worker, ledger: sa.Engine, store: sa.Engine, store_url: str, number: int) -> float:
    lock = store.connect()
    try:
        lock.execute(sa.text("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE"))
        wait_until(lambda: stalled(ledger, store), 120, "a poll stalled in the cart read",
                   alive=worker)
        for child in pool_children(worker.pid):
            os.kill(child, signal.SIGKILL)
        killed = time.monotonic()
    finally:
        lock.rollback()
        lock.close()
    before = recorded(ledger)
    demo_store.place_orders(store_url, 1, ["MUG-BLUE"], start_number=number)
    wait_until(lambda: recorded(ledger) > before, 300, "the next poll", alive=worker)
    return time.monotonic() - killed


def run(kills: int, poll: float) -> dict:
    with workdir("lease-recovery") as path, simulator(clock_factor=0) as sim, \
            postgres_databases("ledger", "store") as (ledger_url, store_url), \
            redis_database() as broker_url:
        config_dir = configure(path, sim.url, orders_seconds=poll, database_url=ledger_url,
                               broker_url=broker_url, store_url=store_url)
        env = bridge_env(config_dir)
        spawn(bridge_cmd("db", "upgrade"), env=env).wait()
        demo_store.create_schema(store_url)
        ledger, store = sa.create_engine(ledger_url), sa.create_engine(store_url)
        worker = spawn(bridge_cmd("worker", "--pool", "prefork", "-c", "1", "-Q", QUEUES),
                       env=env, log=path / "worker.log")
        beat = spawn(bridge_cmd("beat"), env=env, log=path / "beat.log")
        try:
            demo_store.place_orders(store_url, 1, ["MUG-BLUE"])
            wait_until(lambda: recorded(ledger) == 1, 120, "the first poll", alive=worker)
            times = [one_kill(worker, ledger, store, store_url, 2 + index)
                     for index in range(kills)]
        finally:
            stop(beat)
            stop(worker)
            ledger.dispose()
            store.dispose()
    return {"kills": kills, "poll_seconds": poll, "p50": percentile(times, 50),
            "max": max(times), "requirement": poll + 15, "seconds": [round(t, 2) for t in times]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--poll", type=float, default=2.0, help="orders poll interval, s")
    args = parser.parse_args()
    print(json.dumps(run(args.kills, args.poll), indent=2))


if __name__ == "__main__":
    main()
