"""The beat schedule, built from the storefront files: one entry per storefront and
flow at that storefront's interval, plus the sweep."""

from __future__ import annotations

from datetime import timedelta

from bridge.config import Config


def beat_schedule(config: Config) -> dict:
    schedule: dict = {
        "sweep": {
            "task": "bridge.sweep",
            "schedule": timedelta(seconds=config.settings.sweep_seconds),
        }
    }
    for storefront in config.storefronts:
        if not storefront.enabled:
            continue
        poll = storefront.poll
        flows = {
            "ingest": poll.orders_seconds,
            "submit": poll.orders_seconds,
            "status": poll.status_seconds,
            "tracking": poll.status_seconds,
            "cancel": poll.orders_seconds,
            "stock": poll.stock_seconds,
            "inbound": storefront.inbound.follow_seconds,
        }
        for flow, seconds in flows.items():
            schedule[f"{storefront.name}:{flow}"] = {
                "task": f"bridge.{flow}",
                "schedule": timedelta(seconds=seconds),
                "args": (storefront.name,),
                # A tick nobody picked up before the next one is worthless.
                "options": {"expires": max(seconds, 5)},
            }
    return schedule
