from __future__ import annotations

from ledger_rows import HOUR, T0, order

from bridge.domain.states import OrderState as S
from bridge.ledger import repo
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import Order, OrderLine


def lines(ledger: Ledger, order_id: int, **units: int) -> None:
    with ledger.transaction() as session:
        for index, (sku, quantity) in enumerate(units.items()):
            session.add(OrderLine(order_id=order_id, line_id=str(index), cart_sku=sku,
                                  seller_sku=sku, quantity=quantity))


def test_units_ordered_since_leave_out_cancelled_and_older_orders(ledger: Ledger) -> None:
    lines(ledger, order(ledger, "#1", S.SHIPPED), MUG=2, CAP=1)
    lines(ledger, order(ledger, "#2", S.READY), MUG=3)
    lines(ledger, order(ledger, "#3", S.CANCELLED), MUG=5)
    old = order(ledger, "#0", S.COMPLETE)
    lines(ledger, old, MUG=7)
    with ledger.transaction() as session:
        session.get_one(Order, old).created_at = T0 - 2 * HOUR
    with ledger.transaction() as session:
        assert repo.units_ordered_since(session, "north", T0 - HOUR) == {"MUG": 5, "CAP": 1}


def test_new_stock_rows_are_read_back(ledger: Ledger) -> None:
    with ledger.transaction() as session:
        repo.add_stock_level(session, "north", "MUG").fulfillable = 4
        repo.add_shop_stock(session, "north", "mug", 3).shop_quantity = 2
    with ledger.transaction() as session:
        assert repo.stock_levels(session, "north")["MUG"].fulfillable == 4
        assert repo.shop_stock(session, "north")["mug"].target == 3
        assert repo.drifted_sku_count(session, "north") == 1
