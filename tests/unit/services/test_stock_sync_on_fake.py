"""Stock back to the shop, on the in-memory network and shop: the target per shop SKU
(held orders, kits, namesakes), corrections of what changed in the shop, raising only
once bridge has seen the shop's sales, and conditional writes retried when stale."""

from __future__ import annotations

import sqlalchemy as sa

from bridge.domain.states import OrderState as S
from bridge.ledger.tables import StockCorrection
from bridge.services.ingest import ingest_orders
from bridge.services.stock import sync_stock


def sync(store, **kwargs):
    return sync_stock(store.ledger, store.amazon, store.cart, store.storefront,
                      now=store.clock, **kwargs)


def poll(store):
    return ingest_orders(store.ledger, store.cart, store.storefront, now=store.clock)


def corrections(store, sku: str) -> list[tuple[int | None, int, str]]:
    with store.ledger.transaction() as session:
        return [(c.before, c.after, c.source) for c in session.scalars(
            sa.select(StockCorrection).where(StockCorrection.cart_sku == sku)
            .order_by(StockCorrection.id))]


def test_a_held_orders_units_stay_reserved(store):
    store.amazon.set_stock({"MUG": 10})
    store.cart.stock = {"MUG": 10}
    store.place("#6001", {"MUG": 3}, no_address=True)
    poll(store)
    assert store.state("#6001") == S.NEEDS_ATTENTION

    sync(store)
    # The shop sold those units; Amazon still counts them as fulfillable.
    assert store.cart.stock["MUG"] == 7


def test_a_kit_shows_the_fewest_whole_kits_its_components_allow(store, configure):
    configure(store, policy={"sku_map": {"GIFT-SET": {"MUG": 2, "TEE": 1}}})
    store.amazon.set_stock({"MUG": 7, "TEE": 5})
    store.cart.stock = {"GIFT-SET": 0, "MUG": 0, "TEE": 0}

    sync(store)
    assert store.cart.stock["GIFT-SET"] == 3  # min(7 // 2, 5 // 1)


def test_a_seller_sku_a_map_entry_points_at_keeps_its_namesake_in_line(store, configure):
    configure(store, policy={"sku_map": {"MUG-BLUE": "FBA-MUG"}})
    store.amazon.set_stock({"FBA-MUG": 6})
    store.cart.stock = {"MUG-BLUE": 0, "FBA-MUG": 0}

    sync(store)
    # Both shop SKUs sell the same units, so each shows all of them.
    assert store.cart.stock == {"MUG-BLUE": 6, "FBA-MUG": 6}

    # A sale of one lowers both once the poll has seen it.
    store.cart.stock["MUG-BLUE"] = 4
    store.place("#6002", {"MUG-BLUE": 2})
    poll(store)
    sync(store, read_amazon=False, reconcile=True)
    assert store.cart.stock == {"MUG-BLUE": 4, "FBA-MUG": 4}


def test_a_change_made_in_the_shop_is_corrected_with_source_shop(store):
    store.amazon.set_stock({"MUG": 10})
    store.cart.stock = {"MUG": 0}
    sync(store)
    assert corrections(store, "MUG") == [(0, 10, "amazon")]

    store.cart.stock["MUG"] = 25  # someone typed another number in the shop
    store.clock.advance(60)
    result = sync(store)
    assert (result.written, result.drift) == (1, 1)
    assert store.cart.stock["MUG"] == 10
    assert corrections(store, "MUG")[-1] == (25, 10, "shop")


def test_a_correction_follows_amazons_stock(store):
    store.amazon.set_stock({"MUG": 10})
    store.cart.stock = {"MUG": 10}
    sync(store)
    assert corrections(store, "MUG") == []  # already right: nothing written

    store.clock.advance(60)
    store.amazon.set_stock({"MUG": 4})
    sync(store)
    assert store.cart.stock["MUG"] == 4
    assert corrections(store, "MUG") == [(10, 4, "amazon")]


def test_a_raise_waits_for_the_order_poll_so_an_unseen_sale_is_not_handed_back(store):
    store.amazon.set_stock({"MUG": 10})
    # The shop sold two units and counted them; bridge has not polled that order yet.
    store.cart.stock = {"MUG": 8}
    store.place("#6003", {"MUG": 2})

    result = sync(store)
    # The cycle polled first, saw the order, and the target came down to what the
    # shop shows: the two units are not offered again.
    assert store.state("#6003") == S.READY
    assert store.cart.stock["MUG"] == 8
    assert store.cart.stock_writes == []
    assert result.written == 0


def test_a_raise_after_a_current_poll_is_written_without_another_poll(store):
    store.amazon.set_stock({"MUG": 10})
    store.cart.stock = {"MUG": 4}
    poll(store)  # bridge has seen every order placed up to now
    reads = len(store.cart.windows)

    sync(store)
    assert store.cart.stock["MUG"] == 10
    assert len(store.cart.windows) == reads


def test_a_lower_target_is_written_without_waiting_for_a_poll(store):
    store.amazon.set_stock({"MUG": 3})
    store.cart.stock = {"MUG": 8}

    sync(store)
    assert store.cart.stock["MUG"] == 3
    assert store.cart.windows == []


def test_a_stale_conditional_write_is_read_again_and_retried(conditional_store):
    store = conditional_store
    store.amazon.set_stock({"MUG": 6})
    store.cart.stock = {"MUG": 10}
    # A sale lands between bridge's read and its write: the write carries 10, the shop
    # now shows 9, so the shop refuses it as stale.
    store.cart.sales_before_write["MUG"] = 1

    result = sync(store)
    assert (result.stale, result.written, result.unresolved) == (1, 1, [])
    assert store.cart.stock["MUG"] == 6
    assert store.cart.stock_reads == [["MUG"], ["MUG"]]
    assert [[(w.quantity, w.expected) for w in writes] for writes in store.cart.stock_writes] == [
        [(6, 10)], [(6, 9)]]
    assert corrections(store, "MUG") == [(9, 6, "amazon")]


def test_a_stale_write_is_not_followed_by_a_raise_that_would_hand_the_sale_back(conditional_store):
    store = conditional_store
    store.amazon.set_stock({"MUG": 12})
    store.cart.stock = {"MUG": 10}
    # Bridge reads 10 and raises to 12; a sale lands first, so the shop shows 9 and
    # refuses the write. Raising 9 to 12 would hand back a unit bridge has not seen sold.
    store.cart.sales_before_write["MUG"] = 1

    result = sync(store)
    assert (result.stale, result.written) == (1, 0)
    assert store.cart.stock["MUG"] == 9
    assert result.unresolved == [
        "MUG: the shop's quantity changed while bridge corrected it; raised after the next order poll"]


def test_an_order_recorded_while_a_cycle_runs_is_reserved_before_the_cycle_ends(store):
    """The order's own stock nudge finds the running cycle's lease and returns; the
    running cycle applies the new reservation before it lets the lease go."""
    store.amazon.set_stock({"MUG": 10})
    store.cart.stock = {"MUG": 10}
    read_shop = store.cart.get_stock
    nudges = []

    def a_sale_arrives_mid_cycle(skus):
        if not nudges:
            store.place("#6101", {"MUG": 3}, no_address=True)  # held: its units stay reserved
            poll(store)
            nudges.append(sync(store, read_amazon=False))
        return read_shop(skus)

    store.cart.get_stock = a_sale_arrives_mid_cycle
    sync(store)

    assert nudges[0].skipped, "the nudge found the running cycle's lease"
    assert store.cart.stock["MUG"] == 7
