"""Follow-ups: which flow to nudge after a flow's run, decided from its result alone, and
what a fatal error does to its storefront. The tasks only send what these functions
return, so the flows' wiring is plain data that tests can read without Celery.

A nudge says "look now"; the ledger holds the work. A lost or extra nudge delays or
repeats a look, never loses or doubles an order (the sweep re-nudges stale rows)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bridge.ledger import repo

if TYPE_CHECKING:
    from bridge.errors import FatalError
    from bridge.ledger.repo import Ledger
    from bridge.services.cancel import CancelResult
    from bridge.services.delivery import DeliveryResult
    from bridge.services.ingest import IngestResult
    from bridge.services.status import StatusResult
    from bridge.services.submit import SubmitResult
    from bridge.services.update import UpdateResult

# Submit tasks started by one poll at most: a large poll is submitted by a few workers at
# once, without flooding the queue with batches that would find nothing left to claim.
MAX_PARALLEL_SUBMITS = 4

# Every flow a nudge may name (each is a task taking the storefront first).
FLOWS = frozenset({"submit", "cancel", "status", "tracking", "reconcile", "stock", "delivery"})


@dataclass(frozen=True)
class Nudge:
    """Run `flow` with `args` (the task's arguments, storefront first)."""

    flow: str
    args: tuple[object, ...] = ()

    def __post_init__(self) -> None:
        if self.flow not in FLOWS:
            raise ValueError(f"no flow named {self.flow!r}")


def _stock_without_amazon(storefront: str) -> Nudge:
    # Reservations changed, Amazon's counts did not: recompute without reading Amazon.
    return Nudge("stock", (storefront, False))


def after_ingest(storefront: str, result: IngestResult, submit_batch: int) -> list[Nudge]:
    if result.skipped:  # another poll is running; it sends the follow-ups
        return []
    batches = -(-result.ready // submit_batch)  # ceiling division
    nudges = [Nudge("submit", (storefront,))] * min(MAX_PARALLEL_SUBMITS, batches)
    if result.cancelled or result.edits:  # the cancel task also sends edits
        nudges.append(Nudge("cancel", (storefront,)))
    if result.recorded or result.cancelled:
        nudges.append(_stock_without_amazon(storefront))
    return nudges


def after_submit(storefront: str, result: SubmitResult, submit_batch: int) -> list[Nudge]:
    # A full batch means more orders may be waiting; so do orders that became ready while
    # the batch was sent (only `ready` ones: an order whose outcome was just left unknown
    # waits for the next scheduled look, not an immediate loop against a failing Amazon).
    handled = result.accepted + result.unknown + result.needs_attention
    more = handled >= submit_batch or result.ready_left
    return [Nudge("submit", (storefront,))] if more else []


def after_status(storefront: str, result: StatusResult) -> list[Nudge]:
    nudges = [Nudge("tracking", (storefront,))] if result.packages else []
    if result.more:
        # The run stopped at its bounds to free the worker; the next one carries on.
        nudges.append(Nudge("status", (storefront,)))
    return nudges


def after_update(storefront: str, result: UpdateResult) -> list[Nudge]:
    # An order cancelled in the cart while its edit waited is the cancel flow's now.
    return [Nudge("cancel", (storefront,))] if result.cancelled else []


def after_delivery(storefront: str, result: DeliveryResult) -> list[Nudge]:
    # More packages are due than one run looks at: the rest without waiting a period.
    return [Nudge("delivery", (storefront,))] if result.more else []


def after_reconcile(storefront: str) -> list[Nudge]:
    # The read-back of open orders may have recorded packages; a tracking run that finds
    # none costs one query.
    return [Nudge("tracking", (storefront,))]


def after_cancel(storefront: str, result: CancelResult) -> list[Nudge]:
    return [_stock_without_amazon(storefront)] if result.cancelled else []


def after_sweep(stale: Mapping[str, Iterable[str]]) -> list[Nudge]:
    """The sweep's stale flows per storefront, in a stable order."""
    return [Nudge(flow, (storefront,))
            for storefront, flows in sorted(stale.items()) for flow in sorted(flows)]


def pause_for(ledger: Ledger, storefront: str, error: FatalError) -> bool:
    """A fatal error (credentials refused or revoked) pauses the storefront with the error
    as the reason, until `bridge storefront resume`. An earlier pause and its reason are
    kept. True when this call paused it."""
    with ledger.transaction() as session:
        if repo.is_paused(session, storefront):
            return False
        repo.pause_storefront(session, storefront, str(error))
        return True
