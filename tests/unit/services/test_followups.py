"""Which flows are nudged after which result, and what a fatal error does to its
storefront. The decisions are pure; only `pause_for` touches a (SQLite) ledger."""

from __future__ import annotations

import pytest

from bridge.errors import FatalError
from bridge.services.cancel import CancelResult
from bridge.services.delivery import DeliveryResult
from bridge.services.followups import (
    FLOWS,
    MAX_PARALLEL_SUBMITS,
    Nudge,
    after_cancel,
    after_delivery,
    after_ingest,
    after_reconcile,
    after_status,
    after_submit,
    after_sweep,
    after_update,
    pause_for,
)
from bridge.services.ingest import IngestResult
from bridge.services.status import StatusResult
from bridge.services.submit import SubmitResult
from bridge.services.update import UpdateResult

SUBMIT = Nudge("submit", ("north",))
STOCK_WITHOUT_AMAZON = Nudge("stock", ("north", False))


# ---------------------------------------------------------------- after an order poll


def test_a_poll_that_found_nothing_nudges_nothing():
    assert after_ingest("north", IngestResult(seen=3), submit_batch=10) == []


def test_ready_orders_get_one_submit_per_batch():
    result = IngestResult(seen=25, recorded=25, ready=25)
    assert after_ingest("north", result, submit_batch=10) == [SUBMIT] * 3 + [STOCK_WITHOUT_AMAZON]


def test_a_large_poll_starts_a_few_submits_at_most():
    result = IngestResult(ready=1000)
    assert after_ingest("north", result, submit_batch=10) == [SUBMIT] * MAX_PARALLEL_SUBMITS


def test_cancelled_orders_nudge_the_cancel_flow_and_recompute_stock():
    result = IngestResult(seen=1, cancelled=1)
    assert after_ingest("north", result, submit_batch=10) == [
        Nudge("cancel", ("north",)), STOCK_WITHOUT_AMAZON]


def test_recorded_orders_that_wait_for_a_person_still_move_stock():
    result = IngestResult(seen=2, recorded=2, needs_attention=2)
    assert after_ingest("north", result, submit_batch=10) == [STOCK_WITHOUT_AMAZON]


def test_a_poll_skipped_for_a_running_one_nudges_nothing():
    result = IngestResult(ready=5, cancelled=1, recorded=5, skipped=True)
    assert after_ingest("north", result, submit_batch=10) == []


# ---------------------------------------------------------------- after the other flows


@pytest.mark.parametrize("accepted, unknown, needs_attention, again", [
    (10, 0, 0, True),   # a full batch: more may be waiting
    (6, 3, 1, True),    # every outcome counts towards the batch
    (9, 0, 0, False),   # a short batch took the last ready order
    (0, 0, 0, False),
])
def test_a_full_submit_batch_nudges_another(accepted, unknown, needs_attention, again):
    result = SubmitResult(accepted=accepted, unknown=unknown, needs_attention=needs_attention)
    assert after_submit("north", result, submit_batch=10) == ([SUBMIT] if again else [])


def test_deferred_or_cancelled_orders_do_not_fill_a_batch():
    result = SubmitResult(deferred=10, cancelled=10)
    assert after_submit("north", result, submit_batch=10) == []


def test_orders_that_became_ready_during_a_short_batch_nudge_submit_again():
    assert after_submit("north", SubmitResult(accepted=2, ready_left=True), submit_batch=10) == [SUBMIT]
    assert after_submit("north", SubmitResult(accepted=2), submit_batch=10) == []


def test_a_status_run_that_stopped_early_nudges_itself():
    assert Nudge("status", ("north",)) in after_status("north", StatusResult(updated=200, more=True))
    assert Nudge("status", ("north",)) not in after_status("north", StatusResult(updated=3))


def test_new_packages_nudge_tracking():
    assert after_status("north", StatusResult(updated=2, packages=1)) == [
        Nudge("tracking", ("north",))]
    assert after_status("north", StatusResult(updated=2)) == []


def test_a_reconcile_always_nudges_tracking():
    assert after_reconcile("north") == [Nudge("tracking", ("north",))]


def test_cancels_at_amazon_recompute_stock_without_reading_amazon():
    assert after_cancel("north", CancelResult(cancelled=1)) == [STOCK_WITHOUT_AMAZON]
    assert after_cancel("north", CancelResult(too_late=1)) == []


def test_the_sweep_nudges_each_stale_flow_of_each_storefront_in_a_stable_order():
    stale = {"south": {"tracking"}, "north": {"reconcile", "submit", "cancel"}}
    assert after_sweep(stale) == [
        Nudge("cancel", ("north",)), Nudge("reconcile", ("north",)), SUBMIT,
        Nudge("tracking", ("south",))]
    assert after_sweep({}) == []


def test_a_nudge_names_a_known_flow():
    with pytest.raises(ValueError, match="no flow named 'ingset'"):
        Nudge("ingset", ("north",))


def test_every_flow_a_nudge_may_name_has_a_task():
    from bridge.worker import tasks

    assert set(tasks._FLOW_TASKS) == FLOWS


# ---------------------------------------------------------------- a fatal error


@pytest.fixture
def ledger(tmp_path):
    from bridge.ledger import migrate
    from bridge.ledger.db import make_engine
    from bridge.ledger.repo import Ledger

    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    yield Ledger(engine)
    engine.dispose()


def _paused(ledger, storefront: str) -> str | None:
    from bridge.ledger import repo

    with ledger.transaction() as session:
        return repo.is_paused(session, storefront)


def test_a_fatal_error_pauses_the_storefront_with_its_reason(ledger):
    error = FatalError("Amazon refused the refresh token (invalid_grant)", reason="auth")
    assert pause_for(ledger, "north", error) is True
    assert _paused(ledger, "north") == "Amazon refused the refresh token (invalid_grant)"
    assert _paused(ledger, "south") is None  # only that storefront


def test_a_second_fatal_error_keeps_the_first_reason(ledger):
    pause_for(ledger, "north", FatalError("the shop revoked the API key"))
    assert pause_for(ledger, "north", FatalError("Amazon refused the token")) is False
    assert _paused(ledger, "north") == "the shop revoked the API key"


# ---------------------------------------------------------------- after edits and deliveries


def test_an_edit_run_that_handed_an_order_to_the_cancel_flow_nudges_it():
    assert after_update("north", UpdateResult(updated=2)) == []
    assert after_update("north", UpdateResult(cancelled=1)) == [Nudge("cancel", ("north",))]


def test_a_delivery_run_that_stopped_at_its_bounds_runs_again():
    assert after_delivery("north", DeliveryResult()) == []
    assert after_delivery("north", DeliveryResult(more=True)) == [Nudge("delivery", ("north",))]
