"""Celery's own beat schedule: only the deployment-wide sweep. Each storefront's
periodic flows are rows in the ledger's schedule (`bridge/services/schedule.py`), which
the scheduler's tick claims and fans out (`bridge/worker/scheduler.py`), so this stays
one entry however many storefronts there are."""

from __future__ import annotations

from datetime import timedelta

from bridge.config import Config


def beat_schedule(config: Config) -> dict:
    seconds = config.settings.sweep_seconds
    return {
        "sweep": {
            "task": "bridge.sweep",
            "schedule": timedelta(seconds=seconds),
            # A sweep nobody picked up before the next one is worthless.
            "options": {"expires": max(seconds, 5)},
        }
    }
