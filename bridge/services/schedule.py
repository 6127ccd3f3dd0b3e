"""The schedule: which flows of which storefronts run periodically, and at what
interval. It lives in the ledger (`bridge.ledger.schedule`), one row per storefront and
flow, so one tick can claim what is due and fan it out, whatever the number of
storefronts.

Only flows that look outward on a timer have a row: ingest (the shop's new orders),
status (Amazon's progress), stock, inbound, delivery (packages on their way) and
returns (units on their way back). Submit, cancel and tracking have work
only when a row in the ledger waits for them: ingest and status nudge them
(`followups.py`) when they create such work, and the sweep re-nudges any that waited
too long, so a lost nudge delays work but never loses it. A timer for them would mostly
find nothing."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from bridge.config import Config, StorefrontConfig
from bridge.ledger import delivery as deliveries
from bridge.ledger import returns as return_rows
from bridge.ledger import schedule as rows
from bridge.ledger.repo import Ledger
from bridge.ledger.schedule import Due
from bridge.services.delivery import SCHEDULE_LOOKBACK

__all__ = ["Due", "claim_due", "claim_due_and_next", "earliest_due", "periodic_flows",
           "sync_schedule"]


def periodic_flows(storefront: StorefrontConfig) -> dict[str, float]:
    """flow → interval in seconds, for a storefront's periodic flows."""
    poll = storefront.poll
    return {
        "ingest": float(poll.orders_seconds),
        "status": float(poll.status_seconds),
        "stock": float(poll.stock_seconds),
        "inbound": float(storefront.inbound.follow_seconds),
        "returns": float(poll.returns_seconds),
        **({"delivery": float(poll.delivery_seconds)} if poll.delivery_give_up_days > 0 else {}),
    }


def wanted(storefronts: Iterable[StorefrontConfig]) -> dict[tuple[str, str], float]:
    return {(sf.name, flow): seconds for sf in storefronts if sf.enabled
            for flow, seconds in periodic_flows(sf).items()}


def sync_schedule(ledger: Ledger, config: Config, now: datetime | None = None,
                  unit: Callable[[], float] = random.random) -> dict[str, int]:
    """Make the rows match the enabled storefronts and their intervals: a new row is
    first due at a point spread over its interval (so storefronts added together do not
    poll in the same second), a changed interval restarts the row within its new
    interval, and rows of removed storefronts or flows go. Returns the counts."""
    now = now or ledger.clock()
    target = wanted(config.storefronts)
    with ledger.transaction() as session:
        current = rows.schedule_rows(session)
        added = updated = 0
        for key, seconds in target.items():
            first_due = now + timedelta(seconds=seconds * unit())
            if key not in current:
                rows.add_row(session, *key, seconds, first_due)
                added += 1
            elif current[key][0] != seconds:
                # Never later than the old due time: a shorter interval takes effect now.
                rows.set_interval(session, *key, seconds, min(first_due, current[key][1]))
                updated += 1
        removed = [key for key in current if key not in target]
        rows.delete_rows(session, removed)
    return {"added": added, "updated": updated, "removed": len(removed)}


def claim_due(ledger: Ledger, now: datetime | None = None, limit: int = 500,
              unit: Callable[[], float] = random.random) -> list[Due]:
    """Claim the rows due at `now` (at most `limit`, earliest first), each moved to its
    next due time in the same transaction: a due time is claimed once, however many
    claimers run."""
    now = now or ledger.clock()
    with ledger.transaction() as session:
        return rows.claim_due(session, now, limit, unit)


def claim_due_and_next(ledger: Ledger, now: datetime, limit: int = 500,
                       unit: Callable[[], float] = random.random
                       ) -> tuple[list[Due], datetime | None]:
    """`claim_due`, and the earliest due time left after it, in one transaction (what a
    tick needs: what to send now, and how long it may sleep). A status sync of a
    storefront that follows no order at Amazon is claimed but not returned: it would
    find nothing, and a task round trip is most of what an idle storefront costs. (The
    first order accepted is followed from the next due time on.)"""
    with ledger.transaction() as session:
        due = rows.claim_due(session, now, limit, unit)
        status = {d.storefront for d in due if d.flow == "status"}
        if status:
            following = rows.storefronts_following_orders(session, status)
            due = [d for d in due if d.flow != "status" or d.storefront in following]
        # Likewise a returns round of a storefront without an open return.
        returning = {d.storefront for d in due if d.flow == "returns"}
        if returning:
            open_returns = return_rows.storefronts_with_open_returns(session, returning)
            due = [d for d in due if d.flow != "returns" or d.storefront in open_returns]
        # Likewise a delivery run of a storefront with no package to follow.
        delivery = {d.storefront for d in due if d.flow == "delivery"}
        if delivery:
            busy = deliveries.storefronts_with_work(session, delivery, now,
                                                    now - SCHEDULE_LOOKBACK)
            due = [d for d in due if d.flow != "delivery" or d.storefront in busy]
        return due, rows.earliest_due(session)


def earliest_due(ledger: Ledger) -> datetime | None:
    with ledger.transaction() as session:
        return rows.earliest_due(session)
