"""The SKU map and the one definition of sellable stock, without any I/O."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bridge.domain.skus import SkuMap
from bridge.domain.stock import SellerStock, cart_targets, sellable_by_seller_sku

MAP = SkuMap.from_config({"blue-mug": "MUG-BLUE", "mug-blue-xl": "MUG-BLUE",
                          "GIFT-SET": {"MUG-BLUE": 2, "TEE-M": 1}})


def test_a_cart_sku_not_in_the_map_is_its_own_seller_sku():
    assert MAP.components("CAP-01") == (("CAP-01", 1),)
    assert MAP.components("blue-mug") == (("MUG-BLUE", 1),)
    assert MAP.is_kit("GIFT-SET") and not MAP.is_kit("blue-mug") and not MAP.is_kit("CAP-01")


def test_a_mapped_seller_sku_keeps_its_same_named_shop_sku():
    skus = MAP.cart_skus(["MUG-BLUE", "TEE-M", "CAP-01"])
    assert sorted(skus) == ["CAP-01", "GIFT-SET", "MUG-BLUE", "TEE-M", "blue-mug", "mug-blue-xl"]


def test_a_kit_is_kept_in_line_only_when_amazon_knows_every_component():
    assert "GIFT-SET" not in MAP.cart_skus(["MUG-BLUE"])


def test_kits_show_the_fewest_whole_kits_their_components_allow():
    sellable = {"MUG-BLUE": 9, "TEE-M": 3, "CAP-01": 0}
    targets = cart_targets(MAP, sellable)
    assert targets["GIFT-SET"] == 3  # min(9 // 2, 3 // 1)
    assert targets["blue-mug"] == targets["mug-blue-xl"] == targets["MUG-BLUE"] == 9
    assert cart_targets(MAP, {"MUG-BLUE": 9, "TEE-M": 30})["GIFT-SET"] == 4


def test_sellable_takes_off_open_orders_late_acceptances_and_the_buffer_never_below_zero():
    stock = {"A": SellerStock(10, open_units=3, accepted_after_read=2),
             "B": SellerStock(2, open_units=5)}
    assert sellable_by_seller_sku(stock, buffer=1) == {"A": 4, "B": 0}


@given(fulfillable=st.integers(0, 500), held=st.integers(0, 500), late=st.integers(0, 50),
       buffer=st.integers(0, 20), units=st.integers(1, 5))
def test_a_target_never_exceeds_what_amazon_can_ship(fulfillable, held, late, buffer, units):
    sku_map = SkuMap.from_config({"KIT": {"A": units}})
    sellable = sellable_by_seller_sku({"A": SellerStock(fulfillable, held, late)}, buffer)
    targets = cart_targets(sku_map, sellable)
    assert 0 <= targets["A"] <= max(0, fulfillable - held - late)
    assert targets["KIT"] * units <= targets["A"]


def test_the_map_names_what_amazon_or_bridge_could_not_use():
    problems = dict(SkuMap.from_config({
        "A": "B", "B": "C",                 # a chain: applied once, A would ship B
        "X": "Y", "Y": "X",                 # a cycle
        "KIT": {"MUG": 0},                  # no units
        "LONG": "S" * 51,                   # over Amazon's 50 characters
        "BIG": {"MUG": 200, "TEE": 60},     # one unit over Amazon's 250 per order
        "SAME": "SAME",                     # harmless
    }).problems())
    assert "itself mapped" in problems["A"]
    assert "cycle" in problems["X"] and "cycle" in problems["Y"]
    assert "at least 1" in problems["KIT"]
    assert "longer than Amazon's 50" in problems["LONG"]
    assert "250" in problems["BIG"]
    assert "SAME" not in problems and "B" not in problems
