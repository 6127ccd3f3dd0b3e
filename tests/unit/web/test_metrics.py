"""`/metrics`: what a ledger filled here and a broker with a waiting message look like
in Prometheus' text format, read back with prometheus_client's own parser."""

from __future__ import annotations

from datetime import timedelta

import pytest
from kombu import Connection
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from serve_support import (  # noqa: F401  (migrated_template_fixture is a fixture)
    T0,
    Clock,
    closed_port,
    copy_ledger,
    migrated_template_fixture,
    runtime_for,
    write_config,
)
from starlette.applications import Starlette
from starlette.testclient import TestClient

from bridge.domain.states import OrderState as S
from bridge.ledger import call_stats, migrate
from bridge.ledger.tables import Cursor, FlowHealth, Order, Return, ShopStock, Storefront
from bridge.web import metrics
from bridge.web.metrics import BridgeCollector

HOUR = timedelta(hours=1)


class Monotonic:
    def __init__(self) -> None:
        self.at = 1000.0

    def __call__(self) -> float:
        return self.at


def add_order(session, storefront: str, number: str, state: S, *, created: timedelta,
              changed: timedelta | None = None, reason: str = "") -> Order:
    row = Order(storefront=storefront, cart_order_id=f"c-{number}", number=number,
                snapshot={"number": number}, content_hash="h", state=state.value,
                attention_reason=reason, cart_updated_at=T0 - created,
                created_at=T0 - created, state_changed_at=T0 - (changed or created))
    session.add(row)
    session.flush()
    return row


def fill(runtime) -> None:
    with runtime.ledger.transaction() as session:
        add_order(session, "north", "1", S.READY, created=2 * HOUR)
        add_order(session, "north", "2", S.READY, created=HOUR)
        add_order(session, "north", "3", S.ON_HOLD, created=3 * HOUR, reason="all_orders")
        add_order(session, "south", "4", S.NEEDS_ATTENTION, created=5 * HOUR, reason="unknown_sku")
        add_order(session, "north", "5", S.COMPLETE, created=30 * HOUR, changed=HOUR)
        add_order(session, "north", "6", S.COMPLETE, created=50 * HOUR, changed=48 * HOUR)
        returned = add_order(session, "north", "7", S.COMPLETE, created=80 * HOUR,
                             changed=70 * HOUR)
        session.add(Return(storefront="north", order_id=returned.id, sequence=1,
                           state="authorized", reason_code="DAMAGED", authorizations={}))
        session.add(Return(storefront="north", order_id=returned.id, sequence=2,
                           state="received", reason_code="DAMAGED", authorizations={}))
        session.add_all([
            ShopStock(storefront="north", cart_sku="A", target=5, shop_quantity=7),
            ShopStock(storefront="north", cart_sku="B", target=5, shop_quantity=5),
            ShopStock(storefront="south", cart_sku="A", target=5, shop_quantity=None),
        ])
        session.add(Storefront(name="south", paused=True, paused_reason="access refused"))
        session.add(FlowHealth(storefront="north", flow="ingest", last_ok_at=T0 - HOUR,
                               failures=0, last_error=""))
        session.add(FlowHealth(storefront="south", flow="status", last_ok_at=None,
                               failures=4, last_error="Amazon answered 503"))
        session.add(Cursor(storefront="north", flow="orders", position=T0, last_run_at=T0))
    # Two worker processes flushed their counts for the minutes around T0.
    first, second = call_stats.Tally(Clock(T0 - timedelta(minutes=4))), call_stats.Tally(
        Clock(T0 - timedelta(minutes=3)))
    for _ in range(90):
        first.add(call_stats.SPAPI, "createFulfillmentOrder", seconds=0.1)
    first.add(call_stats.SPAPI, "createFulfillmentOrder", throttled=True)
    second.add(call_stats.SPAPI, "getFulfillmentOrder", error=True, seconds=2.0)
    second.add(call_stats.FLOW, "ingest", seconds=1.5)
    second.add(call_stats.FLOW, "ingest", error=True, seconds=0.5)
    for tally in (first, second):
        call_stats.flush(runtime.ledger, tally.take(), T0)


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(found: dict, name: str, **labels: str) -> float:
    return found[(name, frozenset(labels.items()))]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def runtime(request, migrated_template, tmp_path):
    if request.param == "postgres":
        database_url = request.getfixturevalue("postgres_url")
        migrate.upgrade(database_url)
    else:
        database_url = copy_ledger(migrated_template, tmp_path)
    config = write_config(tmp_path, database_url=database_url,
                          broker_url=f"sqla+sqlite:///{tmp_path / 'broker.db'}",
                          storefronts={"north": 60, "south": 60},
                          client_ids={"north": "one", "south": "two"})
    runtime = runtime_for(config, Clock(T0))
    yield runtime
    runtime.ledger.engine.dispose()


def scrape(runtime) -> str:
    """Through the route, as Prometheus would."""
    response = TestClient(Starlette(routes=metrics.routes(runtime))).get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return response.text


def collect(collector: BridgeCollector) -> dict[tuple[str, frozenset], float]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return samples(generate_latest(registry).decode())


def test_every_metric_is_computed_from_the_ledger_and_the_broker(runtime):
    fill(runtime)
    with Connection(runtime.config.settings.broker_url) as connection:
        connection.SimpleQueue("orders").put({"nudge": "north"})
    found = samples(scrape(runtime))

    assert value(found, "bridge_orders", storefront="north", state="ready") == 2
    assert value(found, "bridge_orders", storefront="north", state="on_hold") == 1
    assert value(found, "bridge_orders", storefront="south", state="needs_attention") == 1
    assert not [key for key in found if key[0] == "bridge_orders"
                and ("state", "complete") in key[1]]
    assert value(found, "bridge_oldest_open_order_age_seconds",
                 storefront="north", state="ready") == 2 * 3600
    assert value(found, "bridge_oldest_open_order_age_seconds",
                 storefront="south", state="needs_attention") == 5 * 3600
    # Finished within the last day only: order 5, not 6 nor 7.
    assert value(found, "bridge_orders_finished_last_day", storefront="north",
                 state="complete") == 1
    assert value(found, "bridge_orders_held", storefront="north", reason="all_orders") == 1
    assert value(found, "bridge_orders_needing_attention", storefront="south",
                 reason="unknown_sku") == 1
    assert value(found, "bridge_returns_open", storefront="north", state="authorized") == 1
    assert ("bridge_returns_open", frozenset({("storefront", "north"), ("state", "received")})) \
        not in found
    assert value(found, "bridge_stock_drift_skus", storefront="north") == 1
    assert value(found, "bridge_stock_drift_skus", storefront="south") == 0
    assert value(found, "bridge_storefront_paused", storefront="south") == 1
    assert value(found, "bridge_storefront_paused", storefront="north") == 0

    assert value(found, "bridge_flow_last_success_timestamp_seconds", storefront="north",
                 flow="ingest") == (T0 - HOUR).timestamp()
    assert value(found, "bridge_flow_consecutive_failures", storefront="south", flow="status") == 4
    assert value(found, "bridge_poll_last_success_timestamp_seconds", storefront="north",
                 flow="orders") == T0.timestamp()

    create = {"operation": "createFulfillmentOrder"}
    assert value(found, "bridge_spapi_requests_total", **create) == 91
    assert value(found, "bridge_spapi_throttled_total", **create) == 1
    assert value(found, "bridge_spapi_errors_total", **create) == 0
    assert value(found, "bridge_spapi_errors_total", operation="getFulfillmentOrder") == 1
    assert value(found, "bridge_spapi_request_seconds_total",
                 operation="getFulfillmentOrder") == 2.0
    assert value(found, "bridge_flow_runs_total", flow="ingest") == 2
    assert value(found, "bridge_flow_run_failures_total", flow="ingest") == 1
    assert value(found, "bridge_flow_run_seconds_total", flow="ingest") == 2.0
    # 91 creates in the window of 3 minutes that ended 2 minutes before T0, against
    # 2 requests/s for each of two seller accounts.
    assert value(found, "bridge_spapi_rate_budget_used_ratio", **create) == \
        pytest.approx(91 / 180 / 4)

    assert value(found, "bridge_queue_messages", queue="orders") == 1
    assert value(found, "bridge_queue_messages", queue="submit") == 0
    assert value(found, "bridge_scrape_ok", part="ledger") == 1
    assert value(found, "bridge_scrape_ok", part="broker") == 1


def test_scrapes_within_the_cache_time_read_the_ledger_once(runtime):
    fill(runtime)
    monotonic = Monotonic()
    collector = BridgeCollector(runtime, monotonic=monotonic)

    def ready() -> float:
        return value(collect(collector), "bridge_orders", storefront="north", state="ready")

    assert ready() == 2
    with runtime.ledger.transaction() as session:
        add_order(session, "north", "8", S.READY, created=HOUR)
    monotonic.at += metrics.CACHE_SECONDS - 1
    assert ready() == 2
    monotonic.at += 1
    assert ready() == 3


def test_a_ledger_or_broker_that_fails_is_left_out_and_said(tmp_path):
    config = write_config(tmp_path, storefronts={"north": 60},
                          database_url=f"postgresql://bridge@127.0.0.1:{closed_port()}/bridge",
                          broker_url=f"redis://127.0.0.1:{closed_port()}/0")
    found = collect(BridgeCollector(runtime_for(config, Clock(T0)), part_seconds=3))
    assert value(found, "bridge_scrape_ok", part="ledger") == 0
    assert value(found, "bridge_scrape_ok", part="broker") == 0
    assert {name for name, _ in found} == {"bridge_scrape_ok"}


def test_an_empty_ledger_gives_zero_drift_and_no_order_series(runtime):
    found = samples(scrape(runtime))
    assert value(found, "bridge_stock_drift_skus", storefront="north") == 0
    assert not [key for key in found if key[0] == "bridge_orders"]
    assert value(found, "bridge_scrape_ok", part="ledger") == 1


@pytest.mark.redis
def test_queue_depths_on_redis_count_waiting_messages_and_missing_queues_as_zero(redis_url):
    from bridge.worker.app import QUEUES

    with Connection(redis_url) as connection:
        queue = connection.SimpleQueue("orders")
        queue.put({"nudge": 1})
        queue.put({"nudge": 2})
        depths = metrics.queue_depths(redis_url, QUEUES, 3)
    assert depths == {"orders": 2, "submit": 0, "status": 0, "tracking": 0, "stock": 0,
                      "maintenance": 0}
