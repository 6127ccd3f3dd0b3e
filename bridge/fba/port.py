"""The port services use to reach Amazon's fulfillment network. `FbaClient` implements it
over the SP-API; `bridge.fba.fake.FakeFulfillmentNetwork` in memory, for unit tests. A
contract test runs the same cases against both, so the fake cannot drift from the wire.

Errors are those of `bridge.errors`: TransientError (throttled, down; nothing done),
IndeterminateError (a write may have been done: read back), NeedsAttentionError (Amazon
refused the request), FatalError (credentials refused), MalformedAnswer (a wrong shape)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from bridge.domain.fulfillment import CancelOutcome, ChangedOrders, FulfillmentOrder, InventoryLevel


@runtime_checkable
class FulfillmentNetwork(Protocol):
    def create_fulfillment_order(self, request: dict[str, Any]) -> None:
        """Send a CreateFulfillmentOrderRequest body as the domain layer built it.
        IndeterminateError: Amazon may have created it; read back, never resend blindly."""

    def fulfillment_order(self, seller_fulfillment_order_id: str) -> FulfillmentOrder | None:
        """The order as Amazon has it now, or None when Amazon has no such order."""

    def changed_orders(self, since: datetime) -> ChangedOrders:
        """Every order whose status changed at or after `since` (Amazon's clock)."""

    def cancel_order(self, seller_fulfillment_order_id: str) -> CancelOutcome:
        """Ask Amazon to cancel; a refusal (too late) is an outcome, not an error."""

    def inventory_levels(self, since: datetime | None = None) -> list[InventoryLevel]:
        """SKUs whose inventory changed at or after `since`; all of them without it (a
        SKU a full read leaves out has no stock)."""
