"""Table definitions (SQLAlchemy 2 declarative). Alembic migrations mirror these; a test
fails when the two disagree."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC without a zone (SQLite has none) and always returns aware UTC values."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the ledger; use UTC-aware values")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stored: datetime = value  # the driver hands back the naive UTC value stored
        return stored.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def session_now(session: Session) -> datetime:
    """The time a ledger function stamps: the clock of the `Ledger` whose transaction this
    session is (`session.info["clock"]`), else the real one."""
    clock: Callable[[], datetime] = session.info.get("clock", utcnow)
    return clock()


# Stable constraint names, so migrations can name what they change.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class Base(DeclarativeBase):
    metadata = metadata


class Storefront(Base):
    """Per-storefront switches the daemon sets itself (a fatal error pauses one)."""

    __tablename__ = "storefronts"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    paused_reason: Mapped[str] = mapped_column(Text, default="", nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("storefront", "cart_order_id"),
        Index("ix_orders_work", "state", "storefront", "state_changed_at"),
        # Few rows have a failure on record: finding them (to clear a settled one's flag)
        # must not scan a storefront's whole history.
        Index("ix_orders_failing", "storefront", "first_failed_at"),
        # `bridge orders show <reference>` looks a reference up without a storefront:
        # the unique key above starts with the storefront, so it cannot serve these.
        Index("ix_orders_number", "number"),
        Index("ix_orders_cart_order_id", "cart_order_id"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    storefront: Mapped[str] = mapped_column(String(40), nullable=False)
    cart_order_id: Mapped[str] = mapped_column(String(255), nullable=False)
    number: Mapped[str] = mapped_column(String(255), nullable=False)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    state: Mapped[str] = mapped_column(String(32), nullable=False)
    seller_fulfillment_order_id: Mapped[str | None] = mapped_column(
        String(40), unique=True, nullable=True
    )
    # The createFulfillmentOrder body, saved before the call so a retry sends the same.
    request: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    amazon_status: Mapped[str] = mapped_column(String(32), default="", nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    attention_reason: Mapped[str] = mapped_column(String(64), default="", nullable=False)
    last_error: Mapped[str] = mapped_column(Text, default="", nullable=False)
    cart_updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )
    state_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The first of the passing failures (throttled, 5xx, no connection) of the submission
    # under way; cleared once Amazon accepts it or it leaves the submit flow.
    first_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Set while those failures are over the retry budget: retries go on, but a person
    # is told. `stalled_reason` is the latest error.
    stalled_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    stalled_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # A person's word on holds (bridge.services.holds): {"approved": [hold reasons],
    # "held_by": who held it by hand}. NULL: none given.
    hold_decisions: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # The marketplace whose network ships it and whose stock its units are held from
    # ("": the storefront's home marketplace), chosen by the routing when it is mapped.
    # The database default lets a bridge of the previous release, still running during
    # an upgrade, go on recording orders.
    marketplace_id: Mapped[str] = mapped_column(String(20), default="", server_default="",
                                                nullable=False)


class OrderLine(Base):
    """Items bridge will ask Amazon to ship (or would, for a held order), with the seller
    SKU they map to: a kit's cart line has one row per component. Used to reserve stock
    for orders Amazon does not hold yet, and to map shipped items back to cart lines."""

    __tablename__ = "order_lines"
    __table_args__ = (UniqueConstraint("order_id", "line_id", "seller_sku"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), nullable=False)
    line_id: Mapped[str] = mapped_column(String(255), nullable=False)
    cart_sku: Mapped[str] = mapped_column(String(255), nullable=False)
    seller_sku: Mapped[str] = mapped_column(String(255), nullable=False, index=True)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    # Amazon's sellerFulfillmentOrderItemId; empty on rows recorded before kits existed.
    item_id: Mapped[str] = mapped_column(String(50), default="", nullable=False)
    # Units of this seller SKU per unit of the cart SKU (1 unless a kit).
    kit_units: Mapped[int] = mapped_column(Integer, default=1, nullable=False)


class Package(Base):
    """One package Amazon shipped, and whether its tracking is in the cart yet."""

    __tablename__ = "packages"
    __table_args__ = (
        UniqueConstraint("order_id", "package_number"),
        # Few packages wait for their tracking; every tracking, status and sweep round
        # looks for them, which without this would read every package ever shipped.
        Index("ix_packages_unpushed", "order_id", postgresql_where=text("pushed_at IS NULL"),
              sqlite_where=text("pushed_at IS NULL")),
        # The delivery flow starts following packages whose tracking went in lately.
        # Partial, so it never competes with ix_packages_unpushed for `IS NULL` reads.
        Index("ix_packages_pushed_at", "pushed_at", postgresql_where=text("pushed_at IS NOT NULL"),
              sqlite_where=text("pushed_at IS NOT NULL")),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), nullable=False)
    amazon_shipment_id: Mapped[str] = mapped_column(String(64), nullable=False)
    package_number: Mapped[int] = mapped_column(Integer, nullable=False)
    carrier: Mapped[str] = mapped_column(String(128), nullable=False)
    tracking_number: Mapped[str] = mapped_column(String(128), nullable=False)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lines: Mapped[list[Any]] = mapped_column(JSON, nullable=False)
    pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Why the cart refused this package's tracking; set, it is not tried again until a
    # person retries the order.
    push_error: Mapped[str] = mapped_column(Text, default="", nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class ShopCancel(Base):
    """Amazon will not ship some or all of an order, and the shop must hear of it: the
    cancel to ask of the shop (whole order, or `lines`) and the note that names what
    shipped and what did not. Recorded in the transaction that applies Amazon's status
    and written to the shop after it commits, so a shop outage or a crash in between
    delays the write but never loses it; `done_at` once the shop has both."""

    __tablename__ = "shop_cancels"
    __table_args__ = (
        # Few wait at any time; every retry round and sweep looks for them.
        Index("ix_shop_cancels_pending", "storefront", "next_try_at",
              postgresql_where=text("done_at IS NULL"), sqlite_where=text("done_at IS NULL")),
        # Deleting an archived order cascades here.
        Index("ix_shop_cancels_order", "order_id"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), nullable=False)
    storefront: Mapped[str] = mapped_column(String(40), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    # [{line_id, sku, quantity}] not shipped; NULL cancels the whole order.
    lines: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    notify_customer: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    note: Mapped[str] = mapped_column(Text, default="", nullable=False)
    # The shop's answer once asked: True cancelled now, False left open or already so.
    cancelled_in_shop: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    last_error: Mapped[str] = mapped_column(Text, default="", nullable=False)
    next_try_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Return(Base):
    """A customer return bridge asked Amazon for, from the request to the units back.
    `state`: requested (saved before createFulfillmentReturn; resent with the same item
    ids until its outcome is known), authorized, refused (Amazon took no unit),
    received (every unit Processed and the shop told). `authorizations` holds Amazon's
    return authorizations by id: RMA id, label URL (rmaPageURL), center and address."""

    __tablename__ = "returns"
    __table_args__ = (
        UniqueConstraint("order_id", "sequence"),
        Index("ix_returns_open", "storefront", "state"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    storefront: Mapped[str] = mapped_column(String(40), nullable=False)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), nullable=False)
    # The order's n-th return: part of every sellerReturnItemId of this return.
    sequence: Mapped[int] = mapped_column(Integer, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    reason_code: Mapped[str] = mapped_column(String(64), nullable=False)
    reason: Mapped[str] = mapped_column(Text, default="", nullable=False)
    comment: Mapped[str] = mapped_column(Text, default="", nullable=False)
    authorizations: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    last_error: Mapped[str] = mapped_column(Text, default="", nullable=False)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )


class ReturnItem(Base):
    """One unit of a return (Amazon takes returns unit by unit) and where it stands:
    `status` "" until Amazon answered, then New or Processed, or "invalid" with
    Amazon's InvalidItemReasonCode in `invalid_code`. The shop is told per
    authorization: `authorized_written_at` / `received_written_at` are stamped on all
    of its units at once."""

    __tablename__ = "return_items"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    return_id: Mapped[int] = mapped_column(
        ForeignKey("returns.id", ondelete="CASCADE"), nullable=False, index=True
    )
    # Deterministic, so a resent request names the same units (Amazon: DuplicateRequest).
    seller_return_item_id: Mapped[str] = mapped_column(String(80), unique=True, nullable=False)
    line_id: Mapped[str] = mapped_column(String(255), nullable=False)
    cart_sku: Mapped[str] = mapped_column(String(255), nullable=False)
    seller_sku: Mapped[str] = mapped_column(String(255), nullable=False)
    item_id: Mapped[str] = mapped_column(String(50), nullable=False)
    amazon_shipment_id: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[str] = mapped_column(String(16), default="", nullable=False)
    condition: Mapped[str] = mapped_column(String(32), default="", nullable=False)
    authorization_id: Mapped[str] = mapped_column(String(64), default="", nullable=False)
    invalid_code: Mapped[str] = mapped_column(String(32), default="", nullable=False)
    invalid_reason: Mapped[str] = mapped_column(Text, default="", nullable=False)
    authorized_written_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    received_written_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PackageDelivery(Base):
    """Where a shipped package ended up, followed at Amazon from the time its tracking
    is in the shop until a final milestone (or until bridge gives up: `gave_up_at`).
    `next_poll_at` NULL: no longer followed. `pushed_at`: the milestone is in the shop."""

    __tablename__ = "package_deliveries"
    __table_args__ = (
        # Only packages still followed are in it: each run reads its due ones.
        Index("ix_package_deliveries_due", "storefront", "next_poll_at",
              postgresql_where=text("next_poll_at IS NOT NULL"),
              sqlite_where=text("next_poll_at IS NOT NULL")),
        Index("ix_package_deliveries_unpushed", "storefront",
              postgresql_where=text("milestone <> '' AND pushed_at IS NULL"),
              sqlite_where=text("milestone <> '' AND pushed_at IS NULL")),
    )
    package_id: Mapped[int] = mapped_column(
        ForeignKey("packages.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    storefront: Mapped[str] = mapped_column(String(40), nullable=False)
    # Amazon's CurrentStatus as last read ("" before the first read).
    amazon_status: Mapped[str] = mapped_column(String(32), default="", nullable=False)
    # The final milestone (bridge.carts.contract.Milestone), "" while on the way.
    milestone: Mapped[str] = mapped_column(String(32), default="", nullable=False)
    happened_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    detail: Mapped[str] = mapped_column(Text, default="", nullable=False)
    estimated_arrival: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    polls: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="", nullable=False)
    pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Why the shop refused the milestone; set, it is not offered again.
    push_error: Mapped[str] = mapped_column(Text, default="", nullable=False)
    gave_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class Lease(Base):
    """A time-limited claim on one flow of one storefront, so only one worker runs it
    at a time (a crashed holder's lease simply runs out)."""

    __tablename__ = "leases"
    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64), default="", nullable=False)
    until: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class StockLevel(Base):
    """Amazon's units per seller SKU as bridge last read them (what the shop shows is
    kept per shop SKU in `ShopStock`)."""

    __tablename__ = "stock_levels"
    storefront: Mapped[str] = mapped_column(String(40), primary_key=True)
    # Amazon keeps inventory per marketplace: "" is the storefront's home marketplace,
    # any other is a marketplace its routing sends orders to.
    marketplace_id: Mapped[str] = mapped_column(String(20), primary_key=True, default="",
                                                server_default="")
    seller_sku: Mapped[str] = mapped_column(String(255), primary_key=True)
    fulfillable: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    amazon_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # When bridge read `fulfillable` (bridge's clock): orders accepted after this moment
    # are not yet reflected in it.
    read_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    # Amazon's other counts, for the drift report: on the way in, and held back.
    inbound: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    reserved: Mapped[int] = mapped_column(Integer, default=0, nullable=False)


class ShopStock(Base):
    """What bridge last saw and wanted for one shop SKU: the shop, not this row, is the
    truth; the row says when it was last checked and whether it agreed."""

    __tablename__ = "shop_stock"
    storefront: Mapped[str] = mapped_column(String(40), primary_key=True)
    cart_sku: Mapped[str] = mapped_column(String(255), primary_key=True)
    target: Mapped[int] = mapped_column(Integer, nullable=False)
    # The shop's quantity as last read (None: the shop does not have the SKU).
    shop_quantity: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # What bridge last wrote, to tell a change in the shop from a change in the target.
    written_quantity: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Basis of the last target, to name the source of the next correction.
    fulfillable_basis: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    open_units_basis: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    corrected_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Why the last correction did not land (refused by the shop, still stale), or "".
    problem: Mapped[str] = mapped_column(Text, default="", nullable=False)


class StockCorrection(Base):
    """The inventory ledger: every quantity bridge changed in the shop, from what to what,
    and why (`source`: amazon, order, cancellation, shop, config)."""

    __tablename__ = "stock_corrections"
    __table_args__ = (Index("ix_stock_corrections_sku", "storefront", "cart_sku", "id"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    storefront: Mapped[str] = mapped_column(String(40), nullable=False)
    cart_sku: Mapped[str] = mapped_column(String(255), nullable=False)
    before: Mapped[int | None] = mapped_column(Integer, nullable=True)
    after: Mapped[int] = mapped_column(Integer, nullable=False)
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    detail: Mapped[str] = mapped_column(Text, default="", nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class Cursor(Base):
    """How far a flow has read a source, per storefront. Committed with the rows it covers."""

    __tablename__ = "cursors"
    storefront: Mapped[str] = mapped_column(String(40), primary_key=True)
    flow: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    last_run_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class InboundPlan(Base):
    """One inbound plan and how far bridge has taken it. `step` is the recovery point:
    a resumed plan continues from here and reads Amazon back before repeating a call."""

    __tablename__ = "inbound_plans"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    storefront: Mapped[str] = mapped_column(String(40), nullable=False)
    # Chosen by bridge and saved before createInboundPlan, so a lost answer can be found
    # again by name.
    name: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    inbound_plan_id: Mapped[str | None] = mapped_column(String(38), unique=True, nullable=True)
    step: Mapped[str] = mapped_column(String(40), nullable=False)
    status: Mapped[str] = mapped_column(String(20), default="open", nullable=False)
    items: Mapped[list[Any]] = mapped_column(JSON, nullable=False)
    boxes: Mapped[list[Any]] = mapped_column(JSON, nullable=False)
    source_address: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    choices: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    # The 202 operation in flight: its name and Amazon's operationId.
    pending_operation: Mapped[str] = mapped_column(String(96), default="", nullable=False)
    pending_operation_id: Mapped[str] = mapped_column(String(38), default="", nullable=False)
    packing_option_id: Mapped[str] = mapped_column(String(38), default="", nullable=False)
    placement_option_id: Mapped[str] = mapped_column(String(38), default="", nullable=False)
    labels_path: Mapped[str] = mapped_column(Text, default="", nullable=False)
    last_error: Mapped[str] = mapped_column(Text, default="", nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )


class InboundShipment(Base):
    """A shipment Amazon made of a plan, followed until its units are received."""

    __tablename__ = "inbound_shipments"
    __table_args__ = (UniqueConstraint("plan_id", "shipment_id"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    plan_id: Mapped[int] = mapped_column(
        ForeignKey("inbound_plans.id", ondelete="CASCADE"), nullable=False
    )
    shipment_id: Mapped[str] = mapped_column(String(38), nullable=False)
    confirmation_id: Mapped[str] = mapped_column(String(64), default="", nullable=False)
    status: Mapped[str] = mapped_column(String(32), default="", nullable=False)
    destination: Mapped[str] = mapped_column(String(64), default="", nullable=False)
    # msku → {"expected": n, "received": n}
    items: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    transportation_option_id: Mapped[str] = mapped_column(String(38), default="", nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )


class Event(Base):
    """Every state change and notable step, for audit and `bridge orders show`."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_order", "order_id", "id"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    storefront: Mapped[str] = mapped_column(String(40), nullable=False)
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), nullable=True
    )
    inbound_plan_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbound_plans.id", ondelete="CASCADE"), nullable=True
    )
    kind: Mapped[str] = mapped_column(String(48), nullable=False)
    from_state: Mapped[str] = mapped_column(String(32), default="", nullable=False)
    to_state: Mapped[str] = mapped_column(String(32), default="", nullable=False)
    message: Mapped[str] = mapped_column(Text, default="", nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, nullable=False
    )


class Flag(Base):
    """Something the watchdog found stuck (an order Amazon has not shipped in time,
    tracking not in the shop, a storefront not polled, a hold about to run out), from
    the sweep that raised it to the one that found the condition gone."""

    __tablename__ = "flags"
    # One open flag per (storefront, kind, subject): `open_key` names the subject while
    # the flag is open and is NULL once cleared, and NULLs never collide in a unique key.
    __table_args__ = (
        UniqueConstraint("storefront", "kind", "open_key"),
        # Deleting an archived order cascades here: without it, one scan of flags per order.
        Index("ix_flags_order", "order_id"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    storefront: Mapped[str] = mapped_column(String(40), nullable=False)
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), nullable=True
    )
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    message: Mapped[str] = mapped_column(Text, default="", nullable=False)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # When the shop was told (flags about an order), so it is told once.
    noted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    open_key: Mapped[str | None] = mapped_column(String(32), nullable=True)


class FlowHealth(Base):
    """How each flow of a storefront last fared against its remotes (the shop, Amazon):
    when it last went through, and since when and why it has been failing, so a
    storefront whose remote keeps failing is shown as degraded with the reason."""

    __tablename__ = "flow_health"
    storefront: Mapped[str] = mapped_column(String(40), primary_key=True)
    flow: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Consecutive failed runs; 0 once a run goes through.
    failures: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="", nullable=False)


class Schedule(Base):
    """When each storefront's periodic flow is next due. One tick claims the due rows
    (moving each to its next due time in the same statement) and fans them out, so the
    schedule scales with the rows due, not with one timer per storefront and flow."""

    __tablename__ = "schedule"
    __table_args__ = (Index("ix_schedule_due", "next_due_at"),)
    storefront: Mapped[str] = mapped_column(String(40), primary_key=True)
    flow: Mapped[str] = mapped_column(String(32), primary_key=True)
    # The type comes from the annotation (float → FLOAT).
    interval_seconds: Mapped[float] = mapped_column(nullable=False)
    next_due_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class ArchivedOrder(Base):
    """A finished order moved out of the live tables (`bridge orders archive`): its row,
    lines, packages, events and flags as one JSON record, with the keys it is found by.
    Ingest consults it, so an archived order the cart shows again is never recorded anew."""

    __tablename__ = "archived_orders"
    __table_args__ = (
        UniqueConstraint("storefront", "cart_order_id"),
        Index("ix_archived_orders_number", "number"),
        Index("ix_archived_orders_cart_order_id", "cart_order_id"),
        Index("ix_archived_orders_sfo_id", "seller_fulfillment_order_id"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    storefront: Mapped[str] = mapped_column(String(40), nullable=False)
    cart_order_id: Mapped[str] = mapped_column(String(255), nullable=False)
    number: Mapped[str] = mapped_column(String(255), nullable=False)
    seller_fulfillment_order_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    state: Mapped[str] = mapped_column(String(32), nullable=False)
    # The order's last state change: when it finished.
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    archived_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    record: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)


class CallStat(Base):
    """Calls per minute, summed over every process that made them: SP-API requests by
    operation (`kind` "spapi"), and flow runs by flow ("flow"). Each process counts in
    memory and adds its counts here at most once a minute; rows older than the
    retention (bridge.ledger.call_stats) are deleted by the same flush."""

    __tablename__ = "call_stats"
    minute: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    calls: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    # Of the calls: answered 429 (SP-API only), and failed otherwise (for flows, failed runs).
    throttled: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    errors: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    # Time spent in the calls, summed (the type comes from the annotation: DOUBLE).
    seconds: Mapped[float] = mapped_column(default=0.0, nullable=False)


class CallTotal(Base):
    """The same counts since the ledger began, never pruned: what /metrics serves as
    Prometheus counters (a counter must not drop when old minutes are deleted)."""

    __tablename__ = "call_totals"
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    calls: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    throttled: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    errors: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    seconds: Mapped[float] = mapped_column(default=0.0, nullable=False)


class WebhookDelivery(Base):
    """A platform's webhook delivery already acted on, by the platform's delivery id, so
    a retried or replayed delivery nudges nothing twice. Pruned after a day: platforms
    retry for hours, a replay older than the prune window is refused as stale first."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_received", "received_at"),)
    storefront: Mapped[str] = mapped_column(String(40), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    topic: Mapped[str] = mapped_column(String(64), default="", nullable=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
