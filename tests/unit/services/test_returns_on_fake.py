"""Customer returns on the in-memory network and shop: a return asked for a shipped
order is authorized, its label reaches the shop once, its units are followed until
Amazon has processed them and the shop hears once that they are back; a lost answer is
resent with the same ids and never makes a second return; what cannot be returned is
refused before anything is sent, with a typed reason."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fake_timing import RETURN_BACK_AND_PROCESSED, TO_COMPLETE

from bridge.carts.contract import ReturnStage
from bridge.domain.states import OrderState as S
from bridge.errors import NeedsAttentionError
from bridge.fba.fake import Fault
from bridge.fba.returns import ReturnUnit
from bridge.ledger import returns as rows
from bridge.ledger.tables import ReturnItem
from bridge.services import returns
from bridge.services.retention import archive_finished
from bridge.services.status import sync_status
from bridge.services.submit import submit_ready
from bridge.services.tracking import complete_shipped, push_tracking


def shipped(shop, number: str = "#7001", lines: dict[str, int] | None = None) -> None:
    shop.amazon.set_stock({"MUG": 10, "TEE": 10})
    shop.add_ready_order(number, lines or {"MUG": 2, "TEE": 1})
    submit_ready(shop.ledger, shop.amazon, shop.cart, shop.storefront, 10, now=shop.clock)
    shop.amazon.advance(TO_COMPLETE)
    sync_status(shop.ledger, shop.amazon, shop.cart, shop.storefront, now=shop.clock)
    assert shop.state(number) == S.SHIPPED


def ask(shop, lines: dict[str, int], reason: str | None = "CR-UNWANTED_ITEM",
        number: str = "#7001"):
    return returns.request_return(shop.ledger, shop.amazon, shop.cart, number, lines, reason,
                                  comment="customer changed their mind")


def follow(shop):
    return returns.follow_returns(shop.ledger, shop.amazon, shop.cart, shop.storefront)


def test_a_return_is_authorized_written_once_then_received_once(shop):
    shipped(shop)

    view = ask(shop, {"MUG": 2})

    assert view.state == rows.AUTHORIZED
    [authorization] = view.authorizations
    assert authorization.label_url.startswith("https://www.amazon.com/gp/orc/rml/")
    assert [u.status for u in view.units] == ["New", "New"]
    assert len({u.seller_return_item_id for u in view.units}) == 2
    [(order_id, written)] = shop.cart.returns
    assert (order_id, written.stage, written.authorization_id, written.label_url) == (
        "7001", ReturnStage.AUTHORIZED, authorization.authorization_id, authorization.label_url)
    assert [(line.line_id, line.sku, line.quantity) for line in written.lines] == [
        ("7001-1", "MUG", 2)]
    assert written.reason == "No longer needed/wanted"

    follow(shop)  # the units are still on their way back
    assert len(shop.cart.returns) == 1
    assert returns.show_return(shop.ledger, view.id).state == rows.AUTHORIZED

    shop.amazon.advance(RETURN_BACK_AND_PROCESSED)
    result = follow(shop)
    assert (result.received_written, result.received) == (1, 1)
    assert [u.stage for _, u in shop.cart.returns] == [ReturnStage.AUTHORIZED,
                                                       ReturnStage.RECEIVED]
    assert shop.cart.returns[1][1].condition == "Sellable"
    final = returns.show_return(shop.ledger, view.id)
    assert final.state == rows.RECEIVED
    assert {(u.status, u.condition) for u in final.units} == {("Processed", "Sellable")}
    assert any("no refund" in message for message in shop.events("#7001"))

    follow(shop)  # nothing left to follow or write
    assert len(shop.cart.returns) == 2
    assert shop.amazon.calls["create_return"] == 1


def test_a_lost_answer_is_resent_with_the_same_ids_and_read_back(shop):
    shipped(shop)
    shop.amazon.inject("create_return", Fault.ACT_THEN_DROP)

    view = ask(shop, {"TEE": 1})

    assert view.state == rows.REQUESTED and "same item ids" in view.last_error
    assert shop.cart.returns == []
    sent_ids = [u.seller_return_item_id for u in view.units]

    shop.clock.advance(returns.RESEND_AFTER.total_seconds())
    result = follow(shop)

    assert result.resent == 1
    again = returns.show_return(shop.ledger, view.id)
    assert again.state == rows.AUTHORIZED
    assert [u.seller_return_item_id for u in again.units] == sent_ids
    assert [u.status for u in again.units] == ["New"]  # read back, not marked refused
    assert len(shop.amazon.order_returns(again.seller_fulfillment_order_id).units) == 1
    assert [u.stage for _, u in shop.cart.returns] == [ReturnStage.AUTHORIZED]


def test_a_return_still_being_sent_is_not_resent_early(shop):
    shipped(shop)
    shop.amazon.inject("create_return", Fault.THROTTLED)
    view = ask(shop, {"TEE": 1})
    assert view.state == rows.REQUESTED

    assert follow(shop).resent == 0
    assert shop.amazon.calls["create_return"] == 1


def test_quantities_are_bounded_by_what_shipped_minus_what_is_returned(shop):
    shipped(shop)
    ask(shop, {"MUG": 1})

    with pytest.raises(returns.ReturnProblem) as too_many:
        ask(shop, {"MUG": 2})
    assert too_many.value.reason == "too_many"
    assert "1 returnable" in too_many.value.message

    second = ask(shop, {"7001-1": 1})  # by line id
    assert second.state == rows.AUTHORIZED
    assert shop.amazon.calls["create_return"] == 2


def test_units_returned_outside_bridge_count_against_what_can_be_returned(shop):
    shipped(shop)
    sfo = shop.sfo_id("#7001")
    shipment = shop.amazon.order_returns(sfo).shipped[0].shipment_id
    # Both MUGs returned through Seller Central: Amazon counts them, the ledger does not.
    shop.amazon.create_return(sfo, [ReturnUnit(f"elsewhere-{n}", "7001-1", shipment,
                                               "CR-UNWANTED_ITEM") for n in (1, 2)])

    with pytest.raises(returns.ReturnProblem) as exc:
        ask(shop, {"MUG": 1})
    assert exc.value.reason == "too_many"


def test_a_replayed_request_is_read_back_as_taken_not_refused(shop):
    shipped(shop)
    view = ask(shop, {"TEE": 1})
    with shop.ledger.transaction() as session:
        # As if the answer had been lost: nothing of it recorded.
        session.execute(sa.update(ReturnItem).where(ReturnItem.return_id == view.id)
                        .values(status="", authorization_id=""))
        row = rows.get_return(session, view.id)
        row.state, row.authorizations = rows.REQUESTED, {}

    assert returns.send_return(shop.ledger, shop.amazon, view.id) == rows.AUTHORIZED

    again = returns.show_return(shop.ledger, view.id)
    assert [(u.status, u.invalid_code) for u in again.units] == [("New", "")]
    assert again.authorizations == view.authorizations
    assert len(shop.amazon.order_returns(view.seller_fulfillment_order_id).units) == 1


def test_a_wholly_refused_return_is_refused_with_amazon_s_typed_reason(shop, monkeypatch):
    shipped(shop)
    sfo = shop.sfo_id("#7001")
    shipment = shop.amazon.order_returns(sfo).shipped[0].shipment_id
    create = shop.amazon.create_return

    def returned_elsewhere_first(order_id, units):
        # Between bridge's read and its request the TEE is returned in Seller Central.
        create(order_id, [ReturnUnit("elsewhere-1", "7001-2", shipment, "CR-UNWANTED_ITEM")])
        return create(order_id, units)

    monkeypatch.setattr(shop.amazon, "create_return", returned_elsewhere_first)
    view = ask(shop, {"TEE": 1})

    assert view.state == rows.REFUSED
    [unit] = view.invalid
    assert (unit.invalid_code, unit.cart_sku) == ("NoReturnableQuantity", "TEE")
    assert any("NoReturnableQuantity" in m for m in shop.events("#7001"))
    assert shop.cart.returns == []
    assert not returns.has_open_returns(shop.ledger, shop.storefront.name)


def test_without_a_reason_the_codes_amazon_takes_are_listed(shop):
    shipped(shop)
    with pytest.raises(returns.ReasonRequired) as exc:
        ask(shop, {"MUG": 1}, reason=None)
    assert "CR-DEFECTIVE" in [r.code for r in exc.value.codes]
    assert shop.amazon.calls["create_return"] == 0


def test_a_reason_amazon_does_not_take_is_refused_before_sending(shop):
    shipped(shop)
    with pytest.raises(returns.ReturnProblem) as exc:
        ask(shop, {"MUG": 1}, reason="CR-MADE-UP")
    assert exc.value.reason == "unknown_reason" and "CR-DEFECTIVE" in exc.value.message
    assert shop.amazon.calls["create_return"] == 0


@pytest.mark.parametrize("lines, reason", [
    ({"NOPE": 1}, "unknown_line"),
    ({"MUG": 0}, "bad_quantity"),
    ({"MUG": 3}, "too_many"),
    ({}, "no_lines"),
])
def test_bad_lines_get_a_typed_reason(shop, lines, reason):
    shipped(shop)
    with pytest.raises(returns.ReturnProblem) as exc:
        ask(shop, lines)
    assert exc.value.reason == reason
    assert shop.amazon.calls["create_return"] == 0


def test_only_orders_amazon_shipped_can_be_returned(shop):
    shop.amazon.set_stock({"MUG": 10})
    shop.add_ready_order("#7002", {"MUG": 1})
    with pytest.raises(returns.ReturnProblem) as exc:
        ask(shop, {"MUG": 1}, number="#7002")
    assert exc.value.reason == "not_shipped"
    with pytest.raises(returns.ReturnProblem) as missing:
        ask(shop, {"MUG": 1}, number="#404")
    assert missing.value.reason == "order_not_found"


def test_a_defective_unit_is_received_as_defective(shop):
    shipped(shop)
    ask(shop, {"MUG": 1, "TEE": 1}, reason="CR-DEFECTIVE")
    shop.amazon.advance(RETURN_BACK_AND_PROCESSED)
    follow(shop)
    received = [u for _, u in shop.cart.returns if u.stage == ReturnStage.RECEIVED]
    assert [(u.condition, len(u.lines)) for u in received] == [("Defective", 2)]


def test_a_shop_that_refuses_the_write_is_tried_again(shop, monkeypatch):
    shipped(shop)
    original = shop.cart.push_return
    refusals = iter([NeedsAttentionError("refused", "order is archived")])

    def refusing(order, update):
        for refusal in refusals:
            raise refusal
        return original(order, update)

    monkeypatch.setattr(shop.cart, "push_return", refusing)
    view = ask(shop, {"MUG": 1})
    assert shop.cart.returns == []
    assert "order is archived" in returns.show_return(shop.ledger, view.id).last_error

    result = follow(shop)
    assert result.authorized_written == 1
    assert [u.stage for _, u in shop.cart.returns] == [ReturnStage.AUTHORIZED]


def test_storefronts_with_open_returns_are_the_only_ones_followed(shop):
    shipped(shop)
    assert not returns.has_open_returns(shop.ledger, shop.storefront.name)
    ask(shop, {"MUG": 1})
    assert returns.has_open_returns(shop.ledger, shop.storefront.name)
    shop.amazon.advance(RETURN_BACK_AND_PROCESSED)
    follow(shop)
    assert not returns.has_open_returns(shop.ledger, shop.storefront.name)


def test_a_returns_round_is_sent_only_for_storefronts_with_an_open_return(shop):
    from bridge.ledger import schedule as schedule_rows
    from bridge.services.schedule import claim_due_and_next

    shipped(shop)
    with shop.ledger.transaction() as session:
        schedule_rows.add_row(session, shop.storefront.name, returns.FLOW, 60, shop.clock())

    def due_now() -> list[str]:
        due, _ = claim_due_and_next(shop.ledger, shop.clock(), unit=lambda: 0.5)
        shop.clock.advance(61)
        return [d.flow for d in due]

    assert due_now() == []  # claimed, but nothing to follow: no task, no call
    ask(shop, {"MUG": 1})
    assert due_now() == [returns.FLOW]
    shop.amazon.advance(RETURN_BACK_AND_PROCESSED)
    follow(shop)
    assert due_now() == []


def test_an_order_with_an_open_return_is_not_archived(shop):
    shipped(shop)
    push_tracking(shop.ledger, shop.cart, shop.storefront)
    complete_shipped(shop.ledger, shop.storefront)
    assert shop.state("#7001") == S.COMPLETE
    ask(shop, {"MUG": 1})
    shop.clock.advance(30 * 86400)

    # The return is still followed: archiving would drop it from the live tables.
    assert archive_finished(shop.ledger, [shop.storefront.name], 7, now=shop.clock).total == 0
    shop.amazon.advance(RETURN_BACK_AND_PROCESSED)
    follow(shop)
    assert archive_finished(shop.ledger, [shop.storefront.name], 7, now=shop.clock).total == 1


def test_a_round_follows_every_open_return_beyond_one_batch(shop):
    # Three returns, two to a batch: the third, newest one is followed in the same round.
    numbers = ("#7101", "#7102", "#7103")
    shop.amazon.set_stock({"MUG": 10})
    for number in numbers:
        shop.add_ready_order(number, {"MUG": 1})
    submit_ready(shop.ledger, shop.amazon, shop.cart, shop.storefront, 10, now=shop.clock)
    shop.amazon.advance(TO_COMPLETE)
    sync_status(shop.ledger, shop.amazon, shop.cart, shop.storefront, now=shop.clock)
    for number in numbers:
        ask(shop, {"MUG": 1}, number=number)
    shop.amazon.advance(RETURN_BACK_AND_PROCESSED)

    result = returns.follow_returns(shop.ledger, shop.amazon, shop.cart, shop.storefront, limit=2)
    assert (result.read, result.received) == (3, 3)
    assert sorted(order_id for order_id, update in shop.cart.returns
                  if update.stage == ReturnStage.RECEIVED) == ["7101", "7102", "7103"]
