"""SP-API calls and flow runs, counted across every process on every host.

A call is counted in the memory of the process that made it (`count_spapi_call`,
`count_flow_run`), never written on its own: a flush adds the process's counts to the
ledger at most once a minute, in one transaction (per-minute rows in `call_stats` for
the charts, running totals in `call_totals` for /metrics' counters), and deletes minute
rows older than `RETENTION`. `flush_to(ledger)` starts that flush in the background for
this process; a forked child starts from nothing (its parent flushes what it counted).

Read side: `calls_per_hour` (the console's 24 h chart), `totals` and `since`."""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bridge.ledger.tables import CallStat, CallTotal, utcnow
from bridge.ledger.transactions import Ledger
from bridge.ledger.upsert import insert_for
from bridge.logging import get_logger

log = get_logger("bridge.call_stats")

SPAPI = "spapi"
FLOW = "flow"
# Minute rows kept for charts; the totals are never pruned.
RETENTION = timedelta(days=7)
FLUSH_SECONDS = 60.0
# Answers that are the call going as expected: 2xx, and 404 (a read-back that finds
# nothing is an answer, not a failure).
_EXPECTED = (404,)


@dataclass
class Counts:
    calls: int = 0
    throttled: int = 0
    errors: int = 0
    seconds: float = 0.0

    def add(self, other: Counts) -> None:
        self.calls += other.calls
        self.throttled += other.throttled
        self.errors += other.errors
        self.seconds += other.seconds


Key = tuple[datetime, str, str]  # (minute, kind, name)


def minute_of(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


class Tally:
    """One process's counts per minute, kind and name, not yet in the ledger."""

    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._counts: dict[Key, Counts] = {}

    def add(self, kind: str, name: str, *, throttled: bool = False, error: bool = False,
            seconds: float = 0.0) -> None:
        key = (minute_of(self._clock()), kind, name)
        with self._lock:
            counts = self._counts.setdefault(key, Counts())
            counts.calls += 1
            counts.throttled += int(throttled)
            counts.errors += int(error)
            counts.seconds += max(0.0, seconds)

    def take(self) -> dict[Key, Counts]:
        """Everything counted so far, handed over and forgotten here."""
        with self._lock:
            taken, self._counts = self._counts, {}
        return taken

    def give_back(self, taken: dict[Key, Counts]) -> None:
        """Counts a flush could not write, kept for the next one."""
        with self._lock:
            for key, counts in taken.items():
                self._counts.setdefault(key, Counts()).add(counts)


def flush(ledger: Ledger, taken: dict[Key, Counts], now: datetime) -> None:
    """Add `taken` to the ledger (one upsert per table, in one transaction) and delete
    minute rows older than the retention."""
    if not taken:
        return
    totals: dict[tuple[str, str], Counts] = {}
    for (_, kind, name), counts in taken.items():
        totals.setdefault((kind, name), Counts()).add(counts)
    with ledger.transaction() as session:
        _add_up(session, CallStat, ["minute", "kind", "name"],
                [{"minute": minute, "kind": kind, "name": name, **vars(counts)}
                 for (minute, kind, name), counts in taken.items()])
        _add_up(session, CallTotal, ["kind", "name"],
                [{"kind": kind, "name": name, **vars(counts)}
                 for (kind, name), counts in totals.items()])
        session.execute(delete(CallStat).where(CallStat.minute < minute_of(now) - RETENTION))


def _add_up(session: Session, table: type[CallStat] | type[CallTotal], key: list[str],
            rows: list[dict]) -> None:
    """INSERT … ON CONFLICT DO UPDATE adding to what is there: other processes flush
    into the same rows."""
    insert = insert_for(session, table).values(rows)
    session.execute(insert.on_conflict_do_update(index_elements=key, set_={
        column: getattr(table, column) + getattr(insert.excluded, column)
        for column in ("calls", "throttled", "errors", "seconds")}))


# ---------------------------------------------------------------- this process

class Flusher:
    """Flushes a tally to a ledger every `every` seconds on a daemon thread, and once
    more when the process exits. A failed flush keeps the counts for the next one."""

    def __init__(self, tally: Tally, ledger: Ledger, every: float = FLUSH_SECONDS) -> None:
        self.tally, self.ledger, self.every = tally, ledger, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bridge-call-stats",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.flush_now()

    def flush_now(self) -> None:
        taken = self.tally.take()
        try:
            flush(self.ledger, taken, self.ledger.clock())
        except Exception as failure:  # the ledger may be down: count on, write later
            self.tally.give_back(taken)
            log.warning("call_stats_not_flushed", error=type(failure).__name__)


_tally = Tally()
_flusher: Flusher | None = None
_process_lock = threading.Lock()


def process_tally() -> Tally:
    """This process's counts not yet flushed."""
    return _tally


def count_spapi_call(operation: str, status: int | None, seconds: float) -> None:
    """One request to Amazon: `status` is the HTTP status, None when no answer came."""
    failed = status is None or (status >= 300 and status != 429 and status not in _EXPECTED)
    _tally.add(SPAPI, operation, throttled=status == 429, error=failed, seconds=seconds)


def count_flow_run(flow: str, ok: bool, seconds: float) -> None:
    """One run of a flow task (ingest, submit, status, …)."""
    _tally.add(FLOW, flow, error=not ok, seconds=seconds)


def flush_to(ledger: Ledger) -> None:
    """This process's counts go to `ledger` from now on, flushed in the background."""
    global _flusher
    with _process_lock:
        if _flusher is None:
            _flusher = Flusher(_tally, ledger)
            _flusher.start()
        else:
            _flusher.ledger = ledger


def _flush_at_exit() -> None:
    flusher = _flusher
    if flusher is not None:
        flusher.stop()
        flusher.flush_now()


def _forget_after_fork() -> None:
    # The parent flushes what it counted; the child's flusher thread did not survive the
    # fork, and the parent's ledger (its pooled connections) must not be used here.
    global _tally, _flusher, _process_lock
    _tally, _flusher, _process_lock = Tally(), None, threading.Lock()


atexit.register(_flush_at_exit)
os.register_at_fork(after_in_child=_forget_after_fork)


# ---------------------------------------------------------------- reading

@dataclass(frozen=True)
class HourCalls:
    hour: datetime  # the hour's start
    calls: int
    throttled: int
    errors: int


def calls_per_hour(session: Session, now: datetime, hours: int = 24) -> list[HourCalls]:
    """SP-API requests, 429s and errors per hour over the last `hours` hours (the
    current hour last, so far), oldest first; an hour without calls is there with 0."""
    current = now.replace(minute=0, second=0, microsecond=0)
    first = current - timedelta(hours=hours - 1)
    rows = session.execute(
        select(CallStat.minute, func.sum(CallStat.calls), func.sum(CallStat.throttled),
               func.sum(CallStat.errors))
        .where(CallStat.kind == SPAPI, CallStat.minute >= first)
        .group_by(CallStat.minute))
    buckets = {first + timedelta(hours=i): [0, 0, 0] for i in range(hours)}
    for minute, calls, throttled, errors in rows:
        bucket = buckets.get(minute.replace(minute=0))
        if bucket is not None:
            bucket[0] += int(calls or 0)
            bucket[1] += int(throttled or 0)
            bucket[2] += int(errors or 0)
    return [HourCalls(hour, *counts) for hour, counts in buckets.items()]


def totals(session: Session, kind: str) -> dict[str, Counts]:
    """Counts since the ledger began, by name."""
    return {row.name: Counts(row.calls, row.throttled, row.errors, row.seconds)
            for row in session.scalars(select(CallTotal).where(CallTotal.kind == kind))}


def since(session: Session, kind: str, start: datetime, end: datetime) -> dict[str, Counts]:
    """Counts of the minutes in [start, end), by name."""
    rows = session.execute(
        select(CallStat.name, func.sum(CallStat.calls), func.sum(CallStat.throttled),
               func.sum(CallStat.errors), func.sum(CallStat.seconds))
        .where(CallStat.kind == kind, CallStat.minute >= start, CallStat.minute < end)
        .group_by(CallStat.name))
    return {name: Counts(int(calls or 0), int(throttled or 0), int(errors or 0),
                         float(seconds or 0.0))
            for name, calls, throttled, errors, seconds in rows}
