"""Inbound plans, on a small stand-in for Amazon's inbound API: following shipments
until every one is closed, and cancelling. (The eleven-step workflow that creates a
plan at Amazon runs on the simulator.)"""

from __future__ import annotations

import sqlalchemy as sa

from bridge.domain.inbound import BoxType, InboundItem
from bridge.domain.inbound_amazon import InboundShipmentStatus, OperationId, OperationStatus, ReceivedItem
from bridge.ledger.tables import InboundPlan, InboundShipment
from bridge.services.inbound import (
    FOLLOWING,
    PlanFiles,
    cancel_plan,
    create_plan,
    follow_shipments,
    get_plan,
    plan_events,
)


class InboundStandIn:
    """Answers the few calls following and cancelling make: a shipment's status, its
    received units (v0), and the cancel operation."""

    def __init__(self) -> None:
        self.status: dict[str, str] = {}
        self.received: dict[str, dict[str, int]] = {}
        self.calls: list[str] = []

    def shipment(self, plan_id: str, shipment_id: str) -> InboundShipmentStatus:
        self.calls.append("getShipment")
        return InboundShipmentStatus(shipment_id, status=self.status[shipment_id])

    def cancel_inbound_plan(self, plan_id: str) -> OperationId:
        self.calls.append("cancelInboundPlan")
        return OperationId("op-cancel")

    def wait_for_operation(self, operation_id: str, what: str, timeout: float = 300,
                           interval: float = 1.0) -> OperationStatus:
        self.calls.append(f"wait:{operation_id}")
        return OperationStatus(operation_id, "SUCCESS")

    def received_items(self, confirmation_id: str) -> list[ReceivedItem]:
        return [ReceivedItem(sku, received=units)
                for sku, units in self.received.get(confirmation_id, {}).items()]

    def __getattr__(self, name: str):
        raise AssertionError(f"unexpected call {name}")


def new_plan(store) -> int:
    files = PlanFiles(items=[InboundItem("MUG", 24)],
                      boxes=[BoxType("A", 2, 30, 20, 20, 8, {"MUG": 12})],
                      source_address={"name": "Warehouse", "countryCode": "US"})
    return create_plan(store.ledger, store.storefront, files, name="unit-plan")


def following(store, shipments: dict[str, int]) -> int:
    """A plan whose labels are on disk: Amazon knows it, its shipments are on the way."""
    plan_id = new_plan(store)
    with store.ledger.transaction() as session:
        session.execute(sa.update(InboundPlan).where(InboundPlan.id == plan_id)
                        .values(step=FOLLOWING, inbound_plan_id="wf-1"))
        for shipment_id, units in shipments.items():
            session.add(InboundShipment(
                plan_id=plan_id, shipment_id=shipment_id, confirmation_id=f"FBA{shipment_id}",
                status="WORKING", items={"MUG": {"quantity": units, "received": 0}}))
    return plan_id


def test_a_new_plan_is_recorded_without_any_call(store):
    plan_id = new_plan(store)
    plan = get_plan(store.ledger, plan_id)
    assert (plan.step, plan.status, plan.inbound_plan_id) == ("new", "open", None)


def test_received_units_are_recorded_and_the_plan_completes_when_every_shipment_closes(store):
    amazon = InboundStandIn()
    plan_id = following(store, {"S1": 12, "S2": 12})
    amazon.status = {"S1": "RECEIVING", "S2": "SHIPPED"}
    amazon.received = {"FBAS1": {"MUG": 5}}

    assert follow_shipments(store.ledger, amazon, "unit") == 2
    assert get_plan(store.ledger, plan_id).status == "open"
    assert any("received MUG 0→5" in e.message for e in plan_events(store.ledger, plan_id))

    # Nothing moved: nothing recorded.
    assert follow_shipments(store.ledger, amazon, "unit") == 0

    amazon.status = {"S1": "CLOSED", "S2": "CLOSED"}
    amazon.received = {"FBAS1": {"MUG": 12}, "FBAS2": {"MUG": 12}}
    assert follow_shipments(store.ledger, amazon, "unit") == 2
    assert get_plan(store.ledger, plan_id).status == "complete"
    # A closed plan is not read again.
    amazon.calls.clear()
    assert follow_shipments(store.ledger, amazon, "unit") == 0
    assert amazon.calls == []


def test_cancelling_a_plan_amazon_has_waits_for_the_operation(store):
    amazon = InboundStandIn()
    plan_id = following(store, {"S1": 24})

    assert cancel_plan(store.ledger, amazon, plan_id) == "unit-plan"
    assert amazon.calls == ["cancelInboundPlan", "wait:op-cancel"]
    assert get_plan(store.ledger, plan_id).status == "cancelled"


def test_cancelling_a_plan_never_sent_calls_nobody(store):
    amazon = InboundStandIn()
    plan_id = new_plan(store)
    cancel_plan(store.ledger, amazon, plan_id)
    assert amazon.calls == []
    assert get_plan(store.ledger, plan_id).status == "cancelled"
