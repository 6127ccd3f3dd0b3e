"""Money amounts as carts send them: text or numbers, read as decimals."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any


def decimal_or_none(value: Any) -> Decimal | None:
    """A money value ("361.9500", " 12.5", 12, 9.99) as a finite Decimal; None when it
    holds no number (missing, a boolean, text that is not one, NaN or infinity)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None
