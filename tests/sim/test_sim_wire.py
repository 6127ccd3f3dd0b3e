"""Rate limits, injected faults and the call statistics."""

from __future__ import annotations

import pytest
import requests
from sim_helpers import OUTBOUND, order_body

from bridge.sim.faults import Fault, FaultBook
from bridge.sim.ratelimit import TokenBucket


def test_token_bucket_refills_at_its_rate():
    now = [0.0]
    bucket = TokenBucket(rate=2, burst=3, monotonic=lambda: now[0])
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    now[0] += 0.5
    assert [bucket.take(), bucket.take()] == [True, False]
    now[0] += 100
    assert sum(bucket.take() for _ in range(10)) == 3


def test_burst_above_the_bucket_gets_429(sim, api):
    sim.admin.set_rate_limits(enabled=True)
    answers = [api.summaries() for _ in range(4)]  # getInventorySummaries: 2/s, burst 2
    statuses = [a.status for a in answers]
    assert statuses[:2] == [200, 200] and 429 in statuses[2:]
    throttled = next(a for a in answers if a.status == 429)
    assert throttled.body == {"errors": [{
        "code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource.",
        "details": ""}]}


def test_create_burst_is_thirty(sim, api):
    sim.admin.set_stock({"SKU-A": 1000})
    sim.admin.set_rate_limits(enabled=True, limits={"createFulfillmentOrder": (0.001, 30)})
    statuses = [api.create(order_body(f"burst-{n}")).status for n in range(31)]
    assert statuses == [200] * 30 + [429]


def test_refill_through_the_server_matches_the_configured_rate(sim, api, monkeypatch):
    """The limiter's clock is swapped for a hand-driven one, so the refill is measured
    exactly: no sleeping, no wall-clock tolerance."""
    now = [0.0]
    monkeypatch.setattr(sim.simulator.limiter, "monotonic", lambda: now[0])
    # Reconfiguring rebuilds the buckets, now on the hand-driven clock.
    sim.admin.set_rate_limits(enabled=True, limits={"getInventorySummaries": (4, 3)})
    first = [api.summaries() for _ in range(5)]
    assert [a.status for a in first] == [200, 200, 200, 429, 429]
    assert first[0].headers["x-amzn-RateLimit-Limit"] == "4.0"  # the configured rate
    now[0] += 0.25  # 4 per second: one token
    assert [api.summaries().status for _ in range(2)] == [200, 429]
    now[0] += 60  # a long pause fills the bucket up to its burst, no further
    assert [api.summaries().status for _ in range(4)] == [200, 200, 200, 429]
    # Calling every 1/16 s for 10 s gets exactly rate x 10 answers through.
    passed = 0
    for _ in range(160):
        now[0] += 0.0625
        passed += api.summaries().status == 200
    assert passed == 40


def test_reset_puts_the_configured_limits_back(sim, api):
    sim.admin.set_rate_limits(enabled=True, limits={"getInventorySummaries": (0.5, 9)})
    sim.admin.reset()
    limits = sim.admin.rate_limits()
    assert limits["enabled"] is False  # as the session's simulator was configured
    assert limits["limits"]["getInventorySummaries"] == {"rate": 2.0, "burst": 2}
    assert limits["limits"]["createFulfillmentOrder"] == {"rate": 2.0, "burst": 30}


def test_rate_limit_header_keeps_small_rates(sim, api):
    sim.admin.set_rate_limits(limits={"listAllFulfillmentOrders": (0.0167, 30)})
    assert api.list_all().headers["x-amzn-RateLimit-Limit"] == "0.0167"


def test_rate_limits_off_never_throttle(sim, api):
    assert all(api.summaries().status == 200 for _ in range(10))


def test_fault_answers_with_status_then_disarms(sim, api):
    sim.admin.set_stock({"SKU-A": 10})
    sim.admin.add_fault("createFulfillmentOrder", status=503, count=2)
    statuses = [api.create(order_body(f"f-{n}")).status for n in range(3)]
    assert statuses == [503, 503, 200]
    assert [o["sellerFulfillmentOrderId"] for o in sim.admin.orders()] == ["f-2"]
    assert sim.admin.stats()["createFulfillmentOrder"] == {
        "calls": 3, "statuses": {"503": 2, "200": 1}}


def test_wildcard_fault_and_clear(sim, api):
    sim.admin.add_fault("*", status=500)
    assert api.list_all().status == 500
    assert api.summaries().status == 500
    sim.admin.clear_faults()
    assert api.list_all().status == 200


def test_drop_after_act_creates_the_order_but_the_answer_is_lost(sim, api, monkeypatch):
    monkeypatch.setattr(sim.simulator.config, "drop_seconds", 2)
    sim.admin.set_stock({"SKU-A": 10})
    sim.admin.add_fault("createFulfillmentOrder", drop_after_act=True, count=1)
    with pytest.raises(requests.Timeout):
        api.session.post(f"{sim.base_url}{OUTBOUND}/fulfillmentOrders",
                         json=order_body("lost-1"), timeout=0.5)
    # The client's recovery: read back instead of creating again.
    assert api.get("lost-1").status == 200
    assert sim.admin.calls("createFulfillmentOrder") == 1
    assert len(sim.admin.orders()) == 1


def test_latency_fault_delays(sim, api):
    sim.admin.add_fault("listAllFulfillmentOrders", status=None, latency=0.3, count=1)
    with pytest.raises(requests.Timeout):
        api.session.get(f"{sim.base_url}{OUTBOUND}/fulfillmentOrders", timeout=0.1)
    assert api.list_all().status == 200


def test_fault_dice_follow_the_rate():
    book = FaultBook(seed=7)
    book.add(Fault("getFulfillmentOrder", status=500, rate=0.5))
    failures = sum(book.decide("getFulfillmentOrder").error is not None for _ in range(1000))
    assert 400 < failures < 600
    assert book.decide("createFulfillmentOrder").error is None


def test_a_seed_replays_the_same_failures(sim, api):
    def run() -> list[int]:
        sim.admin.add_fault("listAllFulfillmentOrders", status=500, rate=0.5)
        return [api.list_all().status for _ in range(20)]

    sim.admin.reset(seed=42)
    first = run()
    sim.admin.reset(seed=42)
    assert run() == first
    assert set(first) == {200, 500}


def test_admin_rejects_bad_faults(sim):
    response = requests.post(f"{sim.base_url}/_sim/faults", json={"operation": "noSuchOp"})
    assert response.status_code == 400
    response = requests.post(f"{sim.base_url}/_sim/faults",
                             json={"operation": "*", "rate": 2})
    assert response.status_code == 400
