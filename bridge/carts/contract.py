"""The cart adapter contract. An adapter only translates between one platform and
bridge's domain types; cursors, retries of whole flows and state live in the services.

Errors: an adapter raises only the error tree of `bridge.errors` (classified at its
HTTP or SQL edge): TransientError for throttling and outages, FatalError for refused
credentials, NeedsAttentionError for data the platform rejects."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Protocol, runtime_checkable

from bridge.domain.model import CartOrder, OrderPage, PackageShipment, ShippedLine, StockLevel


@dataclass(frozen=True)
class Capabilities:
    partial_fulfillment: bool = True
    notes: bool = True
    bulk_stock: bool = True
    webhooks: bool = False
    # Largest number of stock levels one `set_stock` call sends to the platform.
    stock_batch_size: int = 100
    # Largest number of SKUs one platform request of `get_stock` reads.
    stock_read_batch_size: int = 100
    # `set_stock` honours `StockLevel.expected` (the platform compares and refuses).
    conditional_stock_writes: bool = False
    # `cancel_order` with lines cancels just those lines in the shop (else the lines are
    # named in a note and the order stays open for the merchant).
    cancel_lines: bool = False


class Milestone(StrEnum):
    """Where a shipped package ended up, as the shop is told. Final: polling stops."""

    DELIVERED = "delivered"
    DELIVERY_FAILED = "delivery_failed"        # lost, damaged, undeliverable
    RETURNED_TO_SENDER = "returned_to_sender"  # refused or unclaimed, back at Amazon


@dataclass(frozen=True)
class DeliveryUpdate:
    """One package's milestone: which package (by its carrier and tracking number, as
    `push_shipment` wrote it), what happened, when, and the carrier's own words."""

    package: PackageShipment
    milestone: Milestone
    happened_at: datetime
    detail: str = ""


class ReturnStage(StrEnum):
    AUTHORIZED = "authorized"  # Amazon accepted the return: authorization and label exist
    RECEIVED = "received"      # the units are back at Amazon (condition per line)


@dataclass(frozen=True)
class ReturnUpdate:
    """A customer return as the shop is told about it. `authorization_id` is Amazon's
    return authorization (RMA) id; each stage is written once per authorization."""

    authorization_id: str
    stage: ReturnStage
    lines: tuple[ShippedLine, ...]
    label_url: str = ""
    reason: str = ""           # the return reason code's description
    condition: str = ""        # at RECEIVED: how Amazon found the units (Sellable, Defective…)


@dataclass(frozen=True)
class CancelRequest:
    """Amazon will not ship some or all of an order. `lines` None: the whole order;
    otherwise the cart lines (with the quantity not shipped) to cancel."""

    reason: str                # one sentence for the merchant (and the customer, if told)
    lines: tuple[ShippedLine, ...] | None = None
    notify_customer: bool = False


SecretResolver = Callable[[str], str]


@runtime_checkable
class CartAdapter(Protocol):
    platform: ClassVar[str]
    capabilities: ClassVar[Capabilities]

    @classmethod
    def check_settings(cls, settings: dict[str, Any]) -> list[tuple[str, str]]:
        """Problems with the storefront's `[cart]` table, as (key, what is wrong)."""
        ...

    @classmethod
    def from_settings(cls, settings: dict[str, Any], secret: SecretResolver) -> CartAdapter:
        """Build the adapter; `secret` resolves env:/file: references."""
        ...

    def fetch_orders(
        self, since: datetime, until: datetime, page: str | None, limit: int
    ) -> OrderPage:
        """Orders created or changed in the half-open window [since, until), oldest
        change first, `limit` at most; `page` is the token of the previous page's
        `next_page` (None for the first)."""
        ...

    def push_shipment(self, order: CartOrder, shipment: PackageShipment, notify: bool) -> bool:
        """Mark the shipped lines fulfilled with carrier and tracking. Idempotent: when
        the cart already has this tracking number for the order, do nothing and return
        False; return True when it was written now."""
        ...

    def get_stock(self, skus: Sequence[str]) -> dict[str, int]:
        """The shop's current sellable quantity of each SKU, read in the platform's
        cheapest batches. SKUs the shop does not have (or does not track stock for)
        are left out of the answer."""
        ...

    def set_stock(self, levels: Sequence[StockLevel]) -> list[str]:
        """Set absolute sellable quantities, batched as the platform allows. Where the
        platform can write conditionally (`capabilities.conditional_stock_writes`), a
        level with `expected` is written only while the shop still shows that quantity;
        the SKUs refused as stale are returned, for the caller to re-read and retry.
        Other platforms write unconditionally and return []."""
        ...

    def add_note(self, order: CartOrder, text: str) -> None:
        """Tell the merchant something about an order, where the platform has notes."""
        ...

    def cancel_order(self, order: CartOrder, request: CancelRequest) -> bool:
        """Cancel the order in the shop (no refund is issued: money stays the merchant's
        call), or only `request.lines` where `capabilities.cancel_lines`; a platform
        without line cancels leaves the order open and returns False (the caller then
        names the lines in a note). Idempotent: an order (or line quantity) the shop
        already shows cancelled is left alone and False returned; True when written now."""
        ...

    def push_delivery(self, order: CartOrder, update: DeliveryUpdate) -> bool:
        """Tell the shop where a shipped package ended up: a native delivery event where
        the platform has one (Shopify's fulfillment events), else a shipment comment or
        an order note naming the package's carrier and tracking number. Idempotent per
        (tracking number, milestone): False when the shop already shows it."""
        ...

    def push_return(self, order: CartOrder, update: ReturnUpdate) -> bool:
        """Tell the shop about a customer return: at AUTHORIZED the authorization id,
        lines and label URL; at RECEIVED the units back and their condition. Idempotent
        per (authorization id, stage): False when the shop already shows it."""
        ...

    def close(self) -> None:
        ...


class ProbingCartAdapter(CartAdapter, Protocol):
    """An adapter that can also check itself against the live shop. `probe` is optional:
    callers look it up with `getattr(cart, "probe", None)`, so adapters without it keep
    working (`bridge config check --online` then says it has no online check for them)."""

    def probe(self) -> list[tuple[str, str]]:
        """Problems that would stop the adapter from working, as (key, what is wrong and
        what to do), found with cheap read-only calls: credentials accepted, scopes or
        permissions present, the configured location or source there and active, platform
        prerequisites. [] when nothing is wrong. Never writes to the shop."""
        ...
