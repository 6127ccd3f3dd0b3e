"""The generic SQL cart adapter: for a merchant whose order system is their own database
(and for bridge's demo store). Tables and columns come from the storefront's `[cart]`
settings (`settings`); the statements live in `client`, row conversion in `mapping`.

Reads: the orders changed in a window, filtered and ordered on the mapped updated-at
column, with their lines in one more statement per page.
Writes: a shipments row per package (once per order and tracking number), an upsert per
SKU in the stock table, a row in the notes table. Lifecycle writes: a cancel sets the
mapped cancelled column (lines: the lines table's cancelled-quantity column) with a note
giving the reason, in one transaction; delivery milestones and returns are notes carrying
an event key, written once per key. No write refunds money or restocks anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, ClassVar

import sqlalchemy as sa

from bridge import secrets
from bridge.carts import lifecycle_words as words
from bridge.carts.contract import (
    CancelRequest,
    Capabilities,
    DeliveryUpdate,
    ReturnUpdate,
    SecretResolver,
)
from bridge.carts.sql.client import SqlClient
from bridge.carts.sql.mapping import (
    cart_line,
    cart_order,
    encode_page_token,
    note_event_values,
    note_values,
    shipment_values,
    stock_levels,
)
from bridge.carts.sql.settings import SqlMapping, check_settings, check_url
from bridge.domain.model import CartOrder, OrderPage, PackageShipment, StockLevel
from bridge.errors import BridgeError, ConfigError, FatalError, NeedsAttentionError
from bridge.logging import get_logger

log = get_logger(__name__)


class SqlCartAdapter:
    platform: ClassVar[str] = "sql"
    capabilities: ClassVar[Capabilities] = Capabilities(
        partial_fulfillment=True, notes=True, bulk_stock=True, webhooks=False, stock_batch_size=500,
        # One bound parameter per SKU: 999 is SQLite's limit before 3.32, the lowest of
        # the databases bridge supports.
        stock_read_batch_size=999, conditional_stock_writes=False,
        # Where the lines table has a cancelled-quantity column (the demo store's has);
        # without one `cancel_order` with lines returns False and turns this off for the
        # store, so the caller's note asks for the lines to be cancelled by hand.
        cancel_lines=True,
    )

    def __init__(
        self, url: str, mapping: SqlMapping | None = None, connect_timeout: float = 10
    ) -> None:
        self.sql = SqlClient(url, mapping or SqlMapping.from_settings({}), connect_timeout)

    @property
    def mapping(self) -> SqlMapping:
        """The mapping in use: soft-default columns the tables lack are dropped once read."""
        return self.sql.mapping

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

    # -- lifecycle writes (never a refund or a restock)

    def cancel_order(self, order: CartOrder, request: CancelRequest) -> bool:
        """Whole order: the cancelled column set as `cancelled_values` says, unless the
        row already shows it cancelled. Lines: each line's cancelled quantity raised to
        the one requested. Either way a note gives the reason, in the same transaction.
        False when nothing was written, or (lines) the mapping has no column to write;
        NeedsAttentionError `cart_cannot_cancel` when no cancelled column is mapped."""
        note = note_values(order, words.cancel_sentence(request))
        if request.lines is None:
            written = self.sql.cancel_order_row(order.order_id, note)
            target = "cart.orders.cancelled"
        else:
            quantities: dict[str, int] = {}
            for line in request.lines:
                quantities[line.line_id] = quantities.get(line.line_id, 0) + line.quantity
            written = self.sql.cancel_line_rows(order.order_id, quantities, note)
            target = "cart.lines.cancelled_quantity"
        if written is None:
            log.warning("cart_cancel_not_mapped", order_id=order.order_id, setting=target)
            if request.lines is None:
                raise NeedsAttentionError(
                    "cart_cannot_cancel",
                    f"order {order.number} was not cancelled in the shop: no column is mapped "
                    f"to {target}; map it, or cancel the order by hand")
            # This store cannot cancel lines: say so to the caller, whose note then asks
            # for them to be cancelled by hand instead of calling them cancelled.
            self.capabilities = replace(  # type: ignore[misc]  # an instance value on purpose
                type(self).capabilities, cancel_lines=False)
            return False
        return written

    def push_delivery(self, order: CartOrder, update: DeliveryUpdate) -> bool:
        """A note naming the package's carrier, tracking number and milestone, once per
        (tracking number, milestone)."""
        return self._event_note(order, words.delivery_sentence(update), words.delivery_key(update))

    def push_return(self, order: CartOrder, update: ReturnUpdate) -> bool:
        """A note with the authorization, lines, label URL and reason (authorized) or the
        units back and their condition (received), once per (authorization, stage)."""
        return self._event_note(order, words.return_sentence(update), words.return_key(update))

    def _event_note(self, order: CartOrder, text: str, key: str) -> bool:
        return self.sql.insert_event_note(
            note_event_values(order, text, key), words.with_key(text, key))
