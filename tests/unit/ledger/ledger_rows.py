"""Rows written the way the flows leave them, for the ledger query tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bridge.domain.states import OrderState as S
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import Order, Package

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def order(ledger: Ledger, number: str, state: S, *, storefront: str = "north",
          sfo_id: str | None = None, amazon_status: str = "", changed_at: datetime = T0,
          accepted_at: datetime | None = None, request: dict[str, object] | None = None) -> int:
    """Records an order as the flows leave it in `state`; returns its ledger id."""
    with ledger.transaction() as session:
        row = Order(storefront=storefront, cart_order_id=f"c-{number}", number=number,
                    snapshot={"number": number}, content_hash="h", state=state.value,
                    seller_fulfillment_order_id=sfo_id, amazon_status=amazon_status,
                    cart_updated_at=T0, state_changed_at=changed_at, accepted_at=accepted_at,
                    request=request)
        session.add(row)
        session.flush()
        return row.id


def package(ledger: Ledger, order_id: int, number: int, *, pushed_at: datetime | None = None,
            push_error: str = "", created_at: datetime = T0) -> None:
    with ledger.transaction() as session:
        session.add(Package(order_id=order_id, amazon_shipment_id="s", package_number=number,
                            carrier="UPS", tracking_number=f"1Z{number}", lines=[],
                            pushed_at=pushed_at, push_error=push_error, created_at=created_at))
