"""Following orders at Amazon, on the in-memory network: shipped packages are recorded
once, a replay adds nothing, and an order Amazon cannot fill needs a person."""

from __future__ import annotations

from fake_timing import TO_COMPLETE, TO_PROCESSING

from bridge.domain.states import OrderState as S
from bridge.services.status import StatusResult, reconcile_open, refresh_order, sync_status
from bridge.services.submit import submit_ready


def accepted_order(shop, number: str = "#2001", lines=None) -> str:
    shop.amazon.set_stock({"MUG": 5, "TEE": 5})
    shop.add_ready_order(number, lines or {"MUG": 2})
    assert submit_ready(shop.ledger, shop.amazon, shop.cart, shop.storefront, 10).accepted == 1
    return shop.sfo_id(number)


def sync(shop) -> StatusResult:
    return sync_status(shop.ledger, shop.amazon, shop.cart, shop.storefront, now=shop.clock)


def test_an_order_still_received_is_left_alone(shop):
    accepted_order(shop)
    result = sync(shop)
    assert (result.listed, result.updated, result.packages) == (1, 0, 0)
    assert shop.amazon.calls["fulfillment_order"] == 0, "unchanged: not read in full"
    assert shop.state("#2001") == S.ACCEPTED


def test_shipped_packages_are_recorded_once(shop):
    sfo_id = accepted_order(shop, lines={"MUG": 2, "TEE": 1})
    shop.amazon.advance(TO_COMPLETE)

    result = sync(shop)
    assert (result.updated, result.packages) == (1, 1)
    row = shop.row("#2001")
    assert (row.state, row.amazon_status) == (S.SHIPPED, "Complete")
    [package] = shop.packages("#2001")
    shipped = shop.amazon.fulfillment_order(sfo_id).packages[0]
    assert (package.package_number, package.carrier, package.tracking_number) == (
        shipped.package_number, shipped.carrier, shipped.tracking_number)
    assert sorted((line["sku"], line["quantity"]) for line in package.lines) == [
        ("MUG", 2), ("TEE", 1)]
    assert {line["line_id"] for line in package.lines} == {"2001-1", "2001-2"}

    # Listed again (the overlap) and read again in full: nothing more.
    assert sync(shop).packages == 0
    replay = StatusResult()
    assert refresh_order(shop.ledger, shop.amazon, shop.cart, sfo_id, replay) is False
    assert replay.packages == 0
    assert len(shop.packages("#2001")) == 1


def test_processing_is_recorded_before_the_shipment(shop):
    accepted_order(shop)
    shop.amazon.advance(TO_PROCESSING)
    sync(shop)
    assert (shop.state("#2001"), shop.row("#2001").amazon_status) == (S.PROCESSING, "Processing")
    assert shop.packages("#2001") == []


def test_an_unfulfillable_order_needs_attention_and_the_shop_is_told(shop):
    sfo_id = accepted_order(shop)
    shop.amazon.force_status(sfo_id, "Unfulfillable")

    assert sync(shop).updated == 1
    row = shop.row("#2001")
    assert (row.state, row.attention_reason) == (S.NEEDS_ATTENTION, "amazon_unfulfillable")
    assert shop.cart.notes == [("2001", "bridge: Amazon cannot fulfill the order "
                                        "(no sellable stock for its items)")]


def test_an_order_short_of_stock_at_planning_needs_attention(shop):
    accepted_order(shop, lines={"MUG": 2})
    shop.amazon.set_stock({"MUG": 0})  # what was reserved at creation stays reserved
    shop.add_ready_order("#2002", {"MUG": 1})
    submit_ready(shop.ledger, shop.amazon, shop.cart, shop.storefront, 10)
    shop.amazon.advance(31)
    sync(shop)
    assert shop.state("#2001") == S.ACCEPTED  # Planning is not a state of its own
    assert shop.state("#2002") == S.NEEDS_ATTENTION


def test_the_safety_net_reads_back_an_order_the_listing_missed(shop):
    accepted_order(shop)
    shop.amazon.advance(TO_COMPLETE)
    # No listing: only the read-back of open orders that have not moved for a while.
    later = shop.row("#2001").state_changed_at.replace(year=2100)
    assert reconcile_open(shop.ledger, shop.amazon, shop.cart, shop.storefront, later) == 1
    assert shop.state("#2001") == S.SHIPPED
    assert len(shop.packages("#2001")) == 1
