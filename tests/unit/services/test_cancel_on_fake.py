"""Cancellations from the shop, on the in-memory network: cancelled at Amazon while it
still can be, too late once Amazon is picking."""

from __future__ import annotations

from fake_timing import TO_PROCESSING

from bridge.domain.states import OrderState as S
from bridge.services.cancel import process_cancellations
from bridge.services.submit import submit_ready


def cancel_requested(shop, number: str = "#3001") -> str:
    shop.amazon.set_stock({"MUG": 5})
    shop.add_ready_order(number, {"MUG": 2})
    assert submit_ready(shop.ledger, shop.amazon, shop.cart, shop.storefront, 10).accepted == 1
    shop.move(number, S.CANCEL_REQUESTED, "cancelled in the cart")
    return shop.sfo_id(number)


def cancel(shop):
    return process_cancellations(shop.ledger, shop.amazon, shop.cart, shop.storefront)


def test_an_order_still_received_is_cancelled_at_amazon(shop):
    sfo_id = cancel_requested(shop)

    assert cancel(shop).cancelled == 1
    assert shop.state("#3001") == S.CANCELLED
    assert shop.amazon.fulfillment_order(sfo_id).status == "Cancelled"
    assert {lvl.seller_sku: lvl.fulfillable for lvl in shop.amazon.inventory_levels()} == {"MUG": 5}
    assert cancel(shop).cancelled == 0


def test_an_order_amazon_is_picking_is_too_late_to_cancel(shop):
    sfo_id = cancel_requested(shop)
    shop.amazon.advance(TO_PROCESSING)

    result = cancel(shop)
    assert (result.cancelled, result.too_late) == (0, 1)
    row = shop.row("#3001")
    assert (row.state, row.attention_reason, row.amazon_status) == (
        S.NEEDS_ATTENTION, "too_late_to_cancel", "Processing")
    assert shop.amazon.calls["cancel_order"] == 0, "not even asked: past cancelling"
    assert shop.amazon.fulfillment_order(sfo_id).status == "Processing"
    [(order_id, note)] = shop.cart.notes
    assert order_id == "3001" and "too late to cancel" in note


def test_an_order_amazon_no_longer_has_is_simply_cancelled(shop):
    sfo_id = cancel_requested(shop)
    shop.amazon.force_status(sfo_id, "Cancelled")

    assert cancel(shop).cancelled == 1
    assert shop.state("#3001") == S.CANCELLED
    assert "already cancelled at Amazon" in shop.events("#3001")
