"""What the SQL cart adapter reads for rules (total, currency, tags, note, payment state,
line titles) and how its lifecycle notes read to a merchant."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bridge.carts.contract import (
    CancelRequest,
    DeliveryUpdate,
    Milestone,
    ReturnStage,
    ReturnUpdate,
)
from bridge.carts.lifecycle_words import (
    cancel_sentence,
    delivery_key,
    delivery_sentence,
    return_key,
    return_sentence,
    with_key,
)
from bridge.carts.sql.mapping import as_amount, as_tags, cart_line, cart_order
from bridge.carts.sql.settings import SqlMapping, check_settings
from bridge.domain.model import PackageShipment, PaymentStatus, ShippedLine

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def order_row(**columns) -> dict:
    row = {"f_id": 5, "f_number": "#5", "f_updated_at": T0, "f_created_at": T0,
           "f_paid": "paid", "f_cancelled": None}
    return row | {f"f_{key}": value for key, value in columns.items()}


@pytest.mark.parametrize("value, expected", [
    (Decimal("59.90"), "59.90"),     # PostgreSQL NUMERIC keeps its scale
    (59.9, "59.90"),                 # SQLite gives a float back
    (20, "20.00"),
    (" 12.5 ", "12.5"),              # text reads as written
    (Decimal("0.125"), "0.125"),
    ("twelve", ""), (None, ""), (True, ""), ("NaN", ""),
])
def test_totals_read_as_decimal_strings(value, expected):
    assert as_amount(value) == expected


def test_tags_are_comma_separated_without_blanks_or_repeats():
    assert as_tags(" vip, gift,,vip , ") == ("vip", "gift")
    assert as_tags(None) == ()


@pytest.mark.parametrize("status, payment, paid", [
    ("paid", PaymentStatus.PAID, True),
    ("Partially_Refunded", PaymentStatus.PAID, True),
    ("authorized", PaymentStatus.AUTHORIZED, False),
    ("on_hold", PaymentStatus.AUTHORIZED, False),
    ("refunded", PaymentStatus.REFUNDED, False),
    ("voided", PaymentStatus.VOIDED, False),
    ("pending", PaymentStatus.PENDING, False),
    (None, PaymentStatus.PENDING, False),
    # Paid, and shipped already by the shop or another system: not for bridge to ship.
    ("Shipped", PaymentStatus.PAID, False),
    ("fulfilled", PaymentStatus.PAID, False),
])
def test_the_status_column_sorts_into_payment_states(status, payment, paid):
    mapping = SqlMapping.from_settings({"orders": {
        "paid_values": ["paid", "partially_refunded"],
        "authorized_values": ["authorized", "on_hold"], "shipped_values": ["shipped", "fulfilled"]}})
    order = cart_order(order_row(paid=status), [], T0, mapping)
    assert (order.payment_status, order.paid) == (payment, paid)


def test_a_shipped_order_counts_as_fulfilled_elsewhere_in_shadow_mode():
    from bridge.services.shadow import fulfilled_elsewhere

    mapping = SqlMapping.from_settings({"orders": {"shipped_values": ["dispatched"]}})
    line = cart_line({"f_id": 9, "f_sku": "MUG-BLUE", "f_quantity": 2})
    assert fulfilled_elsewhere(cart_order(order_row(paid="dispatched"), [line], T0, mapping))
    assert not fulfilled_elsewhere(cart_order(order_row(paid="paid"), [line], T0, mapping))
    assert not fulfilled_elsewhere(cart_order(order_row(paid="pending"), [line], T0, mapping))


def test_without_a_payment_column_every_order_is_paid():
    mapping = SqlMapping.from_settings({"orders": {"paid": ""}})
    order = cart_order(order_row(), [], T0, mapping)
    assert (order.paid, order.payment_status) == (True, PaymentStatus.PAID)


def test_rule_fields_and_line_titles_are_read():
    mapping = SqlMapping.from_settings({})
    line = cart_line({"f_id": 9, "f_sku": "MUG-BLUE", "f_quantity": 2, "f_title": " Blue mug "})
    order = cart_order(order_row(total=Decimal("59.90"), currency="usd", tags="vip,gift",
                                 customer_note=" Leave it with the neighbour "),
                       [line], T0, mapping)
    assert (order.total, order.currency, order.tags) == ("59.90", "USD", ("vip", "gift"))
    assert order.customer_note == "Leave it with the neighbour"
    assert order.lines[0].title == "Blue mug"


def test_a_value_in_two_payment_lists_is_a_problem():
    problems = check_settings({"url": "sqlite://", "orders": {
        "paid_values": ["paid"], "authorized_values": ["Paid", "authorized"]}})
    assert problems == [("orders.authorized_values", "'Paid' is also in orders.paid_values")]


def test_payment_lists_must_be_lists():
    problems = check_settings({"url": "sqlite://", "orders": {"voided_values": "voided"}})
    assert ("orders.voided_values", "must be a list of strings, numbers or booleans") in problems


def test_soft_default_columns_are_inferred_unless_named():
    mapping = SqlMapping.from_settings({"lines": {"title": "name"}})
    assert ("lines", "title") not in mapping.inferred
    assert ("lines", "cancelled_quantity") in mapping.inferred
    assert ("notes", "event_key") in mapping.inferred
    settled = mapping.without({("lines", "cancelled_quantity")})
    assert settled.lines["cancelled_quantity"] == "" and settled.lines["title"] == "name"
    assert ("lines", "cancelled_quantity") not in settled.inferred


PACKAGE = PackageShipment(2, "UPS", "1ZABC", lines=(ShippedLine("9", "MUG-BLUE", 1),))


@pytest.mark.parametrize("milestone, words", [
    (Milestone.DELIVERED, "was delivered"),
    (Milestone.DELIVERY_FAILED, "could not be delivered"),
    (Milestone.RETURNED_TO_SENDER, "was returned to Amazon undelivered"),
])
def test_delivery_notes_name_carrier_tracking_and_milestone(milestone, words):
    update = DeliveryUpdate(PACKAGE, milestone, T0, "Front door")
    assert delivery_sentence(update) == (
        f"Package 2 (UPS tracking 1ZABC) {words} on 2024-05-01 12:00 UTC: Front door.")
    assert delivery_key(update) == f"bridge:delivery:1ZABC:{milestone.value}"


def test_return_notes_give_authorization_label_reason_and_condition():
    lines = (ShippedLine("9", "MUG-BLUE", 1),)
    authorized = ReturnUpdate("RMA-1", ReturnStage.AUTHORIZED, lines,
                              label_url="https://example.com/l/1", reason="Damaged")
    received = ReturnUpdate("RMA-1", ReturnStage.RECEIVED, lines, condition="Sellable")
    assert return_sentence(authorized) == (
        "Return RMA-1 authorized by Amazon for MUG-BLUE × 1. Reason: Damaged."
        " Return label: https://example.com/l/1 No refund has been issued.")
    assert return_sentence(received) == (
        "Return RMA-1 received by Amazon: MUG-BLUE × 1, condition Sellable."
        " No refund or restock has been made.")
    assert (return_key(authorized), return_key(received)) == (
        "bridge:return:RMA-1:authorized", "bridge:return:RMA-1:received")


def test_cancel_notes_give_the_reason_and_the_lines():
    assert cancel_sentence(CancelRequest("Amazon cancelled the order.")) == (
        "Order cancelled: Amazon cancelled the order. No refund has been issued.")
    lines = CancelRequest("Out of stock at Amazon.", lines=(ShippedLine("9", "TEE-M", 1),))
    assert cancel_sentence(lines) == (
        "Lines cancelled (TEE-M × 1): Out of stock at Amazon. No refund has been issued.")


def test_the_key_ends_the_text_where_the_table_has_no_key_column():
    assert with_key("Delivered.", "bridge:delivery:1Z:delivered") == (
        "Delivered. [bridge:delivery:1Z:delivered]")
