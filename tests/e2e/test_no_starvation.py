"""Status syncs never starve submission, on the production topology: PostgreSQL ledger,
Redis broker and rate budget, prefork workers in lanes (submit beside the other flows)
and the scheduler as real processes, and the simulator at Amazon's own limits with its
clock running, so orders move and every status poll (due each second) has work. A
backlog placed at once must be created without a single idle window."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import pytest
import redis
from processes import production_deployment, wait_for
from sqlalchemy import func, select

from bridge import demo_store
from bridge.ledger.tables import Order
from bridge.sim.config import SimConfig
from bridge.sim.server import SimServer

pytestmark = pytest.mark.e2e

ORDERS = 300
SKUS = ("MUG-BLUE", "MUG-RED", "TEE-M", "TEE-L", "CAP-01", "SOCK-3")
STOCK = 10_000
CLOCK_FACTOR = 4.0     # simulated seconds per real second: orders move while creates run
WINDOW_SECONDS = 10.0  # real seconds per counted window
STATUS_READS = ("getFulfillmentOrder", "listAllFulfillmentOrders")


def creates_per_window(received: list[float], window: float) -> list[int]:
    """Creates per window from the first create to the last (zeros included)."""
    first = min(received)
    counts = Counter(int((moment - first) // window) for moment in received)
    return [counts.get(index, 0) for index in range(max(counts) + 1)]


def test_creates_per_window_counts_idle_windows_as_zero():
    assert creates_per_window([0.0, 1.0, 25.0, 31.0], 10.0) == [2, 0, 1, 1]
    assert creates_per_window([5.0], 10.0) == [1]


def success_count(stats: dict, operation: str) -> int:
    statuses = stats.get(operation, {}).get("statuses", {})
    return sum(count for status, count in statuses.items() if str(status).startswith("2"))


def test_creates_never_stop_while_status_syncs_run(tmp_path, postgres_schema_factory, redis_url):
    ledger_url, store_url = postgres_schema_factory(), postgres_schema_factory()
    rate_budget = redis_url.rsplit("/", 1)[0] + "/10"  # this test's own: emptied before it runs
    redis.Redis.from_url(rate_budget).flushdb()
    with SimServer(SimConfig(clock_factor=CLOCK_FACTOR)) as sim:
        limits = sim.admin.rate_limits()
        assert limits["enabled"] is True
        assert limits["limits"]["createFulfillmentOrder"] == {"rate": 2.0, "burst": 30}  # Amazon's
        sim.admin.set_stock({sku: STOCK for sku in SKUS})
        with production_deployment(tmp_path, sim.base_url, ledger_url=ledger_url, store_url=store_url,
                                   broker_url=redis_url, rate_limit_url=rate_budget) as (daemons, ledger):
            demo_store.create_schema(store_url)
            placed = demo_store.place_orders(store_url, ORDERS, SKUS)   # the backlog, at once
            daemons.lanes(submit=1, flows=3)
            daemons.bridge("beat", "beat", "--loglevel", "INFO")

            def accepted() -> int:
                daemons.check_alive()
                with ledger.transaction() as session:
                    return session.scalar(
                        select(func.count()).where(Order.accepted_at.is_not(None))) or 0

            # Halfway through the backlog, status syncs are running beside the creates.
            wait_for(lambda: accepted() >= ORDERS // 2, "half the backlog accepted", 150, daemons.logs)
            wait_for(lambda: sum(sim.admin.calls(op) for op in STATUS_READS) > 0,
                     "status syncs reading Amazon while creates run", 30, daemons.logs)
            assert accepted() < ORDERS  # ... and the creates were still going
            wait_for(lambda: accepted() == ORDERS, f"all {ORDERS} orders accepted", 240, daemons.logs)

            at_sim = sim.admin.orders()
            ids = [order["sellerFulfillmentOrderId"] for order in at_sim]
            assert len(ids) == len(set(ids)) == ORDERS                  # each created once ...
            assert success_count(sim.admin.stats(), "createFulfillmentOrder") == ORDERS  # ... no repeat
            with ledger.transaction() as session:
                assert session.scalar(select(func.count()).select_from(Order)) == len(placed)

            # Windows of simulated time the length of WINDOW_SECONDS of real time.
            received = [datetime.fromisoformat(order["receivedDate"].replace("Z", "+00:00")).timestamp()
                        for order in at_sim]
            windows = creates_per_window(received, WINDOW_SECONDS * CLOCK_FACTOR)
            assert len(windows) >= 5, windows    # a backlog long enough to say something
            assert 0 not in windows, f"a window without a create: {windows}\n{daemons.logs()}"
