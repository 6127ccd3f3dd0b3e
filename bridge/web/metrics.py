"""`/metrics`: bridge in Prometheus' text format, computed from the ledger and the broker
when scraped (docs/monitoring.md lists every metric).

The ledger is the record, so a scrape reads it: one transaction of grouped counts over
open orders (the finished ones, nearly all of a ledger's history, only for the last
day, through the (state, storefront, state_changed_at) index), the flow health and
cursor rows, and the call statistics the workers flush each minute. The result is kept
`CACHE_SECONDS`, so scrapes from several Prometheus servers (or a dashboard's refresh)
cannot hammer the ledger. The ledger and the broker are each read under a deadline; a
part that fails or does not answer in time is left out and `bridge_scrape_ok{part}` is 0."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bridge.bootstrap import Runtime
from bridge.config import StorefrontConfig
from bridge.domain.states import TERMINAL
from bridge.domain.states import OrderState as S
from bridge.fba.operations import OPERATIONS
from bridge.ledger import call_stats, returns
from bridge.ledger.call_stats import Counts
from bridge.ledger.orders import OPEN_STATES
from bridge.ledger.stock import drifted_sku_count
from bridge.ledger.tables import Cursor, FlowHealth, Order, Return, Storefront
from bridge.web.health import Deadlines, Outcome, probe_engine, probe_session
from bridge.worker.app import QUEUES

CACHE_SECONDS = 15.0
PART_SECONDS = 5.0
# Finished orders are counted over this window only.
FINISHED_WINDOW = timedelta(days=1)
# Calls reach the ledger up to a minute after they were made (each process flushes once
# a minute), so rate-budget use is read over minutes that every flush has covered.
BUDGET_LAG = timedelta(minutes=2)
BUDGET_WINDOW = timedelta(minutes=3)


# ---------------------------------------------------------------- the ledger's part

def ledger_metrics(session: Session, storefronts: Sequence[StorefrontConfig],
                   now: datetime) -> list[Metric]:
    return [
        *order_metrics(session, now),
        *storefront_metrics(session, storefronts),
        *flow_metrics(session),
        *call_metrics(session, storefronts, now),
    ]


def order_metrics(session: Session, now: datetime) -> list[Metric]:
    orders = GaugeMetricFamily(
        "bridge_orders", "Orders in an open state (not complete, cancelled or ignored).",
        labels=["storefront", "state"])
    oldest = GaugeMetricFamily(
        "bridge_oldest_open_order_age_seconds",
        "Age (since bridge recorded it) of the oldest order in each open state.",
        labels=["storefront", "state"])
    for storefront, state, count, first in session.execute(
            select(Order.storefront, Order.state, func.count(), func.min(Order.created_at))
            .where(Order.state.in_(OPEN_STATES)).group_by(Order.storefront, Order.state)):
        orders.add_metric([storefront, state], count)
        oldest.add_metric([storefront, state], max(0.0, _age(now, first)))

    finished = GaugeMetricFamily(
        "bridge_orders_finished_last_day",
        "Orders that reached complete, cancelled or ignored in the last 24 hours.",
        labels=["storefront", "state"])
    for storefront, state, count in session.execute(
            select(Order.storefront, Order.state, func.count())
            .where(Order.state.in_([state.value for state in TERMINAL]),
                   Order.state_changed_at >= now - FINISHED_WINDOW)
            .group_by(Order.storefront, Order.state)):
        finished.add_metric([storefront, state], count)

    held = GaugeMetricFamily(
        "bridge_orders_held", "Orders on hold for a person's approval, by hold reason.",
        labels=["storefront", "reason"])
    attention = GaugeMetricFamily(
        "bridge_orders_needing_attention", "Orders in needs_attention, by reason.",
        labels=["storefront", "reason"])
    for storefront, state, reason, count in session.execute(
            select(Order.storefront, Order.state, Order.attention_reason, func.count())
            .where(Order.state.in_([S.ON_HOLD.value, S.NEEDS_ATTENTION.value]))
            .group_by(Order.storefront, Order.state, Order.attention_reason)):
        family = held if state == S.ON_HOLD.value else attention
        family.add_metric([storefront, reason or "unknown"], count)

    open_returns = GaugeMetricFamily(
        "bridge_returns_open", "Customer returns not finished (requested or authorized).",
        labels=["storefront", "state"])
    for storefront, state, count in session.execute(
            select(Return.storefront, Return.state, func.count())
            .where(Return.state.in_(returns.OPEN)).group_by(Return.storefront, Return.state)):
        open_returns.add_metric([storefront, state], count)
    return [orders, oldest, finished, held, attention, open_returns]


def storefront_metrics(session: Session, storefronts: Sequence[StorefrontConfig]) -> list[Metric]:
    drift = GaugeMetricFamily(
        "bridge_stock_drift_skus",
        "Shop SKUs whose quantity, when last checked, was not what bridge wants there.",
        labels=["storefront"])
    paused = GaugeMetricFamily(
        "bridge_storefront_paused", "1 when the storefront is paused (by a person or a fatal "
        "error), else 0.", labels=["storefront"])
    paused_names = set(session.scalars(select(Storefront.name).where(Storefront.paused)))
    for storefront in storefronts:
        drift.add_metric([storefront.name], drifted_sku_count(session, storefront.name))
        paused.add_metric([storefront.name], int(storefront.name in paused_names))
    return [drift, paused]


def flow_metrics(session: Session) -> list[Metric]:
    last_ok = GaugeMetricFamily(
        "bridge_flow_last_success_timestamp_seconds",
        "When a run of the flow last went through (Unix time). Refreshed at most every "
        "15 minutes while the flow keeps succeeding.", labels=["storefront", "flow"])
    failures = GaugeMetricFamily(
        "bridge_flow_consecutive_failures", "Runs of the flow that failed in a row (0 once "
        "one goes through).", labels=["storefront", "flow"])
    for row in session.scalars(select(FlowHealth)):
        if row.last_ok_at is not None:
            last_ok.add_metric([row.storefront, row.flow], row.last_ok_at.timestamp())
        failures.add_metric([row.storefront, row.flow], row.failures)
    read = GaugeMetricFamily(
        "bridge_poll_last_success_timestamp_seconds",
        "When the flow last read its source through to the end (Unix time): the order "
        "poll is flow \"orders\".", labels=["storefront", "flow"])
    for cursor in session.scalars(select(Cursor)):
        read.add_metric([cursor.storefront, cursor.flow], cursor.last_run_at.timestamp())
    return [last_ok, failures, read]


def call_metrics(session: Session, storefronts: Sequence[StorefrontConfig],
                 now: datetime) -> list[Metric]:
    spapi = call_stats.totals(session, call_stats.SPAPI)
    flows = call_stats.totals(session, call_stats.FLOW)
    families = [
        _counter("bridge_spapi_requests", "Requests sent to the Selling Partner API "
                 "(every attempt, retries included).", "operation", spapi, "calls"),
        _counter("bridge_spapi_throttled", "Requests Amazon answered with 429.",
                 "operation", spapi, "throttled"),
        _counter("bridge_spapi_errors", "Requests that failed otherwise: no answer, a "
                 "5xx, or a 4xx other than 404 and 429.", "operation", spapi, "errors"),
        _counter("bridge_spapi_request_seconds", "Time spent in requests, summed.",
                 "operation", spapi, "seconds"),
        _counter("bridge_flow_runs", "Runs of each flow task.", "flow", flows, "calls"),
        _counter("bridge_flow_run_failures", "Runs of each flow task that failed.",
                 "flow", flows, "errors"),
        _counter("bridge_flow_run_seconds", "Time spent in runs of each flow task, "
                 "summed.", "flow", flows, "seconds"),
    ]
    accounts = len({(s.fulfillment.base_url, s.fulfillment.client_id,
                     s.fulfillment.refresh_token) for s in storefronts})
    end = call_stats.minute_of(now) - BUDGET_LAG
    recent = call_stats.since(session, call_stats.SPAPI, end - BUDGET_WINDOW, end)
    budget = GaugeMetricFamily(
        "bridge_spapi_rate_budget_used_ratio",
        "Requests per second over the usage plan's rate for all seller accounts together "
        "(1: at Amazon's quota), over the 3 minutes that ended 2 minutes ago.",
        labels=["operation"])
    for name, counts in sorted(recent.items()):
        operation = OPERATIONS.get(name)
        if operation is not None and accounts:
            rate = counts.calls / BUDGET_WINDOW.total_seconds()
            budget.add_metric([name], rate / (operation.rate * accounts))
    return [*families, budget]


def _counter(name: str, documentation: str, label: str, counts: dict[str, Counts],
             field: str) -> CounterMetricFamily:
    family = CounterMetricFamily(name, documentation, labels=[label])
    for key, value in sorted(counts.items()):
        family.add_metric([key], getattr(value, field))
    return family


def _age(now: datetime, then: datetime | None) -> float:
    return (now - then).total_seconds() if then is not None else 0.0


# ---------------------------------------------------------------- the broker's part

def queue_depths(broker_url: str, queues: Iterable[str], seconds: float) -> dict[str, int]:
    """Messages waiting in each queue, as the broker counts them: Redis, the length of
    the queue's lists; RabbitMQ, the ready messages of a passive declare; the SQL
    transport (the embedded default), its visible rows. A queue the broker does not
    have (Redis drops an empty list) counts 0."""
    from kombu import Connection
    from kombu.exceptions import ChannelError

    depths: dict[str, int] = {}
    with Connection(broker_url, connect_timeout=seconds) as connection:
        connection.ensure_connection(max_retries=0)
        for queue in queues:
            channel = connection.channel()  # a refused declare closes its channel
            try:
                depths[queue] = channel.queue_declare(queue=queue, passive=True).message_count
            except ChannelError:
                depths[queue] = 0
            finally:
                channel.close()
    return depths


def broker_metrics(depths: dict[str, int]) -> list[Metric]:
    family = GaugeMetricFamily("bridge_queue_messages", "Messages waiting in the broker's "
                               "queue (nudges not yet taken by a worker).", labels=["queue"])
    for queue, depth in sorted(depths.items()):
        family.add_metric([queue], depth)
    return [family]


# ---------------------------------------------------------------- the collector

@dataclass
class _Cached:
    at: float
    families: list[Metric]


class BridgeCollector(Collector):
    """Computes every family at scrape time from the ledger and the broker, keeping the
    result `cache_seconds` (on the `monotonic` clock)."""

    def __init__(self, runtime: Runtime, *, cache_seconds: float = CACHE_SECONDS,
                 part_seconds: float = PART_SECONDS,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.runtime = runtime
        self.cache_seconds = cache_seconds
        self.deadlines = Deadlines(part_seconds)
        self.monotonic = monotonic
        self._lock = threading.Lock()
        self._cached: _Cached | None = None
        # Like the probes': a connection per scrape with a connect timeout on PostgreSQL,
        # so a hanging database cannot take the app's pool with it.
        self.engine = probe_engine(runtime.ledger.engine, part_seconds)

    def collect(self) -> Iterable[Metric]:
        with self._lock:  # one computation at a time; the others get its result
            now = self.monotonic()
            if self._cached is None or now - self._cached.at >= self.cache_seconds:
                self._cached = _Cached(now, self.compute())
            return list(self._cached.families)

    def compute(self) -> list[Metric]:
        runtime = self.runtime
        storefronts = list(runtime.storefronts.values())
        found: dict[str, list[Metric]] = {}

        def from_ledger() -> Outcome:
            with probe_session(self.engine, self.deadlines.seconds) as session:
                found["ledger"] = ledger_metrics(session, storefronts, runtime.ledger.clock())
            return Outcome(True, "read")

        def from_broker() -> Outcome:
            depths = queue_depths(runtime.config.settings.broker_url, QUEUES,
                                  self.deadlines.seconds)
            found["broker"] = broker_metrics(depths)
            return Outcome(True, "read")

        outcomes = self.deadlines.run({"ledger": from_ledger, "broker": from_broker})
        scrape_ok = GaugeMetricFamily("bridge_scrape_ok", "1 when the part was read for this "
                                      "scrape, 0 when it failed or did not answer in time.",
                                      labels=["part"])
        families: list[Metric] = []
        for part, outcome in outcomes.items():
            scrape_ok.add_metric([part], int(outcome.ok))
            if outcome.ok:  # a part that answered late is left out, even if it finished
                families.extend(found.get(part, []))
        return [*families, scrape_ok]


def routes(runtime: Runtime) -> Sequence[BaseRoute]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BridgeCollector(runtime))

    def metrics(request: Request) -> Response:
        # A plain function: Starlette runs it on its thread pool, off the event loop.
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return [Route("/metrics", metrics, methods=["GET"])]
