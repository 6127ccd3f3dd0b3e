"""A storefront's rules: every condition and action on its own, how they combine, and
the configuration refusals (`bridge config check` names file, key and reason)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from bridge.config import load_config
from bridge.domain.model import Address, CartLine, CartOrder, PaymentStatus, RiskLevel
from bridge.domain.rules import (
    ALL_ORDERS,
    AWAITING_CAPTURE,
    CASH_ON_DELIVERY,
    EXCLUDE,
    HOLD,
    OVERRIDE,
    Conditions,
    Overrides,
    Rule,
    RuleBook,
    book_problems,
    evaluate,
)
from bridge.errors import ConfigError

AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def order(**changes) -> CartOrder:
    base = CartOrder(
        order_id="1001", number="#1001", created_at=AT, updated_at=AT, paid=True, cancelled=False,
        lines=(CartLine("1", "MUG", 1), CartLine("2", "TEE", 2)),
        address=Address(name="Jane Doe", line1="1 Main St", city="Seattle", postal_code="98101",
                        country_code="US"),
        total="120.00", currency="USD", tags=("VIP", "gift"), customer_note="",
        risk=RiskLevel.LOW, payment_status=PaymentStatus.PAID)
    return replace(base, **changes)


def hold_rule(name: str = "r", **when) -> Rule:
    return Rule(name, HOLD, Conditions(**when))


def held_by(rule: Rule, cart_order: CartOrder) -> tuple[str, ...]:
    return evaluate(RuleBook((rule,)), cart_order).hold_reasons


# ---------------------------------------------------------------- each condition

@pytest.mark.parametrize("total, currency, rule_currency, held", [
    ("120.00", "USD", "", True),
    ("100.00", "USD", "", False),      # over, not at
    ("100.01", "USD", "", True),
    ("120.00", "EUR", "USD", False),   # another currency is not compared
    ("120.00", "usd", "USD", True),
    ("", "USD", "", False),            # no total from the shop: not over anything
    ("n/a", "USD", "", False),
    ("NaN", "USD", "", False),
])
def test_total_over(total, currency, rule_currency, held):
    rule = hold_rule(total_over=Decimal("100"), currency=rule_currency)
    assert bool(held_by(rule, order(total=total, currency=currency))) is held


@pytest.mark.parametrize("tags, held", [(("vip",), True), (("  VIP ",), True), (("other",), False),
                                        ((), False)])
def test_tag_matches_any_listed_in_any_case(tags, held):
    assert bool(held_by(hold_rule(tags=("VIP", "wholesale")), order(tags=tags))) is held


@pytest.mark.parametrize("country, held", [("CA", True), ("ca", True), ("US", False)])
def test_shipping_country(country, held):
    cart_order = order(address=replace(order().address, country_code=country))
    assert bool(held_by(hold_rule(countries=("CA", "MX")), cart_order)) is held


def test_a_country_rule_does_not_match_an_order_without_an_address():
    assert held_by(hold_rule(countries=("US",)), order(address=None)) == ()


@pytest.mark.parametrize("skus, held", [(("TEE",), True), (("HAT", "MUG"), True), (("HAT",), False)])
def test_sku_on_any_line(skus, held):
    assert bool(held_by(hold_rule(skus=skus), order())) is held


@pytest.mark.parametrize("note, wanted, held", [
    ("please gift wrap", True, True), ("   ", True, False), ("", True, False),
    ("", False, True), ("hi", False, False)])
def test_customer_note_present_or_absent(note, wanted, held):
    assert bool(held_by(hold_rule(customer_note=wanted), order(customer_note=note))) is held


@pytest.mark.parametrize("risk, least, held", [
    (RiskLevel.HIGH, "medium", True), (RiskLevel.MEDIUM, "medium", True),
    (RiskLevel.LOW, "medium", False), (RiskLevel.UNKNOWN, "low", False),
    (RiskLevel.HIGH, "high", True)])
def test_risk_at_least(risk, least, held):
    assert bool(held_by(hold_rule(risk_at_least=least), order(risk=risk))) is held


def test_all_conditions_of_a_rule_must_match():
    rule = hold_rule(tags=("VIP",), countries=("CA",))
    assert held_by(rule, order()) == ()
    assert held_by(rule, order(address=replace(order().address, country_code="CA"))) == ("r",)


def test_a_rule_without_conditions_matches_nothing():
    assert held_by(Rule("empty", HOLD), order()) == ()


# ---------------------------------------------------------------- actions

def test_every_matching_hold_rule_is_recorded_with_its_name_in_file_order():
    book = RuleBook((hold_rule("big", total_over=Decimal("50")), hold_rule("never", skus=("HAT",)),
                     hold_rule("vip", tags=("vip",))))
    decision = evaluate(book, order())
    assert decision.hold_reasons == ("big", "vip")
    assert decision.hold is not None and decision.hold.reason == "big"
    assert "total over 50" in decision.hold.message


def test_all_orders_holds_every_order():
    assert evaluate(RuleBook(hold_all=True), order()).hold_reasons == (ALL_ORDERS,)
    assert evaluate(RuleBook(), order()).holds == ()


def test_exclude_names_the_first_matching_rule_and_wins_over_holds():
    book = RuleBook((Rule("no-tee", EXCLUDE, Conditions(skus=("TEE",))),
                     Rule("no-vip", EXCLUDE, Conditions(tags=("vip",)))), hold_all=True)
    decision = evaluate(book, order())
    assert decision.exclude is not None and decision.exclude.name == "no-tee"
    assert evaluate(book, order(lines=(CartLine("1", "MUG", 1),), tags=())).exclude is None


def test_overrides_first_setting_wins_and_features_add_up():
    book = RuleBook((
        Rule("fast-vip", OVERRIDE, Conditions(tags=("vip",)),
             Overrides(shipping_speed="Priority", features=("BLANK_BOX",))),
        Rule("gift", OVERRIDE, Conditions(tags=("gift",)),
             Overrides(fulfillment_policy="FillAllAvailable", shipping_speed="Expedited",
                       features=("BLANK_BOX", "BLOCK_AMZL"))),
        Rule("unmatched", OVERRIDE, Conditions(skus=("HAT",)), Overrides(shipping_speed="Standard")),
    ))
    decision = evaluate(book, order())
    assert decision.override_rules == ("fast-vip", "gift")
    assert decision.overrides == Overrides("FillAllAvailable", "Priority", ("BLANK_BOX", "BLOCK_AMZL"))
    assert decision.holds == () and decision.exclude is None


@pytest.mark.parametrize("paid, status, ship, held", [
    (False, PaymentStatus.AUTHORIZED, ("paid",), True),
    (False, PaymentStatus.AUTHORIZED, ("paid", "authorized"), False),
    (True, PaymentStatus.PAID, ("paid",), False),
    # Captured is captured, whatever the status field says.
    (True, PaymentStatus.AUTHORIZED, ("paid",), False),
])
def test_an_authorized_payment_is_held_unless_authorized_orders_ship(paid, status, ship, held):
    decision = evaluate(RuleBook(ship_payments=ship), order(paid=paid, payment_status=status))
    assert (decision.hold_reasons == (AWAITING_CAPTURE,)) is held


@pytest.mark.parametrize("ship, held", [
    (("paid",), True), (("paid", "authorized"), True), (("paid", "on_delivery"), False),
])
def test_cash_on_delivery_is_held_unless_such_orders_ship(ship, held):
    decision = evaluate(RuleBook(ship_payments=ship),
                        order(paid=False, payment_status=PaymentStatus.ON_DELIVERY))
    assert (decision.hold_reasons == (CASH_ON_DELIVERY,)) is held


def test_pending_leaves_out_approved_holds():
    book = RuleBook((hold_rule("big", total_over=Decimal("50")), hold_rule("vip", tags=("vip",))))
    decision = evaluate(book, order())
    assert [hold.reason for hold in decision.pending({"big"})] == ["vip"]
    assert decision.pending({"big", "vip"}) == ()


# ---------------------------------------------------------------- refusals

def test_a_sound_book_has_no_problems():
    book = RuleBook((hold_rule("big", total_over=Decimal("100"), currency="USD"),
                     Rule("fast", OVERRIDE, Conditions(tags=("x",)), Overrides(features=("BLOCK_AMZL",)))),
                    ship_payments=("paid", "authorized"))
    assert book_problems(book) == []


@pytest.mark.parametrize("rule, key, words", [
    (hold_rule(countries=("XX",)), "rules.0.countries", "'XX' is not an ISO 3166-1"),
    (hold_rule(total_over=Decimal("-1")), "rules.0.total_over", "negative"),
    (hold_rule(total_over=Decimal("1"), currency="DOLLARS"), "rules.0.currency", "ISO 4217"),
    (hold_rule(currency="USD", tags=("a",)), "rules.0.currency", "only means something"),
    (hold_rule(risk_at_least="extreme"), "rules.0.risk_at_least", "not one of"),
    (Rule("r", "ship", Conditions(tags=("a",))), "rules.0.action", "not one of"),
    (Rule("r", HOLD), "rules.0", "at least one condition"),
    (Rule("", HOLD, Conditions(tags=("a",))), "rules.0.name", "needs a name"),
    (Rule("manual", HOLD, Conditions(tags=("a",))), "rules.0.name", "hold reason of bridge's own"),
    (Rule("r", OVERRIDE, Conditions(tags=("a",))), "rules.0", "needs fulfillment_policy"),
    (Rule("r", HOLD, Conditions(tags=("a",)), Overrides(shipping_speed="Priority")),
     "rules.0.action", "go with action"),
    (Rule("r", OVERRIDE, Conditions(tags=("a",)), Overrides(features=("GIFT_WRAP",))),
     "rules.0.features", "'GIFT_WRAP' is not one of"),
    (Rule("r", OVERRIDE, Conditions(tags=("a",)), Overrides(shipping_speed="Fast")),
     "rules.0.shipping_speed", "not one of"),
    (Rule("r", OVERRIDE, Conditions(tags=("a",)), Overrides(fulfillment_policy="All")),
     "rules.0.fulfillment_policy", "not one of"),
])
def test_a_bad_rule_is_refused_with_its_key(rule, key, words):
    problems = dict(book_problems(RuleBook((rule,))))
    assert words in problems[key]


def test_duplicate_names_and_bad_payment_states_are_refused():
    problems = book_problems(RuleBook((hold_rule("a", tags=("x",)), hold_rule("a", tags=("y",))),
                                      ship_payments=("authorized", "pending")))
    assert ("rules", "rule name 'a' is used twice") in problems
    reasons = [reason for key, reason in problems if key == "approval.ship_payment"]
    assert any("'pending' is not one of" in reason for reason in reasons)
    assert any("a paid order always ships" in reason for reason in reasons)


STOREFRONT = """
[cart]
platform = "sql"
url = "sqlite:///store.db"
[fulfillment]
client_id = "amzn1.application-oa2-client.x"
client_secret = "env:RULES_TEST_SECRET"
refresh_token = "env:RULES_TEST_TOKEN"
"""


def load(tmp_path: Path, text: str):
    (tmp_path / "storefronts").mkdir(exist_ok=True)
    (tmp_path / "storefronts" / "shop.toml").write_text(STOREFRONT + text)
    return load_config(tmp_path)


def test_rules_are_read_from_the_storefront_file(tmp_path):
    config = load(tmp_path, """
[approval]
all_orders = true
ship_payment = ["paid", "authorized"]

[[rules]]
name = "big"
action = "hold"
total_over = 500
currency = "usd"

[[rules]]
name = "gift"
action = "override"
tags = ["gift"]
countries = ["us"]
features = ["BLANK_BOX"]
shipping_speed = "Expedited"
""")
    book = config.storefront("shop").rule_book
    assert book.hold_all and book.ship_payments == ("paid", "authorized")
    big, gift = book.rules
    assert (big.name, big.action, big.when.total_over, big.when.currency) == ("big", "hold", 500, "USD")
    assert gift.when.countries == ("US",)
    assert gift.overrides == Overrides("", "Expedited", ("BLANK_BOX",))


def test_an_unknown_rule_key_is_refused_with_its_place(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, """
[[rules]]
name = "typo"
action = "hold"
tag = ["x"]
""")
    problems = {(Path(file).name, key) for file, key, _reason in caught.value.problems}
    assert ("shop.toml", "rules.0.tag") in problems


def test_config_check_refuses_rule_values(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, """
[approval]
ship_payment = ["paid", "captured"]

[[rules]]
name = "far"
action = "hold"
countries = ["ZZ"]

[[rules]]
name = "far"
action = "override"
tags = ["x"]
features = ["GIFT_WRAP"]

[[rules]]
name = "neg"
action = "hold"
total_over = -5
""")
    problems = {(Path(file).name, key): reason for file, key, reason in caught.value.problems}
    assert "'ZZ' is not an ISO 3166-1" in problems[("shop.toml", "rules.0.countries")]
    assert "'GIFT_WRAP'" in problems[("shop.toml", "rules.1.features")]
    assert "negative" in problems[("shop.toml", "rules.2.total_over")]
    assert "used twice" in problems[("shop.toml", "rules")]
    assert "'captured'" in problems[("shop.toml", "approval.ship_payment")]
