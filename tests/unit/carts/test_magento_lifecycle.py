"""What the Magento adapter reads for rules from the documented order payload (total,
currency, customer note, payment state, line titles), why Magento refuses a cancel, and
how its lifecycle comments read to a merchant."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bridge.carts.contract import (
    CancelRequest,
    DeliveryUpdate,
    Milestone,
    ReturnStage,
    ReturnUpdate,
)
from bridge.carts.lifecycle_words import delivery_key, return_key
from bridge.carts.magento.lifecycle import (
    cancel_comment,
    cannot_cancel_because,
    delivery_comment,
    has_event,
    return_comment,
    with_key,
)
from bridge.carts.magento.mapping import amount, cart_order, payment_status
from bridge.domain.model import PackageShipment, PaymentStatus, ShippedLine

FIXTURES = Path(__file__).parents[2] / "fakes" / "magento"
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
READY = frozenset({"processing"})
CANCELLED = frozenset({"canceled", "closed"})


def sample(**changes) -> dict:
    """The documented `GET /V1/orders/3` answer: state new, status pending, bank transfer."""
    order = json.loads((FIXTURES / "order.json").read_text())
    order.update(changes)
    return order


def with_payment(order: dict, **payment) -> dict:
    order = copy.deepcopy(order)
    order["payment"].update(payment)
    return order


def test_the_documented_order_reads_total_currency_and_title():
    order = cart_order(sample(), READY, CANCELLED, T0)
    assert (order.total, order.currency) == ("165.00", "USD")
    assert [line.title for line in order.lines] == ["Radiant Tee-M-Orange"]
    assert order.customer_note == "" and order.tags == () and order.risk == ""
    assert (order.paid, order.payment_status) == (False, PaymentStatus.PENDING)


def test_the_customer_note_is_the_orders_own_field():
    order = cart_order(sample(customer_note="  Leave it at the back door "), READY, CANCELLED, T0)
    assert order.customer_note == "Leave it at the back door"


@pytest.mark.parametrize("value, expected", [
    (165, "165.00"), (59.9, "59.90"), (12.3456, "12.3456"), ("7.5", "7.50"),
    (None, ""), ("abc", ""), (True, ""),
])
def test_amounts(value, expected):
    assert amount(value) == expected


PAID = {"total_paid": 165, "total_invoiced": 165}


@pytest.mark.parametrize("changes, payment, expected", [
    # invoiced and captured
    ({"state": "processing", **PAID}, {"amount_paid": 165}, PaymentStatus.PAID),
    # "Authorize Only": processing, nothing invoiced, the amount authorized
    ({"state": "processing"}, {"amount_authorized": 165, "base_amount_authorized": 165},
     PaymentStatus.AUTHORIZED),
    # a redirect gateway still waiting for the buyer
    ({"state": "pending_payment", "status": "pending_payment"}, {}, PaymentStatus.PENDING),
    ({"state": "payment_review"}, {}, PaymentStatus.PENDING),
    # an offline method marked processing without amounts: Magento's "invoiced"
    ({"state": "processing"}, {}, PaymentStatus.PAID),
    ({"state": "processing", **PAID, "total_refunded": 165}, {"amount_refunded": 165},
     PaymentStatus.REFUNDED),
    ({"state": "processing", **PAID, "total_refunded": 20}, {}, PaymentStatus.PAID),
    ({"state": "closed", **PAID}, {}, PaymentStatus.REFUNDED),
    ({"state": "canceled"}, {"amount_authorized": 165}, PaymentStatus.VOIDED),
])
def test_payment_states(changes, payment, expected):
    order = with_payment(sample(**changes), **payment)
    assert payment_status(order) == expected
    mapped = cart_order(order, READY, CANCELLED, T0)
    assert mapped.payment_status == expected
    assert mapped.paid is (expected == PaymentStatus.PAID and changes["state"] == "processing")


def test_a_ready_state_of_the_merchants_counts_as_paid_without_amounts():
    assert payment_status(sample(state="holded"), frozenset({"holded"})) == PaymentStatus.PAID
    assert payment_status(sample(state="holded")) == PaymentStatus.PENDING


def invoiced(order: dict) -> dict:
    for row in order["items"]:
        row["qty_invoiced"] = row["qty_ordered"]
    return order


@pytest.mark.parametrize("order, words", [
    (sample(state="holded"), "on hold"),
    (sample(state="payment_review"), "payment is under review"),
    (sample(state="complete"), "complete"),
    (invoiced(sample(state="processing")), "credit memo"),
    (sample(state="processing"), "refused the cancel (state processing)"),
])
def test_why_magento_will_not_cancel(order, words):
    assert words in cannot_cancel_because(order)


PACKAGE = PackageShipment(1, "UPS", "1ZABC")


def test_comments_and_their_keys():
    delivered = DeliveryUpdate(PACKAGE, Milestone.RETURNED_TO_SENDER, T0, "Refused")
    assert delivery_comment(delivered) == (
        "Package 1 (UPS tracking 1ZABC) was returned to Amazon undelivered on"
        " 2024-05-01 12:00 UTC: Refused.")
    lines = (ShippedLine("3", "WS12-M-Orange", 1),)
    authorized = ReturnUpdate("RMA-3", ReturnStage.AUTHORIZED, lines, label_url="https://l/3",
                              reason="Wrong size")
    received = ReturnUpdate("RMA-3", ReturnStage.RECEIVED, lines, condition="Defective")
    assert return_comment(authorized) == (
        "Return RMA-3 authorized by Amazon for WS12-M-Orange × 1. Reason: Wrong size."
        " Return label: https://l/3 No refund has been issued.")
    assert return_comment(received) == (
        "Return RMA-3 received by Amazon: WS12-M-Orange × 1, condition Defective."
        " No refund or restock has been made.")
    assert cancel_comment(CancelRequest("Amazon cancelled it.")) == (
        "Order cancelled: Amazon cancelled it. No refund has been issued.")
    assert delivery_key(delivered) == "bridge:delivery:1ZABC:returned_to_sender"
    assert return_key(received) == "bridge:return:RMA-3:received"


def test_an_event_is_found_in_the_orders_status_histories():
    key = "bridge:delivery:1ZABC:delivered"
    order = sample(status_histories=[{"comment": "Shipped."},
                                     {"comment": with_key("Package 1 was delivered.", key)}])
    assert has_event(order, key)
    assert not has_event(order, "bridge:delivery:1ZABC:delivery_failed")
    assert not has_event(sample(), key)
