"""Celery entry point: `celery -A bridge.worker worker` finds `app` here."""

from bridge.worker.app import app

__all__ = ["app"]
