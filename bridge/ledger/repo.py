"""The ledger's repository: every query and write on a caller's Session, so the caller
decides what commits together. Each subject has its module (orders, packages, stock,
inbound, flags, health, cursors, storefronts, events); this module holds the leases and
names everything, so `repo.<name>` reaches all of it. State changes go through
`transition`, which checks the state machine and writes the event log in the same
transaction."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, exists, select, update
from sqlalchemy.orm import Session

from bridge.errors import TransientError
from bridge.ledger.cursors import get_cursor, set_cursor
from bridge.ledger.events import has_event, order_events, plan_events, record_event
from bridge.ledger.flags import (
    clear_flag,
    mark_flag_noted,
    open_flags,
    open_flags_with_numbers,
    raise_flag,
    unnoted_flags,
)
from bridge.ledger.orders import (
    accepted_before,
    add_order,
    add_orders,
    amazon_statuses_followed,
    claim_orders,
    clear_settled_failures,
    clear_stall,
    counts_by_state,
    existing_order,
    find_order,
    find_orders,
    followed_at_amazon,
    get_order,
    get_orders,
    has_orders,
    latest_orders,
    lock_by_fulfillment_id,
    mark_stalled,
    needing_attention,
    order_lines,
    orders_matching,
    possibly_held_since,
    quiet_at_amazon_count,
    replace_lines,
    shipped_with_all_tracking_written,
    stalled_orders,
    transition,
    unchanged_followed,
    update_snapshot,
)
from bridge.ledger.stock import (
    add_shop_stock,
    add_stock_level,
    drifted_sku_count,
    known_seller_skus,
    record_stock_correction,
    shop_stock,
    stock_corrections,
    stock_levels,
    units_accepted_after_read,
    units_not_yet_at_amazon,
    units_ordered_since,
)
from bridge.ledger.storefronts import is_paused, lock_storefront, pause_storefront, resume_storefront
from bridge.ledger.tables import Lease
from bridge.ledger.transactions import Ledger
from bridge.ledger.upsert import insert_for
from bridge.logging import get_logger

__all__ = [
    # the session factory
    "Ledger",
    # orders
    "accepted_before", "add_order", "add_orders", "amazon_statuses_followed", "claim_orders",
    "clear_settled_failures", "clear_stall", "counts_by_state", "existing_order", "find_order", "find_orders",
    "followed_at_amazon", "get_order", "get_orders", "has_orders", "latest_orders", "lock_by_fulfillment_id",
    "mark_stalled", "needing_attention", "order_lines", "orders_matching", "possibly_held_since",
    "quiet_at_amazon_count", "replace_lines", "shipped_with_all_tracking_written",
    "stalled_orders", "transition", "unchanged_followed", "update_snapshot",
    # events
    "has_event", "order_events", "plan_events", "record_event",
    # cursors and storefront switches
    "get_cursor", "set_cursor", "is_paused", "lock_storefront", "pause_storefront",
    "resume_storefront",
    # stock
    "add_shop_stock", "add_stock_level", "drifted_sku_count", "known_seller_skus", "record_stock_correction",
    "shop_stock", "stock_corrections", "stock_levels", "units_accepted_after_read",
    "units_not_yet_at_amazon", "units_ordered_since",
    # flags
    "clear_flag", "mark_flag_noted", "open_flags", "open_flags_with_numbers", "raise_flag",
    "unnoted_flags",
    # leases
    "LEASE_SECONDS", "HeldLease", "LeaseLost", "abandon_leases", "acquire_lease", "holder_id",
    "holder_is_dead", "lease", "lease_taken", "release_all_leases", "release_lease", "renew_lease",
]

log = get_logger("bridge.ledger")


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
    session.execute(insert_for(session, Lease).values(name=name, holder="", until=now)
                    .on_conflict_do_nothing(index_elements=["name"]))


def _take(session: Session, name: str, holder: str, until: datetime,
          condition: ColumnElement[bool]) -> bool:
    # An UPDATE's result is a cursor result: it counts the rows it matched.
    taken = cast("CursorResult[Any]", session.execute(
        update(Lease).where(Lease.name == name, condition).values(holder=holder, until=until)))
    return taken.rowcount == 1


def acquire_lease(ledger: Ledger, name: str, holder: str, seconds: float, *,
                  now: datetime | None = None) -> bool:
    """Take or renew the lease `name` for `seconds` unless another holder has an
    unexpired one whose process is not known to be dead."""
    now = now or ledger.clock()
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


def lease_taken(session: Session, name: str, now: datetime) -> bool:
    """Whether someone holds the lease `name` unexpired (a read, taking nothing): an
    idle poll looks before it reads its shop, so a poll already running is left alone."""
    return bool(session.scalar(select(exists().where(Lease.name == name, Lease.holder != "",
                                                     Lease.until > now))))


def renew_lease(session: Session, name: str, holder: str, until: datetime) -> bool:
    """Extend a lease this holder still has (even past its time, if nobody took it)."""
    return _take(session, name, holder, until, Lease.holder == holder)


def release_lease(ledger: Ledger, name: str, holder: str) -> None:
    with ledger.transaction() as session:
        session.execute(update(Lease).where(Lease.name == name, Lease.holder == holder)
                        .values(holder="", until=ledger.clock()))


class HeldLease:
    """A lease held for a block of work, renewed by a daemon thread every `every`
    seconds. `lost` turns true when a renewal finds the lease gone (or none succeeded
    within the lifetime); `check()` and `confirm(session)` then raise `LeaseLost`."""

    def __init__(self, ledger: Ledger, name: str, holder: str, seconds: float,
                 clock: Callable[[], datetime] | None = None,
                 every: float | None = None) -> None:
        self.ledger, self.name, self.holder, self.seconds = ledger, name, holder, seconds
        self.clock = clock = clock or ledger.clock
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
          clock: Callable[[], datetime] | None = None,
          every: float | None = None) -> Iterator[HeldLease | None]:
    """Yields a `HeldLease` (truthy) when this caller holds the lease for the block, kept
    alive by its heartbeat; a falsy value when another does (the caller then skips its
    run: one is already doing the work)."""
    held = HeldLease(ledger, name, holder_id(), seconds, clock, every)
    if not acquire_lease(ledger, name, held.holder, seconds, now=held.clock()):
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
