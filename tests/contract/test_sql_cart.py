"""The SQL cart adapter through the contract suite, on SQLite and on PostgreSQL, plus
what only a SQL store can show (schema mistakes, statement counts, upsert fallback)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pytest
import sqlalchemy as sa
from cart_suite import (
    SHIP_TO,
    CartContract,
    CartHarness,
    LineSpec,
    RecordedShipment,
    at,
    fetch_all,
)
from sqlalchemy.engine import make_url

from bridge import demo_store, secrets
from bridge.carts.sql import SqlCartAdapter
from bridge.carts.sql.settings import DEFAULT_MAPPING, REQUIRED_KEYS
from bridge.domain.model import Address, StockLevel
from bridge.errors import FatalError, NeedsAttentionError
from bridge.ledger.db import make_engine


def address_columns(address: Address) -> dict[str, str]:
    return {
        "ship_name": address.name,
        "ship_address1": address.line1,
        "ship_address2": address.line2,
        "ship_city": address.city,
        "ship_state": address.state,
        "ship_zip": address.postal_code,
        "ship_country": address.country_code,
        "ship_phone": address.phone,
        "email": "ava@example.com",
    }


class SqlHarness(CartHarness):
    def __init__(self, url: str) -> None:
        self.url = url
        self.settings = {"platform": "sql", "url": url}
        demo_store.create_schema(url)

    def adapter(self) -> SqlCartAdapter:
        return SqlCartAdapter.from_settings(self.settings, secrets.resolve)

    def create_order(
        self,
        number: str,
        lines: Sequence[LineSpec],
        *,
        updated_at: datetime,
        paid: bool = True,
        address: Address = SHIP_TO,
    ) -> str:
        return demo_store.insert_order(
            self.url,
            number,
            [demo_store.DemoLine(line.sku, line.quantity, line.requires_shipping) for line in lines],
            updated_at=updated_at,
            paid=paid,
            address=address_columns(address),
        )

    def edit_order(self, order_id: str, *, address: Address, updated_at: datetime) -> None:
        demo_store.update_order(self.url, order_id, updated_at=updated_at, **address_columns(address))

    def cancel_order(self, order_id: str, *, updated_at: datetime) -> None:
        demo_store.cancel_order(self.url, order_id, when=updated_at)

    def shipments(self) -> list[RecordedShipment]:
        return [
            RecordedShipment(row["order_id"], row["tracking_number"], row["carrier"])
            for row in demo_store.read_shipments(self.url)
        ]

    def stock(self) -> dict[str, int]:
        return demo_store.read_stock(self.url)

    def edit_stock(self, sku: str, quantity: int) -> None:
        engine = make_engine(self.url)
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE stock SET quantity = :q WHERE sku = :s"),
                         {"q": quantity, "s": sku})
        engine.dispose()

    def notes(self) -> list[tuple[str, str]]:
        return [(row["order_id"], row["note"]) for row in demo_store.read_notes(self.url)]


class PostgresHarness(SqlHarness):
    def _adapter_at(self, url) -> SqlCartAdapter:
        settings = {"url": url.render_as_string(hide_password=False)}
        return SqlCartAdapter.from_settings(settings, secrets.resolve)

    def adapter_with_bad_credentials(self) -> SqlCartAdapter:
        return self._adapter_at(make_url(self.url).set(username="bridge_no_such_role"))

    def adapter_for_unreachable_store(self) -> SqlCartAdapter:
        # Port 1 on the loopback: refused at once, no timeout to wait for.
        return self._adapter_at(make_url(self.url).set(host="127.0.0.1", port=1))


class SqlSpecifics:
    """Behaviour only a SQL store has; mixed into both dialects' suites."""

    def test_missing_column_is_fatal_and_named(self, harness):
        adapter = SqlCartAdapter.from_settings(
            {"url": harness.url, "orders": {"paid": "payment_state"}}, secrets.resolve
        )
        with pytest.raises(FatalError) as caught:
            adapter.fetch_orders(at(0), at(10), None, 10)
        adapter.close()
        assert "payment_state" in str(caught.value)
        assert "cart.orders.paid" in str(caught.value)
        assert caught.value.reason == "cart_schema"

    def test_missing_table_is_fatal_and_named(self, harness):
        adapter = SqlCartAdapter.from_settings(
            {"url": harness.url, "notes": {"table": "merchant_notes"}}, secrets.resolve
        )
        order_id = harness.create_order("#1300", [LineSpec("MUG-BLUE")], updated_at=at(0))
        [order] = [o for page in fetch_all(adapter, at(0), at(1), 10) for o in page]
        assert order.order_id == order_id
        with pytest.raises(FatalError) as caught:
            adapter.add_note(order, "hello")
        adapter.close()
        assert "merchant_notes" in str(caught.value) and "cart.notes.table" in str(caught.value)

    def test_a_page_reads_orders_and_lines_in_two_statements(self, harness, adapter):
        for i in range(20):
            lines = [LineSpec("MUG-BLUE"), LineSpec("TEE-M")]
            harness.create_order(f"#14{i:02d}", lines, updated_at=at(i))
        statements: list[str] = []
        sa.event.listen(adapter._engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        page = adapter.fetch_orders(at(0), at(100), None, 50)
        assert len(page.orders) == 20 and all(len(o.lines) == 2 for o in page.orders)
        assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 2

    def test_stock_without_a_unique_sku_falls_back_to_update_then_insert(self, harness):
        engine = make_engine(harness.url)
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE shelf (item_code VARCHAR(64), on_hand INTEGER)"))
            conn.execute(sa.text("INSERT INTO shelf VALUES ('A', 1)"))
        adapter = SqlCartAdapter.from_settings(
            {"url": harness.url, "stock": {"table": "shelf", "sku": "item_code", "quantity": "on_hand"}},
            secrets.resolve,
        )
        adapter.set_stock([StockLevel("A", 5), StockLevel("B", 2)])
        adapter.set_stock([StockLevel("B", 3), StockLevel("B", 4)])
        adapter.close()
        with engine.connect() as conn:
            rows = sorted(conn.execute(sa.text("SELECT item_code, on_hand FROM shelf")).all())
        engine.dispose()
        assert rows == [("A", 5), ("B", 4)]

    def test_a_read_batch_is_one_select(self, harness, adapter):
        size = adapter.capabilities.stock_read_batch_size
        skus = [f"SEL-{i:05d}" for i in range(size + 1)]
        adapter.set_stock([StockLevel(sku, 3) for sku in skus])
        statements: list[str] = []
        sa.event.listen(adapter._engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        assert adapter.get_stock(skus) == {sku: 3 for sku in skus}
        assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 2

    def test_stock_of_a_mapped_table_with_null_and_repeated_skus(self, harness):
        engine = make_engine(harness.url)
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE shelf (item_code VARCHAR(64), on_hand NUMERIC(10, 2))"))
            conn.execute(sa.text("INSERT INTO shelf VALUES ('A', 4), ('B', NULL), ('C', 2.5),"
                                 " ('D', 7), ('D', 3)"))
        engine.dispose()
        adapter = SqlCartAdapter.from_settings(
            {"url": harness.url, "stock": {"table": "shelf", "sku": "item_code", "quantity": "on_hand"}},
            secrets.resolve,
        )
        # NULL: stock not kept; a fraction: the whole units; twice: the smaller.
        assert adapter.get_stock(["A", "B", "C", "D", "E"]) == {"A": 4, "C": 2, "D": 3}
        adapter.close()

    def test_stock_read_from_a_missing_table_is_fatal_and_named(self, harness):
        adapter = SqlCartAdapter.from_settings(
            {"url": harness.url, "stock": {"table": "inventory"}}, secrets.resolve
        )
        with pytest.raises(FatalError) as caught:
            adapter.get_stock(["A"])
        adapter.close()
        assert "inventory" in str(caught.value) and "cart.stock.table" in str(caught.value)

    def test_probe_names_every_missing_table_and_column(self, harness):
        settings = {"url": harness.url, "orders": {"paid": "payment_state"},
                    "notes": {"table": "merchant_notes"}}
        adapter = SqlCartAdapter.from_settings(settings, secrets.resolve)
        problems = dict(adapter.probe())
        adapter.close()
        assert set(problems) == {"orders.paid", "notes.table"}
        assert "payment_state" in problems["orders.paid"]
        assert "merchant_notes" in problems["notes.table"]

    def test_a_quantity_that_is_no_number_needs_attention(self, harness):
        engine = make_engine(harness.url)
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE shelf (item_code VARCHAR(64), on_hand VARCHAR(16))"))
            conn.execute(sa.text("INSERT INTO shelf VALUES ('A', 'lots')"))
        engine.dispose()
        adapter = SqlCartAdapter.from_settings(
            {"url": harness.url, "stock": {"table": "shelf", "sku": "item_code", "quantity": "on_hand"}},
            secrets.resolve,
        )
        with pytest.raises(NeedsAttentionError) as caught:
            adapter.get_stock(["A"])
        adapter.close()
        assert "'A'" in str(caught.value) and "on_hand" in str(caught.value)


class TestSqlCartOnSqlite(CartContract, SqlSpecifics):
    @pytest.fixture
    def harness(self, tmp_path):
        return SqlHarness(f"sqlite:///{tmp_path / 'store.db'}")


@pytest.mark.postgres
class TestSqlCartOnPostgres(CartContract, SqlSpecifics):
    @pytest.fixture
    def harness(self, postgres_url):
        return PostgresHarness(postgres_url)


@pytest.mark.postgres
def test_zone_aware_columns_on_postgres(postgres_url):
    """A `timestamptz` column reads back as the same instant, whatever the server's zone."""
    engine = make_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(sa.text("SET TIME ZONE 'America/New_York'"))
        conn.execute(
            sa.text(
                "CREATE TABLE orders_tz (id BIGINT PRIMARY KEY, changed TIMESTAMPTZ NOT NULL);"
                "CREATE TABLE lines_tz (id BIGINT PRIMARY KEY, order_id BIGINT, sku TEXT, quantity INT)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO orders_tz VALUES"
                " (1, '2024-05-01 08:00:00-04'), (2, '2024-05-01 08:00:10-04')"
            )
        )
    engine.dispose()
    optional = set(DEFAULT_MAPPING["orders"]) - set(REQUIRED_KEYS["orders"])
    bare = {key: "" for key in optional}
    adapter = SqlCartAdapter.from_settings(
        {
            "url": postgres_url,
            "orders": {"table": "orders_tz", "updated_at": "changed", **bare},
            "lines": {"table": "lines_tz", "requires_shipping": ""},
        },
        secrets.resolve,
    )
    first = adapter.fetch_orders(at(0), at(10), None, 10).orders
    second = adapter.fetch_orders(at(10), at(20), None, 10).orders
    adapter.close()
    assert [(o.order_id, o.updated_at) for o in first] == [("1", at(0))]
    assert [(o.order_id, o.updated_at) for o in second] == [("2", at(10))]
