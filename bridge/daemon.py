"""Starting the worker and scheduler: the embedded default in one process, or the
production pieces one by one."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

from kombu.connection import Connection

from bridge import logging as bridge_logging
from bridge.bootstrap import Runtime
from bridge.invocation import bridge_command
from bridge.ledger import migrate
from bridge.ledger.db import is_sqlite
from bridge.logging import get_logger

if TYPE_CHECKING:
    from bridge.live_view import RunView

log = get_logger("bridge.daemon")


def prepare_broker(broker_url: str) -> None:
    """Create the broker's own tables/queues once, before worker and scheduler start:
    on the SQLAlchemy transport both would otherwise race to create them at first use.
    On RabbitMQ the queues are declared exactly as the app declares them (quorum, with
    their exchanges and bindings): different arguments would be refused."""
    from bridge.worker.app import QUEUES, app, is_amqp, task_queues

    with Connection(broker_url) as connection:
        channel = connection.default_channel
        if is_amqp(broker_url):
            for queue in task_queues(broker_url):
                queue.bind(channel).declare()
        else:
            for name in QUEUES:
                channel.queue_declare(queue=name, durable=True, auto_delete=False)
    app.connection_for_write().ensure_connection(max_retries=3)


def ensure_ledger(runtime: Runtime) -> None:
    """The embedded SQLite ledger migrates itself; a shared database is migrated on
    purpose with `bridge db upgrade`, so here it is only checked."""
    url = runtime.config.settings.database_url
    if is_sqlite(url):
        migrate.upgrade(url)
        return
    current, head = migrate.current_revision(url), migrate.head_revision(url)
    if current != head:
        raise SystemExit(f"the ledger is at {current}, the newest migration is {head}: "
                         f"run `{bridge_command()} db upgrade`")


def lane_arguments(lane: str | None, args: list[str]) -> list[str]:
    """Celery options for a worker lane: its queues, and a node name of its own unless
    one is given (two lanes on one host must not share a name)."""
    if lane is None:
        return []
    from bridge.worker.app import LANES

    named = any(arg in ("-n", "--hostname") or arg.startswith("--hostname=") for arg in args)
    return ["--queues", ",".join(LANES[lane]), *([] if named else ["--hostname", f"{lane}@%h"])]


def celery_main(argv: list[str]) -> None:
    from bridge.worker.app import app

    app.start(argv=argv)


def terminal_view(runtime: Runtime, stream: TextIO) -> RunView | None:
    """On a terminal, the live view takes it and the log lines go to a file (said on
    the view); elsewhere (a pipe, a service manager, a container) nothing changes."""
    from bridge import live_view
    from bridge.ledger.tables import utcnow

    if not live_view.wanted(stream):
        return None
    settings = runtime.config.settings
    log_file = live_view.LOG_FILE.resolve()
    log_file.parent.mkdir(parents=True, exist_ok=True)
    bridge_logging.log_to(log_file.open("a", buffering=1, encoding="utf-8"))
    bridge_logging.configure(settings.log_format, settings.log_level)
    return live_view.RunView(runtime.ledger, list(runtime.storefronts), str(log_file),
                             clock=utcnow)


def run_embedded(runtime: Runtime, concurrency: int = 4, stream: TextIO | None = None) -> None:
    """Worker threads and the scheduler in this one process. The scheduler runs as a
    thread, not Celery's forked `--beat` child: a forked child inherits the parent's
    SQLite broker connection, which the SQLAlchemy transport cannot share. The worker
    runs on `EmbeddedPool` (bridge/worker/runtime.py): task time limits, and a share of
    the threads per storefront and lane so one storefront's slow remote cannot hold them
    all and submission always finds a thread beside the status syncs.
    On SIGTERM Celery finishes the running tasks; the scheduler then stops and every
    lease this process still holds is released, so a successor starts at once."""
    from celery.beat import EmbeddedService

    from bridge.worker.app import QUEUES, app
    from bridge.worker.runtime import SUBMIT_SHARE, EmbeddedPool, pool_size

    view = terminal_view(runtime, sys.stdout if stream is None else stream)
    ensure_ledger(runtime)
    prepare_broker(runtime.config.settings.broker_url)
    threads, EmbeddedPool.share = pool_size(concurrency, len(runtime.storefronts))
    app.conf.worker_pool = "bridge.worker.runtime:EmbeddedPool"
    log.info("starting", storefronts=list(runtime.storefronts), threads=threads,
             storefront_share=EmbeddedPool.share, submit_share=SUBMIT_SHARE)
    scheduler = EmbeddedService(app, thread=True, scheduler_cls=app.conf.beat_scheduler)
    scheduler.start()
    if view is not None:
        view.start()
    try:
        celery_main([
            # Celery's banner would land in the middle of the view.
            *(["--quiet"] if view is not None else []),
            "worker", "--concurrency", str(threads),
            "--queues", ",".join(QUEUES), "--loglevel", "INFO", "--without-gossip",
            "--without-mingle", "--without-heartbeat",
        ])
    finally:
        if view is not None:
            view.stop()
        scheduler.stop()
        release_held_leases()


def release_held_leases() -> None:
    """Hand back what this process holds (a graceful stop must not leave a successor
    waiting for a lease's lifetime)."""
    from bridge.ledger import repo

    repo.release_all_leases()
