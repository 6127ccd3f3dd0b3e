"""The beat scheduler: Celery's in-memory one, sending due tasks only while it holds
the deployment's scheduler lease in the ledger. A second `bridge beat` started by
mistake (or during a rolling deploy) waits instead of doubling every nudge, and takes
over within a lease period if the first one dies."""

from __future__ import annotations

import uuid

from celery.beat import Scheduler

from bridge.ledger import repo
from bridge.logging import get_logger

log = get_logger("bridge.scheduler")

LEASE_NAME = "scheduler"
LEASE_SECONDS = 30.0
# How long a scheduler without the lease waits before trying again.
STANDBY_SECONDS = 5.0


class SingleScheduler(Scheduler):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.holder = uuid.uuid4().hex
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
            log.info("scheduler_active" if held else "scheduler_standby")
            self.active = held
        return held

    def tick(self, *args, **kwargs):
        from bridge.worker import runtime

        if not self.holds_lease(runtime.get().ledger):
            return STANDBY_SECONDS
        return min(super().tick(*args, **kwargs), LEASE_SECONDS / 3)
