"""The sweep. Celery messages are nudges, not the record: this periodic pass finds
rows that waited too long and says which flows to nudge again, so a lost message
delays work but never loses it. (Orders open at Amazon are followed by the scheduled
status sync; the sweep only reads back those that have been quiet too long.) It also
turns submissions stuck in `submitting` (a worker died mid-call) into `submit_unknown`,
which only a read-back resolves.
The sweep task then runs the watchdog (watchdog.py), which flags what stays stuck."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from bridge.config import StorefrontConfig
from bridge.domain.states import OrderState as S
from bridge.ledger import packages, repo
from bridge.ledger.repo import Ledger


def sweep(
    ledger: Ledger,
    storefronts: Iterable[StorefrontConfig],
    stale_after: timedelta,
    now: datetime | None = None,
) -> dict[str, set[str]]:
    """Returns, per storefront, the flows that have work waiting."""
    now = now or ledger.clock()
    cutoff = now - stale_after
    nudges: dict[str, set[str]] = {}
    for storefront in storefronts:
        flows: set[str] = set()
        with ledger.transaction() as session:
            if repo.is_paused(session, storefront.name):
                continue
            stuck = repo.claim_orders(ledger, session, storefront.name, [S.SUBMITTING], 100,
                                      older_than=cutoff)
            for row in stuck:
                repo.transition(session, row, S.SUBMIT_UNKNOWN, "submit_unknown",
                                "the submission did not finish; reading back before any retry")
            waiting = repo.counts_by_state(session, storefront.name)
            if waiting.get(S.READY, 0) or waiting.get(S.SUBMIT_UNKNOWN, 0):
                flows.add("submit")
            if waiting.get(S.CANCEL_REQUESTED, 0):
                flows.add("cancel")
            if packages.has_unpushed(session, storefront.name) or waiting.get(S.SHIPPED, 0):
                flows.add("tracking")
            if repo.quiet_at_amazon_count(session, storefront.name, cutoff):
                flows.add("reconcile")
        if flows:
            nudges[storefront.name] = flows
    return nudges
