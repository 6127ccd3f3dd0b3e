"""Fixtures for the SP-API client tests: Amazon is faked at the HTTP level with
`responses`, and every request and fake answer is checked against the official models."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jsonschema
import pytest
import requests
import responses

import bridge
from bridge.fba.auth import LwaAuth
from bridge.fba.client import FbaClient
from bridge.fba.ratelimit import NoLimiter

MODELS = Path(bridge.__file__).parent / "spapi_models"
BASE_URL = "https://sellingpartnerapi-na.amazon.com"
TOKEN_URL = "https://api.amazon.com/auth/o2/token"
CLIENT_ID = "amzn1.application-oa2-client.0123456789"
CLIENT_SECRET = "amzn1.oa2-cs.v1.client-secret-value-abc"
REFRESH_TOKEN = "Atzr|refresh-token-value-def"
ACCESS_TOKEN = "Atza|access-token-value-ghi"
MARKETPLACE = "ATVPDKIKX0DER"
OUTBOUND = f"{BASE_URL}/fba/outbound/2020-07-01"
_SPAPI_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


class FakeClock:
    """A monotonic clock that only moves when told to, or when code sleeps on it."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class SpApiModels:
    def __init__(self) -> None:
        self._models = {
            name: json.loads((MODELS / f"{name}.json").read_text())
            for name in ("fulfillmentOutbound_2020-07-01", "fulfillmentOutbound_2026-07-04",
                         "fbaInventory")
        }

    def model(self, name: str) -> dict:
        return self._models[name]

    def validate(self, model: str, definition: str, instance: object) -> None:
        """Raise if `instance` does not match `#/definitions/<definition>` of the model."""
        definitions = self._models[model]["definitions"]
        assert definition in definitions, definition
        schema = {"$ref": f"#/definitions/{definition}", "definitions": definitions}
        jsonschema.Draft4Validator(schema).validate(instance)

    def operation(self, model: str, operation_id: str) -> tuple[str, str, dict]:
        for path, item in self._models[model]["paths"].items():
            for method, op in item.items():
                if isinstance(op, dict) and op.get("operationId") == operation_id:
                    return method.upper(), path, op
        raise KeyError(operation_id)

    def check_query(self, model: str, operation_id: str, url: str) -> dict[str, str]:
        """Check a sent URL's query against the operation's parameters; return the query."""
        _, _, op = self.operation(model, operation_id)
        declared = {p["name"]: p for p in op.get("parameters", []) if p["in"] == "query"}
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        assert set(query) <= set(declared), f"undeclared parameters {set(query) - set(declared)}"
        for name, param in declared.items():
            if param.get("required"):
                assert name in query, f"required parameter {name} missing"
            if name not in query:
                continue
            value = query[name]
            if "enum" in param:
                assert value in param["enum"]
            if param.get("format") == "date-time":
                assert _SPAPI_DATETIME.match(value), value
            if param.get("type") == "integer":
                int(value)
            if param.get("type") == "boolean":
                assert value in ("true", "false")
            if param.get("type") == "array" and "maxItems" in param:
                assert len(value.split(",")) <= param["maxItems"]
        return query


@pytest.fixture(scope="session")
def models() -> SpApiModels:
    return SpApiModels()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


class AmazonFake:
    """The faked Amazon: LWA answers with a token; tests add the SP-API answers with
    `add` (as on `responses`) and read what was sent. Also builds model-shaped bodies."""

    BASE_URL = BASE_URL
    OUTBOUND = OUTBOUND
    INVENTORY = f"{BASE_URL}/fba/inventory/v1"
    TOKEN_URL = TOKEN_URL
    CLIENT_ID = CLIENT_ID
    CLIENT_SECRET = CLIENT_SECRET
    REFRESH_TOKEN = REFRESH_TOKEN
    ACCESS_TOKEN = ACCESS_TOKEN
    MARKETPLACE = MARKETPLACE

    def __init__(self, mock: responses.RequestsMock) -> None:
        self.mock = mock
        self.add = mock.add

    @property
    def spapi_calls(self) -> list:
        return [c for c in self.mock.calls if c.request.url.startswith(BASE_URL)]

    @property
    def token_calls(self) -> list:
        return [c for c in self.mock.calls if c.request.url.startswith(TOKEN_URL)]

    @staticmethod
    def errors(code: str, message: str) -> dict:
        return {"errors": [{"code": code, "message": message}]}

    @staticmethod
    def create_body(order_id: str = "demo-1001") -> dict:
        """A CreateFulfillmentOrderRequest such as the domain layer builds."""
        return {
            "sellerFulfillmentOrderId": order_id,
            "displayableOrderId": "1001",
            "displayableOrderDate": "2026-11-20T10:00:00Z",
            "displayableOrderComment": "Thank you for your order 1001.",
            "shippingSpeedCategory": "Standard",
            "fulfillmentPolicy": "FillOrKill",
            "destinationAddress": {
                "name": "Jane Doe",
                "addressLine1": "1 Main St",
                "city": "Seattle",
                "stateOrRegion": "WA",
                "postalCode": "98101",
                "countryCode": "US",
            },
            "items": [{"sellerSku": "SKU-1", "sellerFulfillmentOrderItemId": "1001-1", "quantity": 2}],
        }

    @classmethod
    def fulfillment_order(cls, order_id: str = "demo-1001", status: str = "Received") -> dict:
        body = cls.create_body(order_id)
        return {
            "sellerFulfillmentOrderId": order_id,
            "marketplaceId": MARKETPLACE,
            "displayableOrderId": body["displayableOrderId"],
            "displayableOrderDate": body["displayableOrderDate"],
            "displayableOrderComment": body["displayableOrderComment"],
            "shippingSpeedCategory": "Standard",
            "destinationAddress": body["destinationAddress"],
            "receivedDate": "2026-11-20T10:00:05Z",
            "fulfillmentOrderStatus": status,
            "statusUpdatedDate": "2026-11-20T10:00:05Z",
        }

    @classmethod
    def get_order_response(cls, order_id: str = "demo-1001") -> dict:
        return {
            "payload": {
                "fulfillmentOrder": cls.fulfillment_order(order_id),
                "fulfillmentOrderItems": [
                    {
                        "sellerSku": "SKU-1",
                        "sellerFulfillmentOrderItemId": "1001-1",
                        "quantity": 2,
                        "cancelledQuantity": 0,
                        "unfulfillableQuantity": 0,
                    }
                ],
                "fulfillmentShipments": [],
                "returnItems": [],
                "returnAuthorizations": [],
            }
        }

    @staticmethod
    def inventory_summary(sku: str, fulfillable: int = 5) -> dict:
        return {
            "asin": "B000000001",
            "fnSku": "X000000001",
            "sellerSku": sku,
            "condition": "NewItem",
            "inventoryDetails": {"fulfillableQuantity": fulfillable},
            "lastUpdatedTime": "2026-11-20T10:00:00Z",
            "productName": f"Product {sku}",
            "totalQuantity": fulfillable,
        }


@pytest.fixture
def amazon():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(
            responses.POST,
            TOKEN_URL,
            json={"access_token": ACCESS_TOKEN, "token_type": "bearer", "expires_in": 3600},
        )
        yield AmazonFake(mock)


@pytest.fixture
def make_client(clock):
    def build(limiter=None, max_retries: int = 3, **options) -> FbaClient:
        session = requests.Session()
        auth = LwaAuth(TOKEN_URL, CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, session, 5.0, clock=clock)
        return FbaClient(
            BASE_URL,
            MARKETPLACE,
            auth,
            limiter or NoLimiter(),
            "sellingpartnerapi-na.amazon.com:test",
            timeout=5.0,
            max_retries=max_retries,
            session=session,
            sleep=clock.sleep,
            **options,
        )

    return build

