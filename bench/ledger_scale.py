"""`bridge status`, `bridge orders show` and the unpushed-packages query on a PostgreSQL
ledger of 1,000,000 orders, without migration 0008's indexes and with them, then
`bridge orders archive` over the finished history.

The ledger is built in a fresh schema (dropped afterwards) with INSERT … SELECT
generate_series: orders over the last ~2 years (95 % complete, 3 % cancelled, 0.5 %
ignored, 1.5 % open: accepted, processing, shipped with tracking still to write, ready,
needs attention), 1.5 lines, 4 events and (when shipped) one package per order.

    python bench/ledger_scale.py                  # 1,000,000 orders, ~10 minutes
    python bench/ledger_scale.py --orders 200000 --no-archive"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import time
import uuid
from collections.abc import Callable
from urllib.parse import quote

import sqlalchemy as sa
from common import PG_ADMIN_URL, bridge_cmd, bridge_env, workdir

from bridge.demo import write_config
from bridge.ledger import migrate, packages
from bridge.ledger.repo import Ledger
from bridge.services.orders import show_order, storefront_status

# The indexes migration 0008 adds for these queries (the archive's own are not timed).
INDEXES = {
    "ix_orders_number": "CREATE INDEX ix_orders_number ON orders (number)",
    "ix_orders_cart_order_id": "CREATE INDEX ix_orders_cart_order_id ON orders (cart_order_id)",
    "ix_packages_unpushed": "CREATE INDEX ix_packages_unpushed ON packages (order_id) "
                            "WHERE pushed_at IS NULL",
}

# Order g was last changed (orders − g) minutes ago: the newest now, the oldest ~2 years ago.
FILL = [
    """
    INSERT INTO orders (id, storefront, cart_order_id, number, snapshot, content_hash, state,
                        seller_fulfillment_order_id, request, amazon_status, attempts,
                        attention_reason, last_error, cart_updated_at, created_at, updated_at,
                        state_changed_at, accepted_at)
    SELECT g, 'demo', (5000000000 + g)::text, '#' || (100000 + g),
           json_build_object('order_id', (5000000000 + g)::text, 'number', '#' || (100000 + g),
                             'paid', true, 'lines', json_build_array(json_build_object(
                                 'line_id', '1', 'sku', 'MUG-BLUE', 'quantity', 1 + g % 3)),
                             'address', json_build_object('name', 'Customer ' || g,
                                 'line1', g || ' Main St', 'city', 'Springfield',
                                 'postal_code', '62701', 'country_code', 'US')),
           md5(g::text), s.state,
           CASE WHEN s.state IN ('ignored') THEN NULL ELSE 'DEMO-' || (5000000000 + g) END,
           NULL, CASE WHEN s.state = 'complete' THEN 'Complete' ELSE '' END, 1,
           CASE WHEN s.state = 'needs_attention' THEN 'bad_address' ELSE '' END, '',
           t, t, t, t, CASE WHEN s.state IN ('ready', 'ignored') THEN NULL ELSE t END
    FROM generate_series(1, :orders) AS g,
         LATERAL (SELECT (now() at time zone 'utc') - (:orders - g) * interval '1 minute' AS t) AS tm,
         LATERAL (SELECT CASE WHEN g % 1000 < 950 THEN 'complete'
                              WHEN g % 1000 < 980 THEN 'cancelled'
                              WHEN g % 1000 < 985 THEN 'ignored'
                              WHEN g % 1000 < 993 THEN 'accepted'
                              WHEN g % 1000 < 995 THEN 'processing'
                              WHEN g % 1000 < 997 THEN 'shipped'
                              WHEN g % 1000 < 999 THEN 'ready'
                              ELSE 'needs_attention' END AS state) AS s
    """,
    "SELECT setval(pg_get_serial_sequence('orders', 'id'), :orders)",
    """
    INSERT INTO order_lines (order_id, line_id, cart_sku, seller_sku, quantity, item_id, kit_units)
    SELECT id, '1', 'MUG-BLUE', 'MUG-BLUE', 1, '1', 1 FROM orders WHERE state <> 'ignored'
    UNION ALL
    SELECT id, '2', 'TEE-M', 'TEE-M', 2, '2', 1 FROM orders WHERE state <> 'ignored' AND id % 2 = 0
    """,
    """
    INSERT INTO packages (order_id, amazon_shipment_id, package_number, carrier, tracking_number,
                          shipped_at, lines, pushed_at, push_error, created_at)
    SELECT id, 'S' || id, 1, 'UPS', '1Z' || id, state_changed_at,
           '[{"line": "1", "quantity": 1}]',
           CASE WHEN state = 'shipped' THEN NULL ELSE state_changed_at END, '', state_changed_at
    FROM orders WHERE state IN ('complete', 'shipped')
    """,
    """
    INSERT INTO events (storefront, order_id, kind, from_state, to_state, message, created_at)
    SELECT 'demo', o.id, e.kind, e.from_state, e.to_state, e.message, o.created_at
    FROM orders o, (VALUES ('recorded', '', 'received', 'order recorded from the cart'),
                           ('ready', 'received', 'ready', 'ready'),
                           ('accepted', 'submitting', 'accepted', 'Amazon accepted the order'),
                           ('shipped', 'shipped', 'complete', 'tracking written to the cart'))
                   AS e(kind, from_state, to_state, message)
    WHERE o.state <> 'ignored' OR e.kind = 'recorded'
    """,
]


def schema_url(schema: str) -> str:
    sep = "&" if "?" in PG_ADMIN_URL else "?"
    return f"{PG_ADMIN_URL}{sep}options={quote(f'-csearch_path={schema}')}"


def build(engine: sa.Engine, orders: int) -> dict:
    started = time.perf_counter()
    with engine.begin() as conn:
        for statement in FILL:
            conn.execute(sa.text(statement), {"orders": orders})
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
        sizes = {table: conn.scalar(sa.text(f"SELECT count(*) FROM {table}"))
                 for table in ("orders", "order_lines", "packages", "events")}
        sizes["database_mb"] = round(float(conn.scalar(sa.text(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind = 'r'"))) / 1e6)
    return {"rows": sizes, "build_s": round(time.perf_counter() - started, 1)}


def median_ms(fn: Callable[[], object], repeat: int = 7) -> float:
    fn()  # warm: the first run pays for the cache
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 2)


def cli_ms(config_dir, *args: str, repeat: int = 3) -> float:
    """Wall time of `bridge …` as a separate process (interpreter start included)."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(bridge_cmd(*args), env=bridge_env(config_dir), check=True,
                       capture_output=True, timeout=600)
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000)


def measure(engine: sa.Engine, ledger: Ledger, config_dir, orders: int) -> dict:
    number = f"#{100000 + orders // 3}"
    cart_id = str(5000000000 + orders // 3)

    def unpushed() -> None:
        with ledger.transaction() as session:
            packages.unpushed_count(session, "demo")
            packages.has_unpushed(session, "demo")

    def all_state_counts() -> None:  # what `bridge status` counted before 0008's release
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT state, count(*) FROM orders WHERE storefront = 'demo' "
                                 "GROUP BY state")).all()

    return {
        "status_in_process_ms": median_ms(lambda: storefront_status(ledger, "demo"), 5),
        "show_number_in_process_ms": median_ms(lambda: show_order(ledger, number)),
        "show_cart_id_in_process_ms": median_ms(lambda: show_order(ledger, cart_id)),
        "unpushed_query_ms": median_ms(unpushed),
        "all_states_count_ms": median_ms(all_state_counts, 3),
        "status_cli_ms": cli_ms(config_dir, "status"),
        "show_number_cli_ms": cli_ms(config_dir, "orders", "show", number),
        "show_cart_id_cli_ms": cli_ms(config_dir, "orders", "show", cart_id),
        "cli_floor_ms": cli_ms(config_dir, "--help"),
    }


def archive(engine: sa.Engine, config_dir, days: int) -> dict:
    load = os.getloadavg()[0]
    started = time.perf_counter()
    done = subprocess.run(bridge_cmd("orders", "archive", "--older-than-days", str(days)),
                          env=bridge_env(config_dir), check=True, capture_output=True,
                          text=True, timeout=3600)
    seconds = time.perf_counter() - started
    with engine.connect() as conn:
        archived = conn.scalar(sa.text("SELECT count(*) FROM archived_orders"))
        live = conn.scalar(sa.text("SELECT count(*) FROM orders"))
    return {"archived": archived, "live_after": live, "seconds": round(seconds, 1),
            "orders_per_s": round(archived / seconds), "load_before": round(load, 1),
            "output": done.stdout.strip().splitlines()[-1]}


def run(orders: int, with_archive: bool = True, archive_days: int = 30) -> dict:
    schema = "bench_" + uuid.uuid4().hex[:10]
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = schema_url(schema)
    engine = sa.create_engine(url)
    result: dict = {"orders": orders, "nproc": os.cpu_count()}
    try:
        migrate.upgrade(url)
        result["build"] = build(engine, orders)
        ledger = Ledger(engine)
        with workdir("ledger-scale") as path:
            config_dir = write_config(path, "http://127.0.0.1:9", database_url=url)
            with engine.connect() as conn:
                auto = conn.execution_options(isolation_level="AUTOCOMMIT")
                for name in INDEXES:
                    auto.exec_driver_sql(f"DROP INDEX {name}")
                auto.exec_driver_sql("ANALYZE orders, packages")
            result["load_before"] = round(os.getloadavg()[0], 1)
            result["without_indexes"] = measure(engine, ledger, config_dir, orders)
            with engine.connect() as conn:
                auto = conn.execution_options(isolation_level="AUTOCOMMIT")
                for name, create in INDEXES.items():
                    started = time.perf_counter()
                    auto.exec_driver_sql(create)
                    result.setdefault("index_build_s", {})[name] = round(time.perf_counter() - started, 1)
                auto.exec_driver_sql("ANALYZE orders, packages")
            result["load_after"] = round(os.getloadavg()[0], 1)
            result["with_indexes"] = measure(engine, ledger, config_dir, orders)
            if with_archive:
                result["archive"] = archive(engine, config_dir, archive_days)
                result["after_archive"] = measure(engine, ledger, config_dir, orders)
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--no-archive", action="store_true", help="skip timing the archive run")
    parser.add_argument("--archive-days", type=int, default=30)
    args = parser.parse_args()
    print(json.dumps(run(args.orders, not args.no_archive, args.archive_days), indent=2))


if __name__ == "__main__":
    main()
