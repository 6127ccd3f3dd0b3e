"""The sweep. Celery messages are nudges, not the record: this periodic pass finds
rows that waited too long and says which flows to nudge again, so a lost message
delays work but never loses it. (Orders open at Amazon are followed by the scheduled
status sync; the sweep only reads back those that have been quiet too long.) It also turns submissions stuck in `submitting`
(a worker died mid-call) into `submit_unknown`, which only a read-back resolves.
The sweep task then runs the watchdog (watchdog.py), which flags what stays stuck."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import exists, func, select

from bridge.config import StorefrontConfig
from bridge.domain.states import OrderState as S
from bridge.ledger import repo
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import Order, Package, utcnow


def sweep(
    ledger: Ledger,
    storefronts: Iterable[StorefrontConfig],
    stale_after: timedelta,
    now: datetime | None = None,
) -> dict[str, set[str]]:
    """Returns, per storefront, the flows that have work waiting."""
    now = now or utcnow()
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
            waiting = dict(
                session.execute(
                    select(Order.state, func.count())
                    .where(Order.storefront == storefront.name)
                    .group_by(Order.state)
                ).all()
            )
            if waiting.get(S.READY, 0) or waiting.get(S.SUBMIT_UNKNOWN, 0):
                flows.add("submit")
            if waiting.get(S.CANCEL_REQUESTED, 0):
                flows.add("cancel")
            unpushed = session.scalar(
                select(exists().where(
                    Package.pushed_at.is_(None),
                    Package.push_error == "",
                    Package.order_id == Order.id,
                    Order.storefront == storefront.name,
                ))
            )
            if unpushed or waiting.get(S.SHIPPED, 0):
                flows.add("tracking")
            quiet = session.scalar(
                select(func.count()).where(
                    Order.storefront == storefront.name,
                    Order.state.in_([S.ACCEPTED.value, S.PROCESSING.value]),
                    Order.state_changed_at < cutoff,
                )
            )
            if quiet:
                flows.add("reconcile")
        if flows:
            nudges[storefront.name] = flows
    return nudges
