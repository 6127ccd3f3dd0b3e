"""Packages followed to the door: which ones to start following, which are due a look at
Amazon, and which final milestones are still to write to the shop."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import exists, func, select, union
from sqlalchemy.orm import Session

from bridge.ledger.tables import Order, Package, PackageDelivery, session_now
from bridge.ledger.transactions import Ledger
from bridge.ledger.upsert import insert_for


def not_yet_followed(session: Session, storefront: str, pushed_since: datetime,
                     limit: int) -> list[Package]:
    """Packages whose tracking went into the shop at or after `pushed_since` and that
    are not followed yet, oldest first (the pushed_at index bounds the look)."""
    followed = exists().where(PackageDelivery.package_id == Package.id)
    return list(session.scalars(
        select(Package).join(Order, Order.id == Package.order_id)
        .where(Package.pushed_at >= pushed_since, Order.storefront == storefront, ~followed)
        .order_by(Package.pushed_at, Package.id).limit(limit)))


def start_following(session: Session, package_id: int, storefront: str,
                    first_poll_at: datetime) -> bool:
    """A delivery row for the package; False when one exists already."""
    added = session.execute(
        insert_for(session, PackageDelivery)
        .values(package_id=package_id, storefront=storefront, amazon_status="", milestone="",
                detail="", next_poll_at=first_poll_at, polls=0, last_error="", push_error="",
                created_at=session_now(session))
        .on_conflict_do_nothing()
        .returning(PackageDelivery.package_id))
    return added.scalar() is not None


def due(session: Session, storefront: str, now: datetime,
        limit: int) -> list[tuple[PackageDelivery, Package]]:
    """Followed packages due a look at `now`, the longest waiting first."""
    return [(delivery, package) for delivery, package in session.execute(
        select(PackageDelivery, Package).join(Package, Package.id == PackageDelivery.package_id)
        .where(PackageDelivery.storefront == storefront,
               PackageDelivery.next_poll_at.is_not(None), PackageDelivery.next_poll_at <= now)
        .order_by(PackageDelivery.next_poll_at, PackageDelivery.package_id).limit(limit)).all()]


def lock(session: Session, package_id: int) -> PackageDelivery | None:
    return session.scalar(select(PackageDelivery).where(PackageDelivery.package_id == package_id)
                          .with_for_update())


def claim_unpushed(ledger: Ledger, session: Session, storefront: str,
                   limit: int) -> list[tuple[PackageDelivery, Package, Order]]:
    """Final milestones still to write to the shop (refused ones left out), with their
    package and order, oldest first; on Postgres locked for this transaction, those
    another worker holds skipped."""
    query = (
        select(PackageDelivery, Package, Order)
        .join(Package, Package.id == PackageDelivery.package_id)
        .join(Order, Order.id == Package.order_id)
        .where(PackageDelivery.storefront == storefront, PackageDelivery.milestone != "",
               PackageDelivery.pushed_at.is_(None), PackageDelivery.push_error == "")
        .order_by(PackageDelivery.happened_at, PackageDelivery.package_id)
        .limit(limit)
    )
    if ledger.is_postgres:
        query = query.with_for_update(of=PackageDelivery, skip_locked=True)
    return [(delivery, package, order) for delivery, package, order in session.execute(query).all()]


def storefronts_with_work(session: Session, storefronts: Iterable[str], now: datetime,
                          pushed_since: datetime) -> set[str]:
    """Of `storefronts`, those the delivery flow has something to do for, in one
    statement over three indexed reads, whatever the number of storefronts."""
    names = sorted(set(storefronts))
    if not names:
        return set()
    followed = exists().where(PackageDelivery.package_id == Package.id)
    due_look = select(PackageDelivery.storefront).where(
        PackageDelivery.storefront.in_(names), PackageDelivery.next_poll_at.is_not(None),
        PackageDelivery.next_poll_at <= now)
    to_write = select(PackageDelivery.storefront).where(
        PackageDelivery.storefront.in_(names), PackageDelivery.milestone != "",
        PackageDelivery.pushed_at.is_(None), PackageDelivery.push_error == "")
    to_start = (select(Order.storefront).join(Package, Package.order_id == Order.id)
                .where(Package.pushed_at >= pushed_since, Order.storefront.in_(names), ~followed))
    return set(session.scalars(union(due_look, to_write, to_start)))


def order_deliveries(session: Session, order_id: int) -> dict[int, PackageDelivery]:
    """package number → its delivery row, for an order's packages that are followed."""
    return {number: delivery for number, delivery in session.execute(
        select(Package.package_number, PackageDelivery)
        .join(PackageDelivery, PackageDelivery.package_id == Package.id)
        .where(Package.order_id == order_id)).all()}


def given_up(session: Session, storefront: str) -> int:
    """Packages bridge stopped following without a final milestone."""
    return session.scalar(select(func.count()).select_from(PackageDelivery).where(
        PackageDelivery.storefront == storefront, PackageDelivery.gave_up_at.is_not(None))) or 0
