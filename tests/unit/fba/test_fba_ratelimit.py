"""Token-bucket arithmetic on a fake clock, and the limits table against the models."""

from __future__ import annotations

import pickle
import re
import threading

import pytest

from bridge.errors import TransientError
from bridge.fba.operations import OPERATIONS
from bridge.fba.ratelimit import InProcessLimiter, NoLimiter, RedisLimiter, limiter_for


@pytest.fixture
def limiter(clock) -> InProcessLimiter:
    return InProcessLimiter(clock=clock, sleep=clock.sleep)


def test_a_full_bucket_serves_its_burst_without_waiting(limiter, clock):
    for _ in range(30):
        limiter.acquire("acct:createFulfillmentOrder", rate=2, burst=30, timeout=0)
    assert clock.sleeps == []


def test_after_the_burst_each_request_waits_one_refill(limiter, clock):
    for _ in range(30):
        limiter.acquire("k", rate=2, burst=30, timeout=10)
    for _ in range(3):
        limiter.acquire("k", rate=2, burst=30, timeout=10)
    assert clock.sleeps == pytest.approx([0.5, 0.5, 0.5])


def test_an_idle_bucket_refills_up_to_its_burst(limiter, clock):
    for _ in range(2):
        limiter.acquire("inv", rate=2, burst=2, timeout=0)
    clock.advance(60)  # far more than needed: still only 2 tokens
    for _ in range(2):
        limiter.acquire("inv", rate=2, burst=2, timeout=0)
    with pytest.raises(TransientError):
        limiter.acquire("inv", rate=2, burst=2, timeout=0)


def test_a_wait_longer_than_the_timeout_is_refused_and_reserves_nothing(limiter, clock):
    limiter.acquire("k", rate=0.5, burst=1, timeout=0)
    with pytest.raises(TransientError) as caught:
        limiter.acquire("k", rate=0.5, burst=1, timeout=1.0)
    assert caught.value.retry_after == pytest.approx(2.0)
    pickle.loads(pickle.dumps(caught.value))

    clock.advance(2.0)  # the refused call took no token: one is ready now
    limiter.acquire("k", rate=0.5, burst=1, timeout=0)
    assert clock.sleeps == []


def test_waiters_reserve_successive_slots(clock):
    # No sleeping: each caller reserves its token and is told how long to wait.
    waits: list[float] = []
    limiter = InProcessLimiter(clock=clock, sleep=waits.append)
    for _ in range(4):
        limiter.acquire("k", rate=4, burst=1, timeout=10)
    assert waits == pytest.approx([0.25, 0.5, 0.75])


def test_buckets_are_per_key(limiter, clock):
    limiter.acquire("acct-a:getInventorySummaries", rate=2, burst=1, timeout=0)
    limiter.acquire("acct-b:getInventorySummaries", rate=2, burst=1, timeout=0)
    limiter.acquire("acct-a:createFulfillmentOrder", rate=2, burst=1, timeout=0)
    assert clock.sleeps == []


def test_a_rate_learnt_from_amazon_replaces_the_model_rate(limiter, clock):
    limiter.update_rate("k", 10.0)
    limiter.acquire("k", rate=2, burst=1, timeout=0)
    limiter.acquire("k", rate=2, burst=1, timeout=1)
    assert clock.sleeps == pytest.approx([0.1])


def test_threads_never_take_more_than_the_burst(clock):
    granted = []
    limiter = InProcessLimiter(clock=clock, sleep=lambda s: None)

    def take():
        try:
            limiter.acquire("k", rate=1, burst=5, timeout=0)
            granted.append(1)
        except TransientError:
            pass

    threads = [threading.Thread(target=take) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(granted) == 5


def test_no_limiter_never_waits():
    limiter = NoLimiter()
    for _ in range(100):
        limiter.acquire("k", rate=1, burst=1, timeout=0)
    limiter.update_rate("k", 1)


def test_the_deployment_setting_picks_the_limiter():
    assert isinstance(limiter_for(""), InProcessLimiter)
    assert isinstance(limiter_for("redis://127.0.0.1:1/0"), RedisLimiter)  # connects lazily


def _usage_plans(model: dict) -> dict[str, tuple[float, int]]:
    plans = {}
    for item in model["paths"].values():
        for op in item.values():
            if not isinstance(op, dict) or "operationId" not in op:
                continue
            found = re.search(r"\|\s*([\d.]+)\s*\|\s*(\d+)\s*\|", op.get("description", ""))
            if found:
                plans[op["operationId"]] = (float(found.group(1)), int(found.group(2)))
    return plans


def test_the_limits_table_matches_the_models_usage_plans(models):
    plans = {
        **_usage_plans(models.model("fulfillmentOutbound_2020-07-01")),
        **_usage_plans(models.model("fulfillmentOutbound_2026-07-04")),
        **_usage_plans(models.model("fbaInventory")),
    }
    for name, operation in OPERATIONS.items():
        assert (operation.rate, operation.burst) == plans[name], name


def test_the_paths_and_methods_match_the_models(models):
    for name, operation in OPERATIONS.items():
        model = "fbaInventory" if operation.path.startswith("/fba/inventory/") else "fulfillmentOutbound_2020-07-01"
        if operation.path.startswith("/fulfillment/outbound/2026-07-04/"):
            model = "fulfillmentOutbound_2026-07-04"
        method, path, _ = models.operation(model, name)
        assert (operation.method, operation.path) == (method, path), name
