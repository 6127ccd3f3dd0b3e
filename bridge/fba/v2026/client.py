"""`FbaV2026Client`: the `FulfillmentNetwork` port over Fulfillment Outbound v2026-07-04.

Fulfillment orders are created, read, listed and cancelled through v2026 (createOrder,
getOrder, listOrders, cancelOrder). What v2026 has no operation for stays on 2020-07-01,
inherited from `FbaClient` on the same connection, token and rate-limit buckets:
updateFulfillmentOrder (v2026's updateOrder changes only ship/hold, not the address, speed
or quantities that edits change), package tracking, returns, features, and FBA Inventory.
Returns read the order back through 2020-07-01's getFulfillmentOrder: that relies on one
set of orders behind both versions, which Amazon's documents do not state either way
(docs/outbound-v2026.md). getOrderPreview, getOffers and updateOrder are here as raw
operations."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from bridge.domain.fulfillment import (
    CancelOutcome,
    ChangedOrders,
    FulfillmentOrder,
    FulfillmentOrderRequest,
)
from bridge.errors import NeedsAttentionError, TransientError
from bridge.fba.client import FbaClient, spapi_datetime
from bridge.fba.errors import NotFound
from bridge.fba.fields import malformed, objects, optional_object
from bridge.fba.operations import OPERATIONS
from bridge.fba.v2026 import mapping

API_VERSION = "2026-07-04"


class FbaV2026Client(FbaClient):
    # The FulfillmentNetwork port, where v2026 has the operation

    def create_fulfillment_order(self, request: FulfillmentOrderRequest) -> None:
        """createOrder; 200 (created) and 202 (accepted, validated later) both mean Amazon
        has it. IndeterminateError: it may have; read back, never resend blindly."""
        self._http.call(OPERATIONS["createOrder"],
                        body=mapping.create_order_body(
                            request, request.marketplace_id or self.marketplace_id))

    def fulfillment_order(self, seller_fulfillment_order_id: str) -> FulfillmentOrder | None:
        payload = self.get_order(seller_fulfillment_order_id)
        return None if payload is None else mapping.fulfillment_order(payload)

    def changed_orders(self, since: datetime) -> ChangedOrders:
        return ChangedOrders(tuple(mapping.order_change(order)
                                   for order in self.list_orders(since)))

    def cancel_order(self, seller_fulfillment_order_id: str) -> CancelOutcome:
        try:
            self._http.call(OPERATIONS["cancelOrder"],
                            path_params={"orderId": seller_fulfillment_order_id})
        except NotFound:
            return CancelOutcome.not_found()
        except NeedsAttentionError as refused:  # 400: Amazon is past cancelling
            return CancelOutcome.refused(refused.message)
        return CancelOutcome.cancelled()

    # v2026 operations, raw

    def get_order(self, order_id: str) -> dict[str, Any] | None:
        """The GetOrderResponse, or None if Amazon has no such order."""
        try:
            data = self._http.call(OPERATIONS["getOrder"], path_params={"orderId": order_id})
        except NotFound:
            return None
        if not isinstance(data.get("order"), dict):
            # Never read an empty answer as "no such order": that would send a second create.
            raise malformed("getOrder", "order", "an object", data.get("order"))
        return data

    def list_orders(self, updated_after: datetime) -> Iterator[dict[str, Any]]:
        """Every FulfillmentOrder updated at or after `updated_after`, across pages."""
        base = {"updatedAfter": spapi_datetime(updated_after)}
        params = dict(base)
        seen: set[str] = set()
        while True:
            data = self._http.call(OPERATIONS["listOrders"], params=params)
            yield from objects(data, "orders", "listOrders")
            token = optional_object(data, "pagination", "listOrders").get("nextToken")
            if not token:
                return
            if not isinstance(token, str):
                raise malformed("listOrders", "pagination.nextToken", "a string", token)
            if token in seen:  # a token that comes back would loop forever
                raise TransientError("Amazon repeated a nextToken of listOrders")
            seen.add(token)
            # The model: call again "with this token and ... the same arguments".
            params = {**base, "pageToken": token}

    def set_fulfillment_action(self, order_id: str, ship: bool) -> None:
        """updateOrder: SHIP releases a held order, HOLD holds one not yet picked."""
        self._http.call(OPERATIONS["updateOrder"], path_params={"orderId": order_id},
                        body={"fulfillmentConfiguration": {"action": "SHIP" if ship else "HOLD"}})

    def order_preview(self, body: dict[str, Any]) -> dict[str, Any]:
        """getOrderPreview with a GetOrderPreviewRequest body: the GetOrderPreviewResponse."""
        return self._http.call(OPERATIONS["getOrderPreview"], body=body)

    def offers(self, body: dict[str, Any]) -> dict[str, Any]:
        """getOffers with a GetOffersRequest body: the GetOffersResponse."""
        return self._http.call(OPERATIONS["getOffers"], body=body)


def client_class(outbound_api: str) -> type[FbaClient]:
    """The client for a storefront's `outbound_api` setting."""
    return FbaV2026Client if outbound_api == API_VERSION else FbaClient
