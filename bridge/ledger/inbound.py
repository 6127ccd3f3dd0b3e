"""Inbound plans and the shipments Amazon made of them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bridge.ledger.tables import InboundPlan, InboundShipment

# Amazon's shipment statuses after which nothing more arrives.
CLOSED_SHIPMENT_STATUSES = frozenset({"CLOSED", "CANCELLED", "DELETED"})


def add_plan(session: Session, **columns: Any) -> InboundPlan:
    """Record a plan; its id is known on return."""
    plan = InboundPlan(**columns)
    session.add(plan)
    session.flush()
    return plan


def get_plan(session: Session, plan_id: int) -> InboundPlan | None:
    return session.get(InboundPlan, plan_id)


def find_plan(session: Session, reference: str) -> InboundPlan | None:
    """A plan by ledger id, bridge's name for it, or Amazon's inboundPlanId."""
    conditions = [InboundPlan.name == reference, InboundPlan.inbound_plan_id == reference]
    if reference.isdigit():
        conditions.append(InboundPlan.id == int(reference))
    return session.scalar(select(InboundPlan).where(or_(*conditions)))


def list_plans(session: Session, storefront: str | None, include_closed: bool) -> list[InboundPlan]:
    """Newest first; only open ones unless `include_closed`."""
    query = select(InboundPlan).order_by(InboundPlan.id.desc())
    if storefront:
        query = query.where(InboundPlan.storefront == storefront)
    if not include_closed:
        query = query.where(InboundPlan.status == "open")
    return list(session.scalars(query))


def open_plans_at_step(session: Session, storefront: str, step: str) -> list[InboundPlan]:
    return list(session.scalars(select(InboundPlan).where(
        InboundPlan.storefront == storefront, InboundPlan.status == "open",
        InboundPlan.step == step)))


def plan_shipments(session: Session, plan_id: int) -> list[InboundShipment]:
    return list(session.scalars(select(InboundShipment).where(
        InboundShipment.plan_id == plan_id).order_by(InboundShipment.id)))


def get_shipment(session: Session, row_id: int) -> InboundShipment | None:
    return session.get(InboundShipment, row_id)


def find_shipment(session: Session, plan_id: int, shipment_id: str) -> InboundShipment | None:
    """A plan's shipment by Amazon's shipmentId."""
    return session.scalar(select(InboundShipment).where(
        InboundShipment.plan_id == plan_id, InboundShipment.shipment_id == shipment_id))


def add_shipment(session: Session, plan_id: int, shipment_id: str,
                 items: dict[str, Any]) -> InboundShipment:
    row = InboundShipment(plan_id=plan_id, shipment_id=shipment_id, items=items)
    session.add(row)
    return row


def unclosed_shipments(session: Session, plan_ids: Iterable[int]) -> list[InboundShipment]:
    """Shipments of these plans Amazon has not closed yet."""
    return list(session.scalars(select(InboundShipment).where(
        InboundShipment.plan_id.in_(list(plan_ids)),
        InboundShipment.status.not_in(CLOSED_SHIPMENT_STATUSES))))


def has_unclosed_shipment(session: Session, plan_id: int) -> bool:
    return session.scalar(select(InboundShipment.id).where(
        InboundShipment.plan_id == plan_id,
        InboundShipment.status.not_in(CLOSED_SHIPMENT_STATUSES)).limit(1)) is not None


def shipments_of_open_plans(session: Session, storefront: str, *,
                            unclosed_only: bool = False) -> list[tuple[InboundShipment, InboundPlan]]:
    """Every shipment of the storefront's open plans with its plan, in ledger order;
    with `unclosed_only`, those Amazon has closed are left out."""
    query = (select(InboundShipment, InboundPlan)
             .join(InboundPlan, InboundPlan.id == InboundShipment.plan_id)
             .where(InboundPlan.storefront == storefront, InboundPlan.status == "open")
             .order_by(InboundShipment.id))
    if unclosed_only:
        query = query.where(InboundShipment.status.not_in(CLOSED_SHIPMENT_STATUSES))
    return [(shipment, plan) for shipment, plan in session.execute(query)]
