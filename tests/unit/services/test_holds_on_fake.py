"""Rules and holds on an in-memory shop: order polls put orders on hold, exclude them or
send them with other options, each recorded with the rule's name; authorized payments
wait for their capture; a person approves, holds and releases (bridge.services.holds)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from bridge.config import ApprovalSettings, RuleSettings
from bridge.domain.mapping import MappingPolicy
from bridge.domain.model import Address, CartOrder, PaymentStatus
from bridge.domain.rules import Overrides
from bridge.domain.skus import SkuMap
from bridge.domain.states import OrderState as S
from bridge.ledger import repo
from bridge.services.holds import APPROVE, HOLD, RELEASE, NothingSelected, Selection, decide
from bridge.services.ingest import ingest_orders, with_overrides
from bridge.services.orders import storefront_status
from bridge.services.stock import sync_stock
from bridge.services.submit import submit_ready
from bridge.services.sweep import sweep
from bridge.services.watchdog import Thresholds, watch

BIG = RuleSettings(name="big", action="hold", total_over=Decimal("500"))
VIP = RuleSettings(name="vip", action="hold", tags=("vip",))
WHOLESALE = RuleSettings(name="wholesale", action="exclude", tags=("wholesale",))
GIFT = RuleSettings(name="gift", action="override", tags=("gift",), shipping_speed="Priority",
                    fulfillment_policy="FillAllAvailable", features=("BLANK_BOX",))
CANADA = Address(name="Jean Tremblay", line1="1 Rue Principale", city="Montreal", state="QC",
                 postal_code="H2X 1Y4", country_code="CA")


def with_rules(store, *rules: RuleSettings, **approval):
    store.storefront = store.storefront.model_copy(update={
        "rules": rules, "approval": ApprovalSettings(**approval)})
    return store


def place(store, number: str, lines: dict[str, int] | None = None, **fields) -> CartOrder:
    """An order placed in the shop now, with what rules read (total, tags, payment …)."""
    paid, cancelled = fields.pop("paid", True), fields.pop("cancelled", False)
    return store.cart.put(replace(store.place(number, lines, paid=paid, cancelled=cancelled),
                                  **fields))


def poll(store):
    return ingest_orders(store.ledger, store.cart, store.storefront, now=store.clock)


def submit(store):
    store.amazon.set_stock({"MUG": 50})
    return submit_ready(store.ledger, store.amazon, store.cart, store.storefront, 10, now=store.clock)


def people(store, action: str, *references: str, by: str = "alice", **selection):
    return decide(store.ledger, {store.storefront.name: store.storefront}, action,
                  Selection(tuple(references), **selection), by, lambda _name: store.cart)


def notes_of(store, order_id: str) -> list[str]:
    return [text for oid, text in store.cart.notes if oid == order_id]


# ---------------------------------------------------------------- holds at ingest

def test_a_rule_holds_an_order_with_its_name_and_the_shop_is_told_once(store):
    with_rules(store, BIG)
    held = place(store, "#2001", {"MUG": 3}, total="650.00")
    place(store, "#2002", total="20.00")

    result = poll(store)
    assert (result.on_hold, result.ready) == (1, 1)
    row = store.row("#2001")
    assert (row.state, row.attention_reason) == (S.ON_HOLD, "big")
    assert "rule 'big' holds it (total over 500)" in row.last_error
    assert notes_of(store, "2001") == [
        f"bridge: on hold for approval: {row.last_error} (bridge orders approve {row.id})"]

    # Nothing held reaches Amazon; the other order does.
    assert submit(store).accepted == 1
    assert store.state("#2001") == S.ON_HOLD and store.amazon.order_ids() == [store.sfo_id("#2002")]

    # An edit that keeps the hold does not tell the shop again.
    store.edit(held, email="other@example.com")
    poll(store)
    assert store.state("#2001") == S.ON_HOLD
    assert len(notes_of(store, "2001")) == 1


def test_all_orders_waits_for_approval_and_approve_sends_it(store):
    with_rules(store, all_orders=True)
    place(store, "#2010")
    poll(store)
    assert (store.state("#2010"), store.row("#2010").attention_reason) == (S.ON_HOLD, "all_orders")

    [outcome] = people(store, APPROVE, "#2010", by="alice")
    assert outcome.done and outcome.state == S.READY
    assert ("approved", "approved by alice: all_orders") in store.event_log("#2010")
    assert "bridge: approved by alice: all_orders; the order is now ready" in notes_of(store, "2010")
    assert submit(store).accepted == 1
    assert store.state("#2010") == S.ACCEPTED


def test_an_excluded_order_is_ignored_with_the_rule_and_reserves_nothing(store):
    with_rules(store, WHOLESALE, all_orders=True)
    order = place(store, "#2020", {"MUG": 2}, tags=("Wholesale",))
    result = poll(store)

    row = store.row("#2020")
    assert result.excluded == 1 and result.on_hold == 0  # exclusion wins over holds
    assert (row.state, row.attention_reason) == (S.IGNORED, "excluded:wholesale")
    assert "excluded by rule 'wholesale'" in row.last_error
    assert notes_of(store, "2020") == [f"bridge: {row.last_error}"]
    with store.ledger.transaction() as session:
        assert repo.units_not_yet_at_amazon(session, "unit") == {}

    # Once the tag is gone, the order is mapped again (and held by all_orders).
    store.edit(order, tags=())
    poll(store)
    assert (store.state("#2020"), store.row("#2020").attention_reason) == (S.ON_HOLD, "all_orders")


def test_an_override_rule_changes_speed_and_policy_and_is_recorded(store):
    with_rules(store, GIFT)
    place(store, "#2030", tags=("gift",))
    place(store, "#2031")
    poll(store)

    gift, plain = store.row("#2030"), store.row("#2031")
    assert gift.request["shipping_speed"] == "Priority"
    assert gift.request["fulfillment_policy"] == "FillAllAvailable"
    assert gift.request["features"] == ["BLANK_BOX"]
    assert plain.request["shipping_speed"] == "Standard"
    assert plain.request["fulfillment_policy"] == "FillOrKill"
    assert not plain.request.get("features")
    assert ("rules_applied", "sent with rule 'gift': fulfillment policy FillAllAvailable, "
            "shipping speed Priority, features BLANK_BOX") in store.event_log("#2030")
    assert not any(kind == "rules_applied" for kind, _ in store.event_log("#2031"))


def test_override_features_reach_the_mapping_policy():
    base = MappingPolicy(SkuMap.from_config({}), lambda _m: "Standard", "FillOrKill", "x",
                         features=("BLOCK_AMZL",))
    policy = with_overrides(base, Overrides(features=("BLANK_BOX", "BLOCK_AMZL"),
                                            shipping_speed="Expedited"))
    assert policy.features == ("BLOCK_AMZL", "BLANK_BOX")
    assert policy.speed_for("anything") == "Expedited"
    assert policy.fulfillment_policy == "FillOrKill"
    assert with_overrides(base, Overrides()) is base


def test_held_units_stay_reserved_in_the_shops_stock(store):
    with_rules(store, BIG)
    store.amazon.set_stock({"MUG": 10})
    store.cart.stock = {"MUG": 10}
    place(store, "#2040", {"MUG": 3}, total="900")
    poll(store)
    assert store.state("#2040") == S.ON_HOLD

    sync_stock(store.ledger, store.amazon, store.cart, store.storefront, now=store.clock)
    # The shop sold those units; Amazon still counts them as fulfillable.
    assert store.cart.stock["MUG"] == 7


# ---------------------------------------------------------------- payments

def test_an_authorized_order_waits_for_its_capture_and_ships_once_paid(store):
    with_rules(store)
    order = place(store, "#2050", paid=False, payment_status=PaymentStatus.AUTHORIZED)
    result = poll(store)
    row = store.row("#2050")
    assert result.on_hold == 1
    assert (row.state, row.attention_reason) == (S.ON_HOLD, "awaiting_capture")

    store.edit(order, paid=True, payment_status=PaymentStatus.PAID)
    poll(store)
    assert store.state("#2050") == S.READY
    lifted = [m for kind, m in store.event_log("#2050") if kind == "hold_lifted"]
    assert lifted == ["no longer held (awaiting_capture): the order changed in the shop; now ready"]
    assert f"bridge: {lifted[0]}" in notes_of(store, "2050")


def test_a_cash_on_delivery_order_is_held_visibly_and_ships_when_approved(store):
    with_rules(store)
    place(store, "#2052", paid=False, payment_status=PaymentStatus.ON_DELIVERY)
    assert poll(store).on_hold == 1
    row = store.row("#2052")
    assert (row.state, row.attention_reason) == (S.ON_HOLD, "cash_on_delivery")
    assert any("collect no money" in note for note in notes_of(store, "2052"))


def test_authorized_orders_ship_when_the_storefront_says_so(store):
    with_rules(store, ship_payment=("paid", "authorized"))
    place(store, "#2051", paid=False, payment_status=PaymentStatus.AUTHORIZED)
    assert poll(store).ready == 1


def test_pending_orders_are_not_recorded_but_counted(store):
    place(store, "#2052", paid=False, payment_status=PaymentStatus.PENDING)
    place(store, "#2053", paid=False, cancelled=True)
    result = poll(store)
    assert (result.recorded, result.ignored, result.awaiting_payment) == (0, 2, 1)


# ---------------------------------------------------------------- cart edits and cancels

def test_an_approval_holds_while_the_rule_result_stays_and_a_new_hold_needs_its_own(store):
    with_rules(store, BIG, VIP)
    order = place(store, "#2060", total="800")
    poll(store)
    people(store, APPROVE, "#2060")
    assert store.state("#2060") == S.READY

    # Still only `big`: the approval stands.
    order = store.edit(order, total="900", address=CANADA)
    poll(store)
    assert store.state("#2060") == S.READY

    # Now `vip` matches too: held again, for vip only.
    store.edit(order, tags=("VIP",))
    poll(store)
    row = store.row("#2060")
    assert (row.state, row.attention_reason) == (S.ON_HOLD, "vip")
    assert "big" not in row.last_error


def test_a_held_order_cancelled_in_the_shop_is_cancelled(store):
    with_rules(store, all_orders=True)
    order = place(store, "#2070")
    poll(store)
    store.edit(order, cancelled=True)
    poll(store)
    row = store.row("#2070")
    assert (row.state, row.attention_reason) == (S.CANCELLED, "")


# ---------------------------------------------------------------- by hand

def test_hold_and_release_by_hand(store):
    with_rules(store)
    place(store, "#2080")
    poll(store)
    assert store.state("#2080") == S.READY

    [held] = people(store, HOLD, "#2080", by="bob")
    assert held.done
    row = store.row("#2080")
    assert (row.state, row.attention_reason) == (S.ON_HOLD, "manual")
    assert submit(store).accepted == 0
    assert ("held", "held by bob: not sent to Amazon until approved or released") in \
        store.event_log("#2080")

    [again] = people(store, HOLD, "#2080")
    assert not again.done and "already held by bob" in again.message

    [released] = people(store, RELEASE, "#2080", by="carol")
    assert released.done and store.state("#2080") == S.READY
    assert any(m.startswith("released by carol: the hold by bob is lifted")
               for kind, m in store.event_log("#2080") if kind == "released")


def test_release_lifts_only_a_hold_by_hand(store):
    with_rules(store, BIG)
    place(store, "#2090", total="999")
    poll(store)
    [refused] = people(store, RELEASE, "#2090")
    assert not refused.done
    assert "not held by hand (on hold for big); approve it" in refused.message

    # Held by hand on top of the rule: release leaves the rule's hold.
    people(store, HOLD, "#2090")
    assert store.row("#2090").attention_reason == "manual"
    people(store, RELEASE, "#2090")
    assert (store.state("#2090"), store.row("#2090").attention_reason) == (S.ON_HOLD, "big")


def test_hold_is_refused_once_amazon_has_the_order(store):
    with_rules(store)
    place(store, "#2100")
    poll(store)
    submit(store)
    [refused] = people(store, HOLD, "#2100")
    assert not refused.done
    assert refused.message == ("order #2100: Amazon already has it (accepted); to stop it, "
                               "cancel it in the shop")
    assert store.state("#2100") == S.ACCEPTED


def test_approve_by_rule_selects_only_orders_that_rule_holds(store):
    with_rules(store, BIG, VIP)
    place(store, "#2110", total="700")
    place(store, "#2111", tags=("vip",))
    place(store, "#2112", total="700", tags=("vip",))
    poll(store)

    outcomes = people(store, APPROVE, rule="vip", storefront="unit")
    assert [(o.reference, o.state) for o in outcomes] == [
        (str(store.row("#2111").id), S.READY), (str(store.row("#2112").id), S.READY)]
    # #2112 was held by both: approving it approved every hold it had. #2110 is big's only.
    assert store.state("#2110") == S.ON_HOLD


def test_approve_refuses_what_is_not_on_hold_and_a_selection_is_needed(store):
    place(store, "#2120")
    poll(store)
    [refused] = people(store, APPROVE, "#2120")
    assert (refused.done, refused.message) == (False, "order #2120: it is ready, not on hold")
    [missing] = people(store, APPROVE, "#9999")
    assert not missing.done and "no order matches" in missing.message
    with pytest.raises(NothingSelected):  # a decision without orders is refused
        people(store, APPROVE)


# ---------------------------------------------------------------- visibility and the sweep

def test_status_counts_holds_per_reason(store):
    with_rules(store, BIG, VIP)
    place(store, "#2130", total="700")
    place(store, "#2131", total="700")
    place(store, "#2132", tags=("vip",))
    poll(store)
    status = storefront_status(store.ledger, "unit")
    assert status.holds == {"big": 2, "vip": 1}
    assert status.counts[S.ON_HOLD] == 3


def test_held_orders_are_not_stalled_work_for_the_sweep_or_the_watchdog(store):
    with_rules(store, all_orders=True)
    place(store, "#2140")
    poll(store)
    much_later = store.clock() + timedelta(days=30)
    assert sweep(store.ledger, [store.storefront], timedelta(minutes=5), now=much_later) == {}
    flags = watch(store.ledger, [store.storefront], lambda _name: store.cart, Thresholds(),
                  now=much_later)
    assert not [flag for flag in flags.raised if flag.number == "#2140"]
    assert store.state("#2140") == S.ON_HOLD
