"""The watchdog's flags: one open flag per storefront, kind and subject."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bridge.ledger.tables import Flag, Order
from bridge.ledger.upsert import insert_for


def open_flags(session: Session, storefront: str | None = None) -> list[Flag]:
    query = select(Flag).where(Flag.cleared_at.is_(None)).order_by(Flag.storefront, Flag.id)
    if storefront is not None:
        query = query.where(Flag.storefront == storefront)
    return list(session.scalars(query))


def open_flags_with_numbers(session: Session, storefront: str) -> list[tuple[Flag, str]]:
    """Open flags, oldest first, each with its order's number ("" for the storefront)."""
    rows = session.execute(
        select(Flag, Order.number).outerjoin(Order, Order.id == Flag.order_id)
        .where(Flag.storefront == storefront, Flag.cleared_at.is_(None))
        .order_by(Flag.raised_at, Flag.id)
    )
    return [(flag, number or "") for flag, number in rows]


def raise_flag(session: Session, storefront: str, order_id: int | None, kind: str,
               message: str, now: datetime) -> bool:
    """Open a flag unless one is open for the same subject; True when this call opened it
    (two sweeps racing open it once: the unique key decides)."""
    opened = session.execute(
        insert_for(session, Flag)
        .values(storefront=storefront, order_id=order_id, kind=kind, message=message,
                raised_at=now, open_key=str(order_id) if order_id is not None else "-")
        .on_conflict_do_nothing()
        .returning(Flag.id)  # no row when one was open already (rowcount is not reliable)
    )
    return opened.scalar() is not None


def clear_flag(session: Session, flag: Flag, now: datetime) -> None:
    flag.cleared_at, flag.open_key = now, None


def unnoted_flags(session: Session, storefront: str) -> list[tuple[int, dict[str, Any], str]]:
    """Open flags about an order the shop has not been told of: (flag, snapshot, text)."""
    rows = session.execute(
        select(Flag.id, Order.snapshot, Flag.message)
        .join(Order, Order.id == Flag.order_id)
        .where(Flag.storefront == storefront, Flag.cleared_at.is_(None),
               Flag.noted_at.is_(None))
        .order_by(Flag.id)
    )
    return [(flag_id, snapshot, message) for flag_id, snapshot, message in rows]


def mark_flag_noted(session: Session, flag_id: int, now: datetime) -> None:
    session.execute(update(Flag).where(Flag.id == flag_id).values(noted_at=now))
