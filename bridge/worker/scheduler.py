"""The beat scheduler: one tick that fans out what the ledger's schedule says is due,
sending only while it holds the deployment's scheduler lease. A second `bridge beat`
started by mistake (or during a rolling deploy) waits instead of doubling every nudge,
and takes over within a lease lifetime if the first one dies.

Each storefront's periodic flows are rows in the ledger (`bridge/services/schedule.py`):
the tick claims the due rows in one statement, which also moves them to their next due
time, and sends one task per row. Between due times it touches neither the ledger nor
the broker: it keeps the earliest due time in memory and looks again only when that
time has come (or every RECHECK_SECONDS, for rows another process added). Because a
claim takes each due time once, even two senders without the lease never send the same
due time twice. The deployment-wide sweep stays a plain Celery beat entry.

The lease is renewed once a third of its lifetime has passed, not on every tick. The
holder id names host and process (`repo.holder_id`): a scheduler restarted on the same
host after a kill -9 sees its predecessor's process is gone and takes the lease at
once; one on another host waits at most the short lifetime plus a standby pause. A
graceful stop releases it."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from celery.beat import Scheduler

from bridge.ledger import repo
from bridge.logging import get_logger
from bridge.services import schedule

log = get_logger("bridge.scheduler")

LEASE_NAME = "scheduler"
LEASE_SECONDS = repo.LEASE_SECONDS
# How long a scheduler without the lease waits before trying again.
STANDBY_SECONDS = 3.0
# The tick claims at most once this often, and sleeps at most this long: a due time is
# sent at most this late.
TICK_SECONDS = 1.0
# How often the earliest due time is read again although none has come: a row another
# process added, or a storefront resumed, is seen within this.
RECHECK_SECONDS = 10.0
# Rows claimed per statement; a tick claims again while full batches come back.
CLAIM_BATCH = 500


class SingleScheduler(Scheduler):
    def __init__(self, *args, clock: Callable[[], float] = time.monotonic, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.holder = repo.holder_id()
        self.active = False
        self.clock = clock
        self.renew_at = 0.0           # monotonic: when the lease is renewed next
        self.synced = False
        self.next_due: datetime | None = None
        self.recheck_at = 0.0
        self.claim_after = 0.0        # monotonic: no claim before this
        self.sent = 0

    # ------------------------------------------------------------------ the lease

    def holds_lease(self, ledger) -> bool:
        """Take or renew the lease; False (and nothing sent) when another holds it or
        the ledger cannot be reached."""
        try:
            held = repo.acquire_lease(ledger, LEASE_NAME, self.holder, LEASE_SECONDS)
        except Exception as exc:  # a ledger outage must not crash the scheduler
            log.warning("scheduler_lease_unavailable", error=str(exc))
            held = False
        if held != self.active:
            log.info("scheduler_active" if held else "scheduler_standby", holder=self.holder)
            self.active = held
        self.renew_at = self.clock() + (LEASE_SECONDS / 3 if held else 0.0)
        return held

    def lease_current(self, ledger) -> bool:
        """Held and renewed within the last third of its lifetime (renewing if due)."""
        if self.active and self.clock() < self.renew_at:
            return True
        return self.holds_lease(ledger)

    # ------------------------------------------------------------------ the tick

    def tick(self, *args, **kwargs):
        from bridge.worker import runtime

        rt = runtime.get()
        if not self.lease_current(rt.ledger):
            return STANDBY_SECONDS
        if not self.synced:
            self.sync_rows(rt)
        wait = self.fan_out(rt.ledger)
        # Celery's own entries (the sweep).
        celery_wait = super().tick(*args, **kwargs)
        return max(0.0, min(celery_wait, wait, self.renew_at - self.clock(), TICK_SECONDS))

    def sync_rows(self, rt) -> None:
        try:
            counts = schedule.sync_schedule(rt.ledger, rt.config)
        except Exception as exc:  # tried again at the next tick
            log.warning("schedule_sync_failed", error=str(exc))
            return
        self.synced = True
        self.next_due, self.recheck_at = None, 0.0
        log.info("schedule_synced", **counts)

    def fan_out(self, ledger) -> float:
        """Claim and send what is due; returns how long until anything may be due.
        Between due times this reads nothing."""
        now_mono = self.clock()
        now = ledger.clock()
        if now_mono < self.claim_after:
            return self.claim_after - now_mono
        if self.next_due is not None and now < self.next_due and now_mono < self.recheck_at:
            return (self.next_due - now).total_seconds()
        try:
            while True:
                due, self.next_due = schedule.claim_due_and_next(ledger, now, CLAIM_BATCH)
                for item in due:
                    self.send(item)
                if len(due) < CLAIM_BATCH:
                    break
        except Exception as exc:  # the ledger or the broker is out: try again shortly
            # Rows claimed but not sent come again at their next due time; work they
            # would have found waits in the ledger, where the sweep finds it.
            log.warning("schedule_fan_out_failed", error=str(exc))
            self.next_due = None
            return TICK_SECONDS
        self.recheck_at = now_mono + RECHECK_SECONDS
        # Rows falling due within the next second wait for the next claim: one claim a
        # second takes them together, however many storefronts there are.
        self.claim_after = now_mono + TICK_SECONDS
        if self.next_due is None:
            return RECHECK_SECONDS
        return max(TICK_SECONDS, (self.next_due - ledger.clock()).total_seconds())

    def send(self, due: schedule.Due) -> None:
        # A tick nobody picked up before the next one is worthless.
        self.app.send_task(f"bridge.{due.flow}", args=(due.storefront,),
                           expires=max(due.interval, 5.0))
        self.sent += 1
        # Debug only (dropped before formatting otherwise): one line per task sent.
        log.debug("schedule_sent", flow=due.flow, storefront=due.storefront,
                  due=due.due_at.isoformat())

    # ------------------------------------------------------------------ stopping

    def release(self, ledger) -> None:
        """Hand the lease back, so a standby (or the next start) need not wait it out."""
        if not self.active:
            return
        self.active = False
        try:
            repo.release_lease(ledger, LEASE_NAME, self.holder)
            log.info("scheduler_released", holder=self.holder)
        except Exception as exc:  # it lapses by itself within its lifetime
            log.warning("scheduler_release_failed", error=str(exc))

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self.active:
                from bridge.worker import runtime

                self.release(runtime.get().ledger)
