"""The Celery app. Settings that keep work safe (see the reliability notes in
docs/architecture.md): late acks, re-queue when a worker dies, prefetch of one, a
visibility timeout far above the longest task, hard time limits. Configuration is read
lazily, the first time Celery needs it, so importing this module does no I/O."""

from __future__ import annotations

from celery import Celery
from celery.signals import worker_process_init, worker_process_shutdown, worker_shutdown
from kombu.entity import Exchange, Queue

from bridge.config import load_config
from bridge.worker.schedule import beat_schedule

QUEUES = ("orders", "submit", "status", "tracking", "stock", "maintenance")
TASK_TIME_LIMIT = 300
VISIBILITY_TIMEOUT = 3600  # must exceed the time limit and any retry countdown

app = Celery("bridge", include=["bridge.worker.tasks"])


def celery_settings(config=None) -> dict:
    config = config or load_config()
    settings = config.settings
    transport_options: dict[str, float] = {"visibility_timeout": VISIBILITY_TIMEOUT}
    if settings.broker_url.startswith("sqla+"):
        # The SQL transport polls its table; its 1 s default adds a second to every hop
        # of an order's journey, while a poll of a local SQLite table costs microseconds.
        transport_options["polling_interval"] = 0.2
    return {
        "broker_url": settings.broker_url,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": transport_options,
        "task_ignore_result": True,
        "result_backend": None,
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "worker_soft_shutdown_timeout": 20,
        "task_time_limit": TASK_TIME_LIMIT,
        "task_soft_time_limit": TASK_TIME_LIMIT - 30,
        "task_default_queue": "orders",
        # One direct exchange per queue, so a message lands in exactly one queue.
        "task_queues": [Queue(name, Exchange(name, type="direct"), routing_key=name)
                        for name in QUEUES],
        "task_default_exchange": "orders",
        "task_default_routing_key": "orders",
        "task_routes": {
            "bridge.ingest": {"queue": "orders"},
            "bridge.submit": {"queue": "submit"},
            "bridge.cancel": {"queue": "submit"},
            "bridge.status": {"queue": "status"},
            "bridge.reconcile": {"queue": "status"},
            "bridge.tracking": {"queue": "tracking"},
            "bridge.stock": {"queue": "stock"},
            "bridge.inbound": {"queue": "status"},
            "bridge.sweep": {"queue": "maintenance"},
        },
        "beat_schedule": beat_schedule(config),
        # The schedule lives in memory: intervals need no persisted state, the sweep
        # covers a missed run, and no schedule file can be corrupted by two starts. Only
        # the scheduler holding the ledger's lease sends anything.
        "beat_scheduler": "bridge.worker.scheduler:SingleScheduler",
        "worker_hijack_root_logger": False,
        "worker_redirect_stdouts": False,
        "broker_connection_timeout": 10,
    }


app.add_defaults(celery_settings)


@worker_process_init.connect
def _fresh_runtime_after_fork(**_kwargs) -> None:
    # Pooled connections must never cross a fork: each child builds its own.
    from bridge.worker import runtime

    runtime.reset()


@worker_shutdown.connect
@worker_process_shutdown.connect
def _release_leases_on_shutdown(**_kwargs) -> None:
    # A stopping worker (or pool process) hands back the leases its unfinished work
    # holds, so the next poll need not wait for them to run out.
    from bridge.ledger import repo

    repo.release_all_leases()
