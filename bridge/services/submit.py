"""Orders out: hand ready orders to Amazon, exactly once each.

Recovery points on the row: ready → submitting (committed before the call) → accepted.
An ambiguous outcome (timeout, reset, 5xx) leaves `submit_unknown`, and only a read-back
by sellerFulfillmentOrderId leaves it: found → accepted, not found → create again with
the same id. bridge never depends on what Amazon answers to a repeated create.

Before a batch, an order poll older than `recheck_seconds` is run again, so an order
cancelled in the shop moments ago is recorded as cancelled instead of sent. A submission
that keeps failing for passing reasons (throttled, 5xx, no connection) goes on being
retried, but once over its retry budget it is flagged stalled and the shop is told.

In shadow mode nothing is claimed or sent: the request each ready order would be created
with is recorded instead (bridge.services.shadow). Live again, orders recorded in shadow
are checked against the shop before the first create."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from bridge.carts.contract import CartAdapter
from bridge.config import BridgeSettings, StorefrontConfig
from bridge.domain import retry_budget
from bridge.domain.fulfillment import FulfillmentOrderRequest
from bridge.domain.model import CartOrder
from bridge.domain.retry_budget import RetryBudget
from bridge.domain.states import NOT_YET_SUBMITTED
from bridge.domain.states import OrderState as S
from bridge.errors import FatalError, IndeterminateError, NeedsAttentionError, TransientError
from bridge.fba.port import FulfillmentNetwork
from bridge.fba.priority import Priority, call_priority
from bridge.ledger import repo
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import Order
from bridge.logging import bind_context
from bridge.services import edits, features, ingest, shadow
from bridge.services.common import log, tell_merchant
from bridge.shadow import is_shadow

CLAIMABLE = (S.READY, S.SUBMIT_UNKNOWN)
DEFAULT_BUDGET = RetryBudget()


@dataclass
class SubmitResult:
    accepted: int = 0
    unknown: int = 0
    needs_attention: int = 0
    deferred: int = 0
    # Orders the poll before the batch found cancelled in the shop.
    cancelled: int = 0
    # Orders became ready while this run sent its batch (their own nudge may have found
    # this run busy): the run's follow-up picks them up.
    ready_left: bool = False


def submit_ready(
    ledger: Ledger,
    fba: FulfillmentNetwork,
    cart: CartAdapter | None,
    storefront: StorefrontConfig,
    limit: int,
    *,
    settings: BridgeSettings | None = None,
    now: Callable[[], datetime] | None = None,
) -> SubmitResult:
    """Submit up to `limit` orders that are ready or whose last submission is unknown."""
    now = now or ledger.clock
    settings = settings or BridgeSettings()
    budget = RetryBudget(settings.stall_after_seconds, settings.stall_after_attempts)
    result = SubmitResult()
    with ledger.transaction() as session:
        if repo.is_paused(session, storefront.name):
            return result
        stale = cart is not None and _poll_is_stale(session, storefront, settings, now())
    if is_shadow(storefront):
        # Nothing is claimed or sent (so no poll is needed first): the would-be request
        # is recorded and shown.
        shadow.record_would_send(ledger, storefront)
        return result
    if stale and cart is not None:
        result.cancelled = _recheck_cart(ledger, cart, storefront, now)
    if cart is not None:
        # Orders recorded in shadow are checked against the shop before any create.
        shadow.check_before_first_create(ledger, cart, storefront, now)
    with ledger.transaction() as session:
        if repo.is_paused(session, storefront.name):
            return result
        repo.clear_settled_failures(session, storefront.name, NOT_YET_SUBMITTED)
        rows = repo.claim_orders(ledger, session, storefront.name, CLAIMABLE, limit)
        claimed: list[Claimed] = []
        for row in rows:
            previous = row.state
            row.attempts += 1
            # Unknown outcomes move to `submitting` too: the row lock ends with this
            # commit, and a row still in `submit_unknown` would be claimed again by the
            # next worker, which would read back "not found" and create a second time
            # alongside this one. If this worker dies, the sweep makes it
            # `submit_unknown` again, so a read-back still comes first.
            if previous == S.READY:
                repo.transition(session, row, S.SUBMITTING, "submitting",
                                f"creating fulfillment order {row.seller_fulfillment_order_id}")
            else:
                repo.transition(session, row, S.SUBMITTING, "submitting",
                                f"reading back {row.seller_fulfillment_order_id} before any create")
            claimed.append(Claimed(row.id, previous, row.seller_fulfillment_order_id,
                                   row.request, row.attempts))
    acceptances = Acceptances(ledger, result)
    try:
        _submit_claimed(ledger, fba, cart, storefront, claimed, result, budget, now, acceptances)
    finally:
        acceptances.commit()
    if claimed and not result.deferred:
        with ledger.transaction() as session:
            result.ready_left = repo.has_orders(session, storefront.name, (S.READY,))
    return result


def _submit_claimed(ledger: Ledger, fba: FulfillmentNetwork, cart: CartAdapter | None,
                    storefront: StorefrontConfig, claimed: list[Claimed], result: SubmitResult,
                    budget: RetryBudget, now: Callable[[], datetime], acceptances: Acceptances) -> None:
    for index, order in enumerate(claimed):
        try:
            with bind_context(order=order.order_id):
                submit_one(ledger, fba, cart, order, result=result, budget=budget, now=now,
                           acceptances=acceptances, storefront=storefront)
        except TransientError as exc:
            # Throttled or down before anything was sent: the rest wait for the next run,
            # and the failure counts against this order's retry budget.
            _release(ledger, cart, claimed[index:], str(exc), budget=budget, now=now())
            result.deferred += len(claimed) - index
            break
        except FatalError as exc:
            _release(ledger, cart, claimed[index:], str(exc))
            with ledger.transaction() as session:
                repo.pause_storefront(session, storefront.name, str(exc))
            raise


def _poll_is_stale(session: Session, storefront: StorefrontConfig, settings: BridgeSettings,
                   now: datetime) -> bool:
    """Orders wait to be claimed and the last order poll started longer ago than the
    bound: a cancel in the shop since then is not in the ledger yet."""
    if not repo.has_orders(session, storefront.name, CLAIMABLE):
        return False
    cursor = repo.get_cursor(session, storefront.name, ingest.FLOW)
    return cursor is None or now - cursor.position > timedelta(seconds=settings.recheck_seconds)


def _recheck_cart(ledger: Ledger, cart: CartAdapter, storefront: StorefrontConfig,
                  now: Callable[[], datetime]) -> int:
    """One order poll before the batch; it moves orders cancelled in the shop out of
    `ready` before they can be claimed. Skipped (another poll is running) or failed,
    the batch goes on: an order cancelled after it is sent is cancelled at Amazon while
    it still can be. Returns how many orders the poll found cancelled."""
    try:
        polled = ingest.ingest_orders(ledger, cart, storefront, now=now)
    except TransientError as exc:
        log.warning("recheck_failed", storefront=storefront.name, error=str(exc))
        return 0
    if polled.skipped:
        log.info("recheck_skipped", storefront=storefront.name)
    return polled.cancelled


@dataclass(frozen=True)
class Claimed:
    """What a claim read from an order's row: all a submission needs before its call."""

    order_id: int
    previous: str
    seller_fulfillment_order_id: str | None
    request: dict[str, Any] | None
    attempts: int


class Acceptances:
    """Orders Amazon accepted, written to the ledger together: one transaction for up
    to `BATCH` acceptances or `SECONDS` of them, not one per order. Until written an
    order stays `submitting`; a worker that dies first leaves it for the sweep, which
    makes it `submit_unknown`, and a read-back then finds it at Amazon (never a second
    create)."""

    BATCH = 10
    SECONDS = 1.0

    def __init__(self, ledger: Ledger, result: SubmitResult,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ledger, self.result, self.clock = ledger, result, clock
        self._pending: list[tuple[int, str, datetime]] = []
        self._first = 0.0

    def add(self, order_id: int, message: str, at: datetime) -> None:
        if not self._pending:
            self._first = self.clock()
        self._pending.append((order_id, message, at))
        if len(self._pending) >= self.BATCH or self.clock() - self._first >= self.SECONDS:
            self.commit()

    def commit(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        with self.ledger.transaction() as session:
            # One query for the batch's rows: a query per row would flush the previous
            # row's changes each time.
            rows = repo.get_orders(session, [order_id for order_id, _m, _a in pending])
            for order_id, message, at in pending:
                _accept(session, rows[order_id], message, at)
        self.result.accepted += len(pending)
        for order_id, _message, _at in pending:
            log.info("order_accepted", order_id=order_id)


@call_priority(Priority.CREATE)  # creates and their read-backs come first in the rate budget
def submit_one(ledger: Ledger, fba: FulfillmentNetwork, cart: CartAdapter | None, order: Claimed,
               *, result: SubmitResult, acceptances: Acceptances, storefront: StorefrontConfig,
               budget: RetryBudget = DEFAULT_BUDGET,
               now: Callable[[], datetime] | None = None) -> None:
    now = now or ledger.clock
    order_id, sfo_id, saved = order.order_id, order.seller_fulfillment_order_id, order.request
    if sfo_id is None or saved is None:
        # Both are saved when the order becomes ready, before it can be claimed.
        raise LookupError(f"order {order_id} has no fulfillment order id or request to send")
    request = FulfillmentOrderRequest.from_json(saved)
    if order.previous == S.SUBMIT_UNKNOWN:
        if fba.fulfillment_order(sfo_id) is not None:
            acceptances.add(order_id, "found at Amazon on read-back", now())
            return
        with ledger.transaction() as session:
            row = repo.existing_order(session, order_id)
            if row.snapshot.get("cancelled"):
                # Cancelled in the cart while the outcome was unknown, and Amazon has
                # no such order: there is nothing to create and nothing to cancel.
                repo.transition(session, row, S.CANCELLED, "cancelled",
                                "cancelled in the cart; not found at Amazon on read-back")
                repo.clear_stall(session, row, "cancelled in the cart")
                return
            # Already `submitting` since the claim; the event keeps the decision on record.
            repo.record_event(
                session, row.storefront, row.id, "read_back_not_found",
                message="not found at Amazon on read-back; creating again with the same id",
            )
    # Amazon's options are checked (and the request saved) right before the create.
    settled = features.settle_features(ledger, fba, cart, storefront, order_id, request)
    if settled.request is None:
        result.needs_attention += 1
        return
    request = settled.request
    try:
        fba.create_fulfillment_order(request)
    except IndeterminateError as exc:
        with ledger.transaction() as session:
            row = repo.existing_order(session, order_id)
            repo.transition(session, row, S.SUBMIT_UNKNOWN, "submit_unknown",
                            f"outcome unknown ({exc}); will read back before any retry")
            note = _record_failure(session, row, str(exc), now(), budget)
            snapshot = row.snapshot
        result.unknown += 1
        if note:
            _tell(cart, snapshot, note, ledger, row.storefront)
        return
    except NeedsAttentionError as problem:
        # A refusal after an earlier ambiguous attempt may mean "that id exists":
        # read back before calling it a failure.
        if order.attempts > 1 and fba.fulfillment_order(sfo_id) is not None:
            acceptances.add(order_id, "found at Amazon after a refused repeat", now())
            return
        with ledger.transaction() as session:
            row = repo.existing_order(session, order_id)
            repo.transition(session, row, S.NEEDS_ATTENTION, "needs_attention",
                            f"Amazon refused the order: {problem.message}", reason=problem.reason)
            repo.clear_stall(session, row, "Amazon refused it; it needs attention")
            snapshot = row.snapshot
        result.needs_attention += 1
        if cart is not None:
            tell_merchant(cart, CartOrder.from_snapshot(snapshot),
                          f"Amazon refused the fulfillment order: {problem.message}",
                          ledger=ledger, storefront=row.storefront)
        log.warning("order_refused", order_id=order_id, detail=problem.message)
        return
    acceptances.add(order_id, "Amazon accepted the fulfillment order", now())


def _accept(session: Session, row: Order, message: str, now: datetime) -> None:
    row.accepted_at = now
    row.last_error = ""
    # What Amazon calls an order it has just validated; the status sync then reads
    # the order again only once Amazon reports something else.
    row.amazon_status = "Received"
    repo.transition(session, row, S.ACCEPTED, "accepted", message)
    repo.clear_stall(session, row, "Amazon accepted it")
    if row.snapshot.get("cancelled"):
        repo.transition(session, row, S.CANCEL_REQUESTED, "cancel_requested",
                        "cancelled in the cart while the submission was in flight")
    elif edits.pending_edit(row) is not None:
        repo.transition(session, row, S.UPDATE_REQUESTED, "update_requested",
                        "changed in the cart while the submission was in flight; updating "
                        "Amazon's order")


def _release(ledger: Ledger, cart: CartAdapter | None, claimed: list[Claimed], why: str, *,
             budget: RetryBudget | None = None, now: datetime | None = None) -> None:
    """Nothing was sent for these in this run: hand each back to the state it was
    claimed from, so a row whose earlier outcome is unknown is still read back first.
    The first was tried; the others get back the attempt their claim counted. With a
    `budget`, the first one's failure counts against it."""
    note: str | None = None
    snapshot: dict[str, Any] = {}
    storefront = ""
    with ledger.transaction() as session:
        for index, order in enumerate(claimed):
            row = repo.existing_order(session, order.order_id)
            if row.state != S.SUBMITTING:
                continue
            row.last_error = why
            if index:
                row.attempts -= 1
            repo.transition(session, row, S(order.previous), "deferred", f"not sent: {why}")
            if index == 0 and budget is not None:
                note = _record_failure(session, row, why, now or ledger.clock(), budget)
                snapshot, storefront = row.snapshot, row.storefront
    if note:
        _tell(cart, snapshot, note, ledger, storefront)


def _record_failure(session: Session, row: Order, error: str, now: datetime,
                    budget: RetryBudget) -> str | None:
    """Count a passing failure of the row's submission. Returns the note for the shop
    when this failure puts it over the retry budget (told once per stall)."""
    row.last_error = error
    if row.first_failed_at is None:
        row.first_failed_at = now
    if row.stalled_since is not None:
        row.stalled_reason = error  # the latest cause, for `bridge status`
        return None
    why = retry_budget.over_budget(row.first_failed_at, row.attempts, now, budget)
    if why is None:
        return None
    repo.mark_stalled(session, row, now, error, why)
    since = row.first_failed_at.strftime("%Y-%m-%d %H:%M UTC")
    log.warning("order_stalled", order_id=row.id, failing_since=since, attempts=row.attempts,
                why=why, error=error)
    return f"has not been able to send this order to Amazon since {since}: {error}; it keeps trying"


def _tell(cart: CartAdapter | None, snapshot: dict[str, Any], text: str, ledger: Ledger, storefront: str) -> None:
    if cart is not None:
        tell_merchant(cart, CartOrder.from_snapshot(snapshot), text,
                      ledger=ledger, storefront=storefront)
