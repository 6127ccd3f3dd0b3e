"""Each strict-input check on its own: a value just inside Amazon's limit passes, one past
it is held with a reason that says what and a message that names the field, quoting at
most ~40 characters with control characters escaped."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bridge.domain.dates import check_order_date
from bridge.domain.limits import ADDRESS_LIMITS, COUNTRY_CODES, MAX_EMAIL, has_control
from bridge.domain.mapping import MappingPolicy, build_fulfillment_request, quoted
from bridge.domain.model import Address, CartLine, CartOrder
from bridge.domain.skus import SkuMap
from bridge.errors import NeedsAttentionError

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
ADDRESS = Address(name="Ava Johnson", line1="12 Main St", line2="Apt 4", line3="Rear", city="Seattle",
                  state="WA", postal_code="98101", country_code="US", phone="206-555-0100")
POLICY = MappingPolicy(sku_map=SkuMap.from_config({}), speed_for=lambda _: "Standard",
                       fulfillment_policy="FillOrKill", comment_template="Thanks for order {number}")
# Domain Address attribute per model field.
ATTRIBUTE = {"name": "name", "addressLine1": "line1", "addressLine2": "line2", "addressLine3": "line3",
             "city": "city", "stateOrRegion": "state", "postalCode": "postal_code", "phone": "phone"}
LABEL = {"name": "name", "addressLine1": "address line 1", "addressLine2": "address line 2",
         "addressLine3": "address line 3", "city": "city", "stateOrRegion": "state or region",
         "postalCode": "postal code", "phone": "phone"}
CONTROLS = ["\x00", "\x07", "\t", "\r", "\n", "\x1b", "\x1f", "\x7f", "\x80", "\x85", "\x9f"]


def order(**changes) -> CartOrder:
    base = dict(order_id="1001", number="#1001", created_at=NOW, updated_at=NOW, paid=True,
                cancelled=False, lines=(CartLine("L1", "FBA-A", 2),), address=ADDRESS,
                shipping_method="", email="ava@example.com")
    base.update(changes)
    return CartOrder(**base)


def held(**changes) -> NeedsAttentionError:
    with pytest.raises(NeedsAttentionError) as caught:
        build_fulfillment_request(order(**changes), "DEMO-1001", POLICY, known_skus={"FBA-A"})
    return caught.value


def sent(**changes):
    return build_fulfillment_request(order(**changes), "DEMO-1001", POLICY, known_skus={"FBA-A"}).request


def test_a_full_good_order_passes_every_check():
    request = sent()
    assert request.destination == ADDRESS
    assert request.notification_emails == ("ava@example.com",)


@pytest.mark.parametrize("field", sorted(ATTRIBUTE))
def test_each_address_field_takes_its_limit_and_not_one_more(field):
    limit = ADDRESS_LIMITS[field]
    at_limit = replace(ADDRESS, **{ATTRIBUTE[field]: "a" * limit})
    assert getattr(sent(address=at_limit).destination, ATTRIBUTE[field]) == "a" * limit

    problem = held(address=replace(ADDRESS, **{ATTRIBUTE[field]: "a" * 5000}))
    assert problem.reason == "field_too_long"
    assert f"the shipping address's {LABEL[field]} is 5,000 characters; Amazon takes at most {limit}" \
        in problem.message
    assert len(problem.message) < 250  # the value itself is not echoed back


@pytest.mark.parametrize("field", sorted(ATTRIBUTE))
@pytest.mark.parametrize("control", CONTROLS)
def test_a_control_character_in_any_address_field_is_held(field, control):
    value = getattr(ADDRESS, ATTRIBUTE[field]) + control + "x"
    problem = held(address=replace(ADDRESS, **{ATTRIBUTE[field]: value}))
    assert problem.reason == "control_character"
    assert f"the shipping address's {LABEL[field]}" in problem.message
    assert f"\\x{ord(control):02x}" in problem.message
    assert not has_control(problem.message)


@pytest.mark.parametrize("control", ["\x00", "\x07", "\x7f", "\x80", "\x9f"])
def test_a_control_character_that_is_not_whitespace_is_held_even_at_the_edge(control):
    problem = held(address=replace(ADDRESS, city="Seattle" + control))
    assert problem.reason == "control_character" and "city" in problem.message


def test_surrounding_whitespace_is_trimmed_as_before_not_held():
    request = sent(address=replace(ADDRESS, city="\tSeattle\r\n", line2=" Apt 4\n"), number="#1001\r\n",
                   email=" ava@example.com\r\n")
    assert (request.destination.city, request.destination.line2) == ("Seattle", "Apt 4")
    assert request.displayable_id == "#1001"
    assert request.notification_emails == ("ava@example.com",)


@pytest.mark.parametrize("code", ["XX", "ZZ", "UK", "EU", "AA", "QZ"])
def test_unassigned_country_codes_are_held(code):
    problem = held(address=replace(ADDRESS, country_code=code))
    assert (problem.reason, code in problem.message) == ("bad_country_code", True)


@pytest.mark.parametrize("code, reason", [("  ", "incomplete_address"), ("12", "bad_country_code"),
                                          ("U1", "bad_country_code"), ("USA", "bad_country_code"),
                                          ("U\x00", "bad_country_code")])
def test_malformed_country_codes_are_held(code, reason):
    assert held(address=replace(ADDRESS, country_code=code)).reason == reason


def test_every_listed_country_code_is_taken_in_either_case():
    assert len(COUNTRY_CODES) == 249
    for code in ("US", "gb", "De", "JP", "ax"):
        assert sent(address=replace(ADDRESS, country_code=code)).destination.country_code == code.upper()


@pytest.mark.parametrize("control", CONTROLS)
def test_a_control_character_in_the_order_number_is_held(control):
    problem = held(number=f"#10{control}01")
    assert problem.reason == "control_character"
    assert "the order number" in problem.message and not has_control(problem.message)


def test_order_number_limits():
    assert sent(number="N" * 40).displayable_id == "N" * 40
    problem = held(number="N" * 5000)
    assert problem.reason == "bad_order_number"
    assert "5,000 characters" in problem.message and "N" * 41 not in problem.message
    assert held(number="#１００１").reason == "bad_order_number"  # outside ISO 8859-1


@pytest.mark.parametrize("email, reason", [
    ("ava@example.com\r\nBcc: all@example.com", "control_character"),
    ("ava@example.com\nBcc: x@example.com", "control_character"),
    ("ava\x00@example.com", "control_character"),
    ("a" * 53 + "@example.com", "field_too_long"),
    ("not an address", "bad_email"),
    ("ava@example", "bad_email"),
    ("ava@@example.com", "bad_email"),
])
def test_bad_notification_emails_are_held_not_dropped(email, reason):
    problem = held(email=email)
    assert problem.reason == reason
    assert "the customer's e-mail address" in problem.message and not has_control(problem.message)


def test_an_email_at_the_limit_is_sent_and_none_is_fine():
    email = "a" * (MAX_EMAIL - len("@example.com")) + "@example.com"
    assert sent(email=email).notification_emails == (email,)
    assert sent(email="").notification_emails == ()


@pytest.mark.parametrize("sku, reason", [("A" * 51, "sku_too_long"), ("FBA\x00A", "control_character"),
                                         ("FBA-A\r\n", "control_character")])
def test_bad_seller_skus_are_held(sku, reason):
    problem = held(lines=(CartLine("L1", sku, 1),))
    assert problem.reason == reason
    assert "seller SKU" in problem.message and not has_control(problem.message)


def test_a_seller_sku_at_the_limit_is_sent():
    sku = "A" * 50
    request = build_fulfillment_request(order(lines=(CartLine("L1", sku, 1),)), "D-1", POLICY, {sku}).request
    assert request.items[0].seller_sku == sku


def test_a_comment_template_with_a_control_character_is_held():
    policy = replace(POLICY, comment_template="Thanks\x07 {number}")
    with pytest.raises(NeedsAttentionError) as caught:
        build_fulfillment_request(order(), "DEMO-1001", policy, known_skus={"FBA-A"})
    assert caught.value.reason == "control_character"
    assert "comment" in caught.value.message


def test_an_unsafe_fulfillment_order_id_is_held():
    with pytest.raises(NeedsAttentionError) as caught:
        build_fulfillment_request(order(), "DEMO 1001\x00", POLICY, known_skus={"FBA-A"})
    assert caught.value.reason == "bad_fulfillment_order_id"


@pytest.mark.parametrize("created", [datetime(1900, 1, 1, tzinfo=UTC), datetime(1999, 12, 31, 23, 59, tzinfo=UTC),
                                     datetime(1970, 1, 1)])
def test_orders_dated_before_2000_are_held(created):
    problem = held(created_at=created, updated_at=NOW)
    assert problem.reason == "bad_date" and "creation date" in problem.message


def test_dates_ahead_of_the_clock():
    check_order_date(datetime(2000, 1, 1, tzinfo=UTC), NOW)
    check_order_date(NOW + timedelta(days=1), NOW)
    with pytest.raises(NeedsAttentionError) as caught:
        check_order_date(datetime(2999, 1, 1, tzinfo=UTC), NOW)
    assert caught.value.reason == "bad_date"
    with pytest.raises(NeedsAttentionError):
        check_order_date(NOW + timedelta(days=1, seconds=1), NOW)


def test_quoting_caps_and_escapes():
    assert quoted("short") == '"short"'
    assert quoted("a\r\nb\x00") == '"a\\x0d\\x0ab\\x00"'
    assert quoted("x" * 5000) == '"' + "x" * 40 + '…"'


def test_the_simulator_keeps_the_same_limits():
    """The simulator stands alone with its own copy; the two must not drift apart."""
    from bridge.domain import limits
    from bridge.sim.outbound import validation

    assert validation.COUNTRY_CODES == limits.COUNTRY_CODES
    assert validation.ADDRESS_LIMITS == {k: v for k, v in limits.ADDRESS_LIMITS.items() if k != "countryCode"}
    assert validation.MAX_EMAIL == limits.MAX_EMAIL
    assert validation.EARLIEST_ORDER_DATE == limits.EARLIEST_ORDER_DATE.timestamp()
    assert validation.MAX_ORDER_DATE_AHEAD == limits.MAX_ORDER_DATE_AHEAD.total_seconds()
    assert all(bool(validation.CONTROL.search(chr(c))) == has_control(chr(c)) for c in range(0x3000))
