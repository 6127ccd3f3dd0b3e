"""Helpers for the simulator's tests: an SP-API caller that checks every answer against
the models, and request bodies."""

from __future__ import annotations

from dataclasses import dataclass

import requests

from bridge.sim.config import SimConfig
from bridge.spapi_models import validate_response

OUTBOUND = "/fba/outbound/2020-07-01"
V2026 = "/fulfillment/outbound/2026-07-04"
INVENTORY = "/fba/inventory/v1"
MARKETPLACE = "ATVPDKIKX0DER"

_DEFAULTS = SimConfig()
# Received → Planning → Processing → Complete, in the simulator's default seconds.
LIFECYCLE = _DEFAULTS.received_seconds + _DEFAULTS.planning_seconds + _DEFAULTS.processing_seconds


@dataclass
class Answer:
    status: int
    body: dict
    headers: requests.structures.CaseInsensitiveDict


class SpApi:
    """Calls one operation and checks the wire contract on every answer: a request id,
    a JSON body that matches the model for that operation and status, and the errors
    shape for every error."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers["x-amz-access-token"] = token

    def call(self, operation_id: str, method: str, path: str, **kwargs) -> Answer:
        kwargs.setdefault("timeout", 10)
        response = self.session.request(method, self.base_url + path, **kwargs)
        assert response.headers.get("x-amzn-RequestId"), "every answer has a request id"
        body = response.json()
        validate_response(operation_id, response.status_code, body)
        if response.status_code >= 400:
            assert_errors_shape(body)
        return Answer(response.status_code, body, response.headers)

    # Shorthands for the operations the tests use most.
    def create(self, body: dict) -> Answer:
        return self.call("createFulfillmentOrder", "POST", f"{OUTBOUND}/fulfillmentOrders",
                         json=body)

    def get(self, order_id: str) -> Answer:
        return self.call("getFulfillmentOrder", "GET", f"{OUTBOUND}/fulfillmentOrders/{order_id}")

    def cancel(self, order_id: str) -> Answer:
        return self.call("cancelFulfillmentOrder", "PUT",
                         f"{OUTBOUND}/fulfillmentOrders/{order_id}/cancel")

    def list_all(self, **params) -> Answer:
        return self.call("listAllFulfillmentOrders", "GET", f"{OUTBOUND}/fulfillmentOrders",
                         params=params)

    def tracking(self, package_number) -> Answer:
        return self.call("getPackageTrackingDetails", "GET", f"{OUTBOUND}/tracking",
                         params={"packageNumber": package_number})

    def summaries(self, **params) -> Answer:
        query = {"granularityType": "Marketplace", "granularityId": MARKETPLACE,
                 "marketplaceIds": MARKETPLACE, **params}
        return self.call("getInventorySummaries", "GET", f"{INVENTORY}/summaries", params=query)


def assert_errors_shape(body: dict) -> None:
    assert set(body) == {"errors"}, body
    assert body["errors"], body
    for error in body["errors"]:
        assert isinstance(error["code"], str) and error["code"]
        assert isinstance(error["message"], str) and error["message"]
        assert isinstance(error.get("details", ""), str)


def sample_orders(sim, api: SpApi) -> str:
    """Orders "held" (on Hold), "shipped" and "fresh" (just received), of SKU-A; SKU-B is
    known but out of stock. Returns the shipped order's amazonShipmentId."""
    sim.admin.set_stock({"SKU-A": 50, "SKU-B": 0})
    api.create(order_body("held", fulfillmentAction="Hold"))
    api.create(order_body("shipped"))
    sim.admin.advance(210)
    api.create(order_body("fresh"))
    shipped = api.get("shipped").body["payload"]
    return shipped["fulfillmentShipments"][0]["amazonShipmentId"]


def order_body(order_id: str = "shop-1001", items=None, **overrides) -> dict:
    body = {
        "sellerFulfillmentOrderId": order_id,
        "displayableOrderId": "1001",
        "displayableOrderDate": "2026-01-15T10:00:00Z",
        "displayableOrderComment": "Thank you for your order!",
        "shippingSpeedCategory": "Standard",
        "destinationAddress": {"name": "Ada Lovelace", "addressLine1": "1 Main St",
                               "city": "Seattle", "stateOrRegion": "WA",
                               "postalCode": "98101", "countryCode": "US"},
        "items": items if items is not None else [
            {"sellerSku": "SKU-A", "sellerFulfillmentOrderItemId": "line-1", "quantity": 2}],
    }
    body.update(overrides)
    return body
