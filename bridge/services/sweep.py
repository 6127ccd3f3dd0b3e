"""The sweep. Celery messages are nudges, not the record: this periodic pass finds
rows that waited too long and says which flows to nudge again, so a lost message
delays work but never loses it. It is also what lets submit, cancel and tracking run
without a timer of their own (see schedule.py): ingest and status nudge them, and the
sweep finds any nudge that was lost. (Orders open at Amazon are followed by the
scheduled status sync; the sweep only reads back those that have been quiet too long.)
It also turns submissions stuck in `submitting` (a worker died mid-call) into
`submit_unknown`, which only a read-back resolves.

Every storefront is read at once, with a few grouped queries over open states, so a
sweep of 1,000 storefronts costs what a sweep of one does; only a storefront with
submissions stuck in `submitting` gets a transaction of its own.
The sweep task then runs the watchdog (watchdog.py), which flags what stays stuck."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from bridge.config import StorefrontConfig
from bridge.domain.states import OrderState as S
from bridge.ledger import repo
from bridge.ledger import schedule as due_work
from bridge.ledger.repo import Ledger
from bridge.services import amazon_outcomes

# The states whose orders wait for a flow the sweep can nudge.
WAITING = {S.READY: "submit", S.SUBMIT_UNKNOWN: "submit", S.CANCEL_REQUESTED: "cancel",
           S.UPDATE_REQUESTED: "cancel", S.SHIPPED: "tracking"}
QUIET_AT_AMAZON = (S.ACCEPTED, S.PROCESSING)
STUCK_BATCH = 100


def sweep(
    ledger: Ledger,
    storefronts: Iterable[StorefrontConfig],
    stale_after: timedelta,
    now: datetime | None = None,
) -> dict[str, set[str]]:
    """Returns, per storefront, the flows that have work waiting."""
    now = now or ledger.clock()
    cutoff = now - stale_after
    names = {storefront.name for storefront in storefronts}
    with ledger.transaction() as session:
        live = names - due_work.paused_storefronts(session)
        stuck = due_work.storefronts_with_orders(session, [S.SUBMITTING.value], cutoff) & live
    for name in sorted(stuck):
        _give_up_stuck_submissions(ledger, name, cutoff)
    with ledger.transaction() as session:
        counts = due_work.open_counts(session, [state.value for state in WAITING])
        unpushed = due_work.storefronts_with_unpushed(session)
        # The tracking flow also retries what Amazon did not ship that the shop must hear of.
        unpushed |= amazon_outcomes.storefronts_with_due_writes(session, now)
        quiet = due_work.storefronts_with_orders(
            session, [state.value for state in QUIET_AT_AMAZON], cutoff)
    nudges: dict[str, set[str]] = {}
    for name in live:
        flows = {flow for state, flow in WAITING.items() if counts.get(name, {}).get(state.value)}
        if name in unpushed:
            flows.add("tracking")
        if name in quiet:
            flows.add("reconcile")
        if flows:
            nudges[name] = flows
    return nudges


def _give_up_stuck_submissions(ledger: Ledger, storefront: str, cutoff: datetime) -> None:
    """`submitting` for longer than the stale time: the worker died mid-call."""
    with ledger.transaction() as session:
        if repo.is_paused(session, storefront):
            return
        for row in repo.claim_orders(ledger, session, storefront, [S.SUBMITTING], STUCK_BATCH,
                                     older_than=cutoff):
            repo.transition(session, row, S.SUBMIT_UNKNOWN, "submit_unknown",
                            "the submission did not finish; reading back before any retry")
