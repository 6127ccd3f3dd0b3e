"""Flow health rows: how each flow of a storefront last fared against its remotes."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bridge.ledger.tables import FlowHealth


def flow_health(session: Session, storefront: str, flow: str) -> FlowHealth | None:
    return session.get(FlowHealth, (storefront, flow))


def add_flow_health(session: Session, storefront: str, flow: str) -> FlowHealth:
    """A row for a flow never recorded before, with no failures."""
    row = FlowHealth(storefront=storefront, flow=flow, failures=0, last_error="")
    session.add(row)
    return row


def failing_flows(session: Session, storefront: str, at_least: int) -> list[FlowHealth]:
    """Flows that failed `at_least` runs in a row, by name."""
    return list(session.scalars(select(FlowHealth).where(
        FlowHealth.storefront == storefront, FlowHealth.failures >= at_least)
        .order_by(FlowHealth.flow)))
