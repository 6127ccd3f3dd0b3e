"""Thin tasks: each parses its argument, calls one service, and nudges the next flow.
The base class binds log context and turns the error tree into Celery behaviour:
transient → retry with backoff and jitter (bounded; the sweep picks the row up later),
fatal → pause the storefront, anything else → log and let the sweep try again."""

from __future__ import annotations

import time
from datetime import timedelta

from celery import Task
from celery.exceptions import Retry

from bridge.errors import FatalError, TransientError
from bridge.ledger import call_stats, repo
from bridge.ledger.tables import utcnow
from bridge.logging import bind_context, get_logger
from bridge.services import (
    cancel,
    delivery,
    followups,
    health,
    inbound,
    ingest,
    returns,
    status,
    stock,
    submit,
    sweep,
    tracking,
    update,
    watchdog,
)
from bridge.worker import runtime
from bridge.worker.app import app

log = get_logger("bridge.worker")


class BridgeTask(Task):
    abstract = True
    max_retries = 5
    retry_backoff_max = 300  # far below the visibility timeout

    def __call__(self, *args, **kwargs):
        storefront = args[0] if args else None
        started = time.monotonic()
        with bind_context(task=self.name, task_id=self.request.id, storefront=storefront):
            try:
                result = self._classified(storefront, *args, **kwargs)
            except _Paused as paused:
                self._health(storefront, paused.error, started)
                return None
            except Retry as retry:
                self._health(storefront, retry.exc, started)
                raise
            except Exception as exc:
                self._health(storefront, exc, started)
                raise
            self._health(storefront, None, started)
            return result

    def _classified(self, storefront, *args, **kwargs):
        """The error tree → Celery: transient retries, fatal pauses the storefront."""
        try:
            return self.run(*args, **kwargs)
        except TransientError as exc:
            countdown = exc.retry_after or min(2 ** self.request.retries, self.retry_backoff_max)
            log.warning("task_retry", error=str(exc), countdown=countdown)
            raise self.retry(exc=exc, countdown=countdown, max_retries=self.max_retries) from exc
        except FatalError as exc:
            log.error("storefront_paused", error=str(exc))
            if storefront:
                followups.pause_for(runtime.get().ledger, storefront, exc)
            raise _Paused(exc) from None

    def _health(self, storefront, error: BaseException | None, started: float) -> None:
        """Count the run's outcome for `bridge status` (a storefront whose remote keeps
        failing shows as degraded, with the reason) and for /metrics (runs, failures and
        time per flow, in memory until this process's next flush)."""
        call_stats.count_flow_run(self.name.removeprefix("bridge."), error is None,
                                  time.monotonic() - started)
        if not isinstance(storefront, str):
            return
        try:
            health.record_outcome(runtime.get().ledger, storefront,
                                  self.name.removeprefix("bridge."), error)
        except Exception as failure:  # the ledger itself may be what is down
            log.warning("flow_health_not_recorded", error=str(failure))


class _Paused(Exception):
    """Internal: a fatal error paused the storefront; the task ends quietly."""

    def __init__(self, error: FatalError) -> None:
        super().__init__(str(error))
        self.error = error


def _task(name: str):
    return app.task(name=name, base=BridgeTask, bind=True, ignore_result=True)


@_task("bridge.ingest")
def ingest_task(self, storefront: str) -> dict:
    rt = runtime.get()
    config = rt.storefront(storefront)
    with rt.ledger.transaction() as session:
        if repo.is_paused(session, storefront):
            return {"paused": True}
    result = ingest.ingest_orders(rt.ledger, rt.cart(storefront), config)
    _send(followups.after_ingest(storefront, result, rt.config.settings.submit_batch))
    if result.skipped:
        return {"skipped": True}
    log.info("ingested", seen=result.seen, recorded=result.recorded, ready=result.ready,
             needs_attention=result.needs_attention, cancelled=result.cancelled)
    return {"seen": result.seen, "ready": result.ready}


@_task("bridge.submit")
def submit_task(self, storefront: str) -> dict:
    rt = runtime.get()
    batch = rt.config.settings.submit_batch
    result = submit.submit_ready(rt.ledger, rt.fba(storefront), rt.cart(storefront),
                                 rt.storefront(storefront), batch, settings=rt.config.settings)
    _send(followups.after_submit(storefront, result, batch))
    if result.accepted:
        log.info("submitted", accepted=result.accepted, unknown=result.unknown,
                 needs_attention=result.needs_attention)
    return {"accepted": result.accepted}


@_task("bridge.status")
def status_task(self, storefront: str) -> dict:
    rt = runtime.get()
    # Cart edits waiting for Amazon are sent here too: this runs on a timer while any
    # order is followed at Amazon, so an edit never waits longer than one status interval.
    edits = update.process_updates(rt.ledger, rt.fba(storefront), rt.cart(storefront),
                                   rt.storefront(storefront))
    _send(followups.after_update(storefront, edits))
    result = status.sync_status(rt.ledger, rt.fba(storefront), rt.cart(storefront),
                                rt.storefront(storefront))
    _send(followups.after_status(storefront, result))
    return {"updated": result.updated, "packages": result.packages}


@_task("bridge.reconcile")
def reconcile_task(self, storefront: str) -> int:
    rt = runtime.get()
    cutoff = utcnow() - timedelta(seconds=rt.config.settings.stale_after_seconds)
    count = status.reconcile_open(rt.ledger, rt.fba(storefront), rt.cart(storefront),
                                  rt.storefront(storefront), cutoff)
    _send(followups.after_reconcile(storefront))
    return count


@_task("bridge.tracking")
def tracking_task(self, storefront: str) -> dict:
    rt = runtime.get()
    result = tracking.push_tracking(rt.ledger, rt.cart(storefront), rt.storefront(storefront))
    if result.written:
        log.info("tracking_written", written=result.written, completed=result.completed)
    return {"written": result.written, "completed": result.completed}


@_task("bridge.delivery")
def delivery_task(self, storefront: str) -> dict:
    rt = runtime.get()
    result = delivery.follow_deliveries(rt.ledger, rt.fba(storefront), rt.cart(storefront),
                                        rt.storefront(storefront))
    _send(followups.after_delivery(storefront, result))
    if result.final or result.written or result.given_up:
        log.info("delivery_milestones", looked=result.looked, final=result.final,
                 written=result.written, given_up=result.given_up)
    return {"looked": result.looked, "final": result.final, "written": result.written}


@_task("bridge.returns")
def returns_task(self, storefront: str) -> dict:
    rt = runtime.get()
    result = returns.follow_returns(rt.ledger, rt.fba(storefront), rt.cart(storefront),
                                    rt.storefront(storefront))
    if result.resent or result.authorized_written or result.received_written:
        log.info("returns_followed", resent=result.resent, read=result.read,
                 authorized_written=result.authorized_written,
                 received_written=result.received_written, received=result.received)
    for problem in result.refused_by_shop:
        log.warning("return_not_written", problem=problem)
    return {"read": result.read, "received": result.received}


@_task("bridge.cancel")
def cancel_task(self, storefront: str) -> dict:
    rt = runtime.get()
    # Cart edits of orders Amazon has go first: one cancelled meanwhile becomes a cancel
    # that this same run then sends.
    edits = update.process_updates(rt.ledger, rt.fba(storefront), rt.cart(storefront),
                                   rt.storefront(storefront))
    result = cancel.process_cancellations(rt.ledger, rt.fba(storefront), rt.cart(storefront),
                                          rt.storefront(storefront))
    _send(followups.after_cancel(storefront, result))
    return {"cancelled": result.cancelled, "too_late": result.too_late,
            "updated": edits.updated, "edit_too_late": edits.too_late}


@_task("bridge.stock")
def stock_task(self, storefront: str, read_amazon: bool = True) -> dict:
    rt = runtime.get()
    result = stock.sync_stock(rt.ledger, rt.fba(storefront), rt.cart(storefront),
                              rt.storefront(storefront), read_amazon=read_amazon)
    if result.written:
        log.info("stock_written", written=result.written, read=result.read,
                 checked=result.checked, drift=result.drift, full_read=result.full_read)
    for problem in result.unresolved:
        log.warning("stock_not_corrected", problem=problem)
    return {"written": result.written, "drift": result.drift}


@_task("bridge.inbound")
def inbound_task(self, storefront: str) -> int:
    rt = runtime.get()
    changed = inbound.follow_shipments(rt.ledger, rt.fba(storefront).inbound, storefront)
    if changed:
        log.info("inbound_progress", shipments_changed=changed)
    return changed


# The task behind each flow a follow-up may name (`followups.FLOWS`).
_FLOW_TASKS = {
    "submit": submit_task,
    "cancel": cancel_task,
    "status": status_task,
    "tracking": tracking_task,
    "reconcile": reconcile_task,
    "stock": stock_task,
    "delivery": delivery_task,
}


def _send(nudges: list[followups.Nudge]) -> None:
    """Send the follow-ups a service function decided, as Celery messages."""
    for nudge in nudges:
        _FLOW_TASKS[nudge.flow].delay(*nudge.args)


@_task("bridge.sweep")
def sweep_task(self) -> dict:
    rt = runtime.get()
    nudges = sweep.sweep(rt.ledger, rt.storefronts.values(),
                         timedelta(seconds=rt.config.settings.stale_after_seconds))
    _send(followups.after_sweep(nudges))
    # After the nudges: a slow shop note must not delay them.
    watchdog.watch(rt.ledger, rt.storefronts.values(), rt.cart,
                   watchdog.Thresholds.from_settings(rt.config.settings))
    return {name: sorted(flows) for name, flows in nudges.items()}
