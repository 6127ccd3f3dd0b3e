"""The demo store: a small order database in the SQL adapter's default schema, on SQLite
or PostgreSQL. `bridge demo`, the tests and the benchmarks place orders in it and read
back what bridge wrote (tracking, stock, notes, cancellations, delivery and return notes).

Timestamps are stored as naive UTC, as many shop databases do."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from bridge.ledger.db import make_engine

metadata = sa.MetaData()

orders = sa.Table(
    "orders",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("number", sa.String(32), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Column("financial_status", sa.String(16), nullable=False, default="paid"),
    sa.Column("cancelled_at", sa.DateTime),
    sa.Column("shipping_method", sa.String(64), nullable=False, default="Standard"),
    sa.Column("email", sa.String(254)),
    sa.Column("ship_name", sa.String(100)),
    sa.Column("ship_address1", sa.String(100)),
    sa.Column("ship_address2", sa.String(100)),
    sa.Column("ship_city", sa.String(60)),
    sa.Column("ship_state", sa.String(30)),
    sa.Column("ship_zip", sa.String(20)),
    sa.Column("ship_country", sa.String(2)),
    sa.Column("ship_phone", sa.String(30)),
    sa.Column("total", sa.Numeric(12, 2)),
    sa.Column("currency", sa.String(3)),
    sa.Column("tags", sa.Text),  # comma-separated
    sa.Column("customer_note", sa.Text),
    # The adapter polls by (updated_at, id); this index keeps that a range scan.
    sa.Index("ix_orders_updated_at_id", "updated_at", "id"),
)

order_lines = sa.Table(
    "order_lines",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("order_id", sa.Integer, sa.ForeignKey("orders.id"), nullable=False, index=True),
    sa.Column("sku", sa.String(64), nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("requires_shipping", sa.Boolean, nullable=False, default=True),
    sa.Column("title", sa.String(255)),
    sa.Column("cancelled_quantity", sa.Integer, default=0),  # NULL: none cancelled
)

shipments = sa.Table(
    "shipments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("order_id", sa.Integer, sa.ForeignKey("orders.id"), nullable=False),
    sa.Column("carrier", sa.String(64)),
    sa.Column("tracking_number", sa.String(100), nullable=False),
    sa.Column("tracking_url", sa.String(500)),
    sa.Column("shipped_at", sa.DateTime),
    sa.Column("package_number", sa.Integer),
    sa.Column("lines", sa.Text),
    # A tracking number is written once per order, even by two writers at once.
    sa.UniqueConstraint("order_id", "tracking_number", name="uq_shipments_order_tracking"),
)

stock = sa.Table(
    "stock",
    metadata,
    sa.Column("sku", sa.String(64), primary_key=True),
    sa.Column("quantity", sa.Integer, nullable=False),
)

order_notes = sa.Table(
    "order_notes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("order_id", sa.Integer, sa.ForeignKey("orders.id"), nullable=False, index=True),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime),
    # bridge's delivery and return notes: written once per order and key, even by two
    # writers at once (NULL for plain notes, which may repeat).
    sa.Column("event_key", sa.String(200)),
    sa.UniqueConstraint("order_id", "event_key", name="uq_order_notes_order_event"),
)


@dataclass(frozen=True)
class DemoLine:
    sku: str
    quantity: int = 1
    requires_shipping: bool = True
    title: str = ""  # default: a name made from the SKU ("MUG-BLUE" -> "Mug Blue")


# financial_status values the adapter's default settings read as each payment state.
PAID, AUTHORIZED, PENDING = "paid", "authorized", "pending"


# Real city / state / ZIP combinations, so address validation has nothing to object to.
_PLACES = (
    ("Seattle", "WA", "98101"),
    ("Portland", "OR", "97205"),
    ("San Francisco", "CA", "94103"),
    ("Los Angeles", "CA", "90012"),
    ("Denver", "CO", "80202"),
    ("Austin", "TX", "78701"),
    ("Chicago", "IL", "60601"),
    ("Minneapolis", "MN", "55401"),
    ("Nashville", "TN", "37203"),
    ("Atlanta", "GA", "30303"),
    ("Miami", "FL", "33130"),
    ("Boston", "MA", "02108"),
    ("New York", "NY", "10001"),
    ("Philadelphia", "PA", "19107"),
    ("Columbus", "OH", "43215"),
    ("Phoenix", "AZ", "85004"),
)
_FIRST_NAMES = (
    "Ava", "Liam", "Maya", "Noah", "Zoe", "Ethan", "Chloe", "Lucas", "Grace", "Owen", "Nora", "Caleb",
)
_LAST_NAMES = (
    "Johnson", "Garcia", "Nguyen", "Patel", "Smith", "Kim", "Brown", "Martinez", "Lee", "Walker",
    "Young", "Rivera",
)
_STREETS = (
    "Main St", "Oak Ave", "Pine St", "Maple Dr", "Cedar Ln", "Elm St", "Lake Rd", "Park Blvd",
    "2nd Ave", "Hill St",
)
_METHODS = (("Standard", 80), ("Expedited", 15), ("Priority", 5))


def _engine(url: str) -> sa.Engine:
    return make_engine(url)


def _naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def _aware(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.replace(tzinfo=UTC)


def create_schema(url: str) -> None:
    """Create the demo tables (those that do not exist yet)."""
    engine = _engine(url)
    try:
        metadata.create_all(engine)
    finally:
        engine.dispose()


def random_address(rng: random.Random) -> dict[str, str]:
    """Ship-to columns of one plausible US customer."""
    city, state, zip_code = rng.choice(_PLACES)
    first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
    return {
        "ship_name": f"{first} {last}",
        "ship_address1": f"{rng.randint(10, 9899)} {rng.choice(_STREETS)}",
        "ship_address2": f"Apt {rng.randint(1, 40)}" if rng.random() < 0.25 else "",
        "ship_city": city,
        "ship_state": state,
        "ship_zip": zip_code,
        "ship_country": "US",
        "ship_phone": f"+1206555{rng.randint(0, 9999):04d}",
        "email": f"{first.lower()}.{last.lower()}{rng.randint(1, 99)}@example.com",
    }


def insert_order(
    url: str,
    number: str,
    lines: Sequence[DemoLine],
    *,
    updated_at: datetime | None = None,
    created_at: datetime | None = None,
    paid: bool = True,
    shipping_method: str = "Standard",
    address: dict[str, Any] | None = None,
    financial_status: str | None = None,
    total: str | None = None,
    currency: str = "USD",
    tags: Sequence[str] = (),
    customer_note: str = "",
) -> str:
    """Insert one order with its lines; returns its id. `address` holds ship-to columns
    (and `email`); by default a plausible US address chosen by the number.
    `financial_status` (PAID, AUTHORIZED, PENDING…) wins over `paid`; `total` defaults to
    10.00 per unit."""
    now = datetime.now(UTC)
    updated_at = updated_at or now
    row = {
        "number": number,
        "created_at": _naive_utc(created_at or updated_at),
        "updated_at": _naive_utc(updated_at),
        "financial_status": financial_status or (PAID if paid else PENDING),
        "shipping_method": shipping_method,
        "total": Decimal(total) if total is not None else _default_total(lines),
        "currency": currency,
        "tags": ",".join(tags) or None,
        "customer_note": customer_note or None,
        **(address if address is not None else random_address(random.Random(number))),
    }
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            insert = sa.insert(orders).values(row).returning(orders.c.id)
            order_id = conn.execute(insert).scalar_one()
            if lines:
                conn.execute(sa.insert(order_lines), [_line_row(order_id, line) for line in lines])
    finally:
        engine.dispose()
    return str(order_id)


def _default_total(lines: Sequence[DemoLine]) -> Decimal:
    return Decimal("10.00") * sum(line.quantity for line in lines)


def _line_row(order_id: int, line: DemoLine) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "sku": line.sku,
        "quantity": line.quantity,
        "requires_shipping": line.requires_shipping,
        "title": line.title or line.sku.replace("-", " ").replace("_", " ").title(),
        "cancelled_quantity": 0,
    }


def place_orders(
    url: str,
    count: int,
    skus: Sequence[str],
    *,
    start_number: int = 1,
    now: datetime | None = None,
    rng_seed: int = 0,
) -> list[str]:
    """Insert `count` paid orders of 1-3 lines (distinct SKUs, 1-3 units each) shipping
    to US addresses; returns their ids in order. Orders are numbered #1001, #1002, …
    from `start_number` and stamped `now`."""
    if not skus:
        raise ValueError("place_orders needs at least one SKU")
    rng = random.Random(f"{rng_seed}:{start_number}")
    stamp = _naive_utc(now or datetime.now(UTC))
    methods = [method for method, _weight in _METHODS]
    weights = [weight for _method, weight in _METHODS]
    order_rows, line_specs = [], []
    for offset in range(count):
        order_rows.append(
            {
                "number": f"#{1000 + start_number + offset}",
                "created_at": stamp,
                "updated_at": stamp,
                "financial_status": PAID,
                "currency": "USD",
                "shipping_method": rng.choices(methods, weights)[0],
                **random_address(rng),
            }
        )
        chosen = rng.sample(list(skus), k=min(len(skus), rng.randint(1, 3)))
        line_specs.append([DemoLine(sku, rng.randint(1, 3)) for sku in chosen])
        order_rows[-1]["total"] = _default_total(line_specs[-1])
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            ids = _insert_returning_ids(conn, order_rows)
            line_rows = [_line_row(i, line) for i, lines in zip(ids, line_specs, strict=True) for line in lines]
            if line_rows:
                conn.execute(sa.insert(order_lines), line_rows)
    finally:
        engine.dispose()
    return [str(i) for i in ids]


def _insert_returning_ids(conn: sa.Connection, rows: list[dict]) -> list[int]:
    if not rows:
        return []
    stmt = sa.insert(orders).returning(orders.c.id, sort_by_parameter_order=True)
    return list(conn.execute(stmt, rows).scalars())


def update_order(
    url: str, order_id: str, *, updated_at: datetime | None = None, **values: Any
) -> None:
    """Change columns of an order and stamp it changed (now, unless `updated_at`)."""
    values["updated_at"] = _naive_utc(updated_at or datetime.now(UTC))
    for key in ("created_at", "cancelled_at"):
        if isinstance(values.get(key), datetime):
            values[key] = _naive_utc(values[key])
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.update(orders).where(orders.c.id == int(order_id)).values(values))
    finally:
        engine.dispose()


def set_updated_at(url: str, order_id: str, when: datetime) -> None:
    update_order(url, order_id, updated_at=when)


def cancel_order(url: str, order_id: str, *, when: datetime | None = None) -> None:
    when = when or datetime.now(UTC)
    update_order(url, order_id, updated_at=when, cancelled_at=when)


def _read(url: str, stmt: sa.Select) -> list[dict[str, Any]]:
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            return [dict(row) for row in conn.execute(stmt).mappings()]
    finally:
        engine.dispose()


def read_shipments(url: str) -> list[dict[str, Any]]:
    """Every tracking row, oldest first; `lines` decoded, timestamps UTC-aware."""
    rows = _read(url, sa.select(shipments).order_by(shipments.c.id))
    for row in rows:
        row["order_id"] = str(row["order_id"])
        row["shipped_at"] = _aware(row["shipped_at"])
        row["lines"] = json.loads(row["lines"]) if row["lines"] else []
    return rows


def read_stock(url: str) -> dict[str, int]:
    return {row["sku"]: row["quantity"] for row in _read(url, sa.select(stock))}


def read_notes(url: str, order_id: str | None = None) -> list[dict[str, Any]]:
    """The store's order notes, oldest first: every order's, or only `order_id`'s."""
    stmt = sa.select(order_notes).order_by(order_notes.c.id)
    if order_id is not None:
        stmt = stmt.where(order_notes.c.order_id == int(order_id))
    rows = _read(url, stmt)
    for row in rows:
        row["order_id"] = str(row["order_id"])
        row["created_at"] = _aware(row["created_at"])
    return rows



def read_cancellation(url: str, order_id: str) -> tuple[bool, dict[str, int]]:
    """(the order is cancelled, cancelled quantity per line id) as the store shows them."""
    [order] = _read(url, sa.select(orders.c.cancelled_at).where(orders.c.id == int(order_id)))
    lines = _read(url, sa.select(order_lines.c.id, order_lines.c.cancelled_quantity)
                  .where(order_lines.c.order_id == int(order_id)))
    by_line = {str(row["id"]): row["cancelled_quantity"] or 0 for row in lines}
    return order["cancelled_at"] is not None, by_line


def read_event_keys(url: str, order_id: str, kind: str) -> list[tuple[str, str]]:
    """(subject, stage) of the order's lifecycle notes of one kind, from their event keys
    (`bridge:<kind>:<subject>:<stage>`): kind "delivery" gives (tracking number,
    milestone), kind "return" (authorization id, stage)."""
    rows = _read(url, sa.select(order_notes.c.event_key).where(
        order_notes.c.order_id == int(order_id), order_notes.c.event_key.is_not(None)))
    found = []
    for row in rows:
        prefix, found_kind, rest = row["event_key"].split(":", 2)
        if prefix == "bridge" and found_kind == kind:
            subject, _, stage = rest.rpartition(":")
            found.append((subject, stage))
    return found
