"""SP-API calls counted in the process that makes them and added to the ledger a minute
at a time: several processes add up into the same rows, old minutes are deleted while
the totals stay, a flush that fails keeps its counts, and the console's 24 h series
has every hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests
import responses
from sqlalchemy import select
from sqlalchemy.pool import StaticPool

from bridge.errors import TransientError
from bridge.fba.http import SpApiHttp
from bridge.fba.operations import OPERATIONS
from bridge.fba.ratelimit import NoLimiter
from bridge.ledger import call_stats
from bridge.ledger.call_stats import SPAPI, Counts, Flusher, HourCalls, Tally
from bridge.ledger.db import make_engine
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import Base, CallStat

T0 = datetime(2026, 12, 7, 8, 30, 15, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


class Clock:
    def __init__(self, at: datetime = T0) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def ledger():
    engine = make_engine("sqlite://", poolclass=StaticPool)
    Base.metadata.create_all(engine)
    yield Ledger(engine, Clock())
    engine.dispose()


def minute_rows(ledger) -> dict[tuple[datetime, str], tuple[int, int, int]]:
    with ledger.transaction() as session:
        return {(row.minute, row.name): (row.calls, row.throttled, row.errors)
                for row in session.scalars(select(CallStat))}


def test_two_processes_add_up_in_the_same_minute_and_in_the_totals(ledger):
    clock = Clock()
    one, two = Tally(clock), Tally(clock)
    one.add(SPAPI, "createFulfillmentOrder", seconds=0.25)
    one.add(SPAPI, "createFulfillmentOrder", throttled=True)
    two.add(SPAPI, "createFulfillmentOrder", error=True, seconds=0.5)
    clock.at += MINUTE
    two.add(SPAPI, "getFulfillmentOrder")
    call_stats.flush(ledger, one.take(), T0)
    call_stats.flush(ledger, two.take(), T0)

    minute = T0.replace(second=0)
    assert minute_rows(ledger) == {
        (minute, "createFulfillmentOrder"): (3, 1, 1),
        (minute + MINUTE, "getFulfillmentOrder"): (1, 0, 0),
    }
    with ledger.transaction() as session:
        assert call_stats.totals(session, SPAPI) == {
            "createFulfillmentOrder": Counts(3, 1, 1, 0.75),
            "getFulfillmentOrder": Counts(1, 0, 0, 0.0),
        }
    assert one.take() == {} and two.take() == {}


def test_minutes_past_the_retention_are_deleted_and_the_totals_kept(ledger):
    old, recent = Tally(Clock(T0 - call_stats.RETENTION - MINUTE)), Tally(Clock(T0))
    old.add(SPAPI, "getFeatures")
    call_stats.flush(ledger, old.take(), T0 - call_stats.RETENTION)
    recent.add(SPAPI, "getFeatures")
    call_stats.flush(ledger, recent.take(), T0)
    assert list(minute_rows(ledger)) == [(T0.replace(second=0), "getFeatures")]
    with ledger.transaction() as session:
        assert call_stats.totals(session, SPAPI)["getFeatures"].calls == 2


def test_a_flush_the_ledger_refuses_keeps_the_counts_for_the_next(ledger):
    tally = Tally(Clock())
    tally.add(SPAPI, "getFeatures")
    # A database without bridge's tables: every write fails.
    broken = Ledger(make_engine("sqlite://", poolclass=StaticPool), Clock())
    Flusher(tally, broken).flush_now()
    Flusher(tally, ledger).flush_now()
    assert minute_rows(ledger) == {(T0.replace(second=0), "getFeatures"): (1, 0, 0)}


def test_calls_per_hour_covers_24_hours_oldest_first_with_empty_hours(ledger):
    tally = Tally(clock := Clock(T0 - timedelta(hours=30)))
    tally.add(SPAPI, "getFeatures")  # before the 24 hours: not shown
    clock.at = T0 - timedelta(hours=23, minutes=20)  # 09:10 the day before: the first hour
    tally.add(SPAPI, "getFeatures", throttled=True)
    clock.at = T0 - timedelta(minutes=20)  # 08:10, the current hour
    tally.add(SPAPI, "getFeatures")
    clock.at = T0
    tally.add(SPAPI, "createFulfillmentOrder", error=True)
    tally.add(call_stats.FLOW, "ingest")  # a flow's run is not an SP-API call
    call_stats.flush(ledger, tally.take(), T0)

    with ledger.transaction() as session:
        hours = call_stats.calls_per_hour(session, T0)
    first = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
    assert [h.hour for h in hours] == [first + timedelta(hours=i) for i in range(24)]
    assert hours[0] == HourCalls(first, 1, 1, 0)
    assert hours[-1] == HourCalls(datetime(2026, 12, 7, 8, 0, tzinfo=UTC), 2, 0, 1)
    assert all(h.calls == 0 for h in hours[1:-1])


class FixedToken:
    def access_token(self) -> str:
        return "token"

    def invalidate(self) -> None:
        pass


def test_every_request_to_amazon_is_counted_with_its_outcome(monkeypatch):
    # A tally of its own: a flusher thread another test left running empties the
    # process-wide one whenever it wakes.
    monkeypatch.setattr(call_stats, "_tally", Tally())
    operation = OPERATIONS["getFulfillmentOrder"]
    url = "https://sellingpartnerapi-na.amazon.com" + operation.path.format(
        sellerFulfillmentOrderId="A1")
    http = SpApiHttp("https://sellingpartnerapi-na.amazon.com", FixedToken(), NoLimiter(),
                     "account", max_retries=2, sleep=lambda _: None, jitter=lambda: 0.0)
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, url, status=429)
        mock.add(responses.GET, url, status=503)
        mock.add(responses.GET, url, json={"payload": {}})
        http.call(operation, path_params={"sellerFulfillmentOrderId": "A1"})
        mock.add(responses.GET, url, body=requests.exceptions.ConnectionError("refused"))
        with pytest.raises(TransientError):
            http.call(operation, path_params={"sellerFulfillmentOrderId": "A1"})
    counted = Counts()
    for (_minute, kind, name), counts in call_stats.process_tally().take().items():
        assert (kind, name) == (SPAPI, "getFulfillmentOrder")
        counted.add(counts)
    # 3 attempts for the first call (429, 503, 200), 3 for the second (no answer).
    assert (counted.calls, counted.throttled, counted.errors) == (6, 1, 4)
