"""The SQL edge of the SQL cart: one engine on the merchant's database, the mapped tables,
every statement bridge runs on them, and database failures sorted into bridge's errors.

Every identifier comes from the validated mapping and is quoted by SQLAlchemy; every value
is bound. PostgreSQL sessions run in UTC so that naive and zone-aware columns compare the
same way. On SQLite, timestamps are compared as the text SQLAlchemy writes
(``YYYY-MM-DD HH:MM:SS.ffffff``, UTC).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.sql.expression import TableClause

from bridge import secrets
from bridge.carts import lifecycle_words as words
from bridge.carts.sql.mapping import as_utc, decode_page_token
from bridge.carts.sql.settings import DEFAULT_MAPPING, SqlMapping, mask_url
from bridge.errors import (
    BridgeError,
    ConfigError,
    FatalError,
    NeedsAttentionError,
    TransientError,
)
from bridge.ledger.db import make_engine, normalise_url

Rows = list[Mapping[str, Any]]


class SqlClient:
    """The merchant's database as the mapped tables: what bridge reads and writes there."""

    def __init__(self, url: str, mapping: SqlMapping, connect_timeout: float = 10) -> None:
        self.mapping = mapping
        self._url = normalise_url(url)
        self.display_url = mask_url(self._url)
        try:
            parsed = make_url(self._url)
            self._password = str(parsed.password or "")
            secrets.remember(self._password)
            kwargs: dict[str, Any] = {}
            if parsed.get_backend_name() == "postgresql":
                # Fail fast on an unreachable host rather than hang a worker.
                kwargs["connect_args"] = {"connect_timeout": max(1, int(connect_timeout))}
            self.engine = make_engine(self._url, **kwargs)
        except (sa.exc.ArgumentError, ImportError):
            raise ConfigError(
                [("-", "cart.url", f"{self.display_url} is not a database SQLAlchemy can open")]
            ) from None
        except OSError as exc:
            where = f"cannot create the folder of {self.display_url}: {exc.strerror}"
            raise ConfigError([("-", "cart.url", where)]) from None
        self._sqlite = self.engine.dialect.name == "sqlite"
        if self.engine.dialect.name == "postgresql":
            _use_utc_sessions(self.engine)
        m = self.mapping
        time = sa.DateTime()
        self._orders = _table_clause(m.orders)
        self._lines = _table_clause(m.lines)
        self._shipments = _table_clause(m.shipments, {"shipped_at": time})
        self._stock = _table_clause(m.stock)
        self._notes = _table_clause(m.notes, {"created_at": time})
        self._stock_upsert: Callable | None = None
        self._settled = not mapping.inferred

    def close(self) -> None:
        self.engine.dispose()

    # -- the schema

    def settle(self, conn: sa.Connection) -> None:
        """Once: drop the soft-default columns (settings.SOFT_DEFAULT_KEYS) the tables lack,
        so that a table made before bridge read them keeps working."""
        if self._settled:
            return
        inspector = sa.inspect(conn)
        absent: set[tuple[str, str]] = set()
        for section in {section for section, _ in self.mapping.inferred}:
            table = self.mapping.section(section)["table"]
            schema, _, name = table.rpartition(".")
            try:
                columns = inspector.get_columns(name, schema or None)
            except sa.exc.NoSuchTableError:
                continue  # the statement that needs the table names it
            present = {column["name"].lower() for column in columns}
            absent |= {(s, key) for s, key in self.mapping.inferred
                       if s == section and self.mapping.section(s)[key].lower() not in present}
        self.mapping = self.mapping.without(absent)
        self._settled = True

    def _settle_now(self, doing: str) -> None:
        """`settle` before a statement is built from the mapping (once per client)."""
        if not self._settled:
            with self.edge(doing), self.engine.connect() as conn:
                self.settle(conn)

    def schema_problems(self) -> list[tuple[str, str]]:
        """Every mapped table and column that the database lacks, as (key, what is wrong)."""
        with self.edge("checking the mapped tables"), self.engine.connect() as conn:
            self.settle(conn)
            inspector = sa.inspect(conn)
            return [problem for section in DEFAULT_MAPPING
                    for problem in self._section_problems(inspector, section)]

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

    # -- orders

    def order_rows(
        self, since: datetime, until: datetime, page: str | None, limit: int
    ) -> tuple[Rows, dict[str, Rows], bool]:
        """Up to `limit` order rows changed in [since, until) after the page token, the line
        rows of each (by order id as text), and whether more rows follow. Columns are
        labelled `f_<mapping key>`."""
        with self.edge("reading orders"), self.engine.connect() as conn:
            self.settle(conn)
            rows = conn.execute(self._orders_changed(since, until, page, limit)).mappings().all()
            more = len(rows) > limit
            rows = rows[:limit]
            lines = self._lines_of([row["f_id"] for row in rows], conn)
        # Every column is labelled, so the rows are keyed by text.
        return cast(Rows, rows), lines, more

    def _orders_changed(self, since: datetime, until: datetime, page: str | None, limit: int):
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
        return stmt.order_by(updated, key).limit(limit + 1)

    def _lines_of(self, order_keys: list, conn: sa.Connection) -> dict[str, Rows]:
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
        grouped: dict[str, Rows] = {}
        for row in conn.execute(stmt).mappings():
            grouped.setdefault(str(row["f_order_id"]), []).append(cast(Mapping[str, Any], row))
        return grouped

    # -- tracking and notes

    def insert_shipment(self, values: Mapping[str, Any]) -> bool:
        """Adds a package's row unless the order already has its tracking number."""
        m = self.mapping.shipments
        t = self._shipments
        same = sa.and_(
            t.c[m["order_id"]] == _untyped(values["order_id"]),
            t.c[m["tracking_number"]] == _untyped(values["tracking_number"]),
        )
        exists = sa.select(sa.literal(1)).select_from(t).where(same).limit(1)
        row = self._row(m, values)
        try:
            with self.edge("writing tracking"), self.engine.begin() as conn:
                if conn.execute(exists).first():
                    return False
                conn.execute(sa.insert(t).values(row))
        except NeedsAttentionError:
            # A unique key on (order, tracking) caught a concurrent writer: already there.
            with self.edge("reading tracking"), self.engine.connect() as conn:
                if conn.execute(exists).first():
                    return False
            raise
        return True

    def insert_note(self, values: Mapping[str, Any]) -> None:
        with self.edge("writing a note"), self.engine.begin() as conn:
            self.settle(conn)
            conn.execute(sa.insert(self._notes).values(self._row(self.mapping.notes, values)))

    def insert_event_note(self, values: Mapping[str, Any], text_with_key: str) -> bool:
        """Adds a lifecycle note unless the order already has one with its event key: in
        the event-key column where the notes table has one, else at the end of the text
        (`text_with_key`, written instead of the plain note)."""
        self._settle_now("reading the notes table")
        m = self.mapping.notes
        t = self._notes
        key = values["event_key"]
        if m["event_key"]:
            marked = t.c[m["event_key"]] == key
            row = self._row(m, values)
        else:
            marked = t.c[m["note"]].contains(words.bracketed(key), autoescape=True)
            row = self._row(m, {**values, "note": text_with_key, "event_key": None})
        same = sa.and_(t.c[m["order_id"]] == _untyped(values["order_id"]), marked)
        exists = sa.select(sa.literal(1)).select_from(t).where(same).limit(1)
        try:
            with self.edge("writing a note"), self.engine.begin() as conn:
                if conn.execute(exists).first():
                    return False
                conn.execute(sa.insert(t).values(row))
        except NeedsAttentionError:
            # A unique key on (order, event key) caught a concurrent writer: already there.
            with self.edge("reading notes"), self.engine.connect() as conn:
                if conn.execute(exists).first():
                    return False
            raise
        return True

    # -- cancellation

    def cancel_order_row(self, order_id: str, note: Mapping[str, Any]) -> bool | None:
        """Marks the order cancelled (the first cancelled value, or now when the column
        is a timestamp) unless it already is, with `note` in the same transaction. None
        when no cancelled column is mapped. The updated-at column is left alone: bridge's
        own write is no change for its next poll to read."""
        m = self.mapping.orders
        if not m["cancelled"]:
            return None
        column = self._orders.c[m["cancelled"]]
        values = self.mapping.cancelled_values
        if values:
            still_open = sa.or_(column.is_(None), sa.not_(_one_of(column, values)))
            new_value: Any = _untyped(values[0])
        else:
            still_open = column.is_(None)
            new_value = self._bind_time(datetime.now(UTC))
        stmt = (sa.update(self._orders)
                .where(self._orders.c[m["id"]] == _untyped(order_id), still_open)
                .values({column: new_value}))
        with self.edge("cancelling the order"), self.engine.begin() as conn:
            self.settle(conn)
            if conn.execute(stmt).rowcount == 0:
                return False
            conn.execute(sa.insert(self._notes).values(self._row(self.mapping.notes, note)))
        return True

    def cancel_line_rows(
        self, order_id: str, quantities: Mapping[str, int], note: Mapping[str, Any]
    ) -> bool | None:
        """Raises each line's cancelled quantity to the one given (never lowers it), with
        `note` in the same transaction when any line changed. None when the lines table
        has no cancelled-quantity column."""
        self._settle_now("reading the lines table")
        m = self.mapping.lines
        if not m["cancelled_quantity"]:
            return None
        t = self._lines
        cancelled = t.c[m["cancelled_quantity"]]
        changed = 0
        with self.edge("cancelling lines"), self.engine.begin() as conn:
            for line_id, quantity in quantities.items():
                stmt = (sa.update(t)
                        .where(t.c[m["id"]] == _untyped(line_id),
                               t.c[m["order_id"]] == _untyped(order_id),
                               sa.or_(cancelled.is_(None), cancelled < quantity))
                        .values({cancelled: quantity}))
                changed += conn.execute(stmt).rowcount
            if changed:
                conn.execute(sa.insert(self._notes).values(self._row(self.mapping.notes, note)))
        return changed > 0

    def _row(self, section: Mapping[str, str], values: Mapping[str, Any]) -> dict[str, Any]:
        """Values by mapping key as a row by column, keys the table lacks left out."""
        return {section[k]: self._db_time(v) if isinstance(v, datetime) else v
                for k, v in values.items() if section[k]}

    # -- stock

    def stock_rows(self, batches: Sequence[list[str]]) -> list[list[tuple[Any, Any]]]:
        """The (sku, quantity) rows of each batch of SKUs, one SELECT per batch."""
        m = self.mapping.stock
        t = self._stock
        sku_col, qty_col = t.c[m["sku"]], t.c[m["quantity"]]
        with self.edge("reading stock"), self.engine.connect() as conn:
            return [
                list(conn.execute(
                    sa.select(sku_col, qty_col).where(sku_col.in_(_untyped(skus, expanding=True)))
                ))
                for skus in batches
            ]

    def write_stock(self, items: list[tuple[str, int]], size: int) -> None:
        """Sets each (sku, quantity), `size` rows a transaction."""
        with self.edge("writing stock"):
            upsert = self._stock_upsert or self._choose_stock_upsert()
            for start in range(0, len(items), size):
                with self.engine.begin() as conn:
                    upsert(conn, items[start : start + size])

    def _choose_stock_upsert(self) -> Callable:
        """`INSERT … ON CONFLICT` where the dialect has it and SKU is unique; otherwise
        read which SKUs exist, update those and insert the rest."""
        m = self.mapping.stock
        schema, _, name = m["table"].rpartition(".")
        chosen = self._upsert_by_lookup
        if self.engine.dialect.name in ("sqlite", "postgresql"):
            try:
                with self.engine.connect() as conn:
                    unique_sets = _unique_column_sets(sa.inspect(conn), name, schema or None)
            except sa.exc.NoSuchTableError:
                raise self.missing("table", m["table"], "writing stock") from None
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
        assert utc is not None  # a datetime always converts
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
    def edge(self, doing: str) -> Iterator[None]:
        """Classify database failures into bridge's error tree, once, here."""
        try:
            yield
        except BridgeError:
            raise
        except sa.exc.DBAPIError as exc:
            raise self.classify(exc, doing) from exc

    def classify(self, exc: sa.exc.DBAPIError, doing: str) -> BridgeError:
        text = str(exc.orig).strip()
        detail = self._scrub(text.splitlines()[0] if text else type(exc.orig).__name__)
        state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None) or ""
        missing = _missing_object(detail)
        if missing:
            return self.missing(*missing, doing)
        if _credentials_refused(detail, state):
            return FatalError(
                f"{doing}: the cart database {self.display_url} refused the connection: {detail}",
                "cart_credentials",
            )
        if isinstance(exc, (sa.exc.IntegrityError, sa.exc.DataError)):
            return NeedsAttentionError(
                "cart_rejected", f"{doing}: the cart database rejected the data: {detail}"
            )
        where = f"the cart database {self.display_url}"
        unavailable = (sa.exc.OperationalError, sa.exc.InterfaceError)
        if isinstance(exc, unavailable) or exc.connection_invalidated:
            return TransientError(f"{doing}: {where} is not available: {detail}")
        return FatalError(f"{doing}: {where} failed: {detail}", "cart_database")

    def missing(self, kind: str, name: str, doing: str) -> FatalError:
        keys = self.mapping.keys_naming(name)
        hint = ", ".join(keys) if keys else "the [cart] table and column mapping"
        message = f"{doing}: the cart database has no {kind} {name!r}; check {hint}"
        return FatalError(message, "cart_schema")

    def _scrub(self, text: str) -> str:
        return text.replace(self._password, "***") if self._password else text


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


def _unique_column_sets(inspector, table: str, schema: str | None) -> list[tuple[str, ...]]:
    """Column sets the table keeps unique: its primary key, constraints, unique indexes."""
    sets = [inspector.get_pk_constraint(table, schema)["constrained_columns"]]
    sets += [u["column_names"] for u in inspector.get_unique_constraints(table, schema)]
    sets += [i["column_names"] for i in inspector.get_indexes(table, schema) if i["unique"]]
    return [tuple(columns) for columns in sets]


def _one_of(column: sa.ColumnClause, values: Sequence[Any]) -> sa.ColumnElement[bool]:
    """The column holds one of the values; text compared case-blind, as reads compare."""
    texts = [value.strip().lower() for value in values if isinstance(value, str)]
    others = [value for value in values if not isinstance(value, str)]
    tests = []
    if texts:
        tests.append(sa.func.lower(sa.cast(column, sa.String)).in_(texts))
    if others:
        tests.append(column.in_(_untyped(others, expanding=True)))
    return sa.or_(*tests)


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
