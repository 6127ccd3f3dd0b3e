from __future__ import annotations

from ledger_rows import HOUR, T0, order, package

from bridge.domain.states import OrderState as S
from bridge.ledger import packages
from bridge.ledger.repo import Ledger


def test_unpushed_packages_leave_out_written_and_refused_ones(ledger: Ledger) -> None:
    shipped = order(ledger, "#1", S.SHIPPED)
    package(ledger, shipped, 1, pushed_at=T0)
    package(ledger, shipped, 2, push_error="the shop refused it")
    package(ledger, shipped, 3)
    elsewhere = order(ledger, "#9", S.SHIPPED, storefront="south")
    package(ledger, elsewhere, 1)
    with ledger.transaction() as session:
        claimed = packages.claim_unpushed(ledger, session, "north", 10)
        assert [(p.package_number, o.number) for p, o in claimed] == [(3, "#1")]
        assert packages.unpushed_count(session, "north") == 1
        assert packages.has_unpushed(session, "north")
        assert not packages.has_unpushed(session, "east")
        assert packages.package_numbers(session, shipped) == {1, 2, 3}


def test_clearing_push_errors_offers_refused_packages_again(ledger: Ledger) -> None:
    shipped = order(ledger, "#1", S.NEEDS_ATTENTION)
    package(ledger, shipped, 1, push_error="refused")
    with ledger.transaction() as session:
        assert packages.unpushed_count(session, "north") == 0
        packages.clear_push_errors(session, shipped)
    with ledger.transaction() as session:
        assert packages.unpushed_count(session, "north") == 1


def test_late_tracking_counts_old_unwritten_packages_with_the_refusal(ledger: Ledger) -> None:
    late = order(ledger, "#late", S.SHIPPED)
    package(ledger, late, 1, created_at=T0)
    package(ledger, late, 2, created_at=T0, push_error="bad carrier")
    recent = order(ledger, "#recent", S.SHIPPED)
    package(ledger, recent, 1, created_at=T0 + 2 * HOUR)
    written = order(ledger, "#written", S.SHIPPED)
    package(ledger, written, 1, created_at=T0, pushed_at=T0)
    with ledger.transaction() as session:
        assert packages.late_tracking(session, "north", T0 + HOUR) == [(late, "#late", 2, "bad carrier")]


def test_added_packages_are_listed_for_their_order(ledger: Ledger) -> None:
    shipped = order(ledger, "#1", S.SHIPPED)
    with ledger.transaction() as session:
        packages.add_package(session, shipped, amazon_shipment_id="A1", package_number=7,
                             carrier="UPS", tracking_number="1Z", shipped_at=T0,
                             lines=[{"line_id": "1", "sku": "MUG", "quantity": 1}])
    with ledger.transaction() as session:
        [row] = packages.order_packages(session, shipped)
        assert (row.package_number, row.pushed_at, row.lines[0]["sku"]) == (7, None, "MUG")
