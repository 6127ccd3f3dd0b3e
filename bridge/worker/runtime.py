"""One Runtime per worker process, built on first use; and the thread pool of the
embedded runner (`bridge run`)."""

from __future__ import annotations

import ctypes
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from queue import SimpleQueue

from celery.concurrency.base import apply_target
from celery.concurrency.thread import ApplyResult
from celery.concurrency.thread import TaskPool as ThreadTaskPool
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from kombu.serialization import loads

from bridge.bootstrap import Runtime, build_runtime
from bridge.ledger import repo
from bridge.logging import get_logger

log = get_logger("bridge.worker")

_runtime: Runtime | None = None
_lock = threading.Lock()


def get() -> Runtime:
    global _runtime
    with _lock:
        if _runtime is None:
            _runtime = build_runtime()
        return _runtime


def reset() -> None:
    global _runtime
    with _lock:
        _runtime = None


# ---------------------------------------------------------------- the embedded pool
#
# `bridge run` consumes every queue with Celery's thread pool: the consumer fetches up to
# one message per thread and acknowledges each when its task ends. Two things that pool
# does not do are done here:
#
# - Time limits. Celery enforces them by signalling or killing pool processes; threads
#   cannot be killed. A watchdog raises SoftTimeLimitExceeded in a task's thread at the
#   soft limit (as Celery does in a process); at the hard limit it abandons the task:
#   the thread's leases are marked lost and released (so another poll takes over now and
#   the abandoned one commits nothing more), the message is acknowledged as timed out,
#   a fresh thread takes the slot, and the old one ends when its call returns.
# - A share per storefront and lane. Messages of every storefront share the queues and
#   the threads, so a storefront whose remote hangs would end up holding every thread.
#   Each storefront may have at most `share` tasks in flight in the flows lane (ingest,
#   status, tracking, stock, inbound, delivery, returns) and one in the submit lane (submit and cancel, the
#   tasks that spend Amazon's create quota), and the pool has a thread more than all of
#   those slots together, so every storefront's submission (and the sweep) always finds
#   a thread however many status syncs are running. A message for a storefront at its
#   share is acknowledged without running: messages are nudges and the ledger holds the
#   work, which the flow's next scheduled run, the running task's own follow-up (a submit
#   run re-nudges when orders became ready meanwhile) or the sweep brings again. (A thread
#   per storefront and flow would give the same isolation with far more threads, each
#   with its own cart and Amazon clients; queueing the surplus instead would hold the
#   consumer's prefetch slots and starve the others again.)

WATCH_SECONDS = 0.5


SUBMIT_LANE, FLOWS_LANE = "submit", "flows"
# The tasks routed to the "submit" queue (pinned against the routes by a test).
SUBMIT_TASKS = frozenset({"bridge.submit", "bridge.cancel"})
SUBMIT_SHARE = 1  # one submission or cancel per storefront at a time: they share one quota

Slot = tuple[str, str]  # (storefront, lane); storefront "" for the sweep


def lane_of(task: str | None) -> str:
    return SUBMIT_LANE if task in SUBMIT_TASKS else FLOWS_LANE


def pool_size(concurrency: int, storefronts: int) -> tuple[int, int]:
    """(threads, flows share per storefront): every storefront's submit slot and flows
    share, plus one thread for the sweep."""
    storefronts = max(1, storefronts)
    threads = max(concurrency, storefronts * (SUBMIT_SHARE + 1) + 1)
    return threads, max(1, (threads - 1 - storefronts * SUBMIT_SHARE) // storefronts)


def interrupt(thread_id: int, exc_type: type[BaseException]) -> None:
    """Raise `exc_type` in a thread at its next Python instruction (not inside a
    blocking C call: a network read ends at its own timeout first)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id),
                                               ctypes.py_object(exc_type))


class Shares:
    """Tasks in flight per (storefront, lane): at most `share` in the flows lane,
    SUBMIT_SHARE in the submit lane, one for the sweep."""

    def __init__(self, share: int) -> None:
        self.share = share
        self._counts: Counter[Slot] = Counter()
        self._lock = threading.Lock()

    def limit(self, slot: Slot) -> int:
        storefront, lane = slot
        if not storefront:
            return 1
        return SUBMIT_SHARE if lane == SUBMIT_LANE else self.share

    def enter(self, slot: Slot) -> bool:
        with self._lock:
            if self._counts[slot] >= self.limit(slot):
                return False
            self._counts[slot] += 1
            return True

    def leave(self, slot: Slot) -> None:
        with self._lock:
            self._counts[slot] -= 1

    def in_flight(self, slot: Slot) -> int:
        with self._lock:
            return self._counts[slot]


class Job:
    """One task on its way through the pool: queued → running → done or abandoned."""

    def __init__(self, fn: Callable[[Callable], None], key: Slot, limit: float | None,
                 soft_limit: float | None, on_timeout: Callable | None,
                 leave: Callable[[Slot], None]) -> None:
        self.fn, self.key = fn, key
        self.limit, self.soft_limit, self.on_timeout = limit, soft_limit, on_timeout
        self.future: Future = Future()
        self.thread_id = 0
        self.started = 0.0
        self.state = "queued"
        self.soft_sent = False
        self._leave, self._left = leave, False
        self._lock = threading.Lock()

    def run(self, thread_id: int, now: float) -> None:
        with self._lock:
            self.thread_id, self.started, self.state = thread_id, now, "running"
        try:
            self.fn(self._finished)
        except (SoftTimeLimitExceeded, TimeLimitExceeded):
            pass  # an interrupt that arrived after the task's own handling
        finally:
            with self._lock:
                if self.state == "running":
                    self.state = "done"
            self.leave()
            if not self.future.done():
                self.future.set_result(None)

    def _finished(self, callback: Callable | None, result) -> None:
        """The task's result reaches Celery only if the task was not abandoned."""
        with self._lock:
            if self.state != "running":
                return
            self.state = "done"
        if callback is not None:
            callback(result)

    def abandon(self) -> bool:
        with self._lock:
            if self.state != "running":
                return False
            self.state = "abandoned"
        self.leave()
        return True

    def soft_interrupt(self) -> bool:
        with self._lock:
            if self.state != "running" or self.soft_sent:
                return False
            self.soft_sent = True
            interrupt(self.thread_id, SoftTimeLimitExceeded)
            return True

    def leave(self) -> None:
        with self._lock:
            if self._left:
                return
            self._left = True
        self._leave(self.key)


class LimitedExecutor:
    """Long-lived worker threads (each keeps its own cart and Amazon clients) plus a
    watchdog enforcing each job's limits; an abandoned thread is replaced at once."""

    def __init__(self, workers: int, clock: Callable[[], float] = time.monotonic,
                 watch_seconds: float = WATCH_SECONDS) -> None:
        self.clock, self.watch_seconds = clock, watch_seconds
        self._queue: SimpleQueue = SimpleQueue()
        self._running: dict[int, Job] = {}
        self._retired: set[int] = set()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        for _ in range(workers):
            self._spawn()
        self._watchdog = threading.Thread(target=self._watch, name="pool-watchdog", daemon=True)
        self._watchdog.start()

    def submit(self, job: Job) -> Future:
        self._queue.put(job)
        return job.future

    def _spawn(self) -> None:
        thread = threading.Thread(target=self._work, name="pool-worker", daemon=True)
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _work(self) -> None:
        me = threading.get_ident()
        while True:
            try:
                job = self._queue.get()
                if job is None:
                    return
                with self._lock:
                    self._running[me] = job
                job.run(me, self.clock())
            except (SoftTimeLimitExceeded, TimeLimitExceeded):
                pass  # a late interrupt; the job has already been settled
            finally:
                with self._lock:
                    self._running.pop(me, None)
                    retired = me in self._retired
            if retired:
                return

    def _watch(self) -> None:
        while not self._stopping.wait(self.watch_seconds):
            self.check()

    def check(self) -> None:
        """One round of the watchdog (tests call it with their own clock)."""
        now = self.clock()
        with self._lock:
            running = list(self._running.items())
        for thread_id, job in running:
            elapsed = now - job.started
            if job.soft_limit and elapsed >= job.soft_limit and job.soft_interrupt():
                log.warning("task_soft_time_limit", seconds=job.soft_limit)
                if job.on_timeout:
                    job.on_timeout(True, job.soft_limit)
            if job.limit and elapsed >= job.limit and job.abandon():
                self._abandon(thread_id, job)

    def _abandon(self, thread_id: int, job: Job) -> None:
        with self._lock:
            self._retired.add(thread_id)
        self._spawn()
        log.error("task_abandoned_at_time_limit", seconds=job.limit, storefront=job.key[0] or None,
                  lane=job.key[1])
        repo.abandon_leases(thread_id)
        interrupt(thread_id, TimeLimitExceeded)
        if job.on_timeout:
            job.on_timeout(False, job.limit)
        if not job.future.done():
            job.future.set_result(None)

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        with self._lock:
            threads = [t for t in self._threads if t.ident not in self._retired]
        for _ in threads:
            self._queue.put(None)
        if wait:
            for thread in threads:
                thread.join()
        self._stopping.set()


def storefront_of(args: tuple | None) -> str:
    """The storefront a task message is for ("" for the sweep): its first argument."""
    if args is None:
        return ""
    try:
        body, content_type, encoding = args[3], args[4], args[5]
        task_args = loads(bytes(body), content_type, encoding, accept={content_type})[0]
    except Exception:  # not a message we can read: share the sweep's slot
        return ""
    return task_args[0] if task_args and isinstance(task_args[0], str) else ""


class EmbeddedPool(ThreadTaskPool):
    """Celery's thread pool with time limits and a share per storefront and lane (see above).
    `share` is set by `bridge run` before the worker starts."""

    share = 1
    executor: ThreadPoolExecutor | LimitedExecutor  # the base pool's until __init__ replaces it

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.executor.shutdown(wait=False)  # the base pool's, never used
        self.executor = LimitedExecutor(self.limit)
        self.shares = Shares(self.share)

    def on_apply(self, target, args=None, kwargs=None, callback=None, accept_callback=None,
                 timeout=None, soft_timeout=None, timeout_callback=None, **_):
        task = args[0] if args else None
        key = (storefront_of(args), lane_of(task))
        if not self.shares.enter(key):
            log.info("storefront_busy", storefront=key[0] or None, lane=key[1], task=task)
            if callback is not None:
                callback((0, "busy", 0.0))  # acknowledged; the next tick brings it again
            return None

        def fn(finished):
            apply_target(target, args, kwargs, lambda result: finished(callback, result),
                         accept_callback)

        job = Job(fn, key, timeout, soft_timeout, timeout_callback, self.shares.leave)
        return ApplyResult(self.executor.submit(job))

    def _get_info(self):
        info = super()._get_info()
        info["storefront-share"] = self.share
        info["storefront-submit-share"] = SUBMIT_SHARE
        return info
