"""Cancels Amazon made that the shop still has to hear of (the `shop_cancels` table)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bridge.ledger.tables import Order, ShopCancel
from bridge.ledger.transactions import Ledger


def add(session: Session, order: Order, *, reason: str, lines: list[dict[str, Any]] | None,
        notify_customer: bool, note: str, now: datetime) -> ShopCancel:
    row = ShopCancel(order_id=order.id, storefront=order.storefront, reason=reason,
                     lines=lines, notify_customer=notify_customer, note=note,
                     next_try_at=now, created_at=now)
    session.add(row)
    return row


def claim_due(ledger: Ledger, session: Session, storefront: str, now: datetime, limit: int,
              order_ids: Sequence[int] | None = None) -> list[tuple[ShopCancel, Order]]:
    """Writes due now, oldest first, with their order. On Postgres they are locked for
    this transaction and those another worker holds are skipped."""
    query = (
        select(ShopCancel, Order)
        .join(Order, Order.id == ShopCancel.order_id)
        .where(ShopCancel.storefront == storefront, ShopCancel.done_at.is_(None),
               ShopCancel.next_try_at <= now)
        .order_by(ShopCancel.id)
        .limit(limit)
    )
    if order_ids is not None:
        query = query.where(ShopCancel.order_id.in_(list(order_ids)))
    if ledger.is_postgres:
        query = query.with_for_update(of=ShopCancel, skip_locked=True)
    return [(cancel, order) for cancel, order in session.execute(query).all()]


def storefronts_with_due(session: Session, now: datetime) -> set[str]:
    """Storefronts with a write due now (what the sweep nudges the tracking flow for)."""
    return set(session.scalars(select(ShopCancel.storefront).distinct().where(
        ShopCancel.done_at.is_(None), ShopCancel.next_try_at <= now)))


def failing(session: Session, storefront: str, min_attempts: int) -> list[tuple[ShopCancel, str]]:
    """Writes still waiting after `min_attempts` failed tries, with the order's number."""
    rows = session.execute(
        select(ShopCancel, Order.number).join(Order, Order.id == ShopCancel.order_id)
        .where(ShopCancel.storefront == storefront, ShopCancel.done_at.is_(None),
               ShopCancel.attempts >= min_attempts)
        .order_by(ShopCancel.id))
    return [(cancel, number) for cancel, number in rows]
