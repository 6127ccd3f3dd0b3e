"""The SQL cart adapter (a merchant's own order database); see `adapter` for what it does."""

from bridge.carts.sql.adapter import SqlCartAdapter

__all__ = ["SqlCartAdapter"]
