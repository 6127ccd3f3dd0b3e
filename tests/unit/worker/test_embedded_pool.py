"""The embedded runner's pool: time limits enforced on threads (soft → an exception in
the task, hard → the task is abandoned, its leases given up, its slot refilled), and a
share of the threads per storefront."""

from __future__ import annotations

import threading
import time

from celery.exceptions import SoftTimeLimitExceeded
from kombu.serialization import dumps

from bridge.worker import runtime
from bridge.worker.runtime import EmbeddedPool, Job, LimitedExecutor, Shares, pool_size


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def wait_until(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def job(body, *, limit=None, soft=None, on_timeout=None, shares=None, key="north"):
    shares = shares or Shares(4)
    assert shares.enter(key)
    results = []

    def fn(finished):
        finished(results.append, body())

    made = Job(fn, key, limit, soft, on_timeout, shares.leave)
    made.results = results
    return made


def test_a_task_past_its_hard_limit_is_abandoned_and_its_slot_refilled(monkeypatch):
    clock, release, timeouts, abandoned = Clock(), threading.Event(), [], []
    monkeypatch.setattr(runtime.repo, "abandon_leases", abandoned.append)
    executor = LimitedExecutor(1, clock=clock, watch_seconds=3600)
    try:
        stuck = job(lambda: release.wait(30), limit=300,
                    on_timeout=lambda soft, seconds: timeouts.append((soft, seconds)))
        executor.submit(stuck)
        assert wait_until(lambda: stuck.state == "running")
        clock.now += 299
        executor.check()
        assert stuck.state == "running"
        clock.now += 2
        executor.check()
        assert stuck.state == "abandoned" and stuck.future.done()
        assert timeouts == [(False, 300)]
        assert abandoned == [stuck.thread_id]   # its leases are given up
        after = job(lambda: "ran")
        executor.submit(after)                 # the one thread is stuck: a new one runs it
        assert wait_until(lambda: after.results == ["ran"])
        release.set()
        assert wait_until(lambda: stuck.future.done())
        assert stuck.results == []             # an abandoned task reports nothing
    finally:
        release.set()
        executor.shutdown()


def test_a_task_past_its_soft_limit_gets_the_exception(monkeypatch):
    clock, timeouts, raised = Clock(), [], []

    def busy():
        try:
            while True:
                time.sleep(0.01)
        except SoftTimeLimitExceeded:
            raised.append(True)
            return "stopped"

    executor = LimitedExecutor(1, clock=clock, watch_seconds=3600)
    try:
        running = job(busy, soft=270, limit=300,
                      on_timeout=lambda soft, seconds: timeouts.append((soft, seconds)))
        executor.submit(running)
        assert wait_until(lambda: running.state == "running")
        clock.now += 271
        executor.check()
        assert wait_until(lambda: running.results == ["stopped"])
        assert raised == [True] and timeouts == [(True, 270)]
    finally:
        executor.shutdown()


def test_each_storefront_keeps_a_thread_whatever_the_others_do():
    assert pool_size(4, 1) == (4, 3)
    assert pool_size(4, 2) == (4, 1)
    threads, share = pool_size(4, 5)
    assert threads == 6 and share == 1
    shares = Shares(2)
    assert shares.enter("north") and shares.enter("north")
    assert not shares.enter("north")          # north's remote hangs: no third thread
    assert shares.enter("south")              # south still runs
    assert shares.enter("") and not shares.enter("")   # the sweep: one at a time
    shares.leave("north")
    assert shares.enter("north")


def message_args(task: str, *args) -> tuple:
    content_type, encoding, body = dumps((list(args), {}, {}), "json")
    return (task, "id-1", {}, body.encode() if isinstance(body, str) else body,
            content_type, encoding)


def test_the_pool_runs_a_storefronts_task_only_within_its_share(monkeypatch):
    monkeypatch.setattr(EmbeddedPool, "share", 1)
    pool = EmbeddedPool(limit=3)
    release = threading.Event()
    ran, results = [], []
    try:
        def target(*args):
            ran.append(args[0])
            release.wait(10)
            return (0, "ok", 0.0)

        pool.on_apply(target, message_args("bridge.ingest", "north"), callback=results.append)
        assert wait_until(lambda: ran == ["bridge.ingest"])
        # north is at its share: a second message is acknowledged without running
        pool.on_apply(target, message_args("bridge.submit", "north"), callback=results.append)
        assert results == [(0, "busy", 0.0)]
        pool.on_apply(target, message_args("bridge.ingest", "south"), callback=results.append)
        assert wait_until(lambda: len(ran) == 2)
        release.set()
        assert wait_until(lambda: results.count((0, "ok", 0.0)) == 2)
    finally:
        release.set()
        pool.on_stop()


def test_a_message_names_its_storefront():
    assert runtime.storefront_of(message_args("bridge.stock", "north", False)) == "north"
    assert runtime.storefront_of(message_args("bridge.sweep")) == ""
    assert runtime.storefront_of(("bridge.x", "id", {}, b"not json", "application/json",
                                  "utf-8")) == ""
