"""The SP-API operations bridge calls: method, path and the usage plan (rate, burst)
from the official models' "Usage Plan" tables. Sellers may be granted more; the
`x-amzn-RateLimit-Limit` header then raises the rate at run time."""

from __future__ import annotations

from dataclasses import dataclass

OUTBOUND = "/fba/outbound/2020-07-01"
OUTBOUND_2026 = "/fulfillment/outbound/2026-07-04"
INVENTORY = "/fba/inventory/v1"


@dataclass(frozen=True)
class Operation:
    name: str           # the model's operationId, also the rate-limit bucket's name
    method: str
    path: str           # with {placeholders} for path parameters
    rate: float         # requests per second
    burst: int          # bucket size

    @property
    def idempotent(self) -> bool:
        # Reads can be repeated after an unknown outcome; writes must be read back first.
        return self.method == "GET"


OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in (
        Operation("getFulfillmentPreview", "POST", f"{OUTBOUND}/fulfillmentOrders/preview", 2, 30),
        Operation("deliveryOffers", "POST", f"{OUTBOUND}/deliveryOffers", 5, 30),
        Operation("listAllFulfillmentOrders", "GET", f"{OUTBOUND}/fulfillmentOrders", 2, 30),
        Operation("createFulfillmentOrder", "POST", f"{OUTBOUND}/fulfillmentOrders", 2, 30),
        Operation("getPackageTrackingDetails", "GET", f"{OUTBOUND}/tracking", 2, 30),
        Operation("listReturnReasonCodes", "GET", f"{OUTBOUND}/returnReasonCodes", 2, 30),
        Operation(
            "createFulfillmentReturn", "PUT",
            f"{OUTBOUND}/fulfillmentOrders/{{sellerFulfillmentOrderId}}/return", 2, 30,
        ),
        Operation(
            "getFulfillmentOrder", "GET",
            f"{OUTBOUND}/fulfillmentOrders/{{sellerFulfillmentOrderId}}", 2, 30,
        ),
        Operation(
            "updateFulfillmentOrder", "PUT",
            f"{OUTBOUND}/fulfillmentOrders/{{sellerFulfillmentOrderId}}", 2, 30,
        ),
        Operation(
            "cancelFulfillmentOrder", "PUT",
            f"{OUTBOUND}/fulfillmentOrders/{{sellerFulfillmentOrderId}}/cancel", 2, 30,
        ),
        Operation("getFeatures", "GET", f"{OUTBOUND}/features", 2, 30),
        Operation("getFeatureInventory", "GET", f"{OUTBOUND}/features/inventory/{{featureName}}", 2, 30),
        Operation(
            "getFeatureSKU", "GET",
            f"{OUTBOUND}/features/inventory/{{featureName}}/{{sellerSku}}", 2, 30,
        ),
        Operation("getInventorySummaries", "GET", f"{INVENTORY}/summaries", 2, 2),
        # Fulfillment Outbound v2026-07-04 (bridge.fba.v2026)
        Operation("createOrder", "POST", f"{OUTBOUND_2026}/orders", 2, 30),
        Operation("listOrders", "GET", f"{OUTBOUND_2026}/orders", 2, 30),
        Operation("getOrder", "GET", f"{OUTBOUND_2026}/orders/{{orderId}}", 2, 30),
        Operation("updateOrder", "PUT", f"{OUTBOUND_2026}/orders/{{orderId}}", 2, 30),
        Operation("cancelOrder", "PUT", f"{OUTBOUND_2026}/orders/{{orderId}}/cancel", 2, 30),
        Operation("getOrderPreview", "POST", f"{OUTBOUND_2026}/previews", 2, 30),
        Operation("getOffers", "POST", f"{OUTBOUND_2026}/offers", 5, 30),
    )
}


# Operations without a usage plan in the model get the most common one.
_DEFAULT_PLAN = (2.0, 30)


def model_operation(operation_id: str) -> Operation:
    """An operation as the official model describes it (method, path, usage plan)."""
    from bridge.spapi_models import operation

    spec = operation(operation_id)
    rate, burst = spec.usage_plan or _DEFAULT_PLAN
    return Operation(operation_id, spec.method, spec.path, rate, burst)
