"""Queries and writes on the ledger, each on a caller's Session so the caller decides
what commits together. State changes go through `transition`, which checks the state
machine and writes the event log in the same transaction."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from bridge.domain.model import CartOrder
from bridge.domain.states import AT_AMAZON_OPEN, NOT_YET_SUBMITTED, OrderState, check_transition
from bridge.errors import TransientError
from bridge.ledger.tables import (
    Cursor,
    Event,
    Flag,
    Lease,
    Order,
    OrderLine,
    ShopStock,
    StockCorrection,
    StockLevel,
    Storefront,
    utcnow,
)
from bridge.logging import get_logger

log = get_logger("bridge.ledger")


class Ledger:
    """Owns the session factory; `transaction()` commits on success, rolls back on error."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self.is_postgres = engine.dialect.name == "postgresql"

    @contextmanager
    def transaction(self):
        session = self._sessions()
        try:
            with session.begin():
                yield session
        finally:
            session.close()


# ---------------------------------------------------------------- orders

def find_order(session: Session, storefront: str, cart_order_id: str, *,
               lock: bool = False) -> Order | None:
    """With `lock`, the row is locked for this transaction (Postgres), so a decision made
    on its state cannot be overwritten by, or overwrite, another worker's change."""
    query = select(Order).where(Order.storefront == storefront, Order.cart_order_id == cart_order_id)
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def find_orders(session: Session, storefront: str, cart_order_ids: Sequence[str], *,
                lock: bool = False) -> dict[str, Order]:
    """The rows of several cart orders in one query (a page of a poll), locked like
    `find_order` does; locks are taken in id order so two callers cannot deadlock."""
    if not cart_order_ids:
        return {}
    query = (select(Order)
             .where(Order.storefront == storefront, Order.cart_order_id.in_(set(cart_order_ids)))
             .order_by(Order.id))
    if lock:
        query = query.with_for_update()
    return {row.cart_order_id: row for row in session.scalars(query)}


def get_order(session: Session, order_id: int, *, lock: bool = False) -> Order | None:
    query = select(Order).where(Order.id == order_id)
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def add_order(session: Session, storefront: str, order: CartOrder, state: OrderState) -> Order:
    row = Order(
        storefront=storefront,
        cart_order_id=order.order_id,
        number=order.number,
        snapshot=order.snapshot(),
        content_hash=order.content_hash(),
        state=state.value,
        cart_updated_at=order.updated_at,
    )
    session.add(row)
    session.flush()
    record_event(session, storefront, row.id, "recorded", to_state=state.value,
                 message=f"order {order.number} recorded from the cart")
    return row


def update_snapshot(row: Order, order: CartOrder) -> None:
    row.snapshot = order.snapshot()
    row.content_hash = order.content_hash()
    row.number = order.number
    row.cart_updated_at = order.updated_at


def transition(
    session: Session,
    row: Order,
    target: OrderState,
    kind: str,
    message: str = "",
    *,
    reason: str = "",
) -> None:
    """Move `row` to `target`, logging the change. `reason` is kept for needs_attention."""
    current = row.state
    check_transition(current, target.value)
    now = utcnow()
    row.state = target.value
    row.state_changed_at = now
    if target is OrderState.NEEDS_ATTENTION:
        row.attention_reason = reason or "unspecified"
        row.last_error = message
    elif target is not OrderState.NEEDS_ATTENTION and current == OrderState.NEEDS_ATTENTION:
        row.attention_reason = ""
    record_event(session, row.storefront, row.id, kind, current, target.value, message)


def claim_orders(
    ledger: Ledger,
    session: Session,
    storefront: str,
    states: Iterable[OrderState],
    limit: int,
    *,
    older_than: datetime | None = None,
) -> list[Order]:
    """Rows in `states`, locked for this transaction. On Postgres, rows another worker
    holds are skipped; on SQLite the write transaction already serialises workers."""
    query = (
        select(Order)
        .where(Order.storefront == storefront, Order.state.in_([s.value for s in states]))
        .order_by(Order.state_changed_at, Order.id)
        .limit(limit)
    )
    if older_than is not None:
        query = query.where(Order.state_changed_at < older_than)
    if ledger.is_postgres:
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def replace_lines(session: Session, row: Order, lines: Sequence) -> None:
    session.query(OrderLine).filter(OrderLine.order_id == row.id).delete()
    for line in lines:
        session.add(
            OrderLine(
                order_id=row.id,
                line_id=line.line_id,
                cart_sku=line.cart_sku,
                seller_sku=line.seller_sku,
                quantity=line.quantity,
                item_id=getattr(line, "item_id", ""),
                kit_units=getattr(line, "kit_units", 1),
            )
        )


def units_not_yet_at_amazon(session: Session, storefront: str) -> dict[str, int]:
    """Seller SKU → units of orders bridge knows but Amazon does not hold yet (waiting,
    in flight, or held before Amazon ever accepted them): the shop already took those
    units and Amazon's fulfillable count still includes them, so they are not for sale."""
    held_before_amazon = (Order.state == OrderState.NEEDS_ATTENTION.value) & Order.accepted_at.is_(None)
    rows = session.execute(
        select(OrderLine.seller_sku, func.sum(OrderLine.quantity))
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            Order.storefront == storefront,
            Order.state.in_([s.value for s in NOT_YET_SUBMITTED]) | held_before_amazon,
        )
        .group_by(OrderLine.seller_sku)
    )
    return {sku: int(units or 0) for sku, units in rows}


def units_accepted_after_read(session: Session, storefront: str) -> dict[str, int]:
    """Seller SKU → units of orders Amazon accepted after bridge last read that SKU's
    stock: Amazon has reserved them, but the fulfillable count bridge holds predates it."""
    rows = session.execute(
        select(OrderLine.seller_sku, func.sum(OrderLine.quantity))
        .join(Order, Order.id == OrderLine.order_id)
        .join(StockLevel, (StockLevel.storefront == Order.storefront)
              & (StockLevel.seller_sku == OrderLine.seller_sku))
        .where(
            Order.storefront == storefront,
            Order.accepted_at.is_not(None),
            Order.accepted_at > StockLevel.read_at,
            Order.state.in_([state.value for state in AT_AMAZON_OPEN]),
        )
        .group_by(OrderLine.seller_sku)
    )
    return {sku: int(units or 0) for sku, units in rows}


def counts_by_state(session: Session, storefront: str) -> dict[str, int]:
    rows = session.execute(
        select(Order.state, func.count()).where(Order.storefront == storefront).group_by(Order.state)
    )
    return {state: count for state, count in rows}


def has_orders(session: Session, storefront: str, states: Iterable[OrderState]) -> bool:
    return session.scalar(
        select(Order.id).where(Order.storefront == storefront,
                               Order.state.in_([s.value for s in states])).limit(1)
    ) is not None


def mark_stalled(session: Session, row: Order, now: datetime, reason: str, why: str) -> None:
    row.stalled_since, row.stalled_reason = now, reason
    record_event(session, row.storefront, row.id, "stalled",
                 message=f"stalled ({why}): {reason}; retries go on")


def clear_stall(session: Session, row: Order, why: str) -> None:
    """Forget the failures of a submission that is over, and end its stall if any."""
    if row.stalled_since is not None:
        record_event(session, row.storefront, row.id, "stall_cleared",
                     message=f"no longer stalled: {why}")
    row.first_failed_at = row.stalled_since = row.stalled_reason = None


def clear_settled_failures(session: Session, storefront: str,
                           pending: Iterable[OrderState]) -> int:
    """Rows with failures on record that are no longer `pending` submission (cancelled
    by a poll, held for a person, …) lose them; returns how many did."""
    rows = session.scalars(
        select(Order).where(Order.storefront == storefront, Order.first_failed_at.is_not(None),
                            Order.state.not_in([s.value for s in pending]))
    )
    count = 0
    for row in rows:
        clear_stall(session, row, f"the order is {row.state}")
        count += 1
    return count


def stalled_orders(session: Session, storefront: str, pending: Iterable[OrderState],
                   limit: int = 50) -> list[Order]:
    """Stalled rows still waiting to be submitted, longest-stalled first."""
    return list(session.scalars(
        select(Order)
        .where(Order.storefront == storefront, Order.stalled_since.is_not(None),
               Order.state.in_([s.value for s in pending]))
        .order_by(Order.stalled_since, Order.id)
        .limit(limit)
    ))


# ---------------------------------------------------------------- events

def record_event(
    session: Session,
    storefront: str,
    order_id: int | None,
    kind: str,
    from_state: str = "",
    to_state: str = "",
    message: str = "",
    *,
    inbound_plan_id: int | None = None,
) -> None:
    session.add(
        Event(
            storefront=storefront,
            order_id=order_id,
            inbound_plan_id=inbound_plan_id,
            kind=kind,
            from_state=from_state,
            to_state=to_state,
            message=message,
        )
    )


def has_event(session: Session, order_id: int, kind: str, message: str) -> bool:
    return session.scalar(
        select(Event.id).where(Event.order_id == order_id, Event.kind == kind,
                               Event.message == message).limit(1)
    ) is not None


# ---------------------------------------------------------------- cursors

def get_cursor(session: Session, storefront: str, flow: str) -> Cursor | None:
    return session.get(Cursor, (storefront, flow))


def set_cursor(session: Session, storefront: str, flow: str, position: datetime) -> None:
    cursor = session.get(Cursor, (storefront, flow))
    now = utcnow()
    if cursor is None:
        session.add(Cursor(storefront=storefront, flow=flow, position=position, last_run_at=now))
    else:
        # Never backwards: a slow run finishing after a faster one must not rewind.
        if position > cursor.position:
            cursor.position = position
        cursor.last_run_at = now


# ---------------------------------------------------------------- leases
#
# A lease is a row (name, holder, until) in the ledger. It lives LEASE_SECONDS and a
# heartbeat thread renews it every third of that while the work runs, so a holder that
# dies (kill -9, a lost host) frees it within one short lifetime, while a slow but live
# holder keeps it as long as it needs. Why a row and not PostgreSQL's session advisory
# locks (which die with the connection): one mechanism for SQLite and PostgreSQL, no
# connection pinned for the length of a poll (nor a pooler that must keep sessions), a
# dead host is noticed in seconds rather than after TCP keepalives, and a holder can be
# fenced: `HeldLease.confirm` renews the row inside the caller's own transaction, so work
# whose lease was lost cannot commit. Holder ids name the host and process (see
# `holder_id`), so a process on the same host takes a lease from a holder it can see is
# dead at once, without waiting for the lifetime to run out.

LEASE_SECONDS = 10.0


class LeaseLost(TransientError):
    """The lease ran out or another holder took it: the work must stop committing."""


def _read(path: str) -> str:
    try:
        with open(path) as file:
            return file.read().strip()
    except OSError:
        return ""


def _node() -> str:
    """This host as processes see it: hostname, boot and pid namespace (two containers
    on one host have different pid namespaces, and so different nodes)."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = ""
    seed = "|".join((socket.gethostname(), _read("/proc/sys/kernel/random/boot_id"), namespace))
    return hashlib.sha1(seed.encode()).hexdigest()[:8]


def _process_start(pid: int) -> str:
    """The process's start time in clock ticks ("" if unknown or a zombie): a pid
    reused by a new process has another start time."""
    stat = _read(f"/proc/{pid}/stat")
    if not stat:
        return ""
    fields = stat.rsplit(")", 1)[-1].split()
    return "" if fields[0] in ("Z", "X") else fields[19]


_NODE = _node()


def holder_id() -> str:
    """`host/node:pid:start:nonce` – unique per call, and naming the process that holds."""
    pid = os.getpid()
    host = socket.gethostname().split(".")[0][:16].replace(":", "-")
    return f"{host}/{_NODE}:{pid}:{_process_start(pid) or 0}:{uuid.uuid4().hex[:8]}"


def holder_is_dead(holder: str) -> bool:
    """True only when the holder ran on this node and its process is gone; a holder
    elsewhere (or one we cannot tell) is left to its lease's lifetime."""
    parts = holder.rsplit(":", 3)
    if len(parts) != 4 or not parts[0].endswith(f"/{_NODE}") or parts[2] in ("", "0"):
        return False
    try:
        pid = int(parts[1])
    except ValueError:
        return False
    return pid != os.getpid() and _process_start(pid) != parts[2]


def _upsert_lease_row(session: Session, name: str, now: datetime) -> None:
    dialect = session.get_bind().dialect.name
    insert = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}[dialect]
    session.execute(insert(Lease).values(name=name, holder="", until=now)
                    .on_conflict_do_nothing(index_elements=["name"]))


def _take(session: Session, name: str, holder: str, until: datetime, condition) -> bool:
    taken = session.execute(update(Lease).where(Lease.name == name, condition)
                            .values(holder=holder, until=until))
    return taken.rowcount == 1


def acquire_lease(ledger: Ledger, name: str, holder: str, seconds: float, *,
                  now: datetime | None = None) -> bool:
    """Take or renew the lease `name` for `seconds` unless another holder has an
    unexpired one whose process is not known to be dead."""
    now = now or utcnow()
    until = now + timedelta(seconds=seconds)
    with ledger.transaction() as session:
        _upsert_lease_row(session, name, now)
        if _take(session, name, holder, until, (Lease.until <= now) | (Lease.holder == holder)):
            return True
        current = session.scalar(select(Lease.holder).where(Lease.name == name))
        if current and holder_is_dead(current) and _take(session, name, holder, until,
                                                         Lease.holder == current):
            log.info("lease_taken_from_dead_holder", lease=name, dead_holder=current)
            return True
        return False


def renew_lease(session: Session, name: str, holder: str, until: datetime) -> bool:
    """Extend a lease this holder still has (even past its time, if nobody took it)."""
    return _take(session, name, holder, until, Lease.holder == holder)


def release_lease(ledger: Ledger, name: str, holder: str) -> None:
    with ledger.transaction() as session:
        session.execute(update(Lease).where(Lease.name == name, Lease.holder == holder)
                        .values(holder="", until=utcnow()))


class HeldLease:
    """A lease held for a block of work, renewed by a daemon thread every `every`
    seconds. `lost` turns true when a renewal finds the lease gone (or none succeeded
    within the lifetime); `check()` and `confirm(session)` then raise `LeaseLost`."""

    def __init__(self, ledger: Ledger, name: str, holder: str, seconds: float,
                 clock: Callable[[], datetime] = utcnow, every: float | None = None) -> None:
        self.ledger, self.name, self.holder, self.seconds = ledger, name, holder, seconds
        self.clock = clock
        self.every = seconds / 3 if every is None else every
        self.owner = threading.get_ident()
        self.expires = clock() + timedelta(seconds=seconds)
        self._lost = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __bool__(self) -> bool:
        return True

    @property
    def lost(self) -> bool:
        return self._lost.is_set()

    def check(self) -> None:
        if self.lost:
            raise LeaseLost(f"lease {self.name} lost")

    def confirm(self, session: Session) -> None:
        """Fence a transaction: renew in it, so it commits only while the lease is ours."""
        self.check()
        until = self.clock() + timedelta(seconds=self.seconds)
        if not renew_lease(session, self.name, self.holder, until):
            self.mark_lost("taken by another holder")
            self.check()
        self.expires = until

    def beat(self) -> None:
        """One renewal; a ledger error is retried at the next beat until the lifetime
        has run out, after which another holder may have taken it."""
        now = self.clock()
        try:
            with self.ledger.transaction() as session:
                renewed = renew_lease(session, self.name, self.holder,
                                      now + timedelta(seconds=self.seconds))
        except Exception as exc:  # a ledger blip must not kill the heartbeat
            log.warning("lease_renewal_failed", lease=self.name, error=str(exc))
            if now >= self.expires:
                self.mark_lost("not renewed within its lifetime")
            return
        if renewed:
            self.expires = now + timedelta(seconds=self.seconds)
        else:
            self.mark_lost("taken by another holder")

    def mark_lost(self, why: str) -> None:
        if not self.lost:
            log.warning("lease_lost", lease=self.name, holder=self.holder, why=why)
        self._lost.set()
        self._stop.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"lease:{self.name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.beat()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def release(self) -> None:
        self.stop()
        try:
            release_lease(self.ledger, self.name, self.holder)
        except Exception as exc:  # it lapses by itself within its lifetime
            log.warning("lease_release_failed", lease=self.name, error=str(exc))


# Every lease this process holds, so a time limit can abandon a thread's leases and a
# graceful stop can release them all.
_held: set[HeldLease] = set()
_held_lock = threading.Lock()


def abandon_leases(thread_id: int) -> None:
    """The work on `thread_id` is given up (past its time limit): its leases are marked
    lost (it commits nothing more under them) and released, so others take over now."""
    with _held_lock:
        leases = [held for held in _held if held.owner == thread_id]
    for held in leases:
        held.mark_lost("its work was abandoned")
        held.release()


def release_all_leases() -> None:
    """On a graceful stop: hand back everything this process holds."""
    with _held_lock:
        leases = list(_held)
    for held in leases:
        held.mark_lost("the process is stopping")
        held.release()


@contextmanager
def lease(ledger: Ledger, name: str, seconds: float = LEASE_SECONDS, *,
          clock: Callable[[], datetime] = utcnow, every: float | None = None):
    """Yields a `HeldLease` (truthy) when this caller holds the lease for the block, kept
    alive by its heartbeat; a falsy value when another does (the caller then skips its
    run: one is already doing the work)."""
    held = HeldLease(ledger, name, holder_id(), seconds, clock, every)
    if not acquire_lease(ledger, name, held.holder, seconds, now=clock()):
        yield None
        return
    with _held_lock:
        _held.add(held)
    held.start()
    try:
        yield held
    finally:
        with _held_lock:
            _held.discard(held)
        if not held.lost:
            held.release()
        held.stop()


# ---------------------------------------------------------------- storefront switches

def lock_storefront(session: Session, name: str) -> Storefront:
    """Serialise one flow's writes per storefront for the rest of this transaction
    (two workers ingesting the same storefront would otherwise race on new rows)."""
    dialect = session.get_bind().dialect.name
    insert = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}[dialect]
    # Create the row if missing without racing another worker doing the same.
    session.execute(
        insert(Storefront)
        .values(name=name, paused=False, paused_reason="", updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=["name"])
    )
    return session.scalar(select(Storefront).where(Storefront.name == name).with_for_update())


def is_paused(session: Session, name: str) -> str | None:
    row = session.get(Storefront, name)
    return row.paused_reason if row is not None and row.paused else None


def pause_storefront(session: Session, name: str, reason: str) -> None:
    row = lock_storefront(session, name)
    row.paused, row.paused_reason, row.updated_at = True, reason, utcnow()
    record_event(session, name, None, "storefront_paused", message=reason)


def resume_storefront(session: Session, name: str) -> None:
    row = lock_storefront(session, name)
    row.paused, row.paused_reason, row.updated_at = False, "", utcnow()
    record_event(session, name, None, "storefront_resumed")


# ---------------------------------------------------------------- stock


def stock_levels(session: Session, storefront: str) -> dict[str, StockLevel]:
    rows = session.scalars(select(StockLevel).where(StockLevel.storefront == storefront))
    return {row.seller_sku: row for row in rows}


# ---------------------------------------------------------------- the shop's stock

def shop_stock(session: Session, storefront: str,
               cart_skus: Iterable[str] | None = None) -> dict[str, ShopStock]:
    query = select(ShopStock).where(ShopStock.storefront == storefront)
    if cart_skus is not None:
        query = query.where(ShopStock.cart_sku.in_(set(cart_skus)))
    return {row.cart_sku: row for row in session.scalars(query)}


def record_stock_correction(session: Session, storefront: str, cart_sku: str,
                            before: int | None, after: int, source: str, detail: str) -> None:
    session.add(StockCorrection(storefront=storefront, cart_sku=cart_sku, before=before,
                                after=after, source=source, detail=detail))


def stock_corrections(session: Session, storefront: str, cart_sku: str | None = None,
                      limit: int = 100) -> list[StockCorrection]:
    query = select(StockCorrection).where(StockCorrection.storefront == storefront)
    if cart_sku is not None:
        query = query.where(StockCorrection.cart_sku == cart_sku)
    return list(session.scalars(query.order_by(StockCorrection.id.desc()).limit(limit)))


def drifted_sku_count(session: Session, storefront: str) -> int:
    """Shop SKUs whose quantity, when last checked, was not what bridge wants there
    (a correction that did not land, or one not made yet)."""
    return session.scalar(
        select(func.count()).select_from(ShopStock).where(
            ShopStock.storefront == storefront,
            ShopStock.shop_quantity.is_not(None),
            ShopStock.shop_quantity != ShopStock.target,
        )
    ) or 0


# ---------------------------------------------------------------- flags

def open_flags(session: Session, storefront: str | None = None) -> list[Flag]:
    query = select(Flag).where(Flag.cleared_at.is_(None)).order_by(Flag.storefront, Flag.id)
    if storefront is not None:
        query = query.where(Flag.storefront == storefront)
    return list(session.scalars(query))


def raise_flag(session: Session, storefront: str, order_id: int | None, kind: str,
               message: str, now: datetime) -> bool:
    """Open a flag unless one is open for the same subject; True when this call opened it
    (two sweeps racing open it once: the unique key decides)."""
    dialect = session.get_bind().dialect.name
    insert = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}[dialect]
    opened = session.execute(
        insert(Flag)
        .values(storefront=storefront, order_id=order_id, kind=kind, message=message,
                raised_at=now, open_key=str(order_id) if order_id is not None else "-")
        .on_conflict_do_nothing()
        .returning(Flag.id)  # no row when one was open already (rowcount is not reliable)
    )
    return opened.scalar() is not None


def clear_flag(session: Session, flag: Flag, now: datetime) -> None:
    flag.cleared_at, flag.open_key = now, None


def mark_flag_noted(session: Session, flag_id: int, now: datetime) -> None:
    session.execute(update(Flag).where(Flag.id == flag_id).values(noted_at=now))
