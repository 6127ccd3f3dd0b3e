"""How the SQL cart adapter reads what it finds in a merchant's database: odd values,
a schema of its own, and failures classified at the SQL edge."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from bridge.carts.sql import SqlCartAdapter
from bridge.carts.sql.mapping import (
    as_flag,
    as_quantity,
    as_utc,
    decode_page_token,
    encode_page_token,
    matches_any,
)
from bridge.domain.model import Address
from bridge.errors import FatalError, NeedsAttentionError, TransientError
from bridge.ledger.db import make_engine

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
UTC = UTC


@pytest.mark.parametrize(
    "value, expected",
    [
        (datetime(2024, 5, 1, 12), T0),
        (datetime(2024, 5, 1, 14, tzinfo=timezone(timedelta(hours=2))), T0),
        ("2024-05-01 12:00:00.000000", T0),
        ("2024-05-01T12:00:00Z", T0),
        ("2024-05-01T08:00:00-04:00", T0),
        (T0.timestamp(), T0),
        ("yesterday", None),
        (None, None),
        ("", None),
    ],
)
def test_timestamps_become_utc_aware(value, expected):
    assert as_utc(value) == expected
    if expected is not None:
        assert as_utc(value).tzinfo == UTC


@pytest.mark.parametrize(
    "value, expected",
    [(3, 3), ("2", 2), (" 4 ", 4), (Decimal("5.000"), 5), (2.0, 2), ("2.5", 0), ("abc", 0),
     (None, 0), (True, 0), ("NaN", 0), ("inf", 0)],
)
def test_quantities_that_are_not_whole_numbers_read_as_zero(value, expected):
    assert as_quantity(value) == expected


@pytest.mark.parametrize(
    "value, expected",
    [(None, True), (1, True), (0, False), (True, True), (False, False), ("false", False),
     ("No", False), ("0", False), ("yes", True), ("t", True)],
)
def test_flags(value, expected):
    assert as_flag(value, default=True) is expected


def test_status_values_compare_case_blind_and_by_type():
    assert matches_any("PAID ", ["paid"])
    assert matches_any(1, [True])
    assert not matches_any(None, ["paid"])
    assert not matches_any("pending", ["paid", "authorized"])


@given(
    stamp=st.one_of(
        st.datetimes(),
        st.datetimes(timezones=st.just(UTC)),
        st.text(max_size=40),
    ),
    key=st.one_of(st.integers(), st.text(max_size=40)),
)
def test_page_tokens_round_trip(stamp, key):
    assert decode_page_token(encode_page_token(stamp, key)) == (stamp, key)


def test_a_broken_page_token_is_refused():
    with pytest.raises(ValueError):
        decode_page_token("not-a-token")


# --- a merchant schema of its own -----------------------------------------------------

MERCHANT_SCHEMA = """
CREATE TABLE "order" (ref TEXT PRIMARY KEY, changed TEXT, placed TEXT, state TEXT,
                      who TEXT, street TEXT, town TEXT, region TEXT, zip TEXT, country TEXT);
CREATE TABLE "select" (pos INTEGER PRIMARY KEY, ref TEXT, item TEXT, qty, ships);
"""
MERCHANT_SETTINGS = {
    "orders": {
        "table": "order", "id": "ref", "number": "", "created_at": "placed",
        "updated_at": "changed", "paid": "state", "paid_values": ["paid", "shipped"],
        "cancelled": "state", "cancelled_values": ["cancelled"], "shipping_method": "",
        "email": "", "name": "who", "line1": "street", "line2": "", "city": "town",
        "state": "region", "postal_code": "zip", "country_code": "country", "phone": "",
    },
    "lines": {"table": "select", "id": "pos", "order_id": "ref", "sku": "item",
              "quantity": "qty", "requires_shipping": "ships"},
}


@pytest.fixture
def merchant_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'merchant.db'}"
    engine = make_engine(url)
    with engine.connect() as conn:
        for statement in MERCHANT_SCHEMA.strip().split(";"):
            if statement.strip():
                conn.exec_driver_sql(statement)
        conn.commit()
    engine.dispose()
    return url


def merchant_rows(url, orders, lines):
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql('INSERT INTO "order" VALUES (?,?,?,?,?,?,?,?,?,?)', orders)
        if lines:
            conn.exec_driver_sql('INSERT INTO "select" (ref, item, qty, ships) VALUES (?,?,?,?)', lines)
    engine.dispose()


def fetch(url):
    adapter = SqlCartAdapter.from_settings({"url": url, **MERCHANT_SETTINGS}, lambda ref: ref)
    try:
        return adapter.fetch_orders(T0, T0 + timedelta(hours=1), None, 50).orders
    finally:
        adapter.close()


def test_reserved_words_and_text_ids_work(merchant_url):
    stamp = "2024-05-01 12:00:00.000000"
    merchant_rows(
        merchant_url,
        [
            ("A-2", stamp, stamp, "shipped", "Ava Lee", "1 Main St", "Austin", "TX", "78701", "US"),
            ("A-1", stamp, stamp, "cancelled", "Bo Kim", "2 Oak Ave", "Denver", "CO", "80202", "US"),
        ],
        [("A-2", "MUG", 2, 1), ("A-2", "EBOOK", 1, 0), ("A-1", "MUG", 1, None)],
    )
    first, second = fetch(merchant_url)
    assert (first.order_id, first.paid, first.cancelled) == ("A-1", False, True)
    assert (second.order_id, second.paid, second.cancelled) == ("A-2", True, False)
    assert second.number == "A-2"
    assert [(line.sku, line.quantity, line.requires_shipping) for line in second.lines] == [
        ("MUG", 2, True), ("EBOOK", 1, False)
    ]
    assert first.lines[0].requires_shipping is True
    assert second.address == Address(
        name="Ava Lee", line1="1 Main St", city="Austin", state="TX", postal_code="78701", country_code="US"
    )


def test_bad_data_still_yields_orders(merchant_url):
    stamp = "2024-05-01 12:00:00.000000"
    merchant_rows(
        merchant_url,
        [
            ("B-1", stamp, "garbage", None, None, None, None, None, None, None),
            ("B-2", stamp, None, "paid", None, None, "Austin", None, None, None),
            ("B-3", stamp, stamp, "paid", "Cy Day", "3 Elm St", "Boston", "MA", "02108", "US"),
        ],
        [("B-1", "MUG", "two", "maybe"), ("B-2", None, 2.5, 1)],
    )
    orders = {order.order_id: order for order in fetch(merchant_url)}
    assert set(orders) == {"B-1", "B-2", "B-3"}
    broken = orders["B-1"]
    assert broken.address is None
    assert broken.paid is False and broken.cancelled is False
    assert broken.created_at == broken.updated_at == T0
    assert [(line.sku, line.quantity) for line in broken.lines] == [("MUG", 0)]
    partial = orders["B-2"]
    assert partial.address == Address(city="Austin")
    assert [(line.sku, line.quantity) for line in partial.lines] == [("", 0)]
    assert orders["B-3"].lines == ()


# --- failures at the SQL edge ---------------------------------------------------------


def edge_error(kind, orig):
    return kind("SELECT 1", {}, orig)


def sqlite_operational(message):
    return edge_error(sa.exc.OperationalError, sqlite3.OperationalError(message))


def server_error(kind, message):
    return edge_error(kind, Exception(message))


@pytest.fixture
def adapter(tmp_path):
    adapter = SqlCartAdapter(f"sqlite:///{tmp_path / 'store.db'}")
    yield adapter
    adapter.close()


REFUSED = 'connection failed: FATAL:  password authentication failed for user "shop"'


@pytest.mark.parametrize(
    "error, expected, reason",
    [
        (sqlite_operational("database is locked"), TransientError, None),
        (sqlite_operational("disk I/O error"), TransientError, None),
        (sqlite_operational("no such table: order_lines"), FatalError, "cart_schema"),
        (sqlite_operational("table shipments has no column named carrier"), FatalError, "cart_schema"),
        (server_error(sa.exc.ProgrammingError, 'column "paid" does not exist'), FatalError, "cart_schema"),
        (server_error(sa.exc.ProgrammingError, 'relation "orders" does not exist'), FatalError, "cart_schema"),
        (server_error(sa.exc.OperationalError, REFUSED), FatalError, "cart_credentials"),
        (server_error(sa.exc.OperationalError, "connection failed: Connection refused"), TransientError, None),
        (
            edge_error(sa.exc.IntegrityError, sqlite3.IntegrityError("NOT NULL constraint failed: x.y")),
            NeedsAttentionError,
            "cart_rejected",
        ),
    ],
)
def test_database_errors_are_classified(adapter, error, expected, reason):
    classified = adapter._classify(error, "reading orders")
    assert type(classified) is expected
    if reason:
        assert classified.reason == reason
    assert str(classified).startswith("reading orders: ")


def test_missing_object_names_the_setting(adapter):
    error = sqlite_operational("no such column: ship_zip")
    assert str(adapter._classify(error, "reading orders")) == (
        "reading orders: the cart database has no column 'ship_zip'; check cart.orders.postal_code"
    )


def test_a_file_that_is_not_a_database_is_fatal(tmp_path):
    path = tmp_path / "store.db"
    path.write_bytes(b"this is not a database file at all" * 100)
    adapter = SqlCartAdapter(f"sqlite:///{path}")
    with pytest.raises(FatalError):
        adapter.fetch_orders(T0, T0 + timedelta(hours=1), None, 10)
    adapter.close()


def test_errors_pickle_for_celery(adapter):
    import pickle

    error = adapter._classify(sqlite_operational("no such table: orders"), "reading orders")
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), str(copy), copy.reason) == (FatalError, str(error), "cart_schema")
