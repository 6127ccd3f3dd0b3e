"""Settings of the SQL cart adapter: every problem reported at once, identifiers that
could smuggle SQL rejected, and a URL's password never shown."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bridge.carts.registry import adapter_class
from bridge.carts.sql import SqlCartAdapter
from bridge.carts.sql.settings import DEFAULT_MAPPING, SqlMapping, mask_url
from bridge.errors import ConfigError, TransientError

SQLITE_URL = "sqlite:///store.db"


def problems(settings):
    return SqlCartAdapter.check_settings(settings)


def test_registry_finds_the_adapter():
    assert adapter_class("sql") is SqlCartAdapter


def test_defaults_need_only_a_url():
    assert problems({"url": SQLITE_URL}) == []
    assert problems({"platform": "sql", "url": "env:STORE_DB_URL"}) == []
    assert problems({"url": "file:store-url.txt"}) == []


def test_missing_url_is_reported():
    assert problems({}) == [
        ("url", "is required: a database URL, or env:NAME / file:PATH holding one")
    ]


@pytest.mark.parametrize(
    "url, what",
    [
        (42, "must be a string"),
        ("not a url", "not a valid database URL"),
        ("env:", "the reference names no variable or file"),
        (
            "postgresql://shop:hunter2@db/shop",
            "contains a password; give the URL as env:NAME or file:PATH instead",
        ),
    ],
)
def test_bad_urls_are_reported(url, what):
    assert problems({"url": url}) == [("url", what)]


@pytest.mark.parametrize(
    "key, value",
    [
        ("orders.id", "orders; DROP TABLE x"),
        ("orders.table", "orders; DROP TABLE x"),
        ("orders.updated_at", 'updated_at" --'),
        ("lines.sku", "sku) OR 1=1 --"),
        ("stock.table", "a.b.c"),
        ("stock.quantity", "stock.quantity"),
        ("notes.note", "1note"),
        ("shipments.carrier", "carrier name"),
        ("orders.email", "e\u0301mail"),
    ],
)
def test_identifiers_that_are_not_plain_names_are_rejected(key, value):
    section, field = key.split(".")
    assert problems({"url": SQLITE_URL, section: {field: value}}) == [
        (key, "not a valid SQL identifier")
    ]


def test_schema_qualified_table_names_are_allowed():
    assert problems({"url": SQLITE_URL, "orders": {"table": "shop.orders"}}) == []


def test_every_problem_is_reported_at_once():
    found = problems(
        {
            "url": "",
            "colour": "blue",
            "orders": {"id": "", "tabel": "orders", "line3": "", "paid_values": "paid"},
            "lines": "order_lines",
            "stock": {"sku": 7},
            "connect_timeout_seconds": 0,
        }
    )
    assert sorted(found) == sorted(
        [
            ("url", "is required: a database URL, or env:NAME / file:PATH holding one"),
            ("colour", "unknown key"),
            ("connect_timeout_seconds", "must be a number of seconds between 0 and 300"),
            ("orders.tabel", "unknown key"),
            ("orders.id", "is required"),
            ("orders.paid_values", "must be a list of strings, numbers or booleans"),
            ("lines", "must be a table"),
            ("stock.sku", "must be a string"),
        ]
    )


def test_optional_columns_may_be_left_out():
    optional = {
        "url": SQLITE_URL,
        "orders": {"paid": "", "cancelled": "", "phone": "", "number": "", "created_at": ""},
        "shipments": {"carrier": "", "lines": "", "tracking_url": ""},
        "notes": {"created_at": ""},
    }
    assert problems(optional) == []


def test_paid_values_must_not_be_empty_while_paid_is_mapped():
    assert problems({"url": SQLITE_URL, "orders": {"paid_values": []}}) == [
        ("orders.paid_values", "must not be empty when orders.paid is set")
    ]
    assert problems({"url": SQLITE_URL, "orders": {"paid": "", "paid_values": []}}) == []


def test_mapping_fills_defaults_and_keeps_overrides():
    mapping = SqlMapping.from_settings(
        {"orders": {"table": "shop.orders", "paid_values": ["paid", True]}}
    )
    assert mapping.orders["table"] == "shop.orders"
    assert mapping.orders["id"] == DEFAULT_MAPPING["orders"]["id"]
    assert mapping.paid_values == ("paid", True)
    assert mapping.lines == DEFAULT_MAPPING["lines"]
    assert mapping.keys_naming("financial_status") == ["cart.orders.paid"]


def test_from_settings_refuses_bad_settings_with_every_problem():
    with pytest.raises(ConfigError) as caught:
        SqlCartAdapter.from_settings(
            {"url": SQLITE_URL, "orders": {"id": "id; DROP TABLE orders"}, "lines": {"sku": ""}},
            lambda ref: ref,
        )
    assert sorted(caught.value.problems) == [
        ("-", "cart.lines.sku", "is required"),
        ("-", "cart.orders.id", "not a valid SQL identifier"),
    ]


def test_url_reference_is_resolved_through_the_secret_callable(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    asked = []

    def secret(reference):
        asked.append(reference)
        return url

    adapter = SqlCartAdapter.from_settings({"url": "env:STORE_DB_URL"}, secret)
    adapter.close()
    assert asked == ["env:STORE_DB_URL"]


def test_unresolvable_reference_is_a_config_error():
    def secret(reference):
        raise ValueError("environment variable STORE_DB_URL is not set")

    with pytest.raises(ConfigError) as caught:
        SqlCartAdapter.from_settings({"url": "env:STORE_DB_URL"}, secret)
    assert caught.value.problems == [
        ("-", "cart.url", "environment variable STORE_DB_URL is not set")
    ]


def test_reference_holding_no_url_is_a_config_error():
    with pytest.raises(ConfigError) as caught:
        SqlCartAdapter.from_settings({"url": "env:STORE_DB_URL"}, lambda ref: "hunter2")
    assert "hunter2" not in str(caught.value)


def test_password_is_masked_in_display_and_errors():
    url = "postgresql://shop:s3cr3t-pw@127.0.0.1:1/shop"
    assert mask_url(url) == "postgresql+psycopg://shop:***@127.0.0.1:1/shop"
    adapter = SqlCartAdapter.from_settings(
        {"url": "env:STORE_DB_URL", "connect_timeout_seconds": 2}, lambda ref: url
    )
    assert "s3cr3t-pw" not in repr(adapter)
    moment = datetime(2024, 5, 1, tzinfo=UTC)
    with pytest.raises(TransientError) as caught:
        adapter.fetch_orders(moment, moment, None, 10)
    adapter.close()
    assert "s3cr3t-pw" not in str(caught.value)
    assert "shop:***@127.0.0.1:1" in str(caught.value)
    assert "s3cr3t-pw" not in repr(caught.value.args)
