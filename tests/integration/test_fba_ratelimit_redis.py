"""RedisLimiter against a real Redis: separate limiter instances (as in separate worker
processes) spend one shared budget. Rates are chosen so that refill during the test is
negligible (or overwhelming), which keeps the assertions free of timing."""

from __future__ import annotations

import pytest

from bridge.errors import TransientError
from bridge.fba.ratelimit import RedisLimiter

pytestmark = pytest.mark.redis

SLOW = 0.001  # one token per 1000 s: nothing refills while the test runs


@pytest.fixture
def limiters(redis_url):
    sleeps: list[float] = []
    made = [RedisLimiter(redis_url, sleep=sleeps.append) for _ in range(2)]
    yield made[0], made[1], sleeps
    for limiter in made:
        limiter.close()


def test_two_limiters_share_one_bucket(limiters):
    first, second, sleeps = limiters
    first.acquire("acct:createFulfillmentOrder", rate=SLOW, burst=3, timeout=0)
    second.acquire("acct:createFulfillmentOrder", rate=SLOW, burst=3, timeout=0)
    first.acquire("acct:createFulfillmentOrder", rate=SLOW, burst=3, timeout=0)

    with pytest.raises(TransientError) as caught:
        second.acquire("acct:createFulfillmentOrder", rate=SLOW, burst=3, timeout=0)
    assert 900 < caught.value.retry_after <= 1000
    assert sleeps == []


def test_other_keys_have_their_own_buckets(limiters):
    first, second, _ = limiters
    first.acquire("acct-a:getInventorySummaries", rate=SLOW, burst=1, timeout=0)
    second.acquire("acct-b:getInventorySummaries", rate=SLOW, burst=1, timeout=0)
    with pytest.raises(TransientError):
        second.acquire("acct-a:getInventorySummaries", rate=SLOW, burst=1, timeout=0)


def test_a_waiter_reserves_the_next_token_and_sleeps_for_it(limiters):
    first, second, sleeps = limiters
    first.acquire("k", rate=SLOW, burst=1, timeout=0)
    second.acquire("k", rate=SLOW, burst=1, timeout=2000)
    assert len(sleeps) == 1 and 900 < sleeps[0] <= 1000

    # The reservation is shared: the next caller queues behind it.
    with pytest.raises(TransientError) as caught:
        first.acquire("k", rate=SLOW, burst=1, timeout=1500)
    assert 1900 < caught.value.retry_after <= 2000


def test_a_learnt_rate_is_seen_by_every_limiter(limiters):
    first, second, sleeps = limiters
    first.acquire("k", rate=SLOW, burst=1, timeout=0)
    first.update_rate("k", 1_000_000.0)
    # At a million per second the next token is a microsecond away.
    second.acquire("k", rate=SLOW, burst=1, timeout=1.0)
    assert len(sleeps) <= 1 and all(s <= 0.001 for s in sleeps)


def test_an_unreachable_redis_is_a_transient_error_naming_no_url():
    limiter = RedisLimiter("redis://:hunter2-password@127.0.0.1:1/0")
    with pytest.raises(TransientError) as caught:
        limiter.acquire("k", rate=1, burst=1, timeout=0)
    assert "hunter2" not in str(caught.value)
