"""What Amazon did not ship, told to the shop, on the in-memory network: a cancel or an
Unfulfillable order held or cancelled in the shop per the storefront's setting, a
partial shipment's lines named (and cancelled where the shop cancels lines), and the
shop's writes surviving a shop that is down and a process that dies after the commit."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from fake_timing import TO_COMPLETE

from bridge.carts.contract import CancelRequest, Capabilities
from bridge.domain.model import CartOrder, ShippedLine
from bridge.domain.states import OrderState as S
from bridge.errors import FatalError, TransientError
from bridge.ledger.tables import ShopCancel
from bridge.services import amazon_outcomes
from bridge.services.retention import archive_finished
from bridge.services.status import StatusResult, refresh_order, sync_status
from bridge.services.submit import submit_ready
from bridge.services.sweep import sweep
from bridge.services.tracking import push_tracking
from bridge.services.watchdog import SHOP_CANCEL_FAILING, watch

TITLES = {"MUG": "Blue Mug", "TEE": "Grey Tee", "CAP": "Red Cap"}


def cancelling_lines(cart):
    """The list cart, as a platform that cancels single lines."""
    cart.capabilities = Capabilities(cancel_lines=True)
    return cart


def down(cart, failing: Exception | None = None):
    """The list cart's cancels fail (the shop is down) until `cart.up` is set."""
    cancel = cart.cancel_order
    cart.up = False

    def cancel_order(order: CartOrder, request: CancelRequest) -> bool:
        if not cart.up:
            raise failing or TransientError("the shop answered 503")
        return cancel(order, request)

    cart.cancel_order = cancel_order
    return cart


def place(shop, number: str, lines: dict[str, int], stock: dict[str, int] | None = None) -> str:
    """An order with titled lines, recorded and submitted: Amazon has it (Received)."""
    shop.amazon.set_stock(stock or {"MUG": 5, "TEE": 5, "CAP": 5})
    shop.add_ready_order(number, lines, titles=TITLES)
    assert submit_ready(shop.ledger, shop.amazon, shop.cart, shop.storefront, 10).accepted == 1
    return shop.sfo_id(number)


def sync(shop) -> StatusResult:
    return sync_status(shop.ledger, shop.amazon, shop.cart, shop.storefront, now=shop.clock)


def waiting(shop) -> list[ShopCancel]:
    with shop.ledger.transaction() as session:
        return list(session.scalars(sa.select(ShopCancel).where(ShopCancel.done_at.is_(None))))


# ---------------------------------------------------------------- Amazon ends an order

def test_by_default_an_order_amazon_cancels_is_held_for_a_person(shop):
    sfo_id = place(shop, "#3001", {"MUG": 1})
    shop.amazon.force_status(sfo_id, "Cancelled")

    sync(shop)
    row = shop.row("#3001")
    assert (row.state, row.attention_reason) == (S.NEEDS_ATTENTION, "cancelled_at_amazon")
    assert shop.cart.cancels == []
    assert shop.cart.notes == [("3001", "bridge: Amazon cancelled the fulfillment order")]
    assert waiting(shop) == []


def test_cancel_in_shop_cancels_the_shop_order_with_a_note_and_no_refund(shop, configure):
    configure(shop, policy={"when_amazon_cancels": "cancel_in_shop", "notify_customer": True})
    sfo_id = place(shop, "#3002", {"MUG": 1})
    shop.amazon.force_status(sfo_id, "Cancelled")

    sync(shop)
    assert shop.state("#3002") == S.CANCELLED
    kind, message = shop.event_log("#3002")[-2]
    assert kind == "cancelled" and "cancelled_at_amazon" in message
    assert shop.cart.cancels == [("3002", CancelRequest(
        "Amazon cancelled the fulfillment order", None, notify_customer=True))]
    assert shop.cart.notes == [("3002", "bridge: Amazon cancelled the fulfillment order, so "
                                        "none of it ships. The order is cancelled in the "
                                        "shop; nothing was refunded.")]
    assert shop.event_log("#3002")[-1][0] == "shop_cancel_written"
    assert waiting(shop) == []


def test_the_two_settings_are_separate(shop, configure):
    configure(shop, policy={"when_amazon_cancels": "cancel_in_shop"})
    sfo_id = place(shop, "#3003", {"MUG": 1})
    shop.amazon.force_status(sfo_id, "Unfulfillable")

    sync(shop)
    row = shop.row("#3003")
    assert (row.state, row.attention_reason) == (S.NEEDS_ATTENTION, "amazon_unfulfillable")
    assert shop.cart.cancels == []


def test_an_unfulfillable_order_is_cancelled_in_the_shop_when_set(shop, configure):
    configure(shop, policy={"when_unfulfillable": "cancel_in_shop"})
    sfo_id = place(shop, "#3004", {"MUG": 2})
    shop.amazon.force_status(sfo_id, "Unfulfillable")

    sync(shop)
    assert shop.state("#3004") == S.CANCELLED
    [(order_id, request)] = shop.cart.cancels
    assert (order_id, request.lines) == ("3004", None)
    assert "no sellable stock" in request.reason
    assert "cancelled in the shop" in shop.cart.notes[-1][1]


def test_an_invalid_order_is_always_held(shop, configure):
    configure(shop, policy={"when_amazon_cancels": "cancel_in_shop",
                            "when_unfulfillable": "cancel_in_shop"})
    sfo_id = place(shop, "#3005", {"MUG": 1})
    shop.amazon.force_status(sfo_id, "Invalid")

    sync(shop)
    row = shop.row("#3005")
    assert (row.state, row.attention_reason) == (S.NEEDS_ATTENTION, "amazon_invalid")
    assert shop.cart.cancels == []


def test_a_cancel_bridge_asked_for_is_no_outcome_to_report(shop, configure):
    configure(shop, policy={"when_amazon_cancels": "cancel_in_shop"})
    sfo_id = place(shop, "#3006", {"MUG": 1})
    shop.move("#3006", S.CANCEL_REQUESTED)
    shop.amazon.cancel_order(sfo_id)

    sync(shop)
    assert shop.state("#3006") == S.CANCELLED
    assert (shop.cart.cancels, shop.cart.notes, waiting(shop)) == ([], [], [])


# ---------------------------------------------------------------- partial shipments

def partial(shop, configure) -> str:
    """Amazon ships the mugs and caps of #3010 and cancels the tees it has none of."""
    configure(shop, policy={"fulfillment_policy": "FillAllAvailable"})
    place(shop, "#3010", {"MUG": 2, "TEE": 3, "CAP": 1}, {"MUG": 5, "TEE": 1, "CAP": 5})
    shop.amazon.advance(TO_COMPLETE)
    sync(shop)
    return "#3010"


def test_a_partial_shipment_cancels_the_lines_not_shipped_where_the_shop_can(shop, configure):
    cancelling_lines(shop.cart)
    number = partial(shop, configure)

    row = shop.row(number)
    assert (row.state, row.amazon_status) == (S.SHIPPED, "CompletePartialled")
    [(order_id, request)] = shop.cart.cancels
    assert order_id == "3010"
    assert request.lines == (ShippedLine("3010-2", "TEE", 2),)
    assert shop.cart.notes == [("3010", (
        "bridge: Amazon shipped part of the order. Shipped: 2 × Blue Mug (SKU MUG); "
        "1 × Grey Tee (SKU TEE); 1 × Red Cap (SKU CAP). Not shipped (Amazon cancelled them "
        "or found them unfulfillable): 2 × Grey Tee (SKU TEE). Those lines are cancelled "
        "in the shop; nothing was refunded."))]
    assert any(kind == "shipped" and "not shipped: 2 × Grey Tee (SKU TEE)" in message
               for kind, message in shop.event_log(number))
    # The package still carries exactly what shipped, for the tracking write.
    [package] = shop.packages(number)
    assert sorted((line["sku"], line["quantity"]) for line in package.lines) == [
        ("CAP", 1), ("MUG", 2), ("TEE", 1)]


def test_a_shop_without_line_cancels_gets_the_lines_named_and_left_open(shop, configure):
    number = partial(shop, configure)  # ListCart: no line cancels

    assert shop.cart.cancels == []
    [(_, note)] = shop.cart.notes
    assert "Not shipped (Amazon cancelled them or found them unfulfillable): " \
           "2 × Grey Tee (SKU TEE)." in note
    assert note.endswith("This shop cannot cancel single lines: those lines stay open here; "
                         "cancel or refund them by hand.")
    assert shop.state(number) == S.SHIPPED


def test_a_kit_line_counts_the_kits_its_short_component_leaves_incomplete(shop, configure):
    configure(shop, policy={"fulfillment_policy": "FillAllAvailable",
                            "sku_map": {"GIFT": {"MUG": 2, "CAP": 1}}})
    cancelling_lines(shop.cart)
    place(shop, "#3011", {"GIFT": 2, "TEE": 1}, {"MUG": 3, "CAP": 5, "TEE": 5})  # 4 mugs needed
    shop.amazon.advance(TO_COMPLETE)
    sync(shop)

    [(_, request)] = shop.cart.cancels
    assert request.lines == (ShippedLine("3011-1", "GIFT", 1),)
    assert "Shipped: 1 × GIFT; 1 × Grey Tee (SKU TEE)." in shop.cart.notes[0][1]


# ---------------------------------------------------------------- never lost

def test_a_shop_that_is_down_gets_the_cancel_later_from_the_tracking_flow(shop, configure):
    configure(shop, policy={"when_amazon_cancels": "cancel_in_shop"})
    down(shop.cart)
    sfo_id = place(shop, "#3020", {"MUG": 1})
    shop.amazon.force_status(sfo_id, "Cancelled")

    sync(shop)
    assert shop.state("#3020") == S.CANCELLED  # the ledger commit does not wait for the shop
    [pending] = waiting(shop)
    assert (pending.attempts, pending.last_error) == (1, "the shop answered 503")
    assert shop.event_log("#3020")[-1][0] == "shop_cancel_failed"
    assert shop.cart.notes == []

    # Not due yet: the sweep does not nudge for it, a tracking run does not try it.
    assert "tracking" not in sweep(shop.ledger, [shop.storefront], timedelta(minutes=5),
                                   now=shop.clock()).get("unit", set())
    push_tracking(shop.ledger, shop.cart, shop.storefront)
    assert waiting(shop)[0].attempts == 1

    shop.cart.up = True
    shop.clock.advance(amazon_outcomes.FIRST_WAIT.total_seconds())
    assert "tracking" in sweep(shop.ledger, [shop.storefront], timedelta(minutes=5),
                               now=shop.clock())["unit"]
    push_tracking(shop.ledger, shop.cart, shop.storefront)
    assert waiting(shop) == []
    assert [order_id for order_id, _ in shop.cart.cancels] == ["3020"]
    assert len(shop.cart.notes) == 1


def test_a_process_that_dies_after_the_commit_leaves_the_write_for_the_next_run(shop, configure):
    configure(shop, policy={"when_unfulfillable": "cancel_in_shop"})
    sfo_id = place(shop, "#3021", {"MUG": 1})
    shop.amazon.force_status(sfo_id, "Unfulfillable")

    # The status transaction commits, then nothing is written (the process is gone).
    refresh_order(shop.ledger, shop.amazon, None, sfo_id, StatusResult(),
                  outcomes=amazon_outcomes.OutcomePolicy.of(shop.storefront))
    assert shop.state("#3021") == S.CANCELLED
    assert len(waiting(shop)) == 1

    push_tracking(shop.ledger, shop.cart, shop.storefront)
    assert [order_id for order_id, _ in shop.cart.cancels] == ["3021"]
    assert waiting(shop) == []
    # Read again: the order is settled, nothing is asked of the shop twice.
    sync(shop)
    assert len(shop.cart.cancels) == len(shop.cart.notes) == 1


def test_a_note_that_fails_after_the_cancel_is_retried_without_cancelling_again(shop, configure):
    configure(shop, policy={"when_amazon_cancels": "cancel_in_shop"})

    add_note = shop.cart.add_note
    shop.cart.down = True

    def note_down(order, text):
        if shop.cart.down:
            raise TransientError("notes are down")
        add_note(order, text)

    shop.cart.add_note = note_down
    sfo_id = place(shop, "#3022", {"MUG": 1})
    shop.amazon.force_status(sfo_id, "Cancelled")
    sync(shop)
    [pending] = waiting(shop)
    assert pending.cancelled_in_shop is True
    assert "the note" in shop.event_log("#3022")[-1][1]

    shop.cart.down = False
    shop.clock.advance(amazon_outcomes.FIRST_WAIT.total_seconds())
    push_tracking(shop.ledger, shop.cart, shop.storefront)
    assert len(shop.cart.cancels) == 1
    assert shop.cart.notes[-1][1].endswith("The order is cancelled in the shop; nothing was refunded.")


def test_writes_that_keep_failing_are_flagged_until_they_go_through(shop, configure):
    configure(shop, policy={"when_amazon_cancels": "cancel_in_shop"})
    down(shop.cart)
    sfo_id = place(shop, "#3023", {"MUG": 1})
    shop.amazon.force_status(sfo_id, "Cancelled")
    sync(shop)
    for _ in range(amazon_outcomes.FLAG_AFTER_ATTEMPTS - 1):
        shop.clock.advance(amazon_outcomes.LONGEST_WAIT.total_seconds())
        push_tracking(shop.ledger, shop.cart, shop.storefront)
    assert waiting(shop)[0].attempts == amazon_outcomes.FLAG_AFTER_ATTEMPTS

    raised = [f for f in watch(shop.ledger, [shop.storefront], now=shop.clock()).raised
              if f.kind == SHOP_CANCEL_FAILING]  # (the unit shop is never polled: flagged too)
    assert [f.number for f in raised] == ["#3023"]
    assert "the shop answered 503" in raised[0].message

    shop.cart.up = True
    shop.clock.advance(amazon_outcomes.LONGEST_WAIT.total_seconds())
    push_tracking(shop.ledger, shop.cart, shop.storefront)
    cleared = watch(shop.ledger, [shop.storefront], now=shop.clock()).cleared
    assert [flag.order_id for flag in cleared if flag.kind == SHOP_CANCEL_FAILING] == [
        shop.row("#3023").id]


def test_refused_credentials_are_raised_with_the_failure_recorded(shop, configure):
    configure(shop, policy={"when_amazon_cancels": "cancel_in_shop"})
    down(shop.cart, FatalError("the shop refused bridge's credentials"))
    sfo_id = place(shop, "#3024", {"MUG": 1})
    shop.amazon.force_status(sfo_id, "Cancelled")

    with pytest.raises(FatalError):
        sync(shop)
    assert shop.state("#3024") == S.CANCELLED
    [pending] = waiting(shop)
    assert pending.last_error == "the shop refused bridge's credentials"


def test_an_order_with_a_shop_write_still_to_make_is_not_archived(shop, configure):
    configure(shop, policy={"when_amazon_cancels": "cancel_in_shop"})
    down(shop.cart)
    sfo_id = place(shop, "#3025", {"MUG": 1})
    shop.amazon.force_status(sfo_id, "Cancelled")
    sync(shop)
    shop.clock.advance(timedelta(days=30).total_seconds())

    assert archive_finished(shop.ledger, ["unit"], 7, now=shop.clock).total == 0
    shop.cart.up = True
    push_tracking(shop.ledger, shop.cart, shop.storefront)
    assert archive_finished(shop.ledger, ["unit"], 7, now=shop.clock).total == 1
