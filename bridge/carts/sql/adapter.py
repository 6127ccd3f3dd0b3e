"""The generic SQL cart adapter: for a merchant whose order system is their own database
(and for bridge's demo store). Tables and columns come from the storefront's `[cart]`
settings (`settings`); the statements live in `client`, row conversion in `mapping`.

Reads: the orders changed in a window, filtered and ordered on the mapped updated-at
column, with their lines in one more statement per page.
Writes: a shipments row per package (once per order and tracking number), an upsert per
SKU in the stock table, a row in the notes table.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

import sqlalchemy as sa

from bridge import secrets
from bridge.carts.contract import Capabilities, SecretResolver
from bridge.carts.sql.client import SqlClient
from bridge.carts.sql.mapping import (
    cart_line,
    cart_order,
    encode_page_token,
    note_values,
    shipment_values,
    stock_levels,
)
from bridge.carts.sql.settings import SqlMapping, check_settings, check_url
from bridge.domain.model import CartOrder, OrderPage, PackageShipment, StockLevel
from bridge.errors import BridgeError, ConfigError, FatalError


class SqlCartAdapter:
    platform: ClassVar[str] = "sql"
    capabilities: ClassVar[Capabilities] = Capabilities(
        partial_fulfillment=True, notes=True, bulk_stock=True, webhooks=False, stock_batch_size=500,
        # One bound parameter per SKU: 999 is SQLite's limit before 3.32, the lowest of
        # the databases bridge supports.
        stock_read_batch_size=999, conditional_stock_writes=False,
    )

    def __init__(
        self, url: str, mapping: SqlMapping | None = None, connect_timeout: float = 10
    ) -> None:
        self.mapping = mapping or SqlMapping.from_settings({})
        self.sql = SqlClient(url, self.mapping, connect_timeout)

    # -- construction

    @classmethod
    def check_settings(cls, settings: dict[str, Any]) -> list[tuple[str, str]]:
        return check_settings(settings)

    @classmethod
    def from_settings(cls, settings: dict[str, Any], secret: SecretResolver) -> SqlCartAdapter:
        problems = check_settings(settings)
        if problems:
            raise ConfigError([("-", f"cart.{key}", what) for key, what in problems])
        url = settings["url"]
        if secrets.is_reference(url):
            try:
                url = secret(url)
            except ValueError as exc:
                raise ConfigError([("-", "cart.url", str(exc))]) from None
            # A referenced URL is where the password belongs; it must still be a URL.
            if check_url(url, password_allowed=True) or secrets.is_reference(url):
                what = "the reference does not hold a valid database URL"
                raise ConfigError([("-", "cart.url", what)])
        return cls(
            url,
            SqlMapping.from_settings(settings),
            connect_timeout=settings.get("connect_timeout_seconds", 10),
        )

    def __repr__(self) -> str:
        return f"SqlCartAdapter({self.sql.display_url})"

    # Statement listeners (tests, benchmarks) attach to the engine; error checks classify.
    @property
    def _engine(self) -> sa.Engine:
        return self.sql.engine

    def _classify(self, exc: sa.exc.DBAPIError, doing: str) -> BridgeError:
        return self.sql.classify(exc, doing)

    # -- online check

    def probe(self) -> list[tuple[str, str]]:
        """Every mapped table and column exists: a wrong name would otherwise surface as
        a paused storefront at the first poll or write that touches it."""
        try:
            return self.sql.schema_problems()
        except FatalError as exc:
            return [("url", exc.message)]

    def close(self) -> None:
        self.sql.close()

    # -- orders

    def fetch_orders(
        self, since: datetime, until: datetime, page: str | None, limit: int
    ) -> OrderPage:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        rows, lines, more = self.sql.order_rows(since, until, page, limit)
        orders = [
            cart_order(row, [cart_line(line) for line in lines.get(str(row["f_id"]), ())],
                       since, self.mapping)
            for row in rows
        ]
        next_page = encode_page_token(rows[-1]["f_updated_at"], rows[-1]["f_id"]) if more else None
        return OrderPage(orders=orders, next_page=next_page)

    # -- writing back

    def push_shipment(self, order: CartOrder, shipment: PackageShipment, notify: bool) -> bool:
        return self.sql.insert_shipment(shipment_values(order, shipment, notify))

    def get_stock(self, skus: Sequence[str]) -> dict[str, int]:
        wanted = list(dict.fromkeys(skus))
        if not wanted:
            return {}
        size = self.capabilities.stock_read_batch_size
        batches = [wanted[start : start + size] for start in range(0, len(wanted), size)]
        column = self.mapping.stock["quantity"]
        found: dict[str, int] = {}
        for batch, rows in zip(batches, self.sql.stock_rows(batches), strict=True):
            found.update(stock_levels(rows, batch, column))
        return found

    def set_stock(self, levels: Sequence[StockLevel]) -> list[str]:
        # Last level per SKU wins; one statement must not touch a row twice. Writes are
        # unconditional (`expected` is not compared), so nothing is ever refused as stale.
        latest = {level.sku: level.quantity for level in levels}
        items = list(latest.items())
        if items:
            self.sql.write_stock(items, self.capabilities.stock_batch_size)
        return []

    def add_note(self, order: CartOrder, text: str) -> None:
        self.sql.insert_note(note_values(order, text))
