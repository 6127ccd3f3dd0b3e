"""The ledger's hot queries stay index-backed as history grows: migration 0008 creates the
indexes (on SQLite and PostgreSQL, the unpushed-packages one partial), and on a
PostgreSQL ledger of 20,000 orders (mostly finished, as in production) the planner
serves `bridge orders show`, `bridge status`, the sweep's counts and the tracking flow's
claim from them, with no sequential scan of orders or packages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from bridge.ledger import migrate, packages, repo
from bridge.ledger.db import make_engine
from bridge.ledger.repo import Ledger
from bridge.services.orders import show_order, storefront_status
from bridge.services.retention import archive_finished

INDEXES = {
    "orders": {"ix_orders_number", "ix_orders_cart_order_id"},
    "packages": {"ix_packages_unpushed"},
    "flags": {"ix_flags_order"},
    "archived_orders": {"ix_archived_orders_number", "ix_archived_orders_cart_order_id",
                        "ix_archived_orders_sfo_id"},
}


@pytest.fixture(params=["sqlite", "postgres"])
def any_url(request, tmp_path) -> str:
    if request.param == "postgres":
        return request.getfixturevalue("postgres_url")
    return f"sqlite:///{tmp_path / 'ledger.db'}"


def _index_names(engine: sa.Engine, table: str) -> set[str]:
    return {index["name"] for index in sa.inspect(engine).get_indexes(table)}


def _unpushed_definition(engine: sa.Engine) -> str:
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            query = ("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_packages_unpushed' "
                     "AND schemaname = current_schema()")
        else:
            query = "SELECT sql FROM sqlite_master WHERE name = 'ix_packages_unpushed'"
        return str(conn.exec_driver_sql(query).scalar_one())


def test_the_migration_creates_the_indexes_and_its_downgrade_drops_them(any_url):
    migrate.upgrade(any_url, "0007")
    engine = make_engine(any_url)
    try:
        for table in ("orders", "packages", "flags"):
            assert not INDEXES[table] & _index_names(engine, table)
        migrate.upgrade(any_url, "0008")
        for table, names in INDEXES.items():
            assert names <= _index_names(engine, table), table
        assert "pushed_at IS NULL" in _unpushed_definition(engine)
        unique = sa.inspect(engine).get_unique_constraints("archived_orders")
        assert [c["column_names"] for c in unique] == [["storefront", "cart_order_id"]]

        migrate.downgrade(any_url, "0007")
        for table in ("orders", "packages", "flags"):
            assert not INDEXES[table] & _index_names(engine, table)
        assert "archived_orders" not in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


# ---------------------------------------------------------------- query plans

ORDERS = 20_000
# In every hundred orders: 94 complete, 2 accepted, 1 ready, 1 needs_attention,
# 1 shipped (its tracking still to write), 1 cancelled.
FILL_ORDERS = """
INSERT INTO orders (storefront, cart_order_id, number, snapshot, content_hash, state,
                    seller_fulfillment_order_id, request, amazon_status, attempts, attention_reason,
                    last_error, cart_updated_at, created_at, updated_at, state_changed_at, accepted_at)
SELECT CASE WHEN g % 2 = 0 THEN 'demo' ELSE 'other' END, 'c' || g, '#' || (100000 + g), '{}',
       md5(g::text), s.state, 'DEMO-' || g, NULL, '', 0,
       CASE WHEN s.state = 'needs_attention' THEN 'bad_address' ELSE '' END, '',
       t, t, t, t + interval '1 day', CASE WHEN s.state = 'ready' THEN NULL ELSE t END
FROM generate_series(1, :orders) AS g,
     LATERAL (SELECT timestamp '2025-01-01' + g * interval '1 minute' AS t) AS times,
     LATERAL (SELECT CASE WHEN g % 100 < 94 THEN 'complete' WHEN g % 100 < 96 THEN 'accepted'
                          WHEN g % 100 = 96 THEN 'ready' WHEN g % 100 = 97 THEN 'needs_attention'
                          WHEN g % 100 = 98 THEN 'shipped' ELSE 'cancelled' END AS state) AS s
"""
FILL_PACKAGES = """
INSERT INTO packages (order_id, amazon_shipment_id, package_number, carrier, tracking_number,
                      shipped_at, lines, pushed_at, push_error, created_at)
SELECT id, 'S' || id, 1, 'UPS', '1Z' || id, state_changed_at, '[]',
       CASE WHEN state = 'shipped' THEN NULL ELSE state_changed_at END, '', state_changed_at
FROM orders WHERE state IN ('complete', 'shipped')
"""


@pytest.fixture
def large_ledger(postgres_url):
    migrate.upgrade(postgres_url)
    engine = make_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(sa.text(FILL_ORDERS), {"orders": ORDERS})
        conn.execute(sa.text(FILL_PACKAGES))
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    try:
        yield engine
    finally:
        engine.dispose()


class Statements:
    """Every statement an engine runs, with its parameters, so each can be EXPLAINed
    exactly as bridge sent it."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine, self.seen = engine, []
        sa.event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, _conn, _cursor, statement, parameters, _context, _many) -> None:
        if statement.lstrip().upper().startswith("SELECT") and not self._explaining:
            self.seen.append((statement, parameters))

    _explaining = False

    def plans(self) -> list[tuple[str, str]]:
        self._explaining = True
        try:
            with self.engine.connect() as conn:
                return [(statement, "\n".join(row[0] for row in conn.exec_driver_sql(
                            "EXPLAIN " + statement, parameters)))
                        for statement, parameters in self.seen]
        finally:
            self._explaining = False
            self.seen = []


def _touching(plans: list[tuple[str, str]], table: str) -> list[str]:
    return [plan for statement, plan in plans if f"FROM {table}" in statement
            or f"JOIN {table}" in statement]


def _assert_no_scan_of_history(plans: list[tuple[str, str]]) -> None:
    assert plans
    for statement, plan in plans:
        assert "Seq Scan on orders" not in plan, (statement, plan)
        assert "Seq Scan on packages" not in plan, (statement, plan)


def test_orders_show_uses_the_reference_indexes(large_ledger):
    ledger, statements = Ledger(large_ledger), Statements(large_ledger)
    assert show_order(ledger, "#100421").cart_order_id == "c421"
    by_number = statements.plans()
    assert any("ix_orders_number" in plan for plan in _touching(by_number, "orders"))
    _assert_no_scan_of_history(by_number)

    assert show_order(ledger, "c421").number == "#100421"
    by_cart_id = statements.plans()
    assert any("ix_orders_cart_order_id" in plan for plan in _touching(by_cart_id, "orders"))
    _assert_no_scan_of_history(by_cart_id)


def test_bridge_status_counts_open_states_through_indexes(large_ledger):
    ledger, statements = Ledger(large_ledger), Statements(large_ledger)
    report = storefront_status(ledger, "demo")
    # 10,000 orders of "demo": per hundred orders, one each of these (even numbers only).
    assert set(report.counts) <= {"accepted", "ready", "needs_attention", "shipped"}
    assert report.counts["shipped"] == report.unpushed_packages > 0
    plans = statements.plans()
    _assert_no_scan_of_history(plans)
    assert any("ix_orders_work" in plan for plan in _touching(plans, "orders"))
    assert any("ix_packages_unpushed" in plan for plan in _touching(plans, "packages"))


def test_sweep_and_tracking_queries_use_the_indexes(large_ledger):
    ledger, statements = Ledger(large_ledger), Statements(large_ledger)
    with ledger.transaction() as session:
        waiting = repo.counts_by_state(session, "demo")
        assert packages.has_unpushed(session, "demo")
        repo.quiet_at_amazon_count(session, "demo", datetime(2026, 1, 1, tzinfo=UTC))
        claimed = packages.claim_unpushed(ledger, session, "demo", 50)
    assert len(claimed) == min(50, waiting["shipped"])
    plans = statements.plans()
    _assert_no_scan_of_history(plans)
    assert sum("ix_packages_unpushed" in plan for plan in _touching(plans, "packages")) >= 2


def test_an_archived_order_is_shown_through_the_archive_indexes(large_ledger):
    ledger = Ledger(large_ledger)
    # Every order here last changed in 2025: all finished ones of "demo" are archived.
    result = archive_finished(ledger, ["demo"], 30)
    assert result.total == ORDERS // 2 * 94 // 100
    with large_ledger.connect() as conn:  # the run refreshed the planner's statistics
        estimate = conn.exec_driver_sql(
            "SELECT reltuples FROM pg_class WHERE oid = 'archived_orders'::regclass").scalar_one()
    assert estimate == result.total
    statements = Statements(large_ledger)
    shown = show_order(ledger, "#100420")
    assert shown.archived_at is not None and shown.cart_order_id == "c420"
    plans = statements.plans()
    archive_plans = _touching(plans, "archived_orders")
    assert archive_plans and all("Seq Scan on archived_orders" not in plan for plan in archive_plans)
    assert any("ix_archived_orders_number" in plan for plan in archive_plans)
    _assert_no_scan_of_history(plans)
