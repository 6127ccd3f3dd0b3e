"""Schedule rows: when each storefront's periodic flow is next due, and the claim that
takes the due ones. A claim moves each row it takes to its next due time in the same
transaction, so a due time is handed out once however many tick senders run: on
PostgreSQL the due rows are locked with SKIP LOCKED (a second claimer skips them), on
SQLite the transaction holds the write lock from its start (BEGIN IMMEDIATE)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Float, cast, delete, exists, func, literal, select, update
from sqlalchemy.orm import Session

from bridge.ledger.orders import followed_at_amazon
from bridge.ledger.tables import Order, Package, Schedule, Storefront, UTCDateTime

# A claim moves a row to now + interval × (1 ± SPREAD / 2): the mean period stays the
# interval, and rows that fell due together (after a pause, a restart) drift apart.
SPREAD = 0.1


@dataclass(frozen=True)
class Due:
    storefront: str
    flow: str
    due_at: datetime
    interval: float


def schedule_rows(session: Session) -> dict[tuple[str, str], tuple[float, datetime]]:
    """(storefront, flow) → (interval in seconds, next due time), every row."""
    rows = session.execute(select(Schedule.storefront, Schedule.flow, Schedule.interval_seconds,
                                  Schedule.next_due_at))
    return {(sf, flow): (interval, due) for sf, flow, interval, due in rows}


def add_row(session: Session, storefront: str, flow: str, interval: float, due: datetime) -> None:
    session.add(Schedule(storefront=storefront, flow=flow, interval_seconds=interval,
                         next_due_at=due))


def set_interval(session: Session, storefront: str, flow: str, interval: float,
                 due: datetime) -> None:
    session.execute(update(Schedule).where(Schedule.storefront == storefront, Schedule.flow == flow)
                    .values(interval_seconds=interval, next_due_at=due))


def delete_rows(session: Session, keys: Iterable[tuple[str, str]]) -> None:
    for storefront, flow in keys:
        session.execute(delete(Schedule).where(Schedule.storefront == storefront,
                                               Schedule.flow == flow))


def _not_paused() -> ColumnElement[bool]:
    # A paused storefront's rows are not claimed: they stay due and are taken at the
    # first tick after `bridge storefront resume`.
    return ~exists().where(Storefront.name == Schedule.storefront, Storefront.paused.is_(True))


def earliest_due(session: Session) -> datetime | None:
    """The next due time of any claimable row (one read of the due-time index)."""
    return session.connection().scalar(select(func.min(Schedule.next_due_at)).where(_not_paused()))


def claim_due(session: Session, now: datetime, limit: int,
              unit: Callable[[], float]) -> list[Due]:
    """Take up to `limit` rows due at `now`, earliest first, moving each to
    now + interval × (1 - SPREAD/2 + SPREAD × u), u from `unit()` in [0, 1) on SQLite or
    the database's random() on PostgreSQL."""
    due = (select(Schedule.storefront, Schedule.flow, Schedule.next_due_at)
           .where(Schedule.next_due_at <= now, _not_paused())
           .order_by(Schedule.next_due_at).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        locked = due.with_for_update(of=Schedule, skip_locked=True).subquery()
        seconds = Schedule.interval_seconds * (1 - SPREAD / 2 + SPREAD * cast(func.random(), Float))
        # Core, not the ORM's UPDATE: no objects to synchronise, a tick's cost stays low.
        claimed = session.connection().execute(
            update(Schedule)
            .where(Schedule.storefront == locked.c.storefront, Schedule.flow == locked.c.flow)
            .values(next_due_at=literal(now, UTCDateTime)
                    + func.make_interval(0, 0, 0, 0, 0, 0, seconds))
            .returning(Schedule.storefront, Schedule.flow, locked.c.next_due_at,
                       Schedule.interval_seconds))
        found = [Due(*row) for row in claimed]
        return sorted(found, key=lambda d: d.due_at)
    rows = list(session.connection().execute(due.add_columns(Schedule.interval_seconds)))
    if rows:
        # One statement executed for many rows (an UPDATE by primary key).
        session.execute(update(Schedule), [
            {"storefront": storefront, "flow": flow,
             "next_due_at": now + timedelta(seconds=interval * (1 - SPREAD / 2 + SPREAD * unit()))}
            for storefront, flow, _at, interval in rows])
    return [Due(*row) for row in rows]


def storefronts_following_orders(session: Session, storefronts: Iterable[str]) -> set[str]:
    """Of `storefronts`, those with at least one order followed at Amazon (one query)."""
    names = sorted(set(storefronts))
    if not names:
        return set()
    return set(session.scalars(select(Order.storefront).distinct()
                               .where(Order.storefront.in_(names), followed_at_amazon())))


# ---------------------------------------------------------------- what the sweep re-nudges
#
# The guarantee behind a schedule without submit, cancel or tracking ticks: the sweep
# finds work whose nudge was lost. These read every storefront at once, grouped, over
# the open states only (an index on state leads), so a sweep costs a few statements
# whatever the number of storefronts, and nothing grows with finished history.


def open_counts(session: Session, states: Iterable[str]) -> dict[str, dict[str, int]]:
    """storefront → state → orders, for the given (open) states only."""
    counts: dict[str, dict[str, int]] = {}
    rows = session.execute(select(Order.storefront, Order.state, func.count())
                           .where(Order.state.in_(list(states)))
                           .group_by(Order.storefront, Order.state))
    for storefront, state, count in rows:
        counts.setdefault(storefront, {})[state] = count
    return counts


def storefronts_with_orders(session: Session, states: Iterable[str], before: datetime) -> set[str]:
    """Storefronts with an order in `states` unchanged since `before`."""
    return set(session.scalars(select(Order.storefront).distinct().where(
        Order.state.in_(list(states)), Order.state_changed_at < before)))


def storefronts_with_unpushed(session: Session) -> set[str]:
    """Storefronts with a package whose tracking is not in the shop yet (nor refused)."""
    # From the few unpushed packages (their partial index) to each one's order by its
    # key: a join would let the planner hash all of orders instead.
    storefront = select(Order.storefront).where(Order.id == Package.order_id).scalar_subquery()
    return set(session.scalars(select(storefront).distinct().where(
        Package.pushed_at.is_(None), Package.push_error == "")))


def paused_storefronts(session: Session) -> set[str]:
    return set(session.scalars(select(Storefront.name).where(Storefront.paused.is_(True))))


# ---------------------------------------------------------------- an idle poll's one look
