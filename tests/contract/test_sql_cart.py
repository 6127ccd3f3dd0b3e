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
    shipment,
)
from sqlalchemy.engine import make_url

from bridge import demo_store, secrets
from bridge.carts.contract import CancelRequest, DeliveryUpdate, Milestone
from bridge.carts.sql import SqlCartAdapter
from bridge.carts.sql.settings import DEFAULT_MAPPING, REQUIRED_KEYS
from bridge.domain.model import Address, PaymentStatus, ShippedLine, StockLevel
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

    has_tags = True

    def create_detailed_order(
        self,
        number: str,
        lines: Sequence[LineSpec],
        *,
        updated_at: datetime,
        total: str,
        currency: str,
        customer_note: str,
        tags: Sequence[str] = (),
        payment: str = PaymentStatus.PAID,
    ) -> str:
        status = {PaymentStatus.PAID: demo_store.PAID,
                  PaymentStatus.AUTHORIZED: demo_store.AUTHORIZED}[payment]
        return demo_store.insert_order(
            self.url, number,
            [demo_store.DemoLine(line.sku, line.quantity, line.requires_shipping) for line in lines],
            updated_at=updated_at, address=address_columns(SHIP_TO), financial_status=status,
            total=total, currency=currency, tags=tags, customer_note=customer_note,
        )

    def cancellation(self, order_id: str) -> tuple[bool, dict[str, int]]:
        return demo_store.read_cancellation(self.url, order_id)

    def delivery_marks(self, order_id: str) -> list[tuple[str, str]]:
        return demo_store.read_event_keys(self.url, order_id, "delivery")

    def return_marks(self, order_id: str) -> list[tuple[str, str]]:
        return demo_store.read_event_keys(self.url, order_id, "return")


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
        adapter.fetch_orders(at(-20), at(-10), None, 1)  # the schema is read once, before
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


class SqlLifecycleSpecifics:
    """The lifecycle writes on schemas other than the demo store's."""

    def make_old_schema(self, url: str) -> None:
        """The demo schema as it was before total, tags, titles, cancelled quantities and
        event keys: a merchant's existing tables, with the default settings."""
        new_columns = {"total", "currency", "tags", "customer_note", "title",
                       "cancelled_quantity", "event_key"}
        old = sa.MetaData()
        for table in demo_store.metadata.sorted_tables:
            columns = [sa.Column(c.name, c.type, primary_key=c.primary_key)
                       for c in table.columns if c.name not in new_columns]
            sa.Table(table.name, old, *columns)
        engine = make_engine(url)
        demo_store.metadata.drop_all(engine)
        old.create_all(engine)
        with engine.begin() as conn:
            conn.execute(sa.insert(old.tables["orders"]).values(
                id=7, number="#7", created_at=at(0).replace(tzinfo=None),
                updated_at=at(0).replace(tzinfo=None), financial_status="paid",
                shipping_method="Standard", ship_name="Ava Johnson", ship_address1="1 Pine St",
                ship_city="Seattle", ship_state="WA", ship_zip="98101", ship_country="US"))
            conn.execute(sa.insert(old.tables["order_lines"]).values(
                id=70, order_id=7, sku="MUG-BLUE", quantity=2, requires_shipping=True))
        engine.dispose()

    def test_a_schema_made_before_the_new_columns_keeps_working(self, harness):
        self.make_old_schema(harness.url)
        adapter = harness.adapter()
        [order] = adapter.fetch_orders(at(-10), at(10), None, 10).orders
        assert (order.order_id, order.paid, order.payment_status) == ("7", True, "paid")
        assert (order.total, order.tags, order.lines[0].title) == ("", (), "")
        assert adapter.probe() == []
        package = shipment(1, "1ZOLD", order)
        update = DeliveryUpdate(package, Milestone.DELIVERED, at(60), "Front door")
        assert adapter.push_delivery(order, update) is True
        assert adapter.push_delivery(order, update) is False
        request = CancelRequest("Amazon shipped part of the order",
                                lines=(ShippedLine("70", "MUG-BLUE", 1),))
        assert adapter.cancel_order(order, request) is False  # no column: the caller notes it
        assert adapter.cancel_order(order, CancelRequest("Amazon cancelled it")) is True
        adapter.close()
        engine = make_engine(harness.url)
        with engine.connect() as conn:
            notes = [row[0] for row in conn.execute(sa.text("SELECT note FROM order_notes ORDER BY id"))]
            cancelled_at = conn.execute(sa.text("SELECT cancelled_at FROM orders")).scalar_one()
        engine.dispose()
        assert len(notes) == 2 and cancelled_at is not None
        assert "Package 1 (UPS tracking 1ZOLD) was delivered on 2024-05-01 12:01 UTC" in notes[0]
        assert notes[0].endswith("[bridge:delivery:1ZOLD:delivered]")
        assert notes[1].startswith("Order cancelled: Amazon cancelled it")

    def test_a_soft_column_named_in_the_settings_must_exist(self, harness):
        self.make_old_schema(harness.url)
        settings = {**harness.settings, "lines": {"cancelled_quantity": "qty_cancelled"}}
        adapter = SqlCartAdapter.from_settings(settings, secrets.resolve)
        problems = dict(adapter.probe())
        adapter.close()
        assert set(problems) == {"lines.cancelled_quantity"}
        assert "qty_cancelled" in problems["lines.cancelled_quantity"]

    def test_cancel_writes_the_first_cancelled_value_of_a_status_column(self, harness):
        order_id = harness.create_order("#1500", [LineSpec("MUG-BLUE")], updated_at=at(0))
        settings = {**harness.settings,
                    "orders": {"cancelled": "financial_status",
                               "cancelled_values": ["Cancelled", "voided"]}}
        adapter = SqlCartAdapter.from_settings(settings, secrets.resolve)
        [order] = adapter.fetch_orders(at(-10), at(10), None, 10).orders
        assert not order.cancelled
        assert adapter.cancel_order(order, CancelRequest("Amazon cancelled it")) is True
        assert adapter.cancel_order(order, CancelRequest("Amazon cancelled it")) is False
        [again] = adapter.fetch_orders(at(-10), at(10), None, 10).orders
        adapter.close()
        assert again.cancelled and again.payment_status == "pending"
        assert [text for oid, text in harness.notes() if oid == order_id] == [
            "Order cancelled: Amazon cancelled it No refund has been issued."]

    def test_a_second_process_does_not_write_a_milestone_again(self, harness):
        order_id = harness.create_order("#1501", [LineSpec("MUG-BLUE")], updated_at=at(0))
        first, second = harness.adapter(), harness.adapter()
        [order] = first.fetch_orders(at(-10), at(10), None, 10).orders
        update = DeliveryUpdate(shipment(1, "1ZTWICE", order), Milestone.DELIVERED, at(60))
        assert first.push_delivery(order, update) is True
        assert second.push_delivery(order, update) is False
        first.close()
        second.close()
        assert harness.delivery_marks(order_id) == [("1ZTWICE", "delivered")]

    def test_line_cancel_never_lowers_a_cancelled_quantity(self, harness, adapter):
        order_id = harness.create_order("#1502", [LineSpec("MUG-BLUE", 3)], updated_at=at(0))
        [order] = adapter.fetch_orders(at(-10), at(10), None, 10).orders
        line = order.lines[0]
        two = CancelRequest("Amazon shipped one", lines=(ShippedLine(line.line_id, line.sku, 2),))
        one = CancelRequest("Amazon shipped two", lines=(ShippedLine(line.line_id, line.sku, 1),))
        assert adapter.cancel_order(order, two) is True
        assert adapter.cancel_order(order, one) is False
        assert harness.cancellation(order_id) == (False, {line.line_id: 2})


class TestSqlCartOnSqlite(CartContract, SqlSpecifics, SqlLifecycleSpecifics):
    @pytest.fixture
    def harness(self, tmp_path):
        return SqlHarness(f"sqlite:///{tmp_path / 'store.db'}")


@pytest.mark.postgres
class TestSqlCartOnPostgres(CartContract, SqlSpecifics, SqlLifecycleSpecifics):
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
