"""The production topology on RabbitMQ, Celery's recommended broker: quorum queues and
publisher confirms, prefork workers in lanes and the scheduler as real processes, the
ledger and the merchant's SQL store on PostgreSQL, the rate budget in Redis, and the
simulated fulfillment network over HTTP. Each test has a virtual host of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter

import pytest
from processes import production_deployment, rabbitmq_available, rabbitmq_queue_types, rabbitmq_vhost, wait_for
from sqlalchemy import func, select

from bridge import demo_store
from bridge.config import load_config
from bridge.demo import write_config
from bridge.ledger.tables import Order
from bridge.sim.config import SimConfig
from bridge.sim.server import SimServer
from bridge.worker.app import QUEUES, celery_settings

ORDERS = 100
SKUS = ("MUG-BLUE", "MUG-RED", "TEE-M", "CAP-01")
STOCK = 1000


@pytest.fixture
def rabbitmq():
    """(vhost, broker URL) on the RabbitMQ here; in CI (BRIDGE_REQUIRE_SERVICES=1) a
    missing RabbitMQ fails the run instead of skipping."""
    why = rabbitmq_available()
    if why:
        if os.environ.get("BRIDGE_REQUIRE_SERVICES") == "1":
            pytest.fail(f"RabbitMQ is required but not reachable: {why}", pytrace=False)
        pytest.skip(f"RabbitMQ is not reachable ({why}); set BRIDGE_REQUIRE_SERVICES=1 to make this fail")
    with rabbitmq_vhost() as vhost:
        yield vhost


def test_on_rabbitmq_queues_are_quorum_queues_and_publishes_are_confirmed(tmp_path):
    amqp = celery_settings(load_config(write_config(
        tmp_path, "http://127.0.0.1:1", broker_url="amqp://guest:guest@127.0.0.1:5672//")))
    queues = {queue.name: queue for queue in amqp["task_queues"]}
    assert set(queues) == set(QUEUES)
    for name, queue in queues.items():
        assert queue.queue_arguments == {"x-queue-type": "quorum"} and queue.durable
        # a topic exchange per queue, bound by the queue's own name: still exactly one queue
        assert (queue.exchange.name, queue.exchange.type, queue.routing_key) == (name, "topic", name)
    assert amqp["broker_transport_options"] == {"confirm_publish": True}
    assert amqp["worker_detect_quorum_queues"] is True
    assert amqp["task_create_missing_queue_type"] == "quorum"
    # Redis keeps its classic queues and its visibility timeout.
    redis = celery_settings(load_config(write_config(
        tmp_path / "redis", "http://127.0.0.1:1", broker_url="redis://127.0.0.1:6379/0")))
    assert all(not queue.queue_arguments for queue in redis["task_queues"])
    assert "visibility_timeout" in redis["broker_transport_options"]


@pytest.mark.e2e
def test_100_orders_flow_on_rabbitmq_quorum_queues(tmp_path, rabbitmq, postgres_schema_factory,
                                                   redis_url):
    vhost, broker_url = rabbitmq
    ledger_url, store_url = postgres_schema_factory(), postgres_schema_factory()
    fast = {op: (100.0, 100) for op in (
        "createFulfillmentOrder", "getFulfillmentOrder", "listAllFulfillmentOrders",
        "getInventorySummaries", "cancelFulfillmentOrder")}
    with SimServer(SimConfig(clock_factor=0, rate_limit_overrides=fast)) as sim:
        sim.admin.set_stock({sku: STOCK for sku in SKUS})
        with production_deployment(tmp_path, sim.base_url, ledger_url=ledger_url, store_url=store_url,
                                   broker_url=broker_url, rate_limit_url=redis_url) as (daemons, ledger):
            # The queues declared up front as `bridge run` declares them; the workers'
            # own declarations must match them, or RabbitMQ refuses (PRECONDITION_FAILED).
            prepared = subprocess.run(
                [sys.executable, "-c", f"from bridge.daemon import prepare_broker; prepare_broker({broker_url!r})"],
                env=daemons.env, capture_output=True, text=True, timeout=60)
            assert prepared.returncode == 0, prepared.stdout + prepared.stderr
            demo_store.create_schema(store_url)
            placed = demo_store.place_orders(store_url, ORDERS, SKUS)
            daemons.lanes(submit=1, flows=2)
            daemons.bridge("beat", "beat", "--loglevel", "INFO")

            def count(*where) -> int:
                daemons.check_alive()
                with ledger.transaction() as session:
                    return session.scalar(select(func.count()).where(*where)) or 0

            wait_for(lambda: count(Order.accepted_at.is_not(None)) == ORDERS,
                     f"{ORDERS} orders accepted", 180, daemons.logs)
            assert len(sim.admin.orders()) == ORDERS
            assert sim.admin.calls("createFulfillmentOrder") == ORDERS  # none sent twice

            sim.admin.advance(30 + 60 + 120 + 1)  # Received → Planning → Processing → Complete
            wait_for(lambda: count(Order.state == "complete") == ORDERS, "every order complete",
                     180, daemons.logs)
            assert Counter(order["status"] for order in sim.admin.orders()) == {"Complete": ORDERS}
            sim_packages = {(order["sellerFulfillmentOrderId"], pkg["trackingNumber"])
                            for order in sim.admin.orders() for pkg in order["packages"]}
            shipments = demo_store.read_shipments(store_url)
            tracking = Counter((row["order_id"], row["tracking_number"]) for row in shipments)
            assert len(tracking) == len(sim_packages)   # every package written ...
            assert max(tracking.values()) == 1           # ... exactly once
            assert {row["order_id"] for row in shipments} == set(placed)

            types = rabbitmq_queue_types(vhost)
            assert {name: types.get(name) for name in QUEUES} == dict.fromkeys(QUEUES, "quorum")
