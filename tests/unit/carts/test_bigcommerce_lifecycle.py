"""What rules read from a BigCommerce V2 order (total, currency, the buyer's message, the
money's state, product names), mapped from the payloads BigCommerce publishes, and the
wording bridge writes about an order's later life."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pytest
import yaml

from bridge.carts.bigcommerce import lifecycle
from bridge.carts.bigcommerce.mapping import StatusRules, amount, cart_order
from bridge.carts.contract import CancelRequest, DeliveryUpdate, Milestone, ReturnStage, ReturnUpdate
from bridge.domain.model import CartOrder, PackageShipment, PaymentStatus, ShippedLine

FIXTURES = Path(__file__).parents[2] / "fakes" / "bigcommerce"
RULES = StatusRules(frozenset({11}), frozenset({5, 4, 6}), frozenset({2, 3}))


def fixture(name: str):
    return json.loads((FIXTURES / name).read_text())


@cache
def spec_example(name: str) -> dict:
    """One of the spec's examples of GET /orders/{order_id}."""
    document = yaml.safe_load((FIXTURES / "spec" / "orders.v2.oas2.yml").read_text())
    examples = document["components"]["responses"]["order_Resp"]["content"]["application/json"]
    return examples["examples"][name]["value"]


def mapped(row: dict, shipped_by_bridge: bool = False) -> CartOrder:
    return cart_order(row, fixture("v2_order_products.json"), None, RULES, shipped_by_bridge)


def test_an_authorized_order_awaiting_fulfillment_is_not_paid():
    # The spec's order list: Awaiting Fulfillment, the card only authorized.
    [row] = fixture("v2_orders_list.json")
    order = mapped(row)
    assert (row["status_id"], row["payment_status"]) == (11, "authorized")
    assert order.payment_status == PaymentStatus.AUTHORIZED and not order.paid
    assert (order.total, order.currency, order.customer_note) == ("361.95", "USD", "")


def test_an_order_awaiting_payment_is_authorized_and_unpaid():
    order = mapped(fixture("v2_order.json"))
    assert order.payment_status == PaymentStatus.AUTHORIZED and not order.paid
    assert (order.total, order.currency) == ("69.84", "USD")


def test_a_captured_order_awaiting_fulfillment_is_paid_with_the_buyers_message():
    order = mapped(spec_example("Multiple Items"))
    assert order.paid and order.payment_status == PaymentStatus.PAID
    assert order.customer_note == "Custom Journal Added"
    assert order.total == "1008.74" and order.currency == ""  # the example names none
    assert order.tags == () and order.risk == ""


def test_line_titles_are_the_product_names():
    order = mapped(spec_example("Response"))
    assert [line.title for line in order.lines] == [
        "Fog Linen Chambray Towel - Beige Stripe", "Able Brewing System"]


@pytest.mark.parametrize(("gateway", "expected"), [
    ("captured", PaymentStatus.PAID), ("paid", PaymentStatus.PAID),
    ("partially refunded", PaymentStatus.PAID), ("authorized", PaymentStatus.AUTHORIZED),
    ("capture pending", PaymentStatus.AUTHORIZED), ("held for review", PaymentStatus.PENDING),
    ("declined", PaymentStatus.VOIDED), ("void", PaymentStatus.VOIDED),
    ("void pending", PaymentStatus.VOIDED), ("refunded", PaymentStatus.REFUNDED),
])
def test_every_gateway_payment_status_of_the_spec(gateway, expected):
    row = {**copy.deepcopy(spec_example("Multiple Items")), "payment_status": gateway}
    order = mapped(row)
    assert order.payment_status == expected
    assert order.paid is (expected == PaymentStatus.PAID)


@pytest.mark.parametrize(("status_id", "expected", "paid"), [
    (11, PaymentStatus.PAID, True),        # an offline method the merchant moved on
    (7, PaymentStatus.PENDING, False), (0, PaymentStatus.PENDING, False),
    (4, PaymentStatus.REFUNDED, False), (14, PaymentStatus.PAID, False),
    (5, PaymentStatus.VOIDED, False), (12, PaymentStatus.UNKNOWN, False),
])
def test_without_a_gateway_word_the_status_decides(status_id, expected, paid):
    # Offline methods leave the gateway's word empty or "pending".
    for gateway in ("", "pending"):
        row = {**copy.deepcopy(spec_example("Multiple Items")), "payment_status": gateway,
               "status_id": status_id}
        order = mapped(row)
        assert (order.payment_status, order.paid) == (expected, paid)


def test_a_bridge_shipped_order_stays_paid_once_captured():
    row = {**copy.deepcopy(spec_example("Multiple Items")), "status_id": 2}
    assert mapped(row, shipped_by_bridge=True).paid
    assert not mapped({**row, "payment_status": "authorized"}, shipped_by_bridge=True).paid


@pytest.mark.parametrize(("text", "expected"), [
    ("361.9500", "361.95"), ("1000.74", "1000.74"), ("0.0000", "0.00"), ("12.3450", "12.345"),
    ("", ""), ("lots", ""), (None, ""), ("NaN", ""),
])
def test_money_keeps_its_value_without_the_padding(text, expected):
    assert amount(text) == expected


# -- the wording ------------------------------------------------------------------------

WHEN = datetime(2024, 5, 1, 14, 5, tzinfo=UTC)
PACKAGE = PackageShipment(1, "UPS", "1ZBCWORDS")


def test_a_shipment_comment_line_and_its_staff_note_twin():
    update = DeliveryUpdate(PACKAGE, Milestone.RETURNED_TO_SENDER, WHEN, "Refused")
    assert lifecycle.delivery_comment(update) == (
        "Returned to Amazon undelivered on 2024-05-01 14:05 UTC (Refused). "
        "[bridge:delivery:1ZBCWORDS:returned_to_sender]")
    assert lifecycle.delivery_note(update).startswith(
        "Package 1 (UPS tracking 1ZBCWORDS) was returned to Amazon undelivered")


def test_return_and_cancel_notes_never_promise_money():
    order = mapped(spec_example("Response"))
    lines = (ShippedLine(order.lines[1].line_id, "ABS", 1),)
    received = lifecycle.return_note(order, ReturnUpdate("RMA-5", ReturnStage.RECEIVED, lines,
                                                         condition="Defective"))
    assert received == ("Return RMA-5 received by Amazon: Able Brewing System (ABS) "
                        "× 1, condition Defective. No refund or restock has been made: refund "
                        "in BigCommerce if it is due. [bridge:return:RMA-5:received]")
    cancel = lifecycle.cancel_note(order, CancelRequest("Amazon has no stock."))
    assert "No refund has been issued" in cancel and cancel.endswith("[bridge:cancel:218]")


def test_appending_keeps_what_was_there():
    assert lifecycle.appended("", "new") == "new"
    assert lifecycle.appended("BIN-45\n", "new") == "BIN-45\nnew"
