"""An order's snapshot is what the ledger stores and hashes: it must hold every field of
the order, as `dataclasses.asdict` would give them (the same JSON, so hashes of stored rows stay
valid), and read back into the same order."""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import UTC, datetime

from bridge.domain.model import Address, CartLine, CartOrder


def order(address: Address | None) -> CartOrder:
    return CartOrder(
        order_id="1001", number="#1001",
        created_at=datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
        updated_at=datetime(2026, 3, 1, 9, 45, 12, 5, tzinfo=UTC),
        paid=True, cancelled=False,
        lines=(CartLine("l1", "MUG", 2), CartLine("l2", "EBOOK", 1, requires_shipping=False)),
        address=address, shipping_method="Standard", email="a@example.com",
    )


def test_the_snapshot_holds_every_field_as_asdict_does():
    for address in (Address(name="Ann", line1="1 Road", city="Leeds", country_code="GB"), None):
        cart_order = order(address)
        expected = asdict(cart_order)
        expected["created_at"] = cart_order.created_at.isoformat()
        expected["updated_at"] = cart_order.updated_at.isoformat()
        expected["lines"] = list(expected["lines"])  # the same JSON either way
        snapshot = cart_order.snapshot()
        assert snapshot == expected
        assert list(snapshot) == [f.name for f in fields(CartOrder)]
        assert CartOrder.from_snapshot(snapshot) == cart_order


def test_the_content_hash_ignores_the_update_time_only():
    cart_order = order(None)
    touched = CartOrder.from_snapshot({**cart_order.snapshot(), "updated_at": "2026-03-02T00:00:00+00:00"})
    edited = CartOrder.from_snapshot({**cart_order.snapshot(), "shipping_method": "Express"})
    assert touched.content_hash() == cart_order.content_hash()
    assert edited.content_hash() != cart_order.content_hash()
    assert cart_order.content_hash(cart_order.snapshot()) == cart_order.content_hash()
