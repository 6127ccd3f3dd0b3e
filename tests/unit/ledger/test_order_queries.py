from __future__ import annotations

import pytest
from ledger_rows import HOUR, T0, order, package

from bridge.domain.states import OrderState as S
from bridge.ledger import repo
from bridge.ledger.repo import Ledger


def test_orders_matching_finds_by_any_reference_and_tells_storefronts_apart(ledger: Ledger) -> None:
    first = order(ledger, "#1", S.READY, sfo_id="BR-1")
    order(ledger, "#1", S.READY, storefront="south")
    with ledger.transaction() as session:
        assert [r.id for r in repo.orders_matching(session, "BR-1")] == [first]
        assert [r.id for r in repo.orders_matching(session, str(first), "north")] == [first]
        assert [r.id for r in repo.orders_matching(session, "c-#1", "north")] == [first]
        assert len(repo.orders_matching(session, "#1")) == 2
        assert repo.orders_matching(session, "nothing") == []


def test_latest_orders_are_newest_first_and_filtered(ledger: Ledger) -> None:
    ids = [order(ledger, f"#{n}", S.READY if n % 2 else S.ACCEPTED) for n in range(1, 5)]
    order(ledger, "#9", S.READY, storefront="south")
    with ledger.transaction() as session:
        assert [r.id for r in repo.latest_orders(session, "north", None, 3)] == ids[::-1][:3]
        assert [r.number for r in repo.latest_orders(session, "north", "ready", 10)] == ["#3", "#1"]
        assert len(repo.latest_orders(session, None, None, 10)) == 5


def test_needing_attention_lists_the_most_recently_held_first(ledger: Ledger) -> None:
    order(ledger, "#old", S.NEEDS_ATTENTION, changed_at=T0)
    order(ledger, "#new", S.NEEDS_ATTENTION, changed_at=T0 + HOUR)
    order(ledger, "#fine", S.READY)
    with ledger.transaction() as session:
        assert [r.number for r in repo.needing_attention(session, "north", 10)] == ["#new", "#old"]
        assert [r.number for r in repo.needing_attention(session, "north", 1)] == ["#new"]


def test_followed_orders_are_open_at_amazon_shipped_or_held_after_acceptance(ledger: Ledger) -> None:
    order(ledger, "#a", S.ACCEPTED, sfo_id="A", amazon_status="Received", accepted_at=T0)
    order(ledger, "#s", S.SHIPPED, sfo_id="S", amazon_status="Complete", accepted_at=T0)
    order(ledger, "#h", S.NEEDS_ATTENTION, sfo_id="H", amazon_status="Planning", accepted_at=T0)
    order(ledger, "#never", S.NEEDS_ATTENTION, sfo_id="N")  # held before Amazon saw it
    order(ledger, "#done", S.COMPLETE, sfo_id="D", accepted_at=T0)
    with ledger.transaction() as session:
        assert repo.amazon_statuses_followed(session, "north") == {
            "A": "Received", "S": "Complete", "H": "Planning"}


def test_unchanged_followed_leaves_out_shipped_and_recent_ones(ledger: Ledger) -> None:
    order(ledger, "#late", S.PROCESSING, sfo_id="L", accepted_at=T0, changed_at=T0)
    order(ledger, "#later", S.ACCEPTED, sfo_id="M", accepted_at=T0, changed_at=T0 + HOUR)
    order(ledger, "#recent", S.ACCEPTED, sfo_id="R", accepted_at=T0, changed_at=T0 + 3 * HOUR)
    order(ledger, "#shipped", S.SHIPPED, sfo_id="S", accepted_at=T0, changed_at=T0)
    with ledger.transaction() as session:
        assert repo.unchanged_followed(session, "north", T0 + 2 * HOUR, 10) == ["L", "M"]
        assert repo.unchanged_followed(session, "north", T0 + 2 * HOUR, 1) == ["L"]


def test_lock_by_fulfillment_id_and_existing_order(ledger: Ledger) -> None:
    order_id = order(ledger, "#1", S.ACCEPTED, sfo_id="BR-1")
    with ledger.transaction() as session:
        row = repo.lock_by_fulfillment_id(session, "BR-1")
        assert row is not None and row.id == order_id
        assert repo.lock_by_fulfillment_id(session, "BR-2") is None
        assert repo.existing_order(session, order_id).number == "#1"
        with pytest.raises(LookupError):
            repo.existing_order(session, order_id + 1)


def test_shipped_orders_complete_only_with_every_package_in_the_cart(ledger: Ledger) -> None:
    done = order(ledger, "#done", S.SHIPPED)
    package(ledger, done, 1, pushed_at=T0)
    half = order(ledger, "#half", S.SHIPPED)
    package(ledger, half, 1, pushed_at=T0)
    package(ledger, half, 2)
    order(ledger, "#bare", S.SHIPPED)  # no package recorded yet
    with ledger.transaction() as session:
        assert [r.number for r in repo.shipped_with_all_tracking_written(session, "north")] == ["#done"]


def test_orders_quiet_or_overdue_at_amazon(ledger: Ledger) -> None:
    order(ledger, "#quiet", S.PROCESSING, accepted_at=T0, changed_at=T0)
    order(ledger, "#moving", S.ACCEPTED, accepted_at=T0 + 2 * HOUR, changed_at=T0 + 2 * HOUR)
    order(ledger, "#shipped", S.SHIPPED, accepted_at=T0, changed_at=T0)
    with ledger.transaction() as session:
        assert repo.quiet_at_amazon_count(session, "north", T0 + HOUR) == 1
        assert [r.number for r in repo.accepted_before(session, "north", T0 + HOUR)] == ["#quiet"]


def test_possibly_held_since_reads_amazons_status_and_acceptance(ledger: Ledger) -> None:
    order(ledger, "#held", S.ACCEPTED, amazon_status="Received", accepted_at=T0)
    order(ledger, "#released", S.ACCEPTED, amazon_status="Planning", accepted_at=T0)
    order(ledger, "#young", S.ACCEPTED, amazon_status="", accepted_at=T0 + 2 * HOUR)
    with ledger.transaction() as session:
        rows = repo.possibly_held_since(session, "north", T0 + HOUR, ("", "New", "Received"))
        assert [r.number for r in rows] == ["#held"]


def test_order_events_are_the_orders_own_in_order(ledger: Ledger) -> None:
    first, other = order(ledger, "#1", S.READY), order(ledger, "#2", S.READY)
    with ledger.transaction() as session:
        repo.record_event(session, "north", first, "one")
        repo.record_event(session, "north", other, "elsewhere")
        repo.record_event(session, "north", first, "two")
    with ledger.transaction() as session:
        assert [e.kind for e in repo.order_events(session, first)] == ["one", "two"]
