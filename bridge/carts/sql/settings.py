"""The `[cart]` table of a SQL storefront: the table and column mapping, its defaults
(the demo store's schema) and every problem with a given table, as (key, what is wrong).

    [cart]
    platform = "sql"
    url = "env:STORE_DB_URL"          # or an inline URL without a password
    [cart.orders]                     # each key defaults to the demo schema (DEFAULT_MAPPING)
    table = "shop.orders"             # schema-qualified names are allowed for tables
    paid = "status"
    paid_values = ["paid", "partially_refunded"]
    authorized_values = ["authorized"]  # approved, not captured: payment_status "authorized"
    cancelled = "status"
    cancelled_values = ["cancelled"]  # empty: cancelled when the column is not NULL
    phone = ""                        # "" marks an optional column the table does not have
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bridge import secrets
from bridge.ledger.db import normalise_url

# Table and column names per section; the defaults are the demo store's schema.
# An empty string marks an optional column the merchant's table does not have.
DEFAULT_MAPPING: dict[str, dict[str, str]] = {
    "orders": {
        "table": "orders",
        "id": "id",
        "number": "number",
        "created_at": "created_at",
        "updated_at": "updated_at",
        "paid": "financial_status",
        "cancelled": "cancelled_at",
        "shipping_method": "shipping_method",
        "email": "email",
        "name": "ship_name",
        "line1": "ship_address1",
        "line2": "ship_address2",
        "line3": "",
        "city": "ship_city",
        "state": "ship_state",
        "postal_code": "ship_zip",
        "country_code": "ship_country",
        "phone": "ship_phone",
        "total": "total",
        "currency": "currency",
        "tags": "tags",
        "customer_note": "customer_note",
    },
    "lines": {
        "table": "order_lines",
        "id": "id",
        "order_id": "order_id",
        "sku": "sku",
        "quantity": "quantity",
        "requires_shipping": "requires_shipping",
        "title": "title",
        "cancelled_quantity": "cancelled_quantity",
    },
    "shipments": {
        "table": "shipments",
        "order_id": "order_id",
        "carrier": "carrier",
        "tracking_number": "tracking_number",
        "tracking_url": "tracking_url",
        "shipped_at": "shipped_at",
        "package_number": "package_number",
        "lines": "lines",
        "notify": "",
    },
    "stock": {"table": "stock", "sku": "sku", "quantity": "quantity"},
    "notes": {
        "table": "order_notes",
        "order_id": "order_id",
        "note": "note",
        "created_at": "created_at",
        "event_key": "event_key",
    },
}

# Columns the default schema gained later. A table made before may lack them, so one of
# these left at its default is used only where the table has it (settled on first use);
# one the merchant names explicitly must exist.
SOFT_DEFAULT_KEYS: dict[str, frozenset[str]] = {
    "orders": frozenset({"total", "currency", "tags", "customer_note"}),
    "lines": frozenset({"title", "cancelled_quantity"}),
    "notes": frozenset({"event_key"}),
}

# Keys without which the adapter cannot work; all others may be set to "".
REQUIRED_KEYS: dict[str, frozenset[str]] = {
    "orders": frozenset({"table", "id", "updated_at"}),
    "lines": frozenset({"table", "id", "order_id", "sku", "quantity"}),
    "shipments": frozenset({"table", "order_id", "tracking_number"}),
    "stock": frozenset({"table", "sku", "quantity"}),
    "notes": frozenset({"table", "order_id", "note"}),
}

# Keys of [cart.orders] that hold values to compare with, not identifiers. The payment
# lists sort the `paid` column's values into payment states (any other value: pending).
# `cancelled_values` empty means "cancelled when the cancelled column is not NULL"; bridge
# cancels by writing the first value (or, when empty, the current time).
DEFAULT_VALUE_LISTS: dict[str, list] = {
    "paid_values": ["paid"],
    "authorized_values": ["authorized"],
    "refunded_values": ["refunded"],
    "voided_values": ["voided"],
    # Paid, and already shipped by the shop or another system: never sent (shadow mode
    # names them fulfilled elsewhere). Empty by default: a shop names its own statuses.
    "shipped_values": [],
    "cancelled_values": [],
}
_PAYMENT_LISTS = ("paid_values", "authorized_values", "refunded_values", "voided_values",
                  "shipped_values")

TOP_LEVEL_KEYS = frozenset({"platform", "url", "connect_timeout_seconds", *DEFAULT_MAPPING})

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TABLE_NAME = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_]*\.)?[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class SqlMapping:
    """The validated table and column mapping, defaults filled in."""

    orders: Mapping[str, str]
    lines: Mapping[str, str]
    shipments: Mapping[str, str]
    stock: Mapping[str, str]
    notes: Mapping[str, str]
    paid_values: tuple = ("paid",)
    authorized_values: tuple = ("authorized",)
    refunded_values: tuple = ("refunded",)
    voided_values: tuple = ("voided",)
    shipped_values: tuple = ()
    cancelled_values: tuple = ()
    # (section, key) of soft-default columns not named in the settings: used only where
    # the table has them (`without` drops the others once the schema was read).
    inferred: frozenset[tuple[str, str]] = frozenset()

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> SqlMapping:
        sections: dict[str, Any] = {}
        inferred = set()
        for section, defaults in DEFAULT_MAPPING.items():
            given = settings.get(section) or {}
            sections[section] = {key: given.get(key, default) for key, default in defaults.items()}
            inferred |= {(section, key) for key in SOFT_DEFAULT_KEYS.get(section, ())
                         if key not in given}
        orders = settings.get("orders") or {}
        lists: dict[str, Any] = {key: tuple(orders.get(key, default)) for key, default in DEFAULT_VALUE_LISTS.items()}
        return cls(**sections, **lists, inferred=frozenset(inferred))

    def without(self, absent: set[tuple[str, str]]) -> SqlMapping:
        """This mapping with the given (section, key) columns unmapped."""
        changed: dict[str, Any] = {
            section: {key: ("" if (section, key) in absent else column)
                      for key, column in self.section(section).items()}
            for section in {section for section, _ in absent}
        }
        return replace(self, **changed, inferred=self.inferred - absent)

    def section(self, name: str) -> Mapping[str, str]:
        return getattr(self, name)

    def keys_naming(self, identifier: str) -> list[str]:
        """Setting keys whose value is this table or column name (for error hints)."""
        bare = identifier.rsplit(".", 1)[-1].strip('"').lower()
        found = []
        for section in DEFAULT_MAPPING:
            for key, value in self.section(section).items():
                if value and value.rsplit(".", 1)[-1].lower() == bare:
                    found.append(f"cart.{section}.{key}")
        return found


def check_settings(settings: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every problem with a `[cart]` table for the SQL adapter, as (key, what is wrong)."""
    if not isinstance(settings, Mapping):
        return [("-", "must be a table")]
    problems: list[tuple[str, str]] = []
    problems.extend(check_url(settings.get("url")))
    for key in settings:
        if key not in TOP_LEVEL_KEYS:
            problems.append((str(key), "unknown key"))
    timeout = settings.get("connect_timeout_seconds", 10)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 300:
        problems.append(
            ("connect_timeout_seconds", "must be a number of seconds between 0 and 300")
        )
    for section, defaults in DEFAULT_MAPPING.items():
        given = settings.get(section, {})
        if not isinstance(given, Mapping):
            problems.append((section, "must be a table"))
            continue
        allowed = set(defaults) | (set(DEFAULT_VALUE_LISTS) if section == "orders" else set())
        for key in given:
            if key not in allowed:
                problems.append((f"{section}.{key}", "unknown key"))
        for key, default in defaults.items():
            problems.extend(_check_identifier(section, key, given.get(key, default)))
        if section == "orders":
            problems.extend(_check_value_lists(given))
    return problems


def check_url(url: Any, *, password_allowed: bool = False) -> list[tuple[str, str]]:
    if url is None or url == "":
        return [("url", "is required: a database URL, or env:NAME / file:PATH holding one")]
    if not isinstance(url, str):
        return [("url", "must be a string")]
    if secrets.is_reference(url):
        if url in ("env:", "file:"):
            return [("url", "the reference names no variable or file")]
        return []
    try:
        parsed = make_url(normalise_url(url))
    except sa.exc.ArgumentError:
        return [("url", "not a valid database URL")]
    if parsed.password and not password_allowed:
        return [("url", "contains a password; give the URL as env:NAME or file:PATH instead")]
    return []


def _check_identifier(section: str, key: str, value: Any) -> list[tuple[str, str]]:
    name = f"{section}.{key}"
    if not isinstance(value, str):
        return [(name, "must be a string")]
    if value == "":
        if key in REQUIRED_KEYS[section]:
            return [(name, "is required")]
        return []
    pattern = _TABLE_NAME if key == "table" else _IDENTIFIER
    if not pattern.match(value):
        return [(name, "not a valid SQL identifier")]
    return []


def _check_value_lists(orders: Mapping[str, Any]) -> list[tuple[str, str]]:
    problems = []
    for key, default in DEFAULT_VALUE_LISTS.items():
        values = orders.get(key, default)
        if not isinstance(values, list) or not all(
            isinstance(v, (str, int, float, bool)) for v in values
        ):
            problems.append((f"orders.{key}", "must be a list of strings, numbers or booleans"))
    paid_values = orders.get("paid_values", DEFAULT_VALUE_LISTS["paid_values"])
    if isinstance(paid_values, list) and not paid_values and orders.get("paid", "x"):
        problems.append(("orders.paid_values", "must not be empty when orders.paid is set"))
    problems.extend(_check_payment_lists_apart(orders))
    return problems


def _check_payment_lists_apart(orders: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A value in two payment lists would be two payment states at once."""
    problems = []
    seen: dict[str, str] = {}
    for key in _PAYMENT_LISTS:
        values = orders.get(key, DEFAULT_VALUE_LISTS[key])
        if not isinstance(values, list):
            continue
        for value in values:
            text = str(value).strip().lower()
            if text in seen:
                problems.append((f"orders.{key}", f"{value!r} is also in orders.{seen[text]}"))
            seen.setdefault(text, key)
    return problems


def mask_url(url: str) -> str:
    """The URL as it may appear in a message: the password replaced by ***."""
    try:
        return make_url(normalise_url(url)).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<unparseable database URL>"
