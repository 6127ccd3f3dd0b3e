"""Whether an order's date is one a real sale can have: not before 2000 (a placeholder or a
broken import) and, when the receiver's clock is known, not beyond a day ahead of it."""

from __future__ import annotations

from datetime import UTC, datetime

from bridge.domain.limits import EARLIEST_ORDER_DATE, MAX_ORDER_DATE_AHEAD
from bridge.errors import NeedsAttentionError


def aware(moment: datetime) -> datetime:
    """A naive time is read as UTC (what carts that omit the zone mean)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def check_order_date(created_at: datetime, now: datetime | None = None) -> None:
    """NeedsAttentionError("bad_date") for a creation time no real order has."""
    moment = aware(created_at)
    if moment < EARLIEST_ORDER_DATE:
        raise NeedsAttentionError(
            "bad_date",
            f"the order's creation date {moment.date().isoformat()} is before "
            f"{EARLIEST_ORDER_DATE.year}; check the order's date in the shop",
        )
    if now is not None and moment - aware(now) > MAX_ORDER_DATE_AHEAD:
        raise NeedsAttentionError(
            "bad_date",
            f"the order's creation date {moment.date().isoformat()} is more than a day ahead "
            "of bridge's clock; check the shop's clock and time zone",
        )
