"""The embedded runner's pool: time limits enforced on threads (soft → an exception in
the task, hard → the task is abandoned, its leases given up, its slot refilled), and a
share of the threads per storefront and lane (submission always finds a thread)."""

from __future__ import annotations

import threading
import time

from celery.exceptions import SoftTimeLimitExceeded
from kombu.serialization import dumps

from bridge.worker import runtime
from bridge.worker.runtime import (
    FLOWS_LANE,
    SUBMIT_LANE,
    SUBMIT_TASKS,
    EmbeddedPool,
    Job,
    LimitedExecutor,
    Shares,
    pool_size,
)


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


def job(body, *, limit=None, soft=None, on_timeout=None, shares=None, key=("north", FLOWS_LANE)):
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
    # threads, flows share: every storefront's flows share and submit slot, plus the sweep
    assert pool_size(4, 1) == (4, 2)
    assert pool_size(4, 2) == (5, 1)
    threads, share = pool_size(4, 5)
    assert threads == 11 and share == 1
    assert pool_size(16, 3) == (16, 4)
    for concurrency in range(1, 20):
        for storefronts in range(1, 12):
            threads, share = pool_size(concurrency, storefronts)
            assert threads >= storefronts * (share + 1) + 1   # every slot at once still fits
    shares = Shares(2)
    north = ("north", FLOWS_LANE)
    assert shares.enter(north) and shares.enter(north)
    assert not shares.enter(north)            # north's remote hangs: no third thread
    assert shares.enter(("south", FLOWS_LANE))                 # south still runs
    assert shares.enter(("north", SUBMIT_LANE))                # and so does north's submission
    assert not shares.enter(("north", SUBMIT_LANE))            # one submission at a time
    assert shares.enter(("", FLOWS_LANE)) and not shares.enter(("", FLOWS_LANE))  # the sweep
    shares.leave(north)
    assert shares.enter(north)


def test_the_submit_lane_holds_the_tasks_routed_to_the_submit_queue(tmp_path):
    from bridge.worker.app import LANES, QUEUES, celery_settings
    from bridge.worker.runtime import lane_of

    (tmp_path / "storefronts").mkdir()
    routes = celery_settings(_config(tmp_path))["task_routes"]
    assert SUBMIT_TASKS == {task for task, route in routes.items() if route["queue"] == "submit"}
    assert {lane_of(task) for task in routes} == {SUBMIT_LANE, FLOWS_LANE}
    assert lane_of(None) == FLOWS_LANE
    # the worker lanes split the queues: each consumed by exactly one lane
    assert sorted(LANES["submit"] + LANES["flows"]) == sorted(QUEUES) == sorted(LANES["all"])
    assert LANES["submit"] == ("submit",)


def test_a_worker_lane_names_its_queues_and_its_node():
    from bridge.daemon import lane_arguments

    assert lane_arguments(None, ["-c", "2"]) == []
    assert lane_arguments("submit", ["-c", "1"]) == ["--queues", "submit", "--hostname", "submit@%h"]
    flows = lane_arguments("flows", ["-n", "f1@%h"])
    assert flows == ["--queues", "orders,status,tracking,stock,maintenance"]  # the node named by hand


def _config(tmp_path):
    from bridge.config import load_config

    (tmp_path / "storefronts" / "shop.toml").write_text(
        'name = "shop"\norder_id_prefix = "P"\n[cart]\nplatform = "sql"\nurl = "sqlite:///s.db"\n'
        '[fulfillment]\nclient_id = "id"\nclient_secret = "env:X"\nrefresh_token = "env:Y"\n')
    return load_config(tmp_path)


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
        pool.on_apply(target, message_args("bridge.status", "north"), callback=results.append)
        assert results == [(0, "busy", 0.0)]
        pool.on_apply(target, message_args("bridge.ingest", "south"), callback=results.append)
        assert wait_until(lambda: len(ran) == 2)
        # north's submission has its own lane
        pool.on_apply(target, message_args("bridge.submit", "north"), callback=results.append)
        assert wait_until(lambda: len(ran) == 3)
        release.set()
        assert wait_until(lambda: results.count((0, "ok", 0.0)) == 3)
    finally:
        release.set()
        pool.on_stop()


def test_a_message_names_its_storefront():
    assert runtime.storefront_of(message_args("bridge.stock", "north", False)) == "north"
    assert runtime.storefront_of(message_args("bridge.sweep")) == ""
    assert runtime.storefront_of(("bridge.x", "id", {}, b"not json", "application/json",
                                  "utf-8")) == ""


def test_a_submission_runs_while_every_other_thread_is_busy_with_status_syncs(monkeypatch):
    threads, share = pool_size(4, 1)
    monkeypatch.setattr(EmbeddedPool, "share", share)
    pool = EmbeddedPool(limit=threads)
    release = threading.Event()
    started, results = [], []
    try:
        def target(*args):
            started.append(args[0])
            if args[0] not in SUBMIT_TASKS:
                release.wait(10)   # a status sync on a slow remote
            return (0, args[0], 0.0)

        # A backlog of status (and tracking, stock) syncs, far more than there are threads.
        for task in ("bridge.status", "bridge.tracking", "bridge.stock") * 10:
            pool.on_apply(target, message_args(task, "north"), callback=results.append)
        pool.on_apply(target, message_args("bridge.sweep"), callback=results.append)
        assert wait_until(lambda: len(started) == threads - 1)
        assert results.count((0, "busy", 0.0)) == 30 - share   # the surplus is acknowledged
        # Every thread but the submit lane's is held: the submission still runs, at once.
        pool.on_apply(target, message_args("bridge.submit", "north"), callback=results.append)
        assert wait_until(lambda: (0, "bridge.submit", 0.0) in results)
        assert started.count("bridge.submit") == 1
        # Once the submission has left its slot, a cancel runs there too.
        assert wait_until(lambda: pool.shares.in_flight(("north", SUBMIT_LANE)) == 0)
        pool.on_apply(target, message_args("bridge.cancel", "north"), callback=results.append)
        assert wait_until(lambda: (0, "bridge.cancel", 0.0) in results)
        assert not release.is_set()
    finally:
        release.set()
        pool.on_stop()
