"""Packages Amazon shipped, and whether each one's tracking is in the cart yet."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session

from bridge.ledger.tables import Order, Package
from bridge.ledger.transactions import Ledger


def order_packages(session: Session, order_id: int) -> list[Package]:
    return list(session.scalars(select(Package).where(Package.order_id == order_id)))


def package_numbers(session: Session, order_id: int) -> set[int]:
    """The packageNumbers already recorded for an order."""
    return set(session.scalars(select(Package.package_number).where(Package.order_id == order_id)))


def add_package(session: Session, order_id: int, *, amazon_shipment_id: str, package_number: int,
                carrier: str, tracking_number: str, shipped_at: datetime | None,
                lines: list[dict[str, Any]]) -> None:
    session.add(Package(order_id=order_id, amazon_shipment_id=amazon_shipment_id,
                        package_number=package_number, carrier=carrier,
                        tracking_number=tracking_number, shipped_at=shipped_at, lines=lines))


def claim_unpushed(ledger: Ledger, session: Session, storefront: str,
                   limit: int) -> list[tuple[Package, Order]]:
    """Packages whose tracking is still to write (and that the cart has not refused),
    with their order, oldest first. On Postgres they are locked for this transaction and
    those another worker holds are skipped."""
    query = (
        select(Package, Order)
        .join(Order, Order.id == Package.order_id)
        .where(Order.storefront == storefront, Package.pushed_at.is_(None),
               Package.push_error == "")
        .order_by(Package.id)
        .limit(limit)
    )
    if ledger.is_postgres:
        query = query.with_for_update(of=Package, skip_locked=True)
    return [(package, order) for package, order in session.execute(query).all()]


def clear_push_errors(session: Session, order_id: int) -> None:
    """Packages whose tracking the cart refused are offered to it again."""
    session.execute(update(Package).where(Package.order_id == order_id).values(push_error=""))


def unpushed_count(session: Session, storefront: str) -> int:
    """Packages whose tracking is still to write (refused ones left out)."""
    return session.scalar(
        select(func.count()).select_from(Package).join(Order, Order.id == Package.order_id)
        .where(Order.storefront == storefront, Package.pushed_at.is_(None), Package.push_error == "")
    ) or 0


def has_unpushed(session: Session, storefront: str) -> bool:
    return bool(session.scalar(
        select(exists().where(
            Package.pushed_at.is_(None),
            Package.push_error == "",
            Package.order_id == Order.id,
            Order.storefront == storefront,
        ))
    ))


def late_tracking(session: Session, storefront: str,
                  recorded_before: datetime) -> list[tuple[int, str, int, str]]:
    """Orders with packages recorded before `recorded_before` whose tracking is not in
    the cart: (order id, number, such packages, the cart's refusal or "")."""
    late = (
        select(Package.order_id, func.count().label("packages"),
               func.max(Package.push_error).label("error"))
        .where(Package.pushed_at.is_(None), Package.created_at < recorded_before)
        .group_by(Package.order_id)
        .subquery()
    )
    rows = session.execute(
        select(Order.id, Order.number, late.c.packages, late.c.error)
        .join(late, late.c.order_id == Order.id)
        .where(Order.storefront == storefront)
    )
    return [(order_id, number, int(packages), error or "") for order_id, number, packages, error in rows]
