"""The generic SQL cart adapter: for a merchant whose order system is their own database
(and for bridge's demo store). Tables and columns come from the storefront's `[cart]`
settings; every identifier is validated and quoted by SQLAlchemy, every value is bound.

    [cart]
    platform = "sql"
    url = "env:STORE_DB_URL"          # or an inline URL without a password
    [cart.orders]                     # each key defaults to the demo schema (DEFAULT_MAPPING)
    table = "shop.orders"             # schema-qualified names are allowed for tables
    paid = "status"
    paid_values = ["paid", "partially_refunded"]
    cancelled = "status"
    cancelled_values = ["cancelled"]  # empty: cancelled when the column is not NULL
    phone = ""                        # "" marks an optional column the table does not have

Decisions worth knowing:
- Unpaid orders are returned with `paid=False`; the ingest service decides to ignore them.
- Naive timestamps in the cart database are taken as UTC; PostgreSQL sessions run in
  UTC so that naive and zone-aware columns compare the same way.
- On SQLite, timestamps are compared as the text SQLAlchemy writes
  (``YYYY-MM-DD HH:MM:SS.ffffff``, UTC); the page token keeps the raw stored value so a
  page boundary is exact whatever the text looks like.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.sql.expression import TableClause

from bridge import secrets
from bridge.carts.contract import Capabilities, SecretResolver
from bridge.domain.model import (
    Address,
    CartLine,
    CartOrder,
    OrderPage,
    PackageShipment,
    StockLevel,
)
from bridge.errors import (
    BridgeError,
    ConfigError,
    FatalError,
    NeedsAttentionError,
    TransientError,
)
from bridge.ledger.db import make_engine, normalise_url
from bridge.logging import get_logger

log = get_logger(__name__)

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
    },
    "lines": {
        "table": "order_lines",
        "id": "id",
        "order_id": "order_id",
        "sku": "sku",
        "quantity": "quantity",
        "requires_shipping": "requires_shipping",
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
    },
}

# Keys without which the adapter cannot work; all others may be set to "".
REQUIRED_KEYS: dict[str, frozenset[str]] = {
    "orders": frozenset({"table", "id", "updated_at"}),
    "lines": frozenset({"table", "id", "order_id", "sku", "quantity"}),
    "shipments": frozenset({"table", "order_id", "tracking_number"}),
    "stock": frozenset({"table", "sku", "quantity"}),
    "notes": frozenset({"table", "order_id", "note"}),
}

# Keys of [cart.orders] that hold values to compare with, not identifiers.
# `cancelled_values` empty means "cancelled when the cancelled column is not NULL".
DEFAULT_VALUE_LISTS: dict[str, list] = {"paid_values": ["paid"], "cancelled_values": []}

TOP_LEVEL_KEYS = frozenset({"platform", "url", "connect_timeout_seconds", *DEFAULT_MAPPING})

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TABLE_NAME = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_]*\.)?[A-Za-z_][A-Za-z0-9_]*$")
_FALSE_WORDS = frozenset({"0", "false", "f", "no", "n", "off", ""})
_ADDRESS_FIELDS = (
    "name", "line1", "line2", "line3", "city", "state", "postal_code", "country_code", "phone",
)


# --- settings -------------------------------------------------------------------------


@dataclass(frozen=True)
class SqlMapping:
    """The validated table and column mapping, defaults filled in."""

    orders: Mapping[str, str]
    lines: Mapping[str, str]
    shipments: Mapping[str, str]
    stock: Mapping[str, str]
    notes: Mapping[str, str]
    paid_values: tuple = ("paid",)
    cancelled_values: tuple = ()

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> "SqlMapping":
        sections = {}
        for section, defaults in DEFAULT_MAPPING.items():
            given = settings.get(section) or {}
            sections[section] = {key: given.get(key, default) for key, default in defaults.items()}
        orders = settings.get("orders") or {}
        return cls(
            **sections,
            paid_values=tuple(orders.get("paid_values", DEFAULT_VALUE_LISTS["paid_values"])),
            cancelled_values=tuple(
                orders.get("cancelled_values", DEFAULT_VALUE_LISTS["cancelled_values"])
            ),
        )

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
    problems.extend(_check_url(settings.get("url")))
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


def _check_url(url: Any, *, password_allowed: bool = False) -> list[tuple[str, str]]:
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
    return problems


def mask_url(url: str) -> str:
    """The URL as it may appear in a message: the password replaced by ***."""
    try:
        return make_url(normalise_url(url)).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<unparseable database URL>"


# --- reading rows ---------------------------------------------------------------------


def as_utc(value: Any) -> datetime | None:
    """A cart timestamp as an aware UTC datetime; naive values are UTC. None if unreadable."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str) and value.strip():
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    else:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def as_quantity(value: Any) -> int:
    """A line quantity; anything that is not a whole number reads as 0 (validation,
    not the adapter, turns that into a problem for a person)."""
    if isinstance(value, bool) or value is None:
        return 0
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return 0
    if not number.is_finite() or number != number.to_integral_value():
        return 0
    return int(number)


def as_flag(value: Any, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() not in _FALSE_WORDS
    return bool(value)


def as_text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def matches_any(value: Any, candidates: Sequence) -> bool:
    """Whether a status value is one of the configured ones (text compared case-blind)."""
    for candidate in candidates:
        if isinstance(value, str) and isinstance(candidate, str):
            if value.strip().lower() == candidate.strip().lower():
                return True
        elif value == candidate and value is not None:
            return True
    return False


# --- page tokens ----------------------------------------------------------------------


def encode_page_token(updated_raw: Any, order_id_raw: Any) -> str:
    """The last row's (updated_at, id) exactly as the database gave them."""
    if isinstance(updated_raw, datetime):
        stamp = {"d": updated_raw.isoformat()}
    else:
        stamp = {"s": str(updated_raw)}
    if isinstance(order_id_raw, (int, str)) and not isinstance(order_id_raw, bool):
        key = order_id_raw
    else:
        key = str(order_id_raw)
    raw = json.dumps({"u": stamp, "i": key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str) -> tuple[Any, Any]:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        stamp, key = data["u"], data["i"]
        updated = datetime.fromisoformat(stamp["d"]) if "d" in stamp else stamp["s"]
    except (ValueError, KeyError, TypeError) as exc:
        # Tokens only come from this adapter; a broken one is a bug, not a cart problem.
        raise ValueError(f"not a page token of the SQL cart adapter: {token!r}") from exc
    return updated, key


# --- the adapter ----------------------------------------------------------------------


def _table_clause(
    spec: Mapping[str, str], types: Mapping[str, sa.types.TypeEngine] | None = None
) -> TableClause:
    """A lightweight, reflection-free table with the mapped columns (quoted by SQLAlchemy)."""
    schema, _, name = spec["table"].rpartition(".")
    columns: dict[str, sa.ColumnClause] = {}
    for key, column in spec.items():
        if key != "table" and column and column not in columns:
            columns[column] = sa.column(column, (types or {}).get(key))
    return sa.table(name, *columns.values(), schema=schema or None)


class SqlCartAdapter:
    platform: ClassVar[str] = "sql"
    capabilities: ClassVar[Capabilities] = Capabilities(
        partial_fulfillment=True, notes=True, bulk_stock=True, webhooks=False, stock_batch_size=500,
        # One bound parameter per SKU: 999 is SQLite's limit before 3.32, the lowest of
        # the databases bridge supports.
        stock_read_batch_size=999, conditional_stock_writes=False,
    )

    def __init__(
        self, url: str, mapping: SqlMapping | None = None, connect_timeout: float = 10
    ) -> None:
        self.mapping = mapping or SqlMapping.from_settings({})
        self._url = normalise_url(url)
        self._display_url = mask_url(self._url)
        try:
            parsed = make_url(self._url)
            self._password = str(parsed.password or "")
            secrets.remember(self._password)
            kwargs: dict[str, Any] = {}
            if parsed.get_backend_name() == "postgresql":
                # Fail fast on an unreachable host rather than hang a worker.
                kwargs["connect_args"] = {"connect_timeout": max(1, int(connect_timeout))}
            self._engine = make_engine(self._url, **kwargs)
        except (sa.exc.ArgumentError, ImportError):
            raise ConfigError(
                [("-", "cart.url", f"{self._display_url} is not a database SQLAlchemy can open")]
            ) from None
        except OSError as exc:
            where = f"cannot create the folder of {self._display_url}: {exc.strerror}"
            raise ConfigError([("-", "cart.url", where)]) from None
        self._sqlite = self._engine.dialect.name == "sqlite"
        if self._engine.dialect.name == "postgresql":
            _use_utc_sessions(self._engine)
        m = self.mapping
        time = sa.DateTime()
        self._orders = _table_clause(m.orders)
        self._lines = _table_clause(m.lines)
        self._shipments = _table_clause(m.shipments, {"shipped_at": time})
        self._stock = _table_clause(m.stock)
        self._notes = _table_clause(m.notes, {"created_at": time})
        self._stock_upsert: Callable | None = None

    # -- construction

    @classmethod
    def check_settings(cls, settings: dict[str, Any]) -> list[tuple[str, str]]:
        return check_settings(settings)

    @classmethod
    def from_settings(cls, settings: dict[str, Any], secret: SecretResolver) -> "SqlCartAdapter":
        problems = check_settings(settings)
        if problems:
            raise ConfigError([("-", f"cart.{key}", what) for key, what in problems])
        url = settings["url"]
        if secrets.is_reference(url):
            try:
                url = secret(url)
            except ValueError as exc:
                raise ConfigError([("-", "cart.url", str(exc))]) from None
            # A referenced URL is where the password belongs; it must still be a URL.
            if _check_url(url, password_allowed=True) or secrets.is_reference(url):
                what = "the reference does not hold a valid database URL"
                raise ConfigError([("-", "cart.url", what)])
        return cls(
            url,
            SqlMapping.from_settings(settings),
            connect_timeout=settings.get("connect_timeout_seconds", 10),
        )

    def __repr__(self) -> str:
        return f"SqlCartAdapter({self._display_url})"

    # -- online check

    def probe(self) -> list[tuple[str, str]]:
        """Every mapped table and column exists: a wrong name would otherwise surface as
        a paused storefront at the first poll or write that touches it."""
        try:
            with self._sql_edge("checking the mapped tables"), self._engine.connect() as conn:
                inspector = sa.inspect(conn)
                return [problem for section in DEFAULT_MAPPING
                        for problem in self._section_problems(inspector, section)]
        except FatalError as exc:
            return [("url", exc.message)]

    def _section_problems(self, inspector, section: str) -> list[tuple[str, str]]:
        mapped = self.mapping.section(section)
        schema, _, name = mapped["table"].rpartition(".")
        if not inspector.has_table(name, schema or None):
            return [(f"{section}.table", f"the cart database has no table {mapped['table']!r}; "
                     "name the table that holds them")]
        present = {column["name"].lower() for column in inspector.get_columns(name, schema or None)}
        return [(f"{section}.{key}", f"table {mapped['table']!r} has no column {column!r}; "
                 "name an existing column (\"\" for an optional one the table lacks)")
                for key, column in mapped.items()
                if key != "table" and column and column.lower() not in present]

    def close(self) -> None:
        self._engine.dispose()

    # -- orders

    def fetch_orders(
        self, since: datetime, until: datetime, page: str | None, limit: int
    ) -> OrderPage:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        m = self.mapping.orders
        o = self._orders
        updated, key = o.c[m["updated_at"]], o.c[m["id"]]
        fields = [k for k, column in m.items() if k != "table" and column]
        stmt = sa.select(*(o.c[m[k]].label(f"f_{k}") for k in fields)).where(
            updated >= self._bind_time(since), updated < self._bind_time(until)
        )
        if page:
            last_updated, last_key = decode_page_token(page)
            last = sa.bindparam("last_updated", last_updated, type_=self._token_type(last_updated))
            after_last = sa.and_(updated == last, key > _untyped(last_key))
            stmt = stmt.where(sa.or_(updated > last, after_last))
        stmt = stmt.order_by(updated, key).limit(limit + 1)
        with self._sql_edge("reading orders"), self._engine.connect() as conn:
            rows = conn.execute(stmt).mappings().all()
            more = len(rows) > limit
            rows = rows[:limit]
            lines = self._lines_of([row["f_id"] for row in rows], conn)
        orders = [self._order_from_row(row, lines.get(str(row["f_id"]), ()), since) for row in rows]
        next_page = encode_page_token(rows[-1]["f_updated_at"], rows[-1]["f_id"]) if more else None
        return OrderPage(orders=orders, next_page=next_page)

    def _lines_of(self, order_keys: list, conn: sa.Connection) -> dict[str, list[CartLine]]:
        """All lines of a page's orders in one query."""
        if not order_keys:
            return {}
        m = self.mapping.lines
        t = self._lines
        fields = [k for k, column in m.items() if k != "table" and column]
        stmt = (
            sa.select(*(t.c[m[k]].label(f"f_{k}") for k in fields))
            .where(t.c[m["order_id"]].in_(_untyped(order_keys, expanding=True)))
            .order_by(t.c[m["order_id"]], t.c[m["id"]])
        )
        grouped: dict[str, list[CartLine]] = {}
        for row in conn.execute(stmt).mappings():
            grouped.setdefault(str(row["f_order_id"]), []).append(
                CartLine(
                    line_id=as_text(row["f_id"]),
                    sku=as_text(row["f_sku"]),
                    quantity=as_quantity(row["f_quantity"]),
                    requires_shipping=as_flag(row.get("f_requires_shipping"), default=True),
                )
            )
        return grouped

    def _order_from_row(
        self, row: Mapping[str, Any], lines: Sequence[CartLine], since: datetime
    ) -> CartOrder:
        order_id = as_text(row["f_id"])
        updated_at = as_utc(row["f_updated_at"])
        if updated_at is None:
            # The database ordered it inside the window, so the window start is a safe stand-in.
            log.warning("cart_order_unreadable_timestamp", order_id=order_id, column="updated_at")
            updated_at = since
        created_at = as_utc(row.get("f_created_at")) or updated_at
        m = self.mapping
        paid = matches_any(row["f_paid"], m.paid_values) if m.orders["paid"] else True
        if not m.orders["cancelled"]:
            cancelled = False
        elif m.cancelled_values:
            cancelled = matches_any(row["f_cancelled"], m.cancelled_values)
        else:
            cancelled = row["f_cancelled"] is not None
        address = Address(**{f: as_text(row.get(f"f_{f}")) for f in _ADDRESS_FIELDS})
        return CartOrder(
            order_id=order_id,
            number=as_text(row.get("f_number")) or order_id,
            created_at=created_at,
            updated_at=updated_at,
            paid=paid,
            cancelled=cancelled,
            lines=tuple(lines),
            address=address if any(vars(address).values()) else None,
            shipping_method=as_text(row.get("f_shipping_method")),
            email=as_text(row.get("f_email")),
        )

    # -- writing back

    def push_shipment(self, order: CartOrder, shipment: PackageShipment, notify: bool) -> bool:
        m = self.mapping.shipments
        t = self._shipments
        same = sa.and_(
            t.c[m["order_id"]] == _untyped(order.order_id),
            t.c[m["tracking_number"]] == _untyped(shipment.tracking_number),
        )
        exists = sa.select(sa.literal(1)).select_from(t).where(same).limit(1)
        shipped_at = shipment.shipped_at or datetime.now(timezone.utc)
        values = {
            "order_id": order.order_id,
            "tracking_number": shipment.tracking_number,
            "carrier": shipment.carrier,
            "tracking_url": shipment.tracking_url,
            "shipped_at": self._db_time(shipped_at),
            "package_number": shipment.package_number,
            "lines": json.dumps([vars(line) for line in shipment.lines]),
            "notify": notify,
        }
        row = {m[k]: v for k, v in values.items() if m[k]}
        try:
            with self._sql_edge("writing tracking"), self._engine.begin() as conn:
                if conn.execute(exists).first():
                    return False
                conn.execute(sa.insert(t).values(row))
        except NeedsAttentionError:
            # A unique key on (order, tracking) caught a concurrent writer: already there.
            with self._sql_edge("reading tracking"), self._engine.connect() as conn:
                if conn.execute(exists).first():
                    return False
            raise
        return True

    def get_stock(self, skus: Sequence[str]) -> dict[str, int]:
        wanted = list(dict.fromkeys(skus))
        if not wanted:
            return {}
        size = self.capabilities.stock_read_batch_size
        found: dict[str, int] = {}
        with self._sql_edge("reading stock"), self._engine.connect() as conn:
            for start in range(0, len(wanted), size):
                found.update(self._stock_rows(conn, wanted[start : start + size]))
        return found

    def _stock_rows(self, conn: sa.Connection, skus: list[str]) -> dict[str, int]:
        """One SELECT for a batch. A NULL quantity is a SKU whose stock is not kept;
        rows sharing a SKU (a table without a unique SKU) read as the smallest."""
        m = self.mapping.stock
        t = self._stock
        sku_col, qty_col = t.c[m["sku"]], t.c[m["quantity"]]
        stmt = sa.select(sku_col, qty_col).where(sku_col.in_(_untyped(skus, expanding=True)))
        asked = set(skus)
        found: dict[str, int] = {}
        for raw_sku, raw_quantity in conn.execute(stmt):
            sku = as_text(raw_sku)
            quantity = self._stock_quantity(sku, raw_quantity)
            # A case-blind collation may match other spellings: keep only what was asked.
            if sku in asked and quantity is not None:
                found[sku] = min(quantity, found.get(sku, quantity))
        return found

    def _stock_quantity(self, sku: str, value: Any) -> int | None:
        if value is None:
            return None
        try:
            number = Decimal(str(value).strip())
            if isinstance(value, bool) or not number.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            column = f"cart.stock.quantity ({self.mapping.stock['quantity']})"
            raise NeedsAttentionError(
                "cart_rejected", f"reading stock: SKU {sku!r} has {value!r} in {column}, not a number"
            ) from None
        return int(number.to_integral_value(rounding="ROUND_FLOOR"))

    def set_stock(self, levels: Sequence[StockLevel]) -> list[str]:
        # Last level per SKU wins; one statement must not touch a row twice. Writes are
        # unconditional (`expected` is not compared), so nothing is ever refused as stale.
        latest = {level.sku: level.quantity for level in levels}
        items = list(latest.items())
        if not items:
            return []
        size = self.capabilities.stock_batch_size
        with self._sql_edge("writing stock"):
            upsert = self._stock_upsert or self._choose_stock_upsert()
            for start in range(0, len(items), size):
                with self._engine.begin() as conn:
                    upsert(conn, items[start : start + size])
        return []

    def add_note(self, order: CartOrder, text: str) -> None:
        m = self.mapping.notes
        values = {
            "order_id": order.order_id,
            "note": text,
            "created_at": self._db_time(datetime.now(timezone.utc)),
        }
        row = {m[k]: v for k, v in values.items() if m[k]}
        with self._sql_edge("writing a note"), self._engine.begin() as conn:
            conn.execute(sa.insert(self._notes).values(row))

    # -- stock upserts

    def _choose_stock_upsert(self) -> Callable:
        """`INSERT … ON CONFLICT` where the dialect has it and SKU is unique; otherwise
        read which SKUs exist, update those and insert the rest."""
        m = self.mapping.stock
        schema, _, name = m["table"].rpartition(".")
        chosen = self._upsert_by_lookup
        if self._engine.dialect.name in ("sqlite", "postgresql"):
            try:
                with self._engine.connect() as conn:
                    unique_sets = _unique_column_sets(sa.inspect(conn), name, schema or None)
            except sa.exc.NoSuchTableError:
                raise self._missing("table", m["table"], "writing stock") from None
            if (m["sku"],) in unique_sets:
                chosen = self._upsert_on_conflict
        self._stock_upsert = chosen
        return chosen

    def _upsert_on_conflict(self, conn: sa.Connection, items: list[tuple[str, int]]) -> None:
        m = self.mapping.stock
        dialect_insert = sqlite.insert if self._sqlite else postgresql.insert
        stmt = dialect_insert(self._stock)
        stmt = stmt.on_conflict_do_update(
            index_elements=[m["sku"]], set_={m["quantity"]: stmt.excluded[m["quantity"]]}
        )
        conn.execute(stmt, [{m["sku"]: sku, m["quantity"]: qty} for sku, qty in items])

    def _upsert_by_lookup(self, conn: sa.Connection, items: list[tuple[str, int]]) -> None:
        m = self.mapping.stock
        t = self._stock
        sku_col, qty_col = t.c[m["sku"]], t.c[m["quantity"]]
        wanted = [sku for sku, _ in items]
        existing = {row[0] for row in conn.execute(sa.select(sku_col).where(sku_col.in_(wanted)))}
        updates = [{"b_sku": sku, "b_qty": qty} for sku, qty in items if sku in existing]
        inserts = [{m["sku"]: sku, m["quantity"]: qty} for sku, qty in items if sku not in existing]
        if updates:
            by_sku = sa.update(t).where(sku_col == sa.bindparam("b_sku"))
            conn.execute(by_sku.values({qty_col: sa.bindparam("b_qty")}), updates)
        if inserts:
            conn.execute(sa.insert(t), inserts)

    # -- values at the SQL edge

    def _db_time(self, moment: datetime) -> datetime:
        """What a timestamp column is given: naive UTC on SQLite (it keeps no zone)."""
        utc = as_utc(moment)
        return utc.replace(tzinfo=None) if self._sqlite else utc

    def _bind_time(self, moment: datetime) -> sa.BindParameter:
        kind = sa.DateTime(timezone=not self._sqlite)
        return sa.bindparam(None, self._db_time(moment), type_=kind)

    def _token_type(self, value: Any) -> sa.types.TypeEngine:
        if isinstance(value, datetime):
            return sa.DateTime(timezone=value.tzinfo is not None)
        return sa.String()

    # -- errors

    @contextmanager
    def _sql_edge(self, doing: str) -> Iterator[None]:
        """Classify database failures into bridge's error tree, once, here."""
        try:
            yield
        except BridgeError:
            raise
        except sa.exc.DBAPIError as exc:
            raise self._classify(exc, doing) from exc

    def _classify(self, exc: sa.exc.DBAPIError, doing: str) -> BridgeError:
        text = str(exc.orig).strip()
        detail = self._scrub(text.splitlines()[0] if text else type(exc.orig).__name__)
        state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None) or ""
        missing = _missing_object(detail)
        if missing:
            return self._missing(*missing, doing)
        if _credentials_refused(detail, state):
            return FatalError(
                f"{doing}: the cart database {self._display_url} refused the connection: {detail}",
                "cart_credentials",
            )
        if isinstance(exc, (sa.exc.IntegrityError, sa.exc.DataError)):
            return NeedsAttentionError(
                "cart_rejected", f"{doing}: the cart database rejected the data: {detail}"
            )
        where = f"the cart database {self._display_url}"
        unavailable = (sa.exc.OperationalError, sa.exc.InterfaceError)
        if isinstance(exc, unavailable) or exc.connection_invalidated:
            return TransientError(f"{doing}: {where} is not available: {detail}")
        return FatalError(f"{doing}: {where} failed: {detail}", "cart_database")

    def _missing(self, kind: str, name: str, doing: str) -> FatalError:
        keys = self.mapping.keys_naming(name)
        hint = ", ".join(keys) if keys else "the [cart] table and column mapping"
        message = f"{doing}: the cart database has no {kind} {name!r}; check {hint}"
        return FatalError(message, "cart_schema")

    def _scrub(self, text: str) -> str:
        return text.replace(self._password, "***") if self._password else text


def _unique_column_sets(inspector, table: str, schema: str | None) -> list[tuple[str, ...]]:
    """Column sets the table keeps unique: its primary key, constraints, unique indexes."""
    sets = [inspector.get_pk_constraint(table, schema)["constrained_columns"]]
    sets += [u["column_names"] for u in inspector.get_unique_constraints(table, schema)]
    sets += [i["column_names"] for i in inspector.get_indexes(table, schema) if i["unique"]]
    return [tuple(columns) for columns in sets]


def _untyped(value: Any, expanding: bool = False) -> sa.BindParameter:
    """A value bound without a cast, so the database converts it to the column's type
    (an order id is text in bridge but often an integer in the cart)."""
    return sa.bindparam(None, value, type_=sa.types.NullType(), expanding=expanding)


def _use_utc_sessions(engine: sa.Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _set_utc(dbapi_connection, _record):
        # Outside a transaction, so a later rollback cannot undo it.
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET TIME ZONE 'UTC'")
        dbapi_connection.autocommit = autocommit


# Driver messages that name a missing table or column (SQLite, PostgreSQL, MySQL).
_MISSING_PATTERNS = (
    ("table", re.compile(r"no such table: (?P<name>[\w.\"]+)")),
    ("column", re.compile(r"no such column: (?P<name>[\w.\"]+)")),
    ("column", re.compile(r"has no column named (?P<name>[\w\"]+)")),
    ("table", re.compile(r"relation \"(?P<name>[^\"]+)\" does not exist")),
    ("column", re.compile(r"column \"?(?P<name>[\w.]+)\"? (?:of relation \"[^\"]+\" )?does not")),
    ("schema", re.compile(r"schema \"(?P<name>[^\"]+)\" does not exist")),
    ("table", re.compile(r"Table '(?P<name>[^']+)' doesn't exist")),
    ("column", re.compile(r"Unknown column '(?P<name>[^']+)'")),
)
_REFUSED_STATES = ("28000", "28P01", "3D000")
_REFUSED_PHRASES = (
    "authentication failed",
    "no password supplied",
    "pg_hba.conf",
    "access denied for user",
    re.compile(r"role \"[^\"]+\" does not exist"),
    re.compile(r"database \"[^\"]+\" does not exist"),
)


def _missing_object(detail: str) -> tuple[str, str] | None:
    for kind, pattern in _MISSING_PATTERNS:
        found = pattern.search(detail)
        if found:
            return kind, found.group("name").replace('"', "")
    return None


def _credentials_refused(detail: str, state: str) -> bool:
    if state in _REFUSED_STATES:
        return True
    lowered = detail.lower()
    for phrase in _REFUSED_PHRASES:
        if isinstance(phrase, str) and phrase in lowered:
            return True
        if not isinstance(phrase, str) and phrase.search(detail):
            return True
    return False
