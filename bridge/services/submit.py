"""Orders out: hand ready orders to Amazon, exactly once each.

Recovery points on the row: ready → submitting (committed before the call) → accepted.
An ambiguous outcome (timeout, reset, 5xx) leaves `submit_unknown`, and only a read-back
by sellerFulfillmentOrderId leaves it: found → accepted, not found → create again with
the same id. bridge never depends on what Amazon answers to a repeated create."""

from __future__ import annotations

from dataclasses import dataclass

from bridge.carts.contract import CartAdapter
from bridge.config import StorefrontConfig
from bridge.domain.model import CartOrder
from bridge.domain.states import OrderState as S
from bridge.errors import FatalError, IndeterminateError, NeedsAttentionError, TransientError
from bridge.ledger import repo
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import Order, utcnow
from bridge.logging import bind_context
from bridge.services.common import log, tell_merchant


@dataclass
class SubmitResult:
    accepted: int = 0
    unknown: int = 0
    needs_attention: int = 0
    deferred: int = 0


def submit_ready(
    ledger: Ledger,
    fba,
    cart: CartAdapter | None,
    storefront: StorefrontConfig,
    limit: int,
) -> SubmitResult:
    """Submit up to `limit` orders that are ready or whose last submission is unknown."""
    result = SubmitResult()
    with ledger.transaction() as session:
        if repo.is_paused(session, storefront.name):
            return result
        rows = repo.claim_orders(ledger, session, storefront.name, [S.READY, S.SUBMIT_UNKNOWN], limit)
        claimed: list[tuple[int, str]] = []
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
            claimed.append((row.id, previous))
    for index, (order_id, previous) in enumerate(claimed):
        try:
            with bind_context(order=order_id):
                submit_one(ledger, fba, cart, order_id,
                           resolve_first=previous == S.SUBMIT_UNKNOWN, result=result)
        except TransientError as exc:
            # Throttled or down before anything was sent: the rest wait for the next run.
            _release(ledger, claimed[index:], str(exc))
            result.deferred += len(claimed) - index
            break
        except FatalError as exc:
            _release(ledger, claimed[index:], str(exc))
            with ledger.transaction() as session:
                repo.pause_storefront(session, storefront.name, str(exc))
            raise
    return result


def submit_one(ledger: Ledger, fba, cart, order_id: int, *, resolve_first: bool,
               result: SubmitResult) -> None:
    with ledger.transaction() as session:
        row = repo.get_order(session, order_id)
        sfo_id, request, attempts = row.seller_fulfillment_order_id, row.request, row.attempts
    if resolve_first:
        if fba.get_fulfillment_order(sfo_id) is not None:
            _accepted(ledger, order_id, "found at Amazon on read-back", result)
            return
        with ledger.transaction() as session:
            row = repo.get_order(session, order_id)
            if row.snapshot.get("cancelled"):
                # Cancelled in the cart while the outcome was unknown, and Amazon has
                # no such order: there is nothing to create and nothing to cancel.
                repo.transition(session, row, S.CANCELLED, "cancelled",
                                "cancelled in the cart; not found at Amazon on read-back")
                return
            # Already `submitting` since the claim; the event keeps the decision on record.
            repo.record_event(
                session, row.storefront, row.id, "read_back_not_found",
                message="not found at Amazon on read-back; creating again with the same id",
            )
    try:
        fba.create_fulfillment_order(request)
    except IndeterminateError as exc:
        with ledger.transaction() as session:
            row = repo.get_order(session, order_id)
            row.last_error = str(exc)
            repo.transition(session, row, S.SUBMIT_UNKNOWN, "submit_unknown",
                            f"outcome unknown ({exc}); will read back before any retry")
        result.unknown += 1
        return
    except NeedsAttentionError as problem:
        # A refusal after an earlier ambiguous attempt may mean "that id exists":
        # read back before calling it a failure.
        if attempts > 1 and fba.get_fulfillment_order(sfo_id) is not None:
            _accepted(ledger, order_id, "found at Amazon after a refused repeat", result)
            return
        with ledger.transaction() as session:
            row = repo.get_order(session, order_id)
            repo.transition(session, row, S.NEEDS_ATTENTION, "needs_attention",
                            f"Amazon refused the order: {problem.message}", reason=problem.reason)
            snapshot = row.snapshot
        result.needs_attention += 1
        if cart is not None:
            tell_merchant(cart, CartOrder.from_snapshot(snapshot),
                          f"Amazon refused the fulfillment order: {problem.message}")
        log.warning("order_refused", order_id=order_id, detail=problem.message)
        return
    _accepted(ledger, order_id, "Amazon accepted the fulfillment order", result)


def _accepted(ledger: Ledger, order_id: int, message: str, result: SubmitResult) -> None:
    with ledger.transaction() as session:
        row = repo.get_order(session, order_id)
        row.accepted_at = utcnow()
        row.last_error = ""
        # What Amazon calls an order it has just validated; the status sync then reads
        # the order again only once Amazon reports something else.
        row.amazon_status = "Received"
        repo.transition(session, row, S.ACCEPTED, "accepted", message)
        if row.snapshot.get("cancelled"):
            repo.transition(session, row, S.CANCEL_REQUESTED, "cancel_requested",
                            "cancelled in the cart while the submission was in flight")
    result.accepted += 1
    log.info("order_accepted", order_id=order_id)


def _release(ledger: Ledger, claimed: list[tuple[int, str]], why: str) -> None:
    """Nothing was sent for these in this run: hand each back to the state it was
    claimed from, so a row whose earlier outcome is unknown is still read back first."""
    with ledger.transaction() as session:
        for order_id, previous in claimed:
            row: Order = repo.get_order(session, order_id)
            if row.state == S.SUBMITTING:
                row.last_error = why
                repo.transition(session, row, S(previous), "deferred", f"not sent: {why}")
