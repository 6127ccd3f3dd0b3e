from __future__ import annotations

from ledger_rows import HOUR, T0, order

from bridge.domain.states import OrderState as S
from bridge.ledger import health, inbound, repo
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import InboundPlan


def plan(ledger: Ledger, name: str, *, status: str = "open", step: str = "labels_fetched",
         storefront: str = "north") -> int:
    with ledger.transaction() as session:
        return inbound.add_plan(session, storefront=storefront, name=name, step=step,
                                status=status, inbound_plan_id=f"wf-{name}", items=[], boxes=[],
                                source_address={}, choices={}).id


def shipment(ledger: Ledger, plan_id: int, shipment_id: str, status: str,
             expected: int = 10, received: int = 0) -> None:
    with ledger.transaction() as session:
        row = inbound.add_shipment(session, plan_id, shipment_id,
                                   {"MUG": {"expected": expected, "received": received}})
        row.status = status


def test_plans_are_found_by_id_name_or_amazon_id(ledger: Ledger) -> None:
    plan_id = plan(ledger, "p1")
    with ledger.transaction() as session:
        for reference in (str(plan_id), "p1", "wf-p1"):
            found = inbound.find_plan(session, reference)
            assert isinstance(found, InboundPlan) and found.id == plan_id
        assert inbound.find_plan(session, "p2") is None
        assert inbound.get_plan(session, plan_id + 1) is None


def test_plan_lists_and_shipments(ledger: Ledger) -> None:
    open_id, closed_id = plan(ledger, "open"), plan(ledger, "done", status="complete")
    plan(ledger, "early", step="packing_set")
    plan(ledger, "south", storefront="south")
    shipment(ledger, open_id, "S1", "WORKING")
    shipment(ledger, open_id, "S2", "CLOSED")
    shipment(ledger, closed_id, "S3", "WORKING")
    with ledger.transaction() as session:
        assert [p.name for p in inbound.list_plans(session, "north", False)] == ["early", "open"]
        assert len(inbound.list_plans(session, None, True)) == 4
        assert [p.name for p in inbound.open_plans_at_step(session, "north", "labels_fetched")] == ["open"]
        assert [s.shipment_id for s in inbound.plan_shipments(session, open_id)] == ["S1", "S2"]
        found = inbound.find_shipment(session, open_id, "S2")
        assert found is not None and found.status == "CLOSED"
        assert [s.shipment_id for s in inbound.unclosed_shipments(session, [open_id, closed_id])] == ["S1", "S3"]
        assert inbound.has_unclosed_shipment(session, open_id)
        assert [(s.shipment_id, p.name) for s, p in inbound.shipments_of_open_plans(session, "north")] == [
            ("S1", "open"), ("S2", "open")]
        assert [s.shipment_id for s, _ in inbound.shipments_of_open_plans(
            session, "north", unclosed_only=True)] == ["S1"]


def test_plan_events_are_the_plans_own(ledger: Ledger) -> None:
    plan_id = plan(ledger, "p1")
    with ledger.transaction() as session:
        repo.record_event(session, "north", None, "inbound_step", inbound_plan_id=plan_id)
        repo.record_event(session, "north", None, "storefront_paused")
    with ledger.transaction() as session:
        assert [e.kind for e in repo.plan_events(session, plan_id)] == ["inbound_step"]


def test_open_flags_carry_the_order_number_and_unnoted_ones_the_snapshot(ledger: Ledger) -> None:
    order_id = order(ledger, "#1", S.ACCEPTED)
    with ledger.transaction() as session:
        assert repo.raise_flag(session, "north", None, "poll_overdue", "no poll", T0)
        assert repo.raise_flag(session, "north", order_id, "ship_overdue", "late", T0 + HOUR)
        assert not repo.raise_flag(session, "north", order_id, "ship_overdue", "again", T0 + HOUR)
    with ledger.transaction() as session:
        flags = repo.open_flags_with_numbers(session, "north")
        assert [(f.kind, number) for f, number in flags] == [("poll_overdue", ""), ("ship_overdue", "#1")]
        [(flag_id, snapshot, text)] = repo.unnoted_flags(session, "north")
        assert (snapshot, text) == ({"number": "#1"}, "late")
        repo.mark_flag_noted(session, flag_id, T0 + 2 * HOUR)
    with ledger.transaction() as session:
        assert repo.unnoted_flags(session, "north") == []


def test_flow_health_rows(ledger: Ledger) -> None:
    with ledger.transaction() as session:
        assert health.flow_health(session, "north", "ingest") is None
        row = health.add_flow_health(session, "north", "ingest")
        row.failures, row.failing_since = 3, T0
        health.add_flow_health(session, "north", "stock").failures = 1
    with ledger.transaction() as session:
        assert [r.flow for r in health.failing_flows(session, "north", 3)] == ["ingest"]
        found = health.flow_health(session, "north", "stock")
        assert found is not None and found.failures == 1
