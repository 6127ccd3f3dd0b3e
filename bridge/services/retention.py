"""Retention: finished orders older than a number of days leave the live tables for the
archive (`bridge orders archive`), so the ledger the flows work on stays the size of
the recent past. An archived order stays findable (`bridge orders show`) and known to
ingest, which brings it back if the cart shows it again: it is never recorded anew.

Archived: orders in a finished state (complete, cancelled, ignored) whose last change is
older than the cutoff, with every package's tracking written and no open watchdog flag.
Each batch is one short transaction that also holds the storefront's row, so a poll's
page and a batch never interleave and no lock is held for long."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bridge.domain.states import TERMINAL
from bridge.ledger import archive, repo
from bridge.ledger.repo import Ledger
from bridge.services.common import log

# Recent finished orders still answer questions (a late cancel, a refund, tracking):
# they stay live at least this long.
MIN_DAYS = 7
BATCH = 1_000
FINISHED_STATES = tuple(sorted(state.value for state in TERMINAL))


class RetentionRefused(ValueError):
    """An archive run asked for something retention does not do (too recent a cutoff)."""


@dataclass(frozen=True)
class ArchiveResult:
    cutoff: datetime
    dry_run: bool
    # Orders archived (or, in a dry run, that would be), per storefront.
    archived: dict[str, int] = field(default_factory=dict)
    batches: int = 0

    @property
    def total(self) -> int:
        return sum(self.archived.values())


def archive_finished(ledger: Ledger, storefronts: Iterable[str], older_than_days: int, *,
                     dry_run: bool = False, batch: int = BATCH,
                     now: Callable[[], datetime] | None = None) -> ArchiveResult:
    """Archive the finished orders of `storefronts` last changed more than
    `older_than_days` ago, `batch` orders per transaction. A dry run counts them only."""
    if older_than_days < MIN_DAYS:
        raise RetentionRefused(
            f"--older-than-days must be at least {MIN_DAYS}: finished orders of the last "
            f"{MIN_DAYS} days still matter live (late cancels, refunds, tracking questions)")
    if batch < 1:
        raise RetentionRefused("the batch size must be at least 1")
    clock = now or ledger.clock
    cutoff = clock() - timedelta(days=older_than_days)
    archived: dict[str, int] = {}
    batches = 0
    for name in storefronts:
        if dry_run:
            with ledger.transaction() as session:
                archived[name] = sum(archive.archivable_count(session, name, state, cutoff)
                                     for state in FINISHED_STATES)
            continue
        moved = 0
        for state in FINISHED_STATES:
            since: datetime | None = None
            while True:
                count, since = _archive_batch(ledger, name, state, cutoff, batch, since, clock())
                moved += count
                batches += 1 if count else 0
                if count < batch:
                    break
        archived[name] = moved
        if moved:
            log.info("orders_archived", storefront=name, orders=moved, cutoff=cutoff.isoformat())
    if batches and ledger.is_postgres:
        with ledger.transaction() as session:
            archive.refresh_statistics(session)
    return ArchiveResult(cutoff=cutoff, dry_run=dry_run, archived=archived, batches=batches)


def _archive_batch(ledger: Ledger, storefront: str, state: str, cutoff: datetime, limit: int,
                   since: datetime | None, archived_at: datetime) -> tuple[int, datetime | None]:
    """One transaction: (orders moved, the newest one's last change, where the next starts)."""
    with ledger.transaction() as session:
        # A poll's page holds this row while it looks orders up and records them.
        repo.lock_storefront(session, storefront)
        rows = archive.archivable_batch(session, storefront, state, cutoff, limit,
                                        skip_locked=ledger.is_postgres, since=since)
        moved = archive.move_to_archive(session, rows, archived_at)
        return moved, rows[-1]["state_changed_at"] if rows else since
