"""Read models of inbound plans for the command line: frozen copies made inside the
ledger's transaction, so nothing printed is a live row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bridge.ledger.tables import Event, InboundPlan, InboundShipment


@dataclass(frozen=True)
class PlanSummary:
    id: int
    storefront: str
    name: str
    inbound_plan_id: str | None  # Amazon's id, once the plan is created there
    step: str
    status: str
    last_error: str
    labels_path: str

    @classmethod
    def of(cls, plan: InboundPlan) -> PlanSummary:
        return cls(plan.id, plan.storefront, plan.name, plan.inbound_plan_id, plan.step,
                   plan.status, plan.last_error, plan.labels_path)


@dataclass(frozen=True)
class PlanShipment:
    shipment_id: str
    confirmation_id: str
    destination: str
    status: str
    expected: int  # units, all SKUs together
    received: int

    @classmethod
    def of(cls, row: InboundShipment) -> PlanShipment:
        return cls(row.shipment_id, row.confirmation_id, row.destination, row.status,
                   sum(v["expected"] for v in row.items.values()),
                   sum(v["received"] for v in row.items.values()))


@dataclass(frozen=True)
class PlanEvent:
    created_at: datetime
    kind: str
    message: str

    @classmethod
    def of(cls, event: Event) -> PlanEvent:
        return cls(event.created_at, event.kind, event.message)
