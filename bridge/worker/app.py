"""The Celery app. Settings that keep work safe (see the reliability notes in
docs/architecture.md): late acks, re-queue when a worker dies, prefetch of one, a
visibility timeout far above the longest task, hard time limits; on RabbitMQ, quorum
queues and publisher confirms. Configuration is read lazily, the first time Celery needs
it, so importing this module does no I/O."""

from __future__ import annotations

from celery import Celery
from celery.signals import worker_process_init, worker_process_shutdown, worker_shutdown
from kombu.entity import Exchange, Queue

from bridge.config import load_config
from bridge.worker.schedule import beat_schedule

QUEUES = ("orders", "submit", "status", "tracking", "stock", "maintenance")
# Worker lanes: `bridge worker --lane submit` beside `--lane flows`, so submission and
# cancels (the tasks that spend Amazon's create quota) always have a process of their
# own, however many status syncs are running.
LANES = {
    "submit": ("submit",),
    "flows": ("orders", "status", "tracking", "stock", "maintenance"),
    "all": QUEUES,
}
TASK_TIME_LIMIT = 300
VISIBILITY_TIMEOUT = 3600  # must exceed the time limit and any retry countdown
# RabbitMQ's quorum queues: replicated and durable; with them Celery keeps a retry's
# countdown in RabbitMQ (native delayed delivery), not in a worker's memory. Declared
# with the same arguments everywhere, or RabbitMQ refuses with PRECONDITION_FAILED.
QUORUM_ARGUMENTS = {"x-queue-type": "quorum"}

app = Celery("bridge", include=["bridge.worker.tasks"])


def is_amqp(broker_url: str) -> bool:
    return broker_url.split("://", 1)[0] in ("amqp", "amqps", "pyamqp")


def task_queues(broker_url: str) -> list[Queue]:
    """One exchange per queue, so a message lands in exactly one queue. On RabbitMQ the
    exchanges are topic exchanges (bound by the queue's exact name, so routing is the
    same): native delayed delivery cannot forward to a direct exchange."""
    if is_amqp(broker_url):
        return [Queue(name, Exchange(name, type="topic"), routing_key=name, durable=True,
                      queue_arguments=dict(QUORUM_ARGUMENTS)) for name in QUEUES]
    return [Queue(name, Exchange(name, type="direct"), routing_key=name) for name in QUEUES]


def transport_options(broker_url: str) -> dict:
    if is_amqp(broker_url):
        # A publish returns only once RabbitMQ has the message. visibility_timeout is a
        # Redis/SQS notion: RabbitMQ redelivers on a lost connection, and its own
        # consumer_timeout (30 min by default) must stay above TASK_TIME_LIMIT.
        return {"confirm_publish": True}
    options: dict[str, float] = {"visibility_timeout": VISIBILITY_TIMEOUT}
    if broker_url.startswith("sqla+"):
        # The SQL transport polls its table; its 1 s default adds a second to every hop
        # of an order's journey, while a poll of a local SQLite table costs microseconds.
        options["polling_interval"] = 0.2
    return options


def celery_settings(config=None) -> dict:
    config = config or load_config()
    settings = config.settings
    amqp = is_amqp(settings.broker_url)
    return {
        "broker_url": settings.broker_url,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": transport_options(settings.broker_url),
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
        "task_queues": task_queues(settings.broker_url),
        # Quorum queues have no global QoS: Celery then sets the prefetch per consumer.
        "worker_detect_quorum_queues": True,
        "task_create_missing_queue_type": "quorum" if amqp else "classic",
        "task_default_exchange": "orders",
        "task_default_exchange_type": "topic" if amqp else "direct",
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
            "bridge.returns": {"queue": "status"},
            "bridge.delivery": {"queue": "status"},
            "bridge.sweep": {"queue": "maintenance"},
        },
        "beat_schedule": beat_schedule(config),
        # The schedule lives in memory: intervals need no persisted state, the sweep
        # covers a missed run, and no schedule file can be corrupted by two starts. Only
        # the scheduler holding the ledger's lease sends anything.
        "beat_scheduler": "bridge.worker.scheduler:SingleScheduler",
        # Task events, so Flower (`celery -A bridge.worker flower`) and `celery events`
        # show bridge's tasks as they are sent, started and finished.
        "worker_send_task_events": True,
        "task_send_sent_event": True,
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
