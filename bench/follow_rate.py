"""Following at Amazon's limits: how many orders per hour one seller account's status
following keeps up with, when getFulfillmentOrder and listAllFulfillmentOrders are held
to Amazon's 2 requests/s (burst 30).

N orders are placed in a SQL demo shop, ingested and created at the simulator with its
limits off (setup, not measured), into a PostgreSQL ledger. Then the simulator's limits
are switched on and its frozen clock is moved through the lifecycle one step at a time
(Received → Planning → Processing → Complete), the way a status poll every few seconds
sees orders move; after each step `services.status.sync_status` runs (again while it
reports more work) until the ledger agrees with the simulator. The client paces itself
with an in-process token bucket at Amazon's rates, as a worker does.

Reported: orders followed per hour (orders / wall time of the syncs), getFulfillmentOrder
and listAllFulfillmentOrders calls per order, and the share answered 429.

With `--read-backs`, a second client on the same token buckets reads one order back every
second at the top priority (as submit does after an unknown outcome) while the orders
ship, and the time each of those waits for its token is reported; `--no-tiers` makes the
status flow take its tokens at the top priority too (no reserve), for comparison. Those
read-backs are left out of the calls per order.

    python bench/follow_rate.py [--orders 400] [--read-backs [--no-tiers]] [--json out.json]"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
import time

from common import SKUS, postgres_databases, simulator, workdir

from bridge import demo_store
from bridge import logging as bridge_logging
from bridge.carts.registry import adapter_class
from bridge.config import load_config
from bridge.demo import write_config
from bridge.domain.states import OrderState
from bridge.fba.client import FbaClient
from bridge.fba.priority import TOP, Priority
from bridge.fba.ratelimit import InProcessLimiter, NoLimiter
from bridge.ledger import migrate
from bridge.ledger.db import make_engine
from bridge.ledger.repo import Ledger
from bridge.services import status
from bridge.services.ingest import ingest_orders
from bridge.services.submit import submit_ready
from bridge.sim.client import SimAdmin

# The simulator's default lifecycle (simulated seconds in Received, Planning, Processing).
STEPS = (("Planning", 31), ("Processing", 61), ("Complete", 121))
FOLLOWED_OPS = ("getFulfillmentOrder", "listAllFulfillmentOrders")


class TimedLimiter(InProcessLimiter):
    """Records how long each top-priority getFulfillmentOrder waited for its token."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float] = []

    def acquire(self, key: str, rate: float, burst: int, timeout: float,
                priority: Priority = TOP) -> None:
        started = time.perf_counter()
        super().acquire(key, rate, burst, timeout, priority)
        if priority == TOP and key.endswith(":getFulfillmentOrder"):
            self.waits.append(time.perf_counter() - started)


class ReadBacks:
    """A thread reading one order back every second until stopped."""

    def __init__(self, fba: FbaClient, sfo_id: str) -> None:
        self.fba, self.sfo_id, self.done = fba, sfo_id, 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(1.0):
            self.fba.fulfillment_order(self.sfo_id)
            self.done += 1


def _states(ledger: Ledger) -> dict[str, int]:
    import sqlalchemy as sa

    from bridge.ledger.tables import Order
    with ledger.transaction() as session:
        rows = session.execute(sa.select(Order.state, sa.func.count()).group_by(Order.state)).all()
    return {state: count for state, count in rows}


def _answers(admin: SimAdmin) -> dict[str, dict]:
    stats = admin.stats()
    return {op: {"calls": stats.get(op, {}).get("calls", 0),
                 "429": stats.get(op, {}).get("statuses", {}).get("429", 0)} for op in FOLLOWED_OPS}


def run(orders: int, read_backs: bool = False, tiers: bool = True) -> dict:
    if not tiers:
        # Status takes its tokens at the top priority, as before tiers existed.
        status.call_priority = lambda _priority: contextlib.nullcontext()  # type: ignore[assignment]
    with workdir("follow") as tmp, simulator(rate_limits=True, clock_factor=0) as sim, \
            postgres_databases("follow") as (ledger_url,):
        admin = SimAdmin(sim.url)
        store_url = f"sqlite:///{tmp / 'store.db'}"
        demo_store.create_schema(store_url)
        storefront = load_config(write_config(tmp, sim.url, database_url=ledger_url,
                                              store_url=store_url)).storefront("demo")
        migrate.upgrade(ledger_url)
        engine = make_engine(ledger_url)
        ledger = Ledger(engine)
        cart = adapter_class(storefront.cart.platform).from_settings(
            storefront.cart.settings(), storefront.secret)

        admin.set_rate_limits(enabled=False)
        demo_store.place_orders(store_url, orders, SKUS)
        ingest_orders(ledger, cart, storefront)
        with FbaClient.from_account(storefront.fulfillment, storefront.secret, NoLimiter()) as setup:
            while submit_ready(ledger, setup, cart, storefront, 200).accepted:
                pass
        accepted = _states(ledger).get(OrderState.ACCEPTED.value, 0)
        assert accepted == orders, f"setup: {accepted} of {orders} orders accepted"

        # A first sync with nothing moved sets the cursor, as a running deployment has one.
        admin.set_rate_limits(enabled=True)
        limiter = TimedLimiter()
        fba = FbaClient.from_account(storefront.fulfillment, storefront.secret, limiter)
        probe = ReadBacks(FbaClient.from_account(storefront.fulfillment, storefront.secret, limiter),
                          admin.orders()[0]["sellerFulfillmentOrderId"])
        status.sync_status(ledger, fba, cart, storefront)
        before = _answers(admin)
        runs = 0
        started = time.perf_counter()
        for name, seconds in STEPS:
            admin.advance(seconds)
            if read_backs and name == "Complete":
                limiter.waits.clear()
                probe.thread.start()
            while True:
                result = status.sync_status(ledger, fba, cart, storefront)
                runs += 1
                if not getattr(result, "more", False):
                    break
            print(f"  {name}: followed at {time.perf_counter() - started:.1f} s", file=sys.stderr)
        elapsed = time.perf_counter() - started
        probe.stop.set()
        if read_backs:
            probe.thread.join()
        after = _answers(admin)
        waits = sorted(limiter.waits)
        probe.fba.close()
        shipped = _states(ledger).get(OrderState.SHIPPED.value, 0)
        fba.close()
        cart.close()
        engine.dispose()

    calls = {op: after[op]["calls"] - before[op]["calls"] for op in FOLLOWED_OPS}
    calls["getFulfillmentOrder"] -= probe.done
    throttled = sum(after[op]["429"] - before[op]["429"] for op in FOLLOWED_OPS)
    probes = {}
    if read_backs:
        probes = {"tiers": tiers, "read_backs": probe.done,
                  "read_back_wait_p50_s": round(waits[len(waits) // 2], 3) if waits else None,
                  "read_back_wait_max_s": round(waits[-1], 3) if waits else None}
    return {**probes,
        "orders": orders,
        "shipped_in_ledger": shipped,
        "sync_runs": runs,
        "seconds": round(elapsed, 1),
        "orders_per_hour": round(orders / elapsed * 3600),
        "gets_per_order": round(calls["getFulfillmentOrder"] / orders, 3),
        "lists_per_order": round(calls["listAllFulfillmentOrders"] / orders, 3),
        "calls": calls,
        "share_429": round(throttled / max(1, sum(calls.values())), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=400)
    parser.add_argument("--read-backs", action="store_true",
                        help="time top-priority read-backs made while the orders ship")
    parser.add_argument("--no-tiers", action="store_true", help="status at the top priority too")
    parser.add_argument("--json", help="also write the result to this file")
    args = parser.parse_args()
    bridge_logging.configure(level="warning", stream=sys.stderr)
    result = run(args.orders, read_backs=args.read_backs, tiers=not args.no_tiers)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        with open(args.json, "w") as out:
            out.write(text + "\n")


if __name__ == "__main__":
    main()
