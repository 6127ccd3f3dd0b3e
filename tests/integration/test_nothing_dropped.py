"""Nothing bridge reads is dropped unseen: a paid order with nothing to ship is recorded
as `ignored` with its reason, an order dated in the future waits for a person, a cancel
of an order Amazon already shipped is held with a note, a refused tracking write is
noted in the shop, and one note that fails never stops the notes after it."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from support import TO_COMPLETE, both_ledgers

from bridge import demo_store
from bridge.carts.shopify import ShopifyAdapter
from bridge.cli import main
from bridge.demo_store import DemoLine
from bridge.domain.model import CartLine, CartOrder
from bridge.domain.states import OrderState as S
from bridge.errors import (
    FatalError,
    IndeterminateError,
    MalformedAnswer,
    NeedsAttentionError,
    TransientError,
)
from bridge.ledger.tables import OrderLine, Package, utcnow
from bridge.services import common
from bridge.services.ingest import CLOCK_SKEW, check_dates, ingest_orders
from bridge.services.status import sync_status
from bridge.services.stock import sync_stock
from bridge.services.submit import submit_ready
from bridge.services.tracking import push_tracking


def poll(shop):
    return ingest_orders(shop.ledger, shop.cart, shop.storefront)


def submit(shop):
    return submit_ready(shop.ledger, shop.fba, shop.cart, shop.storefront, limit=10)


def line_count(shop, number: str) -> int:
    with shop.ledger.transaction() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(OrderLine)
                              .where(OrderLine.order_id == shop.row(number).id))


def event_kinds(shop, number: str) -> list[str]:
    return [event.kind for event in shop.events(number)]


def add_line(store_url: str, order_id: str, line: DemoLine) -> None:
    engine = sa.create_engine(store_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.insert(demo_store.order_lines).values(
                order_id=int(order_id), sku=line.sku, quantity=line.quantity,
                requires_shipping=line.requires_shipping))
    finally:
        engine.dispose()
    demo_store.update_order(store_url, order_id)  # the cart stamps the order changed


def shipped_and_complete(shop, number: str = "#S1") -> str:
    shop.sim.admin.set_stock({"MUG-BLUE": 10})
    order_id = demo_store.insert_order(shop.store_url, number, [DemoLine("MUG-BLUE")])
    poll(shop)
    assert submit(shop).accepted == 1
    shop.sim.admin.advance(TO_COMPLETE)
    sync_status(shop.ledger, shop.fba, shop.cart, shop.storefront)
    return order_id


# -- paid orders with nothing to ship ------------------------------------------------------


@both_ledgers
def test_paid_orders_with_nothing_to_ship_are_recorded_as_ignored_with_the_reason(shop):
    shop.sim.admin.set_stock({"MUG-BLUE": 10})
    place = demo_store.insert_order
    place(shop.store_url, "#EMPTY", [])
    place(shop.store_url, "#DIGITAL", [DemoLine("GIFT-CARD", requires_shipping=False)])
    place(shop.store_url, "#GOOD", [DemoLine("MUG-BLUE")])
    place(shop.store_url, "#UNPAID", [DemoLine("MUG-BLUE")], paid=False)
    demo_store.cancel_order(shop.store_url, place(shop.store_url, "#GONE", [DemoLine("MUG-BLUE")]))

    polled = poll(shop)

    assert (polled.seen, polled.recorded, polled.nothing_to_ship, polled.ready) == (5, 3, 2, 1)
    assert polled.ignored == 2  # the unpaid one (read again once paid) and the cancelled one
    assert shop.states() == {"#EMPTY": S.IGNORED, "#DIGITAL": S.IGNORED, "#GOOD": S.READY}
    for number, reason in (("#EMPTY", "no_lines"), ("#DIGITAL", "nothing_to_ship")):
        row = shop.row(number)
        assert row.attention_reason == reason
        assert "nothing for Amazon to ship" in row.last_error
        assert event_kinds(shop, number) == ["recorded", "ignored"]
        assert line_count(shop, number) == 0  # no units reserved for stock
    assert shop.notes_by_order() == {}  # nothing for the merchant to do

    # Read again: no new rows, no new events.
    poll(shop)
    assert len(shop.rows()) == 3
    assert event_kinds(shop, "#EMPTY") == ["recorded", "ignored"]
    assert submit(shop).accepted == 1
    assert shop.creates() == 1


def test_ignored_orders_hold_no_stock(shop):
    shop.sim.admin.set_stock({"MUG-BLUE": 10})
    sync_stock(shop.ledger, shop.fba, shop.cart, shop.storefront)
    demo_store.insert_order(shop.store_url, "#DIGITAL",
                            [DemoLine("MUG-BLUE", 3, requires_shipping=False)])
    poll(shop)
    assert shop.states() == {"#DIGITAL": S.IGNORED}
    sync_stock(shop.ledger, shop.fba, shop.cart, shop.storefront)
    assert demo_store.read_stock(shop.store_url)["MUG-BLUE"] == 10


@both_ledgers
def test_an_ignored_order_that_gains_a_line_to_ship_is_sent(shop):
    shop.sim.admin.set_stock({"MUG-BLUE": 10})
    order_id = demo_store.insert_order(shop.store_url, "#LATER", [])
    poll(shop)
    assert shop.row("#LATER").attention_reason == "no_lines"

    add_line(shop.store_url, order_id, DemoLine("MUG-BLUE", 2))
    polled = poll(shop)

    assert (polled.changed, polled.ready) == (1, 1)
    row = shop.row("#LATER")
    assert (row.state, row.attention_reason, row.last_error) == (S.READY, "", "")
    assert line_count(shop, "#LATER") == 1
    assert submit(shop).accepted == 1


def test_an_ignored_order_cancelled_in_the_cart_is_cancelled(shop):
    order_id = demo_store.insert_order(shop.store_url, "#EMPTY", [])
    poll(shop)
    demo_store.cancel_order(shop.store_url, order_id)
    assert poll(shop).cancelled == 1
    row = shop.row("#EMPTY")
    assert (row.state, row.attention_reason) == (S.CANCELLED, "")


def test_an_order_losing_its_last_shippable_line_before_submission_is_ignored(shop):
    shop.sim.admin.set_stock({"MUG-BLUE": 10})
    order_id = demo_store.insert_order(shop.store_url, "#SHRINK", [DemoLine("MUG-BLUE")])
    poll(shop)
    assert line_count(shop, "#SHRINK") == 1
    engine = sa.create_engine(shop.store_url)
    with engine.begin() as conn:
        conn.execute(sa.update(demo_store.order_lines).values(requires_shipping=False))
    engine.dispose()
    demo_store.update_order(shop.store_url, order_id)

    poll(shop)

    row = shop.row("#SHRINK")
    assert (row.state, row.attention_reason) == (S.IGNORED, "nothing_to_ship")
    assert line_count(shop, "#SHRINK") == 0
    assert submit(shop).accepted == 0


def test_an_unpaid_order_is_recorded_once_it_is_paid(shop):
    shop.sim.admin.set_stock({"MUG-BLUE": 10})
    order_id = demo_store.insert_order(shop.store_url, "#PAYLATER", [DemoLine("MUG-BLUE")], paid=False)
    assert poll(shop).ignored == 1
    assert shop.rows() == []
    demo_store.update_order(shop.store_url, order_id, financial_status="paid")
    assert poll(shop).ready == 1


def test_the_orders_command_lists_ignored_orders_with_their_reason(shop, tmp_path):
    demo_store.insert_order(shop.store_url, "#EMPTY", [])
    poll(shop)
    result = CliRunner().invoke(main, ["-c", str(tmp_path / "config"), "orders", "list",
                                       "--state", "ignored"], catch_exceptions=False)
    assert result.exit_code == 0
    assert "#EMPTY" in result.output and "no_lines" in result.output


# -- dates in the future --------------------------------------------------------------------


@both_ledgers
def test_an_order_dated_in_the_future_waits_for_a_person_with_a_note(shop):
    shop.sim.admin.set_stock({"MUG-BLUE": 10})
    now = utcnow()
    future_id = demo_store.insert_order(shop.store_url, "#TOMORROW", [DemoLine("MUG-BLUE")],
                                        created_at=now + timedelta(days=1), updated_at=now)
    demo_store.insert_order(shop.store_url, "#SKEWED", [DemoLine("MUG-BLUE")],
                            created_at=now + timedelta(minutes=2), updated_at=now)

    polled = poll(shop)

    assert (polled.needs_attention, polled.ready) == (1, 1)
    row = shop.row("#TOMORROW")
    assert (row.state, row.attention_reason) == (S.NEEDS_ATTENTION, "future_date")
    assert "ahead of bridge's clock" in row.last_error
    (note,) = shop.notes_by_order()[future_id]
    assert row.last_error in note
    assert line_count(shop, "#TOMORROW") == 1  # the shop sold the units: still reserved
    assert shop.row("#SKEWED").state == S.READY  # within the clock-skew allowance


def test_an_update_time_in_the_future_is_caught_too():
    now = utcnow()
    order = CartOrder("1", "#1", now, now + CLOCK_SKEW + timedelta(minutes=1), True, False,
                      (CartLine("1", "MUG-BLUE", 1),))
    with pytest.raises(NeedsAttentionError) as problem:
        check_dates(order, now)
    assert problem.value.reason == "future_date" and "updated time" in problem.value.message
    check_dates(order, now + timedelta(minutes=2))  # within the allowance


# -- cancelled after Amazon shipped ---------------------------------------------------------


@pytest.mark.parametrize("state", [S.SHIPPED, S.COMPLETE])
def test_a_cancel_after_amazon_shipped_needs_a_person_with_a_note(shop, state):
    order_id = shipped_and_complete(shop)
    if state == S.COMPLETE:
        assert push_tracking(shop.ledger, shop.cart, shop.storefront).completed == 1
    assert shop.states() == {"#S1": state}

    demo_store.cancel_order(shop.store_url, order_id)
    polled = poll(shop)

    assert polled.needs_attention == 1
    row = shop.row("#S1")
    assert (row.state, row.attention_reason) == (S.NEEDS_ATTENTION, "cancelled_after_shipment")
    (note,) = shop.notes_by_order()[order_id]
    assert "Amazon shipped it" in note and "refund or a return" in note

    # Seen again (and changed again in the cart): no second note, no cancel sent to Amazon.
    demo_store.update_order(shop.store_url, order_id, shipping_method="Expedited")
    poll(shop)
    assert shop.row("#S1").state == S.NEEDS_ATTENTION
    assert len(shop.notes_by_order()[order_id]) == 1
    assert shop.sim.admin.calls("cancelFulfillmentOrder") == 0


# -- notes ------------------------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.warnings: list[tuple[str, dict]] = []

    def warning(self, event: str, **fields) -> None:
        self.warnings.append((event, fields))

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def place_orders_without_address(shop, count: int) -> list[str]:
    return [demo_store.insert_order(shop.store_url, f"#NOADDR{i}", [DemoLine("MUG-BLUE")], address={})
            for i in range(count)]


def failing_first_note(shop, monkeypatch, error: Exception) -> list[str]:
    real = shop.cart.add_note
    tried: list[str] = []

    def add_note(order, text):
        tried.append(order.order_id)
        if len(tried) == 1:
            raise error
        real(order, text)

    monkeypatch.setattr(shop.cart, "add_note", add_note)
    return tried


@both_ledgers
@pytest.mark.parametrize("error", [
    TransientError("the shop did not answer"),
    NeedsAttentionError("cart_rejected", "Shopify refused the note"),
    KeyError("orderUpdate"),
    AttributeError("'NoneType' object has no attribute 'get'"),
], ids=["transient", "refused", "key_error", "attribute_error"])
def test_a_failed_note_is_recorded_and_the_next_notes_are_still_written(shop, monkeypatch, error):
    recorder = Recorder()
    monkeypatch.setattr(common, "log", recorder)
    first, *others = place_orders_without_address(shop, 3)
    tried = failing_first_note(shop, monkeypatch, error)

    polled = poll(shop)

    assert polled.needs_attention == 3 and tried == [first, *others]
    notes = shop.notes_by_order()
    assert first not in notes and all(len(notes[order_id]) == 1 for order_id in others)
    (failed,) = [event for event in shop.events("#NOADDR0") if event.kind == "note_failed"]
    assert "no shipping address" in failed.message
    assert all("note_failed" not in event_kinds(shop, f"#NOADDR{i}") for i in (1, 2))
    (warning,) = recorder.warnings[-1:]
    assert warning[0] == "note_not_written" and warning[1]["order"] == first


def test_refused_credentials_record_every_note_not_written_and_are_raised(shop, monkeypatch):
    place_orders_without_address(shop, 3)
    failing_first_note(shop, monkeypatch, FatalError("the shop refused the credentials"))

    with pytest.raises(FatalError):
        poll(shop)

    assert shop.states() == {f"#NOADDR{i}": S.NEEDS_ATTENTION for i in range(3)}
    assert shop.notes_by_order() == {}
    for i in range(3):
        assert "note_failed" in event_kinds(shop, f"#NOADDR{i}")


def test_a_refused_tracking_write_is_noted_in_the_shop(shop, monkeypatch):
    order_id = shipped_and_complete(shop)

    def refuse(order, shipment, notify):
        raise NeedsAttentionError("cart_rejected", "the order is archived in the shop")

    monkeypatch.setattr(shop.cart, "push_shipment", refuse)
    result = push_tracking(shop.ledger, shop.cart, shop.storefront)

    assert result.refused == 1
    row = shop.row("#S1")
    assert (row.state, row.attention_reason) == (S.NEEDS_ATTENTION, "tracking_refused")
    with shop.ledger.transaction() as session:
        package = session.scalars(sa.select(Package).where(Package.order_id == row.id)).one()
    (note,) = shop.notes_by_order()[order_id]
    assert f"package {package.package_number}" in note
    assert package.tracking_number in note and "the order is archived in the shop" in note


# -- Shopify's answer to a note -----------------------------------------------------------------


class ScriptedGraphql:
    """Answers each GraphQL call with the next scripted `data`."""

    def __init__(self, *answers) -> None:
        self.answers = list(answers)

    def graphql(self, document, variables, *, cost, write=False):
        return self.answers.pop(0)


SHOPIFY_ORDER = CartOrder("gid://shopify/Order/1", "#1001", utcnow(), utcnow(), True, False, ())


@pytest.mark.parametrize("answer", [
    {}, {"orderUpdate": None}, {"orderUpdate": {}}, {"orderUpdate": {"userErrors": None}},
    {"orderUpdate": {"userErrors": "denied"}}, {"orderUpdate": {"userErrors": ["denied"]}},
    ["not", "an", "object"],
], ids=["no_payload", "null_payload", "no_user_errors", "null_user_errors", "text_errors",
        "text_in_errors", "list"])
def test_shopify_note_answer_without_its_payload_is_a_typed_error(answer):
    adapter = ShopifyAdapter(None, http=ScriptedGraphql({"order": {"note": ""}}, answer))
    with pytest.raises(IndeterminateError):
        adapter.add_note(SHOPIFY_ORDER, "bridge: on hold")


def test_shopify_note_refusal_and_odd_note_are_typed_errors():
    refused = ShopifyAdapter(None, http=ScriptedGraphql(
        {"order": None}, {"orderUpdate": {"userErrors": [{"field": ["id"], "message": "gone"}]}}))
    with pytest.raises(NeedsAttentionError):
        refused.add_note(SHOPIFY_ORDER, "bridge: on hold")
    odd = ShopifyAdapter(None, http=ScriptedGraphql({"order": {"note": 42}}))
    with pytest.raises(MalformedAnswer):
        odd.add_note(SHOPIFY_ORDER, "bridge: on hold")
    written = ShopifyAdapter(None, http=ScriptedGraphql({"order": "odd"}, {"orderUpdate": {"userErrors": []}}))
    written.add_note(SHOPIFY_ORDER, "bridge: on hold")
