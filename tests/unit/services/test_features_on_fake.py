"""Amazon's options (featureConstraints) on the in-memory network: asked for per storefront,
checked with getFeatures / getFeatureSKU before the create (answers cached), and an
option Amazon cannot give either holds the order or is dropped, as the merchant chose."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bridge.config import Policy
from bridge.domain.fulfillment import FeatureSkuEligibility
from bridge.domain.states import OrderState as S
from bridge.fba.fake import Fault
from bridge.services.features import FeatureAnswers, unavailable
from bridge.services.submit import submit_ready


def submit(shop):
    return submit_ready(shop.ledger, shop.amazon, shop.cart, shop.storefront, 10)


def test_a_storefront_option_reaches_amazon_and_is_saved_with_the_request(shop, configure):
    configure(shop, policy={"features": ["BLANK_BOX", "BLOCK_AMZL"]})
    shop.amazon.set_stock({"MUG": 5})
    shop.add_ready_order("#7001", {"MUG": 1})

    assert submit(shop).accepted == 1
    assert shop.amazon.fulfillment_order(shop.sfo_id("#7001")).features == (
        "BLANK_BOX", "BLOCK_AMZL")
    assert shop.row("#7001").request["features"] == ["BLANK_BOX", "BLOCK_AMZL"]


def test_an_order_without_options_asks_amazon_nothing_about_them(shop):
    shop.amazon.set_stock({"MUG": 5})
    shop.add_ready_order("#7002", {"MUG": 1})

    assert submit(shop).accepted == 1
    assert (shop.amazon.calls["features"], shop.amazon.calls["feature_sku"]) == (0, 0)


def test_an_option_the_seller_is_not_enrolled_in_holds_the_order(shop, configure):
    configure(shop, policy={"features": ["BLANK_BOX"]})
    shop.amazon.set_stock({"MUG": 5})
    shop.amazon.set_feature_enrollment("BLANK_BOX", False)
    shop.add_ready_order("#7003", {"MUG": 1})

    result = submit(shop)
    assert (result.accepted, result.needs_attention) == (0, 1)
    row = shop.row("#7003")
    assert (row.state, row.attention_reason) == (S.NEEDS_ATTENTION, "feature_unavailable")
    assert "BLANK_BOX" in row.last_error or any("BLANK_BOX" in e for e in shop.events("#7003"))
    assert shop.amazon.order_ids() == []
    [(order_id, note)] = shop.cart.notes
    assert order_id == "7003" and "BLANK_BOX" in note and "not enrolled" in note


def test_a_sku_not_eligible_for_the_option_is_named(shop, configure):
    configure(shop, policy={"features": ["BLOCK_AMZL"]})
    shop.amazon.set_stock({"MUG": 5, "CUP": 0})
    shop.add_ready_order("#7004", {"MUG": 1, "CUP": 1})

    assert submit(shop).needs_attention == 1
    [(_, note)] = shop.cart.notes
    assert "BLOCK_AMZL" in note and '"CUP"' in note and "SKU_NOT_ELIGIBLE" in note
    assert '"MUG"' not in note


def test_send_without_drops_the_option_with_an_event_and_a_note(shop, configure):
    configure(shop, policy={"features": ["BLANK_BOX"], "when_feature_unavailable": "send_without"})
    shop.amazon.set_stock({"MUG": 5})
    shop.amazon.set_feature_enrollment("BLANK_BOX", False)
    shop.add_ready_order("#7005", {"MUG": 1})

    assert submit(shop).accepted == 1
    assert shop.amazon.fulfillment_order(shop.sfo_id("#7005")).features == ()
    request = shop.row("#7005").request
    assert (request["features"], request["features_dropped"]) == ([], ["BLANK_BOX"])
    assert any("sent to Amazon without BLANK_BOX" in e for e in shop.events("#7005"))
    [(_, note)] = shop.cart.notes
    assert "without BLANK_BOX" in note


def test_a_retry_after_an_unknown_create_sends_the_same_decision(shop, configure):
    configure(shop, policy={"features": ["BLANK_BOX"], "when_feature_unavailable": "send_without"})
    shop.amazon.set_stock({"MUG": 5})
    shop.amazon.set_feature_enrollment("BLANK_BOX", False)
    shop.add_ready_order("#7006", {"MUG": 1})
    shop.amazon.inject("create_fulfillment_order", Fault.TIMEOUT)
    assert submit(shop).unknown == 1

    shop.amazon.set_feature_enrollment("BLANK_BOX", True)  # enrolled meanwhile
    assert submit(shop).accepted == 1
    assert shop.amazon.fulfillment_order(shop.sfo_id("#7006")).features == (), (
        "the merchant was told it goes without: it does")
    assert len(shop.cart.notes) == 1


def test_throttled_feature_checks_send_nothing_and_leave_the_order_ready(shop, configure):
    configure(shop, policy={"features": ["BLANK_BOX"]})
    shop.amazon.set_stock({"MUG": 5})
    shop.add_ready_order("#7007", {"MUG": 1})
    shop.amazon.inject("features", Fault.THROTTLED)

    assert submit(shop).deferred == 1
    assert shop.state("#7007") == S.READY
    assert shop.amazon.order_ids() == []


class Counting:
    """A network that counts feature questions and answers from a table."""

    def __init__(self, enrolled: dict[str, bool], eligible: dict[str, bool]) -> None:
        self.enrolled, self.eligible = enrolled, eligible
        self.calls = {"features": 0, "feature_sku": 0}

    def features(self, marketplace_id: str = "") -> dict[str, bool]:
        self.calls["features"] += 1
        return dict(self.enrolled)

    def feature_sku(self, feature: str, sku: str, marketplace_id: str = "") -> FeatureSkuEligibility:
        self.calls["feature_sku"] += 1
        ok = self.eligible.get(sku, False)
        return FeatureSkuEligibility(feature, sku, ok, () if ok else ("SKU_NOT_ELIGIBLE",))


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_answers_are_cached_per_marketplace_and_per_sku_for_their_ttls():
    net, ticks = Counting({"BLANK_BOX": True}, {"MUG": True, "CUP": False}), Ticks()
    answers = FeatureAnswers(ticks, features_ttl=600, sku_ttl=60)

    for _ in range(3):
        missing = unavailable(net, ["BLANK_BOX"], ["MUG", "CUP", "MUG"], answers)  # type: ignore[arg-type]
    assert [(m.feature, m.seller_sku) for m in missing] == [("BLANK_BOX", "CUP")]
    assert net.calls == {"features": 1, "feature_sku": 2}

    ticks.now = 61  # SKU answers expire first
    unavailable(net, ["BLANK_BOX"], ["MUG"], answers)  # type: ignore[arg-type]
    assert net.calls == {"features": 1, "feature_sku": 3}
    ticks.now = 601
    unavailable(net, ["BLANK_BOX"], ["MUG"], answers)  # type: ignore[arg-type]
    assert net.calls == {"features": 2, "feature_sku": 4}


@pytest.mark.parametrize("enrolled, why", [
    ({}, "not offered in this marketplace"),
    ({"BLOCK_AMZL": False}, "not enrolled"),
])
def test_a_feature_unavailable_to_the_whole_account_asks_nothing_about_skus(enrolled, why):
    net = Counting(enrolled, {"MUG": True})
    [missing] = unavailable(net, ["BLOCK_AMZL"], ["MUG"], FeatureAnswers(Ticks()))  # type: ignore[arg-type]
    assert (missing.seller_sku, why in missing.sentence()) == ("", True)
    assert net.calls["feature_sku"] == 0


def test_a_storefront_option_amazon_does_not_know_is_a_config_problem():
    with pytest.raises(ValidationError, match="unknown feature GIFT_WRAP"):
        Policy(features=["BLANK_BOX", "GIFT_WRAP"])
    assert Policy(features=["BLOCK_AMZL"]).when_feature_unavailable == "hold"
