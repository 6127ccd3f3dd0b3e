"""`bridge returns create|list|show` through click's runner, on the simulator, a migrated
ledger and the SQL demo store: a return of a shipped order is authorized and its label
written to the store once; without a reason the codes Amazon takes are listed; what
cannot be returned is refused with a typed reason before anything is sent; the returns
flow follows the units until Amazon has processed them and the store hears it once."""

from __future__ import annotations

from click.testing import CliRunner
from support import DROP_SECONDS, TO_COMPLETE, both_ledgers, with_fulfillment

from bridge import demo_store
from bridge.cli import main
from bridge.demo_store import DemoLine
from bridge.domain.states import OrderState as S
from bridge.fba.client import FbaClient
from bridge.fba.ratelimit import NoLimiter
from bridge.services.ingest import ingest_orders
from bridge.services.returns import follow_returns, request_return, send_return, show_return
from bridge.services.status import sync_status
from bridge.services.submit import submit_ready
from bridge.services.tracking import push_tracking

RETURN_BACK_AND_PROCESSED = 4 * 86400 + 1  # the simulator's return transit + inspection


def bridge(shop, *args: str):
    return CliRunner().invoke(main, ["-c", shop.storefront.config_dir, *args],
                              catch_exceptions=False)


def shipped_order(shop) -> str:
    """One order of two blue mugs and a tee, shipped by Amazon, tracking in the store."""
    shop.sim.admin.set_stock({"MUG-BLUE": 10, "TEE-M": 10})
    demo_store.insert_order(shop.store_url, "#3001", [DemoLine("MUG-BLUE", 2),
                                                      DemoLine("TEE-M", 1)])
    ingest_orders(shop.ledger, shop.cart, shop.storefront)
    submit_ready(shop.ledger, shop.fba, shop.cart, shop.storefront, limit=10)
    shop.sim.admin.advance(TO_COMPLETE)
    sync_status(shop.ledger, shop.fba, shop.cart, shop.storefront)
    push_tracking(shop.ledger, shop.cart, shop.storefront)
    [row] = shop.rows()
    assert row.state == S.COMPLETE
    return row.number


@both_ledgers
def test_a_return_from_the_command_to_received_in_the_store(shop):
    number = shipped_order(shop)
    order_id = shop.row(number).cart_order_id

    created = bridge(shop, "returns", "create", number, "--lines", "MUG-BLUE=1",
                     "--reason", "CR-DEFECTIVE", "--comment", "handle broke")
    assert created.exit_code == 0, created.output
    assert "authorized" in created.output
    assert "https://www.amazon.com/gp/orc/rml/" in created.output
    assert shop.sim.admin.calls("createFulfillmentReturn") == 1
    assert [stage for _, stage in demo_store.read_event_keys(shop.store_url, order_id,
                                                             "return")] == ["authorized"]
    label_notes = [n for n in shop.notes_by_order()[order_id] if "Return label" in n]
    assert len(label_notes) == 1 and "rml/" in label_notes[0]

    listed = bridge(shop, "returns", "list")
    assert listed.exit_code == 0 and number in listed.output and "authorized" in listed.output
    assert "returns being followed: 1" in bridge(shop, "status").output

    shop.sim.admin.advance(RETURN_BACK_AND_PROCESSED)
    follow_returns(shop.ledger, shop.fba, shop.cart, shop.storefront)
    follow_returns(shop.ledger, shop.fba, shop.cart, shop.storefront)  # nothing more to say
    stages = sorted(stage for _, stage in demo_store.read_event_keys(shop.store_url, order_id,
                                                                     "return"))
    assert stages == ["authorized", "received"]
    assert any("condition Defective" in n for n in shop.notes_by_order()[order_id])

    shown = bridge(shop, "returns", "show", "1")
    assert shown.exit_code == 0
    assert "received" in shown.output and "Processed" in shown.output
    assert "no refund" in shown.output
    assert "returns being followed" not in bridge(shop, "status").output


def test_without_a_reason_the_codes_are_listed_and_nothing_is_sent(shop):
    number = shipped_order(shop)

    asked = bridge(shop, "returns", "create", number, "--lines", "TEE-M=1")

    assert asked.exit_code == 2
    assert "reason code is required" in asked.output
    assert "CR-DEFECTIVE" in asked.output and "CR-UNWANTED_ITEM" in asked.output
    assert shop.sim.admin.calls("createFulfillmentReturn") == 0


def test_what_cannot_be_returned_is_refused_with_a_typed_reason(shop):
    number = shipped_order(shop)

    for lines, reason in (("MUG-BLUE=3", "too_many"), ("NOPE=1", "unknown_line"),
                          ("MUG-BLUE", "bad_lines")):
        refused = bridge(shop, "returns", "create", number, "--lines", lines,
                         "--reason", "CR-UNWANTED_ITEM")
        assert refused.exit_code == 2, refused.output
        assert f"not sent ({reason})" in refused.output
    made_up = bridge(shop, "returns", "create", number, "--lines", "MUG-BLUE=1",
                     "--reason", "CR-MADE-UP")
    assert made_up.exit_code == 2 and "unknown_reason" in made_up.output
    assert bridge(shop, "returns", "create", "nope", "--lines", "A=1",
                  "--reason", "CR-DEFECTIVE").exit_code == 2
    assert shop.sim.admin.calls("createFulfillmentReturn") == 0


def test_an_order_amazon_has_not_shipped_cannot_be_returned(shop):
    shop.sim.admin.set_stock({"MUG-BLUE": 10})
    demo_store.insert_order(shop.store_url, "#3002", [DemoLine("MUG-BLUE", 1)])
    ingest_orders(shop.ledger, shop.cart, shop.storefront)
    submit_ready(shop.ledger, shop.fba, shop.cart, shop.storefront, limit=10)
    [row] = shop.rows()

    refused = bridge(shop, "returns", "create", row.number, "--lines", "MUG-BLUE=1",
                     "--reason", "CR-DEFECTIVE")

    assert refused.exit_code == 2 and "not_shipped" in refused.output


@both_ledgers
def test_a_lost_answer_is_resent_with_the_same_ids_and_never_makes_a_second_return(shop):
    number = shipped_order(shop)
    impatient = with_fulfillment(shop.storefront, timeout_seconds=1)
    assert impatient.fulfillment.timeout_seconds < DROP_SECONDS
    shop.sim.admin.add_fault("createFulfillmentReturn", status=None, drop_after_act=True,
                             count=1)

    with FbaClient.from_account(impatient.fulfillment, impatient.secret, NoLimiter()) as fba:
        first = request_return(shop.ledger, fba, shop.cart, number, {"MUG-BLUE": 2},
                               "CR-UNWANTED_ITEM")
        assert first.state == "requested" and "same item ids" in first.last_error
        [at_amazon] = shop.sim.admin.orders()
        assert at_amazon["returnItems"] == 2, "the simulator acted before dropping the answer"

        # What the returns flow does with a return whose answer was lost.
        assert send_return(shop.ledger, fba, first.id) == "authorized"

    again = show_return(shop.ledger, first.id)
    assert [u.seller_return_item_id for u in again.units] == [
        u.seller_return_item_id for u in first.units]
    assert [(u.status, u.invalid_code) for u in again.units] == [("New", ""), ("New", "")]
    [authorization] = again.authorizations
    assert authorization.label_url.startswith("https://www.amazon.com/gp/orc/rml/")
    assert shop.sim.admin.calls("createFulfillmentReturn") == 2
    [at_amazon] = shop.sim.admin.orders()
    assert at_amazon["returnItems"] == 2
    order_id = shop.row(number).cart_order_id
    follow_returns(shop.ledger, shop.fba, shop.cart, shop.storefront)
    assert demo_store.read_event_keys(shop.store_url, order_id, "return") == [
        (authorization.authorization_id, "authorized")]
