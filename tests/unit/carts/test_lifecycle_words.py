"""The keys every shop's lifecycle notes carry (their spelling is what shops already hold)
and the shared words' times and refund advice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from bridge.carts import lifecycle_words as words
from bridge.carts.contract import CancelRequest, DeliveryUpdate, Milestone, ReturnStage, ReturnUpdate
from bridge.domain.model import CartOrder, PackageShipment, ShippedLine

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
PACKAGE = PackageShipment(1, "", "1ZKEY")
ORDER = CartOrder(order_id="4711", number="#4711", created_at=T0, updated_at=T0, paid=True,
                  cancelled=False, lines=())


def test_the_keys_keep_the_spelling_shops_hold():
    delivery = DeliveryUpdate(PACKAGE, Milestone.DELIVERY_FAILED, T0)
    ret = ReturnUpdate("RMA-7", ReturnStage.RECEIVED, ())
    assert (words.delivery_key(delivery), words.return_key(ret), words.cancel_key(ORDER)) == (
        "bridge:delivery:1ZKEY:delivery_failed", "bridge:return:RMA-7:received", "bridge:cancel:4711")
    assert (words.delivery_marker(delivery), words.return_marker(ret), words.cancel_marker(ORDER)) == (
        "[bridge:delivery:1ZKEY:delivery_failed]", "[bridge:return:RMA-7:received]",
        "[bridge:cancel:4711]")


def test_times_are_told_in_utc_and_a_time_without_a_zone_is_utc():
    two_hours_east = datetime(2024, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    assert words.when(two_hours_east) == words.when(datetime(2024, 5, 1, 12, 0)) == "2024-05-01 12:00 UTC"


def test_a_package_without_a_carrier_is_named_by_its_tracking_number():
    assert words.delivery_note(DeliveryUpdate(PACKAGE, Milestone.DELIVERED, T0)) == (
        "Package 1 (tracking 1ZKEY) was delivered on 2024-05-01 12:00 UTC. "
        "[bridge:delivery:1ZKEY:delivered]")


def test_refund_advice_names_the_shop_only_where_one_is_given():
    request = CancelRequest("Amazon cancelled the order.")
    assert words.cancel_note(ORDER, request, refund_in="WooCommerce") == (
        "Order cancelled: Amazon cancelled the order. No refund has been issued: refund the "
        "payment in WooCommerce if it was taken. [bridge:cancel:4711]")
    received = ReturnUpdate("RMA-7", ReturnStage.RECEIVED, (ShippedLine("1", "MUG", 1),))
    assert words.return_sentence(received).endswith("MUG × 1. No refund or restock has been made.")
