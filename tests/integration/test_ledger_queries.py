"""The ledger's queries that lean on the database itself (locks, subqueries, EXISTS,
JSON columns), on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from support import both_ledgers, postgres_ledger

from bridge.domain.states import OrderState as S
from bridge.ledger import inbound, packages, repo
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import Order, OrderLine, Package

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def shipped_order(ledger: Ledger, number: str, *, pushed: int = 0, unpushed: int = 0,
                  refused: int = 0, created_at: datetime = T0) -> int:
    """A shipped order with packages in each tracking state; returns its id."""
    with ledger.transaction() as session:
        row = Order(storefront="north", cart_order_id=f"c-{number}", number=number,
                    snapshot={"number": number}, content_hash="h", state=S.SHIPPED.value,
                    seller_fulfillment_order_id=f"BR-{number}", amazon_status="Complete",
                    cart_updated_at=T0, accepted_at=T0)
        session.add(row)
        session.flush()
        kinds = [(None, "")] * unpushed + [(T0, "")] * pushed + [(None, "refused")] * refused
        for index, (pushed_at, error) in enumerate(kinds, start=1):
            session.add(Package(order_id=row.id, amazon_shipment_id="s", package_number=index,
                                carrier="UPS", tracking_number=f"1Z{index}", lines=[],
                                pushed_at=pushed_at, push_error=error, created_at=created_at))
            session.add(OrderLine(order_id=row.id, line_id=str(index), cart_sku="mug",
                                  seller_sku="MUG", quantity=1))
        return row.id


@both_ledgers
def test_tracking_queries(ledger: Ledger) -> None:
    late = shipped_order(ledger, "#late", unpushed=1, refused=1)
    shipped_order(ledger, "#done", pushed=2)
    shipped_order(ledger, "#recent", unpushed=1, created_at=T0 + 2 * HOUR)
    with ledger.transaction() as session:
        claimed = packages.claim_unpushed(ledger, session, "north", 10)
        assert sorted(order.number for _package, order in claimed) == ["#late", "#recent"]
        assert packages.unpushed_count(session, "north") == 2
        assert packages.has_unpushed(session, "north")
        assert packages.late_tracking(session, "north", T0 + HOUR) == [(late, "#late", 2, "refused")]
        assert [r.number for r in repo.shipped_with_all_tracking_written(session, "north")] == ["#done"]
        assert repo.amazon_statuses_followed(session, "north") == {
            "BR-#late": "Complete", "BR-#done": "Complete", "BR-#recent": "Complete"}
        assert repo.units_ordered_since(session, "north", T0 - HOUR) == {"MUG": 5}  # a line per package


@postgres_ledger
def test_a_package_another_worker_holds_is_skipped(ledger: Ledger) -> None:
    shipped_order(ledger, "#1", unpushed=2)
    with ledger.transaction() as first:
        [(held, _)] = packages.claim_unpushed(ledger, first, "north", 1)
        with ledger.transaction() as second:
            others = packages.claim_unpushed(ledger, second, "north", 10)
            assert [p.package_number for p, _ in others] == [n for n in (1, 2) if n != held.package_number]


@both_ledgers
def test_inbound_shipments_of_open_plans(ledger: Ledger) -> None:
    with ledger.transaction() as session:
        plan = inbound.add_plan(session, storefront="north", name="p1", step="labels_fetched",
                                items=[], boxes=[], source_address={}, choices={})
        for shipment_id, status in (("S1", "WORKING"), ("S2", "CLOSED")):
            inbound.add_shipment(session, plan.id, shipment_id,
                                 {"MUG": {"expected": 5, "received": 1}}).status = status
    with ledger.transaction() as session:
        assert [(s.shipment_id, s.items["MUG"]["received"], p.name)
                for s, p in inbound.shipments_of_open_plans(session, "north")] == [
            ("S1", 1, "p1"), ("S2", 1, "p1")]
        assert [s.shipment_id for s in inbound.unclosed_shipments(session, [plan.id])] == ["S1"]
        assert inbound.has_unclosed_shipment(session, plan.id)
