"""What rules read from a WooCommerce order (total, currency, the buyer's note, the money's
state, line names), mapped from the payloads WooCommerce documents, and the wording of
the notes bridge writes about an order's later life."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import pytest
from fakes.woocommerce_fake import FIXTURES

from bridge.carts.contract import CancelRequest, DeliveryUpdate, Milestone, ReturnStage, ReturnUpdate
from bridge.carts.woocommerce import lifecycle
from bridge.carts.woocommerce.mapping import ProductFacts, to_cart_order
from bridge.domain.model import CartOrder, PackageShipment, PaymentStatus, ShippedLine

READY, CANCELLED = ("processing",), ("cancelled", "refunded", "failed")
FACTS = {93: ProductFacts(True, "WOO-SINGLE-1"), 23: ProductFacts(True, "Bar3")}


def documented(name: str) -> list[dict]:
    data = json.loads((FIXTURES / name).read_text())
    if isinstance(data, dict) and {"create", "update"} & set(data):
        return [*data.get("create", []), *data.get("update", [])]
    return data if isinstance(data, list) else [data]


def mapped(row: dict) -> CartOrder:
    return to_cart_order(row, FACTS, READY, CANCELLED)


def order_json(**changes) -> dict:
    [row] = documented("order.json")
    return {**copy.deepcopy(row), **changes}


def test_the_documented_order_carries_total_currency_and_line_names():
    order = mapped(order_json())
    assert (order.total, order.currency, order.customer_note) == ("29.35", "USD", "")
    assert order.payment_status == PaymentStatus.PAID and order.paid
    # Names come HTML-escaped; the note a merchant reads shows the dash itself.
    assert [line.title for line in order.lines] == [
        "Woo Single #1", "Ship Your Idea – Color: Black, Size: M Test"]
    assert order.tags == () and order.risk == ""


def test_every_documented_status_maps_to_a_payment_state():
    seen = {(row["id"], row["status"]): mapped(row).payment_status
            for name in ("orders_list.json", "orders_batch_response.json")
            for row in documented(name)}
    assert seen == {
        (727, "processing"): PaymentStatus.PAID, (723, "completed"): PaymentStatus.PAID,
        (728, "pending"): PaymentStatus.PENDING, (729, "processing"): PaymentStatus.PAID,
        (727, "completed"): PaymentStatus.PAID,
    }


@pytest.mark.parametrize(("status", "expected"), [
    ("pending", PaymentStatus.PENDING), ("checkout-draft", PaymentStatus.PENDING),
    ("refunded", PaymentStatus.REFUNDED), ("cancelled", PaymentStatus.VOIDED),
    ("failed", PaymentStatus.VOIDED), ("trash", PaymentStatus.UNKNOWN),
])
def test_statuses_without_captured_money(status, expected):
    order = mapped(order_json(status=status, date_paid_gmt=None))
    assert order.payment_status == expected and not order.paid


def test_on_hold_awaiting_a_bank_transfer_is_pending():
    # The documented order pays by BACS: on hold until the merchant sees the money.
    order = mapped(order_json(status="on-hold", date_paid_gmt=None))
    assert order.payment_status == PaymentStatus.PENDING and not order.paid


def test_on_hold_with_a_card_authorization_is_authorized():
    by_transaction = mapped(order_json(status="on-hold", payment_method="braintree_credit_card",
                                       transaction_id="kx9v2b7d"))
    meta = [*order_json()["meta_data"], {"id": 1, "key": "_stripe_charge_captured", "value": "no"}]
    by_flag = mapped(order_json(status="on-hold", payment_method="stripe", meta_data=meta))
    for order in (by_transaction, by_flag):
        assert order.payment_status == PaymentStatus.AUTHORIZED and not order.paid


def test_a_captured_flag_overrides_the_transaction_id():
    meta = [{"id": 1, "key": "_stripe_charge_captured", "value": "yes"}]
    order = mapped(order_json(status="on-hold", transaction_id="ch_1", meta_data=meta))
    assert order.payment_status == PaymentStatus.PENDING


def test_cash_on_delivery_in_processing_is_to_be_paid_on_delivery():
    order = mapped(order_json(payment_method="cod", payment_method_title="Cash on delivery"))
    assert order.payment_status == PaymentStatus.ON_DELIVERY and not order.paid
    assert mapped(order_json(payment_method="cod", status="completed")).payment_status == "paid"


def test_a_custom_ready_status_is_paid():
    row = order_json(status="awaiting-shipment")
    order = to_cart_order(row, FACTS, ("processing", "awaiting-shipment"), CANCELLED)
    assert order.paid and order.payment_status == PaymentStatus.PAID


def test_buyer_note_and_currency_are_read_as_given():
    order = mapped(order_json(customer_note=" Leave it with the neighbour ", currency="eur",
                              total="1234.50"))
    assert (order.customer_note, order.currency, order.total) == (
        "Leave it with the neighbour", "EUR", "1234.50")


# -- the notes' wording -----------------------------------------------------------------

PACKAGE = PackageShipment(2, "UPS", "1ZWORDING", lines=(ShippedLine("315", "WOO-SINGLE-1", 1),))
WHEN = datetime(2024, 5, 1, 14, 5, tzinfo=UTC)


def test_a_delivery_note_names_carrier_tracking_and_milestone():
    text = lifecycle.delivery_note(DeliveryUpdate(PACKAGE, Milestone.RETURNED_TO_SENDER, WHEN,
                                                  "Refused by recipient"))
    assert text == ("Package 2 (UPS tracking 1ZWORDING) was returned to Amazon undelivered "
                    "on 2024-05-01 14:05 UTC: Refused by recipient. "
                    "[bridge:delivery:1ZWORDING:returned_to_sender]")


def test_return_notes_name_the_shops_items_and_never_promise_a_refund():
    order = mapped(order_json())
    lines = (ShippedLine("315", "WOO-SINGLE-1", 1), ShippedLine("999", "GONE", 2))
    authorized = lifecycle.return_note(order, ReturnUpdate(
        "RMA-9", ReturnStage.AUTHORIZED, lines, label_url="https://example.com/l/RMA-9",
        reason="Item defective"))
    assert "RMA-9 authorized by Amazon for Woo Single #1 (WOO-SINGLE-1) × 1, GONE × 2." in authorized
    assert "Reason: Item defective." in authorized and "https://example.com/l/RMA-9" in authorized
    assert authorized.endswith("No refund has been issued. [bridge:return:RMA-9:authorized]")
    received = lifecycle.return_note(order, ReturnUpdate("RMA-9", ReturnStage.RECEIVED, lines,
                                                         condition="Sellable"))
    assert "condition Sellable" in received and "No refund or restock has been made" in received
    assert received.endswith("[bridge:return:RMA-9:received]")


def test_a_cancel_note_for_the_customer_says_nothing_about_money():
    order = mapped(order_json())
    private = lifecycle.cancel_note(order, CancelRequest("Amazon has no stock."))
    public = lifecycle.cancel_note(order, CancelRequest("Amazon has no stock.", notify_customer=True))
    assert "No refund has been issued" in private and private.endswith("[bridge:cancel:727]")
    assert public == "Order cancelled: Amazon has no stock."
