"""The beat scheduler: Celery's in-memory one, sending due tasks only while it holds
the deployment's scheduler lease in the ledger. A second `bridge beat` started by
mistake (or during a rolling deploy) waits instead of doubling every nudge, and takes
over within a lease lifetime if the first one dies.

The lease is renewed on every tick (ticks come at least every third of its lifetime,
so the tick loop is its heartbeat). The holder id names host and process
(`repo.holder_id`): a scheduler restarted on the same host after a kill -9 sees its
predecessor's process is gone and takes the lease at once; one on another host waits
at most the short lifetime plus a standby pause. A graceful stop releases it."""

from __future__ import annotations

from celery.beat import Scheduler

from bridge.ledger import repo
from bridge.logging import get_logger

log = get_logger("bridge.scheduler")

LEASE_NAME = "scheduler"
LEASE_SECONDS = repo.LEASE_SECONDS
# How long a scheduler without the lease waits before trying again.
STANDBY_SECONDS = 3.0


class SingleScheduler(Scheduler):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.holder = repo.holder_id()
        self.active = False

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
        return held

    def tick(self, *args, **kwargs):
        from bridge.worker import runtime

        if not self.holds_lease(runtime.get().ledger):
            return STANDBY_SECONDS
        return min(super().tick(*args, **kwargs), LEASE_SECONDS / 3)

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
