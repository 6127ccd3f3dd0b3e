"""The retry budget: when a submission that keeps failing for passing reasons is
called stalled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bridge.domain.retry_budget import RetryBudget, duration, is_stalled, over_budget

T0 = datetime(2026, 12, 14, 9, 0, tzinfo=UTC)
BUDGET = RetryBudget(seconds=3600, attempts=20)


def test_an_order_that_never_failed_is_not_stalled_however_often_it_was_tried():
    assert over_budget(None, 500, T0 + timedelta(days=3), BUDGET) is None


@pytest.mark.parametrize("elapsed, attempts", [(0, 1), (3600, 20), (1800, 5)])
def test_within_the_budget_it_is_not_stalled(elapsed, attempts):
    assert not is_stalled(T0, attempts, T0 + timedelta(seconds=elapsed), BUDGET)


def test_failing_longer_than_the_budget_stalls_it_whatever_the_attempts():
    why = over_budget(T0, 2, T0 + timedelta(seconds=3601), BUDGET)
    assert why is not None and "1 h 0 min" in why


def test_more_attempts_than_the_budget_stalls_it_within_the_time():
    assert over_budget(T0, 20, T0 + timedelta(seconds=60), BUDGET) is None
    why = over_budget(T0, 21, T0 + timedelta(seconds=60), BUDGET)
    assert why == "21 attempts, more than 20"


def test_a_clock_behind_the_first_failure_counts_as_no_time():
    assert not is_stalled(T0, 1, T0 - timedelta(minutes=5), BUDGET)


@pytest.mark.parametrize("seconds, text", [
    (0, "0 s"), (59, "59 s"), (65, "1 min 5 s"), (3600, "1 h 0 min"), (90061, "1 d 1 h"),
])
def test_durations_read_in_the_two_largest_units(seconds, text):
    assert duration(timedelta(seconds=seconds)) == text
