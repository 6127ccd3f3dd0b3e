"""Priority tiers inside the token buckets: a lower flow may take a token only while the
bucket keeps more than its reserve, never queues ahead of a higher one, and waits are
computed (the sleep is injected), never slept. Both limiters: in-process on a virtual
clock, Redis (the real server, rates so slow that nothing refills during a test)."""

from __future__ import annotations

import threading

import pytest
import responses

from bridge.errors import TransientError
from bridge.fba.http import SpApiHttp
from bridge.fba.operations import OPERATIONS
from bridge.fba.priority import Priority, call_priority, current_priority, reserve
from bridge.fba.ratelimit import InProcessLimiter, RedisLimiter

BURST = 10
SLOW = 0.001  # one token per 1000 s: nothing refills while a Redis test runs


class VirtualClock:
    """Moves only when code sleeps on it (or the test advances it)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def limiter(clock: VirtualClock) -> InProcessLimiter:
    return InProcessLimiter(clock=clock, sleep=clock.sleep)


def take(limiter, priority: Priority, *, rate: float = 2.0, timeout: float = 0.0, key: str = "acct:op") -> bool:
    """True when a token was granted, False when refused."""
    try:
        limiter.acquire(key, rate, BURST, timeout, priority=priority)
    except TransientError:
        return False
    return True


def drain(limiter, priority: Priority, **kwargs) -> int:
    taken = 0
    while take(limiter, priority, **kwargs):
        taken += 1
        assert taken <= BURST, "took more than the bucket holds"
    return taken


def test_reserves_grow_down_the_tiers_and_the_top_keeps_none():
    reserves = [reserve(p, 30) for p in Priority]
    assert reserves[0] == 0
    assert reserves == sorted(reserves) and len(set(reserves)) == len(reserves)
    # Never so large that a full bucket could not serve the tier.
    assert all(reserve(p, 2) <= 1 for p in Priority)
    assert reserve(Priority.INVENTORY, 1) == 0


def test_a_low_tier_cannot_drain_the_bucket_below_its_reserve(limiter, clock):
    keep = reserve(Priority.INVENTORY, BURST)
    assert drain(limiter, Priority.INVENTORY) == BURST - keep
    # What it left is there for the top tier, at once.
    assert drain(limiter, Priority.CREATE) == keep
    assert clock.sleeps == []


def test_each_tier_stops_at_its_own_reserve(limiter):
    taken = {p: drain(limiter, p) for p in sorted(Priority, reverse=True)}
    assert taken == {
        Priority.INVENTORY: BURST - reserve(Priority.INVENTORY, BURST),
        Priority.STATUS: reserve(Priority.INVENTORY, BURST) - reserve(Priority.STATUS, BURST),
        Priority.CANCEL: reserve(Priority.STATUS, BURST) - reserve(Priority.CANCEL, BURST),
        Priority.CREATE: reserve(Priority.CANCEL, BURST),
    }


def test_a_high_tier_empties_the_bucket(limiter):
    assert drain(limiter, Priority.CREATE) == BURST


def test_a_low_tier_waits_the_computed_time_for_its_share(limiter, clock):
    keep = reserve(Priority.STATUS, BURST)
    drain(limiter, Priority.STATUS)
    assert take(limiter, Priority.STATUS, rate=2.0, timeout=5.0)
    # It needed one token above its reserve: one refill at 2/s, computed and slept once.
    assert clock.sleeps == pytest.approx([0.5])
    assert drain(limiter, Priority.CREATE) == keep


def test_a_low_tier_waiter_reserves_nothing_so_a_high_one_goes_first(clock):
    sleeps: list[float] = []
    limiter = InProcessLimiter(clock=clock, sleep=sleeps.append)  # sleeping moves nothing
    drain(limiter, Priority.CREATE)  # empty
    # The low caller would wait, but the clock does not move while it sleeps: it keeps
    # asking until its timeout is spent, and is then refused, holding no token.
    assert not take(limiter, Priority.STATUS, timeout=20.0)
    assert sum(sleeps) == pytest.approx(20.0, abs=(1 + reserve(Priority.STATUS, BURST)) / 2)
    sleeps.clear()
    # The top tier queues for the very next token, as before tiers existed.
    assert take(limiter, Priority.CREATE, timeout=1.0)
    assert sleeps == pytest.approx([0.5])


def test_a_low_tier_refused_when_its_wait_exceeds_the_timeout(limiter, clock):
    drain(limiter, Priority.CREATE)
    with pytest.raises(TransientError) as caught:
        limiter.acquire("acct:op", 2.0, BURST, 1.0, priority=Priority.INVENTORY)
    assert caught.value.retry_after == pytest.approx((1 + reserve(Priority.INVENTORY, BURST)) / 2.0)
    assert clock.sleeps == []


def test_a_learnt_rate_applies_to_every_tier(limiter, clock):
    limiter.update_rate("acct:op", 10.0)
    drain(limiter, Priority.STATUS)
    assert take(limiter, Priority.STATUS, timeout=1.0)
    assert clock.sleeps == pytest.approx([0.1])


def test_no_priority_set_means_the_top_tier():
    assert current_priority() == Priority.CREATE
    with call_priority(Priority.STATUS):
        assert current_priority() == Priority.STATUS
        with call_priority(Priority.CANCEL):
            assert current_priority() == Priority.CANCEL
        assert current_priority() == Priority.STATUS
    assert current_priority() == Priority.CREATE


def test_a_priority_set_in_one_thread_does_not_leak_into_another():
    seen: list[Priority] = []
    with call_priority(Priority.INVENTORY):
        worker = threading.Thread(target=lambda: seen.append(current_priority()))
        worker.start()
        worker.join()
    assert seen == [Priority.CREATE]


class RecordingLimiter:
    def __init__(self) -> None:
        self.priorities: list[object] = []

    def acquire(self, key, rate, burst, timeout, **kwargs) -> None:
        self.priorities.append(kwargs.get("priority", "top, none passed"))

    def update_rate(self, key, rate) -> None:
        return None


class StaticAuth:
    def access_token(self) -> str:
        return "token"

    def invalidate(self) -> None:
        return None


@responses.activate
def test_the_http_edge_takes_its_token_at_the_callers_priority():
    responses.add(responses.GET, "https://sp.example/fba/outbound/2020-07-01/features", json={"payload": {}})
    limiter = RecordingLimiter()
    http = SpApiHttp("https://sp.example", StaticAuth(), limiter, "acct")  # type: ignore[arg-type]
    http.call(OPERATIONS["getFeatures"])
    with call_priority(Priority.STATUS):
        http.call(OPERATIONS["getFeatures"])
    assert limiter.priorities == ["top, none passed", Priority.STATUS]


# ---------------------------------------------------------------- Redis

@pytest.fixture
def redis_limiters(redis_url):
    sleeps: list[float] = []
    made = [RedisLimiter(redis_url, sleep=sleeps.append) for _ in range(2)]
    yield made[0], made[1], sleeps
    for limiter in made:
        limiter.close()


@pytest.mark.redis
def test_redis_a_low_tier_cannot_drain_the_shared_bucket_below_its_reserve(redis_limiters):
    first, second, sleeps = redis_limiters
    keep = reserve(Priority.STATUS, BURST)
    # Two processes at the status tier together stop at the reserve.
    taken = 0
    for limiter in [first, second] * BURST:
        taken += take(limiter, Priority.STATUS, rate=SLOW)
    assert taken == BURST - keep
    assert take(second, Priority.CREATE, rate=SLOW) and take(first, Priority.CREATE, rate=SLOW)
    assert drain(first, Priority.CREATE, rate=SLOW) == keep - 2
    assert sleeps == []


@pytest.mark.redis
def test_redis_a_low_tier_waits_without_reserving_then_is_refused(redis_limiters):
    first, second, sleeps = redis_limiters
    drain(first, Priority.CREATE, rate=SLOW)
    # Its share is ~1000 s away per token: it sleeps the computed wait once (the injected
    # sleep moves no time), asks again, and is refused when the rest of its timeout is shorter.
    assert not take(second, Priority.INVENTORY, rate=SLOW, timeout=(1 + reserve(Priority.INVENTORY, BURST)) * 1500)
    assert len(sleeps) == 1 and sleeps[0] > 1000
    # It reserved nothing: the top tier's next token is one refill away, not two.
    with pytest.raises(TransientError) as caught:
        first.acquire("acct:op", SLOW, BURST, 0, priority=Priority.CREATE)
    assert 900 < caught.value.retry_after <= 1000


@pytest.mark.redis
def test_redis_top_tier_queues_as_before(redis_limiters):
    first, _second, sleeps = redis_limiters
    drain(first, Priority.CREATE, rate=SLOW)
    # No priority passed: the top tier reserves successive future tokens.
    first.acquire("acct:op", SLOW, BURST, 5000.0)
    first.acquire("acct:op", SLOW, BURST, 5000.0)
    assert len(sleeps) == 2
    assert 900 < sleeps[0] <= 1000 and 1900 < sleeps[1] <= 2000
