"""Timestamps as platforms send them, made UTC-aware for bridge."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def parse_utc(value: Any) -> datetime | None:
    """An ISO-8601 text (with `T` or a space, `Z`, an offset, or none: then it is UTC,
    as the platforms' `*_gmt` and REST timestamps are) as an aware UTC datetime; None
    when the value is missing or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
