"""An order's snapshot is what the ledger stores and hashes: it must hold every field of
the order, as `dataclasses.asdict` would give them (the same JSON, so hashes of stored rows stay
valid), and read back into the same order. Fields added later (a line's title, what rules
read) enter it only when set, so an order recorded before they existed hashes the same."""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import UTC, datetime

from bridge.domain.model import Address, CartLine, CartOrder, PaymentStatus

LATER_FIELDS = ("total", "currency", "tags", "customer_note", "risk", "payment_status")


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
        expected["lines"] = [{k: v for k, v in line.items() if k != "title"}
                             for line in expected["lines"]]  # the same JSON either way
        for name in LATER_FIELDS:
            del expected[name]
        snapshot = cart_order.snapshot()
        assert snapshot == expected
        assert list(snapshot) == [f.name for f in fields(CartOrder) if f.name not in LATER_FIELDS]
        assert CartOrder.from_snapshot(snapshot) == cart_order


def test_fields_added_later_enter_the_snapshot_when_set_and_read_back():
    plain = order(None)
    detailed = CartOrder.from_snapshot({
        **plain.snapshot(), "total": "59.90", "currency": "USD", "tags": ["vip"],
        "customer_note": "ring twice", "risk": "high",
        "payment_status": PaymentStatus.AUTHORIZED,
        "lines": [{"line_id": "l1", "sku": "MUG", "quantity": 2, "requires_shipping": True,
                   "title": "Blue mug"}]})
    assert detailed.tags == ("vip",) and detailed.lines[0].title == "Blue mug"
    assert CartOrder.from_snapshot(detailed.snapshot()) == detailed
    assert detailed.snapshot()["tags"] == ["vip"]
    assert detailed.content_hash() != plain.content_hash()


def test_the_content_hash_ignores_the_update_time_only():
    cart_order = order(None)
    touched = CartOrder.from_snapshot({**cart_order.snapshot(), "updated_at": "2026-03-02T00:00:00+00:00"})
    edited = CartOrder.from_snapshot({**cart_order.snapshot(), "shipping_method": "Express"})
    assert touched.content_hash() == cart_order.content_hash()
    assert edited.content_hash() != cart_order.content_hash()
    assert cart_order.content_hash(cart_order.snapshot()) == cart_order.content_hash()
