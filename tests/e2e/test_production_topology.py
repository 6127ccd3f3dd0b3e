"""The production topology end to end: real Celery worker processes (prefork, in lanes:
submit beside the other flows) and the scheduler on Redis, the ledger on PostgreSQL, the
merchant's SQL store on PostgreSQL, and the simulated fulfillment network over HTTP."""

from __future__ import annotations

from collections import Counter

import pytest
from processes import production_deployment, wait_for
from sqlalchemy import func, select

from bridge import demo_store
from bridge.ledger.tables import Order
from bridge.sim.config import SimConfig
from bridge.sim.server import SimServer

pytestmark = pytest.mark.e2e

ORDERS = 200
SKUS = ("MUG-BLUE", "MUG-RED", "TEE-M", "TEE-L", "CAP-01", "SOCK-3")
STOCK = 1000
# Each Fulfillment Outbound version bridge speaks, with the operation that creates orders.
CREATE_OPERATION = {"2020-07-01": "createFulfillmentOrder", "2026-07-04": "createOrder"}


@pytest.mark.parametrize("outbound_api", sorted(CREATE_OPERATION))
def test_200_orders_flow_through_workers_on_postgres_and_redis(
    tmp_path, postgres_schema_factory, redis_url, outbound_api
):
    ledger_url, store_url = postgres_schema_factory(), postgres_schema_factory()
    # The simulator's limits are raised (and reported in x-amzn-RateLimit-Limit, which
    # bridge's shared Redis buckets learn from) so 200 creates take seconds, not minutes.
    fast = {op: (100.0, 100) for op in (
        "createFulfillmentOrder", "getFulfillmentOrder", "listAllFulfillmentOrders",
        "getInventorySummaries", "cancelFulfillmentOrder",
        "createOrder", "getOrder", "listOrders", "cancelOrder")}
    with SimServer(SimConfig(clock_factor=0, rate_limit_overrides=fast)) as sim:
        sim.admin.set_stock({sku: STOCK for sku in SKUS})
        broker = redis_url
        limits = redis_url.rsplit("/", 1)[0] + "/14"
        with production_deployment(tmp_path, sim.base_url, ledger_url=ledger_url, store_url=store_url,
                                   broker_url=broker, rate_limit_url=limits) as (daemons, ledger):
            storefront_file = tmp_path / "config" / "storefronts" / "demo.toml"
            storefront_file.write_text(storefront_file.read_text().replace(
                "[fulfillment]\n", f'[fulfillment]\noutbound_api = "{outbound_api}"\n', 1))
            demo_store.create_schema(store_url)
            placed = demo_store.place_orders(store_url, ORDERS, SKUS)
            # Worker lanes: submission has a process of its own beside the other flows.
            daemons.lanes(submit=1, flows=3)
            # Two schedulers by mistake: only the one holding the ledger's lease sends.
            daemons.bridge("beat", "beat", "--loglevel", "INFO")
            daemons.bridge("beat-spare", "beat", "--loglevel", "INFO")

            def accepted() -> int:
                daemons.check_alive()
                with ledger.transaction() as session:
                    return session.scalar(
                        select(func.count()).where(Order.accepted_at.is_not(None))) or 0

            wait_for(lambda: accepted() == ORDERS, f"{ORDERS} orders accepted", 180,
                     daemons.logs)
            at_sim = sim.admin.orders()
            assert len(at_sim) == ORDERS
            assert sim.admin.calls(CREATE_OPERATION[outbound_api]) == ORDERS  # none sent twice

            # Move Amazon's clock past Received → Planning → Processing → Complete.
            sim.admin.advance(30 + 60 + 120 + 1)

            def complete() -> int:
                daemons.check_alive()
                with ledger.transaction() as session:
                    return session.scalar(
                        select(func.count()).where(Order.state == "complete")) or 0

            wait_for(lambda: complete() == ORDERS, "every order complete", 180, daemons.logs)

            statuses = Counter(order["status"] for order in sim.admin.orders())
            assert statuses == {"Complete": ORDERS}
            sim_packages = {
                (order["sellerFulfillmentOrderId"], pkg["trackingNumber"])
                for order in sim.admin.orders()
                for pkg in order["packages"]
            }
            shipments = demo_store.read_shipments(store_url)
            tracking = Counter((row["order_id"], row["tracking_number"]) for row in shipments)
            assert len(tracking) == len(sim_packages)          # every package written ...
            assert max(tracking.values()) == 1                  # ... exactly once
            assert {row["order_id"] for row in shipments} == set(placed)

            # Stock: the store shows Amazon's fulfillable minus open reservations (none left).
            def stock_in_line() -> bool:
                sim_stock = {sku: item["fulfillable"] for sku, item in sim.admin.inventory().items()}
                return demo_store.read_stock(store_url) == sim_stock

            wait_for(stock_in_line, "store stock equal to FBA fulfillable", 60, daemons.logs)

            sending = [name for name in ("beat", "beat-spare")
                       if "Sending due task" in (tmp_path / f"{name}.log").read_text()]
            assert len(sending) == 1, sending

            # No configured secret reached any process's log.
            logs = "".join(path.read_text(errors="replace") for path in tmp_path.glob("*.log"))
            assert "ingested" in logs and "submitted" in logs  # the logs are real ...
            for secret in (tmp_path / "secrets").iterdir():
                assert secret.read_text().strip() not in logs  # ... and hold no secret
