"""When a submission that keeps failing for passing reasons (throttled, 5xx, no
connection) is called stalled. Retries go on either way; the budget only decides when
a person is told that they have not got anywhere."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RetryBudget:
    seconds: float = 3600
    attempts: int = 20


def over_budget(first_failed_at: datetime | None, attempts: int, now: datetime,
                budget: RetryBudget) -> str | None:
    """Why the failures so far are over the budget, or None while they are within it.
    `attempts` counts every submission attempt of the order, the failing ones included."""
    if first_failed_at is None:
        return None
    failing_for = now - first_failed_at
    if failing_for > timedelta(seconds=budget.seconds):
        return (f"failing for {duration(failing_for)}, longer than "
                f"{duration(timedelta(seconds=budget.seconds))}")
    if attempts > budget.attempts:
        return f"{attempts} attempts, more than {budget.attempts}"
    return None


def is_stalled(first_failed_at: datetime | None, attempts: int, now: datetime,
               budget: RetryBudget) -> bool:
    return over_budget(first_failed_at, attempts, now, budget) is not None


def duration(span: timedelta) -> str:
    """`1 h 2 min`, `3 min 4 s`, `5 s`: the two largest units are enough for a person."""
    seconds = max(0, int(span.total_seconds()))
    parts = [(seconds // 86400, "d"), (seconds // 3600 % 24, "h"),
             (seconds // 60 % 60, "min"), (seconds % 60, "s")]
    while len(parts) > 1 and parts[0][0] == 0:
        parts.pop(0)
    return " ".join(f"{value} {unit}" for value, unit in parts[:2])
