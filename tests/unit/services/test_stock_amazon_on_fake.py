"""Reading Amazon's inventory into the ledger's stock levels, on the in-memory network:
incremental reads take what changed, a full read also zeroes what Amazon left out."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from bridge.ledger import repo
from bridge.ledger.tables import StockLevel
from bridge.services.stock_amazon import FLOW, read_inventory
from bridge.services.submit import submit_ready


def read(shop, *, full: bool) -> tuple[int, bool]:
    return read_inventory(shop.ledger, shop.amazon, shop.storefront, full=full, now=shop.clock)


def levels(shop) -> dict[str, tuple[int, int]]:
    with shop.ledger.transaction() as session:
        return {row.seller_sku: (row.fulfillable, row.reserved)
                for row in session.scalars(sa.select(StockLevel))}


def test_the_first_read_is_full_and_sets_the_cursor_on_amazons_clock(shop):
    shop.amazon.set_stock({"MUG": 7, "TEE": 3})
    assert read(shop, full=False) == (2, True)
    assert levels(shop) == {"MUG": (7, 0), "TEE": (3, 0)}
    with shop.ledger.transaction() as session:
        assert repo.get_cursor(session, shop.storefront.name, FLOW).position == shop.clock()


def test_an_incremental_read_takes_only_what_changed(shop):
    shop.amazon.set_stock({"MUG": 7, "TEE": 3, "CAP": 1})
    read(shop, full=True)
    shop.amazon.advance(600)
    shop.amazon.set_stock({"TEE": 9})
    # From the cursor less the overlap: the SKUs changed at the cursor's moment as well.
    assert read(shop, full=False) == (3, False)
    shop.amazon.advance(600)
    shop.amazon.set_stock({"CAP": 4})

    assert read(shop, full=False) == (2, False)  # TEE within the overlap, CAP
    assert levels(shop) == {"MUG": (7, 0), "TEE": (9, 0), "CAP": (4, 0)}
    assert shop.amazon.calls["inventory_levels"] == 3


def test_a_change_the_incremental_read_misses_is_repaired_by_a_full_read(shop):
    shop.amazon.set_stock({"MUG": 7, "TEE": 3})
    read(shop, full=True)
    shop.amazon.advance(600)
    shop.amazon.set_stock({"TEE": 4})
    read(shop, full=False)
    shop.amazon.advance(600)
    shop.amazon.set_stock({"MUG": 2}, undetected=True)

    assert read(shop, full=False) == (1, False)  # TEE within the overlap; MUG missed
    assert levels(shop)["MUG"] == (7, 0)
    assert read(shop, full=True) == (2, True)
    assert levels(shop)["MUG"] == (2, 0)


def test_a_sku_a_full_read_no_longer_lists_has_no_stock(shop):
    shop.amazon.set_stock({"MUG": 7, "TEE": 3})
    read(shop, full=True)
    with shop.ledger.transaction() as session:
        # Stock bridge has not heard of at Amazon (an old SKU, a removed listing).
        session.add(StockLevel(storefront=shop.storefront.name, seller_sku="OLD", fulfillable=4,
                               inbound=0, reserved=0))
    read(shop, full=True)
    assert levels(shop)["OLD"] == (0, 0)
    # An incremental read says nothing about SKUs it does not list.
    with shop.ledger.transaction() as session:
        session.scalar(sa.select(StockLevel).where(StockLevel.seller_sku == "OLD")).fulfillable = 4
    read(shop, full=False)
    assert levels(shop)["OLD"] == (4, 0)


def test_units_of_an_order_are_read_as_reserved(shop):
    shop.amazon.set_stock({"MUG": 7})
    shop.add_ready_order("#4001", {"MUG": 3})
    submit_ready(shop.ledger, shop.amazon, shop.cart, shop.storefront, 10)
    shop.amazon.advance(1)
    read(shop, full=True)
    assert levels(shop) == {"MUG": (4, 3)}
    shop.amazon.advance(timedelta(minutes=4).total_seconds())
    assert read(shop, full=False)[0] == 1, "the overlap reads the reservation again"
