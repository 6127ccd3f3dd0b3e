from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.domain.fulfillment import RequestedItem
from bridge.domain.ids import is_valid_seller_fulfillment_order_id, seller_fulfillment_order_id
from bridge.domain.mapping import MappingPolicy, build_fulfillment_request
from bridge.domain.model import Address, CartLine, CartOrder
from bridge.domain.skus import SkuMap
from bridge.errors import NeedsAttentionError

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
ADDRESS = Address(name="Ava Johnson", line1="12 Main St", city="Seattle", state="WA",
                  postal_code="98101", country_code="US")
POLICY = MappingPolicy(
    sku_map=SkuMap.from_config({"CART-A": "FBA-A", "KIT": {"FBA-A": 2, "FBA-B": 1}}),
    speed_for=lambda method: {"express": "Expedited"}.get(method, "Standard"),
    fulfillment_policy="FillOrKill",
    comment_template="Thanks for order {number}",
)


def order(**changes) -> CartOrder:
    base = dict(order_id="1001", number="#1001", created_at=NOW, updated_at=NOW, paid=True,
                cancelled=False, lines=(CartLine("L1", "CART-A", 2), CartLine("L2", "GIFT", 1, False)),
                address=ADDRESS, shipping_method="express", email="ava@example.com")
    base.update(changes)
    return CartOrder(**base)


def reason_of(**changes) -> str:
    with pytest.raises(NeedsAttentionError) as caught:
        build_fulfillment_request(order(**changes), "DEMO-1001", POLICY, known_skus={"FBA-A"})
    return caught.value.reason


def test_maps_a_good_order_to_the_models_fields():
    mapped = build_fulfillment_request(order(), "DEMO-1001", POLICY, known_skus={"FBA-A"})
    request = mapped.request
    assert request.seller_fulfillment_order_id == "DEMO-1001"
    assert request.displayable_id == "#1001"
    assert request.displayable_date == datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    assert request.comment == "Thanks for order #1001"
    assert request.shipping_speed == "Expedited"
    assert request.destination.country_code == "US"
    assert request.notification_emails == ("ava@example.com",)
    # the digital line is not sent; the SKU is mapped
    assert request.items == (RequestedItem(seller_sku="FBA-A", item_id="L1", quantity=2),)
    assert [line.seller_sku for line in mapped.lines] == ["FBA-A"]


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"address": None}, "missing_address"),
        ({"address": Address(name="A", line1="x", postal_code="1", country_code="US")}, "incomplete_address"),
        ({"address": Address(name="A", line1="x", city="c", postal_code="1", country_code="USA")}, "bad_country_code"),
        ({"address": Address(name="Иван Петров", line1="ул. Ленина 1", city="Москва",
                             postal_code="101000", country_code="RU")}, "non_latin_address"),
        ({"lines": (CartLine("L1", "CART-A", 0),)}, "bad_quantity"),
        ({"lines": (CartLine("L1", "NOPE", 1),)}, "unknown_sku"),
        ({"lines": (CartLine("L1", "", 1),)}, "missing_sku"),
        ({"lines": (CartLine("L1", "X" * 51, 1),)}, "sku_too_long"),
        ({"lines": (CartLine("L1", "GIFT", 1, False),)}, "no_shippable_lines"),
        ({"lines": (CartLine("L1", "CART-A", 251),)}, "too_many_units"),
        ({"number": "N" * 41}, "bad_order_number"),
        ({"number": "   "}, "missing_number"),
    ],
)
def test_bad_orders_get_a_specific_reason(changes, reason):
    assert reason_of(**changes) == reason


def test_comment_over_the_models_limit_needs_attention():
    policy = MappingPolicy(POLICY.sku_map, POLICY.speed_for, "FillOrKill", "x" * 751)
    with pytest.raises(NeedsAttentionError) as caught:
        build_fulfillment_request(order(), "DEMO-1001", policy)
    assert caught.value.reason == "bad_comment"


@pytest.mark.parametrize("template", ["{number.nope}", "{unknown}", "{0}", "{number"])
def test_a_template_that_cannot_render_needs_attention(template):
    policy = MappingPolicy(POLICY.sku_map, POLICY.speed_for, "FillOrKill", template)
    with pytest.raises(NeedsAttentionError) as caught:
        build_fulfillment_request(order(), "DEMO-1001", policy, known_skus={"FBA-A"})
    assert caught.value.reason == "bad_comment_template"


def test_unknown_skus_are_left_to_amazon_before_the_first_stock_sync():
    mapped = build_fulfillment_request(order(lines=(CartLine("L1", "NEW", 1),)), "D-1", POLICY, None)
    assert mapped.request.items[0].seller_sku == "NEW"


@given(st.text(min_size=1, max_size=200))
def test_fulfillment_order_ids_are_safe_deterministic_and_short(cart_id):
    first = seller_fulfillment_order_id("DEMO", cart_id)
    assert first == seller_fulfillment_order_id("DEMO", cart_id)
    assert is_valid_seller_fulfillment_order_id(first)


def test_distinct_cart_ids_get_distinct_fulfillment_ids():
    ids = {seller_fulfillment_order_id("DEMO", f"gid://shopify/Order/{n}") for n in range(5000)}
    assert len(ids) == 5000
    assert seller_fulfillment_order_id("DEMO", "1001") == "DEMO-1001"


def test_a_kit_line_ships_as_its_components_each_with_its_own_item_id():
    mapped = build_fulfillment_request(
        order(lines=(CartLine("L1", "KIT", 3), CartLine("L2", "CART-A", 1))), "shop-1001", POLICY)
    items = [(item.seller_sku, item.quantity, item.item_id) for item in mapped.request.items]
    assert items == [("FBA-A", 6, "L1_k0"), ("FBA-B", 3, "L1_k1"), ("FBA-A", 1, "L2")]
    assert [(line.line_id, line.cart_sku, line.kit_units) for line in mapped.lines] == [
        ("L1", "KIT", 2), ("L1", "KIT", 1), ("L2", "CART-A", 1)]


def test_a_kit_counts_its_component_units_against_amazons_limit():
    with pytest.raises(NeedsAttentionError) as caught:
        build_fulfillment_request(order(lines=(CartLine("L1", "KIT", 84),)), "shop-1001", POLICY)
    assert caught.value.reason == "too_many_units"


def test_a_line_without_a_sku_is_left_out_and_named_while_the_rest_ships():
    gift_wrap = order(lines=(CartLine("L1", "CART-A", 2), CartLine("L3", "  ", 1)))
    mapped = build_fulfillment_request(gift_wrap, "DEMO-1001", POLICY, known_skus={"FBA-A"})
    assert [(item.seller_sku, item.quantity) for item in mapped.request.items] == [("FBA-A", 2)]
    assert mapped.lines_without_sku == ("L3",)
    with_skus = build_fulfillment_request(order(), "DEMO-1001", POLICY, known_skus={"FBA-A"})
    assert with_skus.lines_without_sku == ()
