"""The demo store: the schema the SQL adapter expects by default, and orders that look real."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bridge import demo_store
from bridge.carts.sql import SqlCartAdapter

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
SKUS = ["MUG-BLUE", "TEE-M", "CAP-RED", "SOCKS-L"]


def test_placed_orders_are_paid_shippable_and_read_by_the_default_mapping(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    demo_store.create_schema(url)
    demo_store.create_schema(url)  # a second run changes nothing
    ids = demo_store.place_orders(url, 30, SKUS, now=NOW)
    more = demo_store.place_orders(url, 5, SKUS, start_number=31, now=NOW + timedelta(seconds=1))
    adapter = SqlCartAdapter.from_settings({"url": url}, lambda ref: ref)
    orders = adapter.fetch_orders(NOW, NOW + timedelta(minutes=1), None, 100).orders
    adapter.close()
    assert [o.order_id for o in orders] == ids + more
    assert [o.number for o in orders] == [f"#{1000 + n}" for n in range(1, 36)]
    for order in orders:
        assert order.paid and not order.cancelled
        assert 1 <= len(order.lines) <= 3
        assert len({line.sku for line in order.lines}) == len(order.lines)
        assert all(line.sku in SKUS and 1 <= line.quantity <= 3 for line in order.lines)
        address = order.address
        assert address is not None and address.country_code == "US"
        assert address.name and address.line1 and address.city and len(address.state) == 2
        assert len(address.postal_code) == 5 and address.postal_code.isdigit()
        assert order.shipping_method in ("Standard", "Expedited", "Priority")
        assert "@" in order.email


def test_orders_are_the_same_for_the_same_seed(tmp_path):
    def snapshot(name, seed):
        url = f"sqlite:///{tmp_path / name}"
        demo_store.create_schema(url)
        demo_store.place_orders(url, 10, SKUS, now=NOW, rng_seed=seed)
        adapter = SqlCartAdapter.from_settings({"url": url}, lambda ref: ref)
        orders = adapter.fetch_orders(NOW, NOW + timedelta(seconds=1), None, 100).orders
        adapter.close()
        return [o.content_hash() for o in orders]

    assert snapshot("a.db", 7) == snapshot("b.db", 7)
    assert snapshot("c.db", 7) != snapshot("d.db", 8)


def test_helpers_change_and_read_back(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    demo_store.create_schema(url)
    [order_id] = demo_store.place_orders(url, 1, SKUS, now=NOW)
    demo_store.set_updated_at(url, order_id, NOW + timedelta(minutes=5))
    demo_store.cancel_order(url, order_id, when=NOW + timedelta(minutes=9))
    adapter = SqlCartAdapter.from_settings({"url": url}, lambda ref: ref)
    [order] = adapter.fetch_orders(NOW, NOW + timedelta(hours=1), None, 10).orders
    adapter.add_note(order, "Cancelled in the shop; nothing was sent to Amazon.")
    adapter.close()
    assert order.cancelled and order.updated_at == NOW + timedelta(minutes=9)
    assert demo_store.read_shipments(url) == []
    assert demo_store.read_stock(url) == {}
    [note] = demo_store.read_notes(url)
    assert note["order_id"] == order_id and note["created_at"].tzinfo == UTC
