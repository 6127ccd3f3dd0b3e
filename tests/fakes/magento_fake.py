"""A stateful Magento 2 REST fake (Starlette), built from the documented payloads in
`tests/fakes/magento/` (Adobe's commerce-webapi docs, Apache-2.0).

What it models, as Magento does:
- `GET /V1/orders` with `searchCriteria` (filter groups ANDed, filters in a group ORed,
  sort orders, pageSize/currentPage, an out-of-range page answering with the last page),
  `GET /V1/orders/{id}`;
- `POST /V1/order/{id}/ship` after `ShipmentFactory`: configurable and bundle children
  ship through their parent row, quantities are checked, tracks are stored;
- `GET /V1/shipments`, `POST /V1/shipment/track`, `POST /V1/orders/{id}/comments`;
- `POST /V1/orders/{id}/cancel` after `OrderService::cancel` and `Order::canCancel`:
  `false` (HTTP 200) for an order held, under payment review, complete, closed, already
  canceled or with nothing left to invoice; otherwise every row's open quantity is
  canceled, the state and status become `canceled` and the answer is `true`;
- `POST /V1/inventory/source-items` (MSI: any SKU is accepted, the source must exist),
  `GET /V1/inventory/source-items` (a search, as for orders),
  `GET /V1/stockItems/{sku}` and `PUT /V1/products/{sku}/stockItems/{id}` (legacy);
- Bearer tokens (admin tokens; integration tokens only when integration-as-bearer is on)
  and OAuth 1.0a signatures verified with oauthlib; refusals in Magento's error shape;
- optional Web API input limits (list inputs; a maximum page size, with a default page
  size for searches that give none), and injectable 429/503 answers.
Every request is recorded (method, path after V1, query, JSON body) for spec checks."""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from oauthlib.oauth1 import RequestValidator, SignatureOnlyEndpoint
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

FIXTURES = Path(__file__).parent / "magento"
TIME = "%Y-%m-%d %H:%M:%S"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def magento_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(TIME)


def error(status: int, message: str, parameters: Any = None) -> JSONResponse:
    body: dict[str, Any] = {"message": message}
    if parameters is not None:
        body["parameters"] = parameters
    return JSONResponse(body, status_code=status)


@dataclass(frozen=True)
class Integration:
    consumer_key: str
    consumer_secret: str
    access_token: str
    access_token_secret: str


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str  # after /V1/
    params: dict[str, str]
    body: Any


@dataclass
class Faults:
    """Answers the fake gives instead of doing the work."""

    fail_next: list[int] = field(default_factory=list)  # statuses for the next requests
    throttle_every: int = 0  # every n-th request gets 429
    retry_after: str = "1"
    seen: int = 0
    injected: int = 0

    def pick(self) -> int | None:
        self.seen += 1
        if self.fail_next:
            return self.fail_next.pop(0)
        if self.throttle_every and self.seen % self.throttle_every == 0:
            return 429
        return None


# --- OAuth 1.0a -----------------------------------------------------------------------


class _IntegrationValidator(RequestValidator):
    """oauthlib's server-side checks for one integration. Magento's keys are 32
    characters, longer than oauthlib's defaults allow."""

    def __init__(self, integration: Integration) -> None:
        super().__init__()
        self.integration = integration
        self.nonces: set[tuple[str, str]] = set()

    enforce_ssl = False  # the fake serves plain HTTP on the loopback
    client_key_length = (8, 64)
    access_token_length = (8, 64)
    nonce_length = (8, 64)
    allowed_signature_methods = ("HMAC-SHA1", "HMAC-SHA256")

    @property
    def dummy_client(self) -> str:
        return "dummy-client-key-000"

    @property
    def dummy_access_token(self) -> str:
        return "dummy-access-token-000"

    def validate_client_key(self, client_key, request) -> bool:
        return client_key == self.integration.consumer_key

    def get_client_secret(self, client_key, request) -> str:
        return self.integration.consumer_secret if client_key == self.integration.consumer_key else "x"

    def validate_access_token(self, client_key, token, request) -> bool:
        return token == self.integration.access_token

    def get_access_token_secret(self, client_key, token, request) -> str:
        return self.integration.access_token_secret if token == self.integration.access_token else "x"

    def validate_timestamp_and_nonce(self, client_key, timestamp, nonce, request,
                                     request_token=None, access_token=None) -> bool:
        key = (timestamp, nonce)
        if key in self.nonces:
            return False  # Magento refuses a replayed nonce
        self.nonces.add(key)
        return True


# --- search criteria ------------------------------------------------------------------

_KEY_PART = re.compile(r"\[([^\]]*)\]")
_ALIASES = {"filterGroups": "filter_groups", "conditionType": "condition_type"}


def parse_search_criteria(query: dict[str, str]) -> dict[str, Any]:
    """searchCriteria[filter_groups][0][filters][1][field]=x → nested dicts; both the
    documented snake_case and the schema's camelCase names are accepted, as Magento does."""
    tree: dict[str, Any] = {}
    for key, value in query.items():
        if not key.startswith("searchCriteria["):
            continue
        parts = [_ALIASES.get(p, p) for p in _KEY_PART.findall(key)]
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return tree


def _indexed(node: dict[str, Any] | None) -> list[Any]:
    return [node[k] for k in sorted(node or {}, key=int)]


def _comparable(row_value: Any, wanted: str) -> tuple[Any, Any]:
    try:
        return Decimal(str(row_value)), Decimal(wanted)
    except ArithmeticError:
        return str(row_value), wanted


def _matches(row: dict[str, Any], flt: dict[str, Any]) -> bool:
    condition = flt.get("condition_type", "eq")
    value = flt.get("value", "")
    have = row.get(flt["field"])
    if condition in ("in", "nin"):
        found = str(have) in value.split(",")
        return found if condition == "in" else not found
    if have is None:
        return False
    left, right = _comparable(have, value)
    return {
        "eq": left == right, "neq": left != right, "gt": left > right,
        "gteq": left >= right, "lt": left < right, "lteq": left <= right,
    }[condition]


CONDITIONS = frozenset({"eq", "neq", "gt", "gteq", "lt", "lteq", "in", "nin"})


def search(rows: list[dict[str, Any]], criteria: dict[str, Any]) -> dict[str, Any]:
    """Magento's repository getList: filter, sort, then page (an out-of-range page
    answers with the last page)."""
    groups = [_indexed(g.get("filters")) for g in _indexed(criteria.get("filter_groups"))]
    for group in groups:
        for flt in group:
            if flt.get("condition_type", "eq") not in CONDITIONS:
                raise ValueError(flt.get("condition_type"))
    hits = [row for row in rows if all(any(_matches(row, f) for f in group) for group in groups)]
    for order in reversed(_indexed(criteria.get("sortOrders"))):
        def key(row, name=order["field"]):
            value = row.get(name)
            try:
                return (0, Decimal(str(value)), "")
            except ArithmeticError:
                return (1, Decimal(0), str(value))
        hits.sort(key=key, reverse=order.get("direction", "ASC").upper() == "DESC")
    total = len(hits)
    size = int(criteria.get("pageSize") or 0)
    if size:
        pages = max(1, -(-total // size))
        page = min(max(1, int(criteria.get("currentPage") or 1)), pages)
        hits = hits[(page - 1) * size: page * size]
    return {"items": hits, "search_criteria": _echoed(criteria), "total_count": total}


def _echoed(criteria: dict[str, Any]) -> dict[str, Any]:
    """The criteria as Magento echoes them: lists, snake_case names, whole numbers."""
    echo: dict[str, Any] = {"filter_groups": [
        {"filters": _indexed(group.get("filters"))} for group in _indexed(criteria.get("filter_groups"))]}
    if criteria.get("sortOrders"):
        echo["sort_orders"] = _indexed(criteria["sortOrders"])
    for given, name in (("pageSize", "page_size"), ("currentPage", "current_page")):
        if criteria.get(given):
            echo[name] = int(criteria[given])
    return echo


# --- the store ------------------------------------------------------------------------


class MagentoFake:
    """The store's state and the Starlette app serving it."""

    def __init__(
        self,
        admin_tokens: set[str] | None = None,
        integration: Integration | None = None,
        integration_as_bearer: bool = False,
        sources: set[str] | None = None,
        store_codes: set[str] | None = None,
        input_list_limit: int | None = None,
        max_page_size: int | None = None,
    ) -> None:
        self.admin_tokens = set(admin_tokens or ())
        self.integration = integration
        self.integration_as_bearer = integration_as_bearer
        # Source code → the source as `GET /V1/inventory/sources/{code}` answers it.
        self.sources = {code: self.source(code) for code in sorted(sources or {"default"})}
        self.store_codes = set(store_codes or {"default", "all"})
        self.input_list_limit = input_list_limit
        self.max_page_size = max_page_size
        self.faults = Faults()
        self.orders: dict[int, dict[str, Any]] = {}
        self.shipments: list[dict[str, Any]] = []
        self.source_items: dict[tuple[str, str], dict[str, Any]] = {}
        self.stock_items: dict[str, dict[str, Any]] = {}
        self.requests: list[Recorded] = []
        # The store's clock: what its writes stamp (updated_at, created_at).
        self.now: Callable[[], datetime] = lambda: datetime.now(UTC)
        self._ids = {"order": 0, "item": 0, "shipment": 0, "track": 0, "comment": 0, "stock": 0}
        self._lock = threading.RLock()  # handlers run under it and draw ids
        self._oauth = SignatureOnlyEndpoint(_IntegrationValidator(integration)) if integration else None
        self.app = Starlette(routes=self._routes())

    # -- seeding and reading (the harness's side)

    def next_id(self, kind: str) -> int:
        with self._lock:
            self._ids[kind] += 1
            return self._ids[kind]

    def item(self, sku: str, qty: int | float, *, product_type: str = "simple",
             virtual: bool = False, parent: dict[str, Any] | None = None) -> dict[str, Any]:
        """One order row, shaped like the documented order's row."""
        row = copy.deepcopy(fixture("order.json")["items"][0])
        row.update(item_id=self.next_id("item"), sku=sku, name=sku, qty_ordered=qty,
                   product_type=product_type, is_virtual=int(virtual))
        if parent is not None:
            row["parent_item_id"] = parent["item_id"]
            row["parent_item"] = copy.deepcopy(parent)
            row["price"] = row["base_price"] = row["row_total"] = 0  # Magento prices the parent
        return row

    def add_order(self, number: str, items: list[dict[str, Any]], *, updated_at: datetime,
                  state: str = "processing", address: dict[str, Any] | None = None,
                  fields: dict[str, Any] | None = None) -> int:
        """An order from the documented one; `fields` replaces top-level fields
        (grand_total, customer_note, payment, total_paid…)."""
        order = copy.deepcopy(fixture("order.json"))
        entity_id = self.next_id("order")
        stamp = magento_time(updated_at)
        order.update(entity_id=entity_id, increment_id=number, state=state, status=state,
                     created_at=stamp, updated_at=stamp, status_histories=[])
        for row in items:
            row["order_id"] = entity_id
        order["items"] = items
        assignment = order["extension_attributes"]["shipping_assignments"][0]
        assignment["items"] = copy.deepcopy(items)
        if address is not None:
            assignment["shipping"]["address"].update(address)
        order.update(fields or {})
        with self._lock:
            self.orders[entity_id] = order
        return entity_id

    def touch(self, order_id: int, updated_at: datetime, **changes: Any) -> None:
        with self._lock:
            order = self.orders[order_id]
            order.update(changes, updated_at=magento_time(updated_at))

    def tracks(self) -> list[tuple[int, dict[str, Any]]]:
        return [(s["order_id"], t) for s in self.shipments for t in s["tracks"]]

    def comments(self) -> list[tuple[int, str]]:
        return [(oid, h["comment"]) for oid, o in self.orders.items() for h in o["status_histories"]]

    def bodies(self, method: str, path_pattern: str) -> list[Any]:
        return [r.body for r in self.requests if r.method == method and re.fullmatch(path_pattern, r.path)]

    # -- the HTTP side

    def _routes(self) -> list[Route]:
        v1 = "/rest/{store}/V1"
        return [
            Route(f"{v1}/orders", self._guarded(self.list_orders, "Magento_Sales::actions_view")),
            Route(f"{v1}/orders/{{order_id:int}}", self._guarded(self.get_order, "Magento_Sales::actions_view")),
            Route(f"{v1}/order/{{order_id:int}}/ship", self._guarded(self.ship, "Magento_Sales::ship"),
                  methods=["POST"]),
            Route(f"{v1}/shipments", self._guarded(self.list_shipments, "Magento_Sales::shipment")),
            Route(f"{v1}/shipment/track", self._guarded(self.add_track, "Magento_Sales::ship"),
                  methods=["POST"]),
            Route(f"{v1}/orders/{{order_id:int}}/comments",
                  self._guarded(self.add_comment, "Magento_Sales::comment"), methods=["POST"]),
            Route(f"{v1}/orders/{{order_id:int}}/cancel",
                  self._guarded(self.cancel, "Magento_Sales::cancel"), methods=["POST"]),
            Route(f"{v1}/inventory/source-items",
                  self._guarded(self.save_source_items, "Magento_InventoryApi::inventory"), methods=["POST"]),
            Route(f"{v1}/inventory/source-items",
                  self._guarded(self.search_source_items, "Magento_InventoryApi::source"), methods=["GET"]),
            Route(f"{v1}/inventory/sources/{{source_code}}",
                  self._guarded(self.get_source, "Magento_InventoryApi::source"), methods=["GET"]),
            Route(f"{v1}/inventory/sources",
                  self._guarded(self.search_sources, "Magento_InventoryApi::source"), methods=["GET"]),
            Route(f"{v1}/stockItems/{{sku}}",
                  self._guarded(self.get_stock_item, "Magento_CatalogInventory::cataloginventory")),
            Route(f"{v1}/products/{{sku}}/stockItems/{{item_id}}",
                  self._guarded(self.put_stock_item, "Magento_CatalogInventory::cataloginventory"), methods=["PUT"]),
        ]

    def _guarded(self, handler, resource: str):
        async def endpoint(request: Request) -> Response:
            raw = await request.body()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                return error(400, "Decoding error: %1", ["the body is not JSON"])
            path = request.url.path.split("/V1/", 1)[1]
            self.requests.append(Recorded(request.method, path, dict(request.query_params), body))
            status = self.faults.pick()
            if status is not None:
                self.faults.injected += 1
                headers = {"Retry-After": self.faults.retry_after} if status == 429 else {}
                return JSONResponse({"message": "Too Many Requests" if status == 429 else "Service Unavailable"},
                                    status_code=status, headers=headers)
            if not self._authorised(request):
                return error(401, "The consumer isn't authorized to access %resources.", {"resources": resource})
            if request.path_params["store"] not in self.store_codes:
                return error(400, "The store that was requested wasn't found. Verify the store and try again.")
            with self._lock:
                return handler(request, body)
        return endpoint

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if header.startswith("Bearer "):
            token = header[len("Bearer "):]
            if token in self.admin_tokens:
                return True
            return bool(self.integration and self.integration_as_bearer
                        and token == self.integration.access_token)
        if header.startswith("OAuth ") and self._oauth is not None:
            scope = request.scope
            host = request.headers.get("host", "")
            query = scope.get("query_string", b"").decode()
            uri = f"{scope['scheme']}://{host}{scope.get('raw_path', b'').decode() or scope['path']}"
            uri += f"?{query}" if query else ""
            valid, _ = self._oauth.validate_request(uri, request.method, None, dict(request.headers))
            return valid
        return False

    # -- orders

    def list_orders(self, request: Request, body: Any) -> Response:
        criteria = parse_search_criteria(dict(request.query_params))
        try:
            result = search(list(self.orders.values()), criteria)
        except ValueError as exc:
            return error(400, 'Invalid condition type "%1"', [str(exc)])
        return JSONResponse(copy.deepcopy(result))

    def get_order(self, request: Request, body: Any) -> Response:
        order = self.orders.get(request.path_params["order_id"])
        if order is None:
            return error(404, "The entity that was requested doesn't exist. Verify the entity and try again.")
        return JSONResponse(copy.deepcopy(order))

    # -- shipping, after Magento\Sales\Model\Order\ShipmentFactory

    def ship(self, request: Request, body: Any) -> Response:
        order = self.orders.get(request.path_params["order_id"])
        if order is None:
            return error(404, "The entity that was requested doesn't exist. Verify the entity and try again.")
        if order["state"] in ("canceled", "closed", "holded", "complete"):
            return error(400, "A shipment cannot be created when an order has a status of %1", [order["status"]])
        body = body or {}
        source = ((body.get("arguments") or {}).get("extension_attributes") or {}).get("source_code")
        if source is not None and source not in self.sources:
            return error(400, 'Source with code "%1" does not exist.', [source])
        requested = {int(i["order_item_id"]): Decimal(str(i["qty"])) for i in body.get("items") or []}
        shipped = self._shipment_rows(order, requested)
        if isinstance(shipped, Response):
            return shipped
        if not shipped:
            return error(400, "Shipment Document Validation Error(s):\nYou can't create a shipment without products.")
        tracks = body.get("tracks") or []
        for track in tracks:
            if not all(track.get(k) for k in ("track_number", "title", "carrier_code")):
                return error(400, "Please enter a tracking number.")
        by_id = {row["item_id"]: row for row in order["items"]}
        for item_id, qty in shipped.items():
            row = by_id[item_id]
            row["qty_shipped"] = float(Decimal(str(row.get("qty_shipped") or 0)) + qty)
        shipment_id = self.next_id("shipment")
        self.shipments.append({
            "entity_id": shipment_id, "order_id": order["entity_id"],
            "increment_id": f"{shipment_id:09d}", "created_at": magento_time(self.now()),
            "items": [{"order_item_id": k, "qty": float(v)} for k, v in shipped.items()],
            "tracks": [self._track(order["entity_id"], shipment_id, t) for t in tracks],
            "comments": [],
        })
        if all(self._left(row) == 0 for row in order["items"] if not row.get("is_virtual")):
            order["state"] = order["status"] = "complete"
        order["updated_at"] = magento_time(self.now())
        return JSONResponse(shipment_id)

    @staticmethod
    def _left(row: dict[str, Any]) -> Decimal:
        ordered = Decimal(str(row.get("qty_ordered") or 0))
        done = sum(Decimal(str(row.get(k) or 0)) for k in ("qty_shipped", "qty_canceled", "qty_refunded"))
        return ordered - done

    def _shipment_rows(self, order: dict[str, Any], requested: dict[int, Decimal]) -> dict[int, Decimal] | Response:
        rows = {row["item_id"]: row for row in order["items"]}
        unknown = [i for i in requested if i not in rows]
        if unknown:
            return error(400, "Shipment Document Validation Error(s):\nThe order does not contain item %1.",
                         [unknown[0]])
        shipped: dict[int, Decimal] = {}
        for row in order["items"]:
            if row.get("is_virtual"):
                continue
            parent = rows.get(row.get("parent_item_id"))
            if parent is not None:
                # A dummy row: it ships with its parent, in proportion.
                if parent["item_id"] in requested:
                    ratio = Decimal(str(row["qty_ordered"])) / Decimal(str(parent["qty_ordered"]))
                    shipped[row["item_id"]] = requested[parent["item_id"]] * ratio
                continue
            if row["item_id"] not in requested:
                continue
            qty = requested[row["item_id"]]
            if qty > self._left(row):
                return error(400, "Shipment Document Validation Error(s):\n"
                                  "The quantity to ship must not be greater than the unshipped quantity for %1.",
                             [row["sku"]])
            if qty > 0:
                shipped[row["item_id"]] = qty
        return {k: v for k, v in shipped.items() if v > 0}

    def _track(self, order_id: int, shipment_id: int, track: dict[str, Any]) -> dict[str, Any]:
        return {
            "entity_id": self.next_id("track"), "order_id": order_id, "parent_id": shipment_id,
            "track_number": track["track_number"], "title": track["title"],
            "carrier_code": track["carrier_code"], "weight": track.get("weight"),
            "qty": track.get("qty"), "description": track.get("description"),
            "created_at": magento_time(self.now()),
        }

    def list_shipments(self, request: Request, body: Any) -> Response:
        criteria = parse_search_criteria(dict(request.query_params))
        return JSONResponse(copy.deepcopy(search(self.shipments, criteria)))

    def add_track(self, request: Request, body: Any) -> Response:
        entity = (body or {}).get("entity") or {}
        shipment = next((s for s in self.shipments if s["entity_id"] == entity.get("parent_id")), None)
        if shipment is None:
            return error(400, "Could not save the shipment tracking.")
        track = self._track(shipment["order_id"], shipment["entity_id"], entity)
        shipment["tracks"].append(track)
        return JSONResponse(track)

    def add_comment(self, request: Request, body: Any) -> Response:
        order = self.orders.get(request.path_params["order_id"])
        if order is None:
            return error(404, "The entity that was requested doesn't exist. Verify the entity and try again.")
        history = (body or {}).get("statusHistory") or {}
        if not isinstance(history.get("comment"), str):
            return error(400, '"%fieldName" is required. Enter and try again.', {"fieldName": "comment"})
        order["status_histories"].append({
            **history, "entity_id": self.next_id("comment"), "parent_id": order["entity_id"],
            "entity_name": "order", "status": order["status"],
        })
        return JSONResponse(True)

    # -- cancelling, after OrderService::cancel and Order::canCancel / registerCancellation

    def cancel(self, request: Request, body: Any) -> Response:
        order = self.orders.get(request.path_params["order_id"])
        if order is None:
            return error(404, "The entity that was requested doesn't exist. Verify the entity and try again.")
        if not self._can_cancel(order):
            return JSONResponse(False)
        for row in order["items"]:
            done = max(Decimal(str(row.get("qty_shipped") or 0)), Decimal(str(row.get("qty_invoiced") or 0)))
            open_qty = Decimal(str(row.get("qty_ordered") or 0)) - done - Decimal(str(row.get("qty_canceled") or 0))
            row["qty_canceled"] = float(Decimal(str(row.get("qty_canceled") or 0)) + max(open_qty, Decimal(0)))
        order["state"] = order["status"] = "canceled"
        order["updated_at"] = magento_time(self.now())
        return JSONResponse(True)

    @staticmethod
    def _can_cancel(order: dict[str, Any]) -> bool:
        if order["state"] in ("holded", "payment_review", "canceled", "complete", "closed"):
            return False
        to_invoice = [
            row for row in order["items"] if row.get("parent_item_id") is None
            and Decimal(str(row.get("qty_ordered") or 0)) - Decimal(str(row.get("qty_invoiced") or 0))
            - Decimal(str(row.get("qty_canceled") or 0)) > 0
        ]
        return bool(to_invoice)

    # -- stock

    def _over_limit(self, items: list[Any]) -> Response | None:
        if self.input_list_limit is not None and len(items) > self.input_list_limit:
            return error(400, 'Maximum items of type "%type" is %max',
                         {"type": "\\Magento\\InventoryApi\\Api\\Data\\SourceItemInterface",
                          "max": self.input_list_limit})
        return None

    def save_source_items(self, request: Request, body: Any) -> Response:
        items = (body or {}).get("sourceItems")
        if not isinstance(items, list) or not items:
            return error(400, '"%fieldName" is required. Enter and try again.', {"fieldName": "sourceItems"})
        refused = self._over_limit(items)
        if refused:
            return refused
        for item in items:
            if item.get("source_code") not in self.sources:
                return error(400, "Validation Failed")
        for item in items:
            self.source_items[(item["sku"], item["source_code"])] = dict(item)
        return JSONResponse([])

    def search_source_items(self, request: Request, body: Any) -> Response:
        criteria = parse_search_criteria(dict(request.query_params))
        if self.max_page_size is not None:
            # Input limits on: a search without a page size gets the default one (20).
            criteria.setdefault("pageSize", "20")
            if int(criteria["pageSize"]) > self.max_page_size:
                return error(400, "Maximum SearchCriteria pageSize is %max", {"max": self.max_page_size})
        try:
            result = search(list(self.source_items.values()), criteria)
        except ValueError as exc:
            return error(400, 'Invalid condition type "%1"', [str(exc)])
        return JSONResponse(copy.deepcopy(result))

    @staticmethod
    def source(code: str, *, name: str | None = None, enabled: bool = True) -> dict[str, Any]:
        """A source shaped like the schema's inventory-api-data-source-interface."""
        return {"source_code": code, "name": name or f"{code.title()} Source", "enabled": enabled,
                "country_id": "US", "postcode": "98101", "use_default_carrier_config": True,
                "carrier_links": []}

    def get_source(self, request: Request, body: Any) -> Response:
        code = request.path_params["source_code"]
        if code not in self.sources:
            return error(404, 'Source with code "%value" does not exist.', {"value": code})
        return JSONResponse(copy.deepcopy(self.sources[code]))

    def search_sources(self, request: Request, body: Any) -> Response:
        criteria = parse_search_criteria(dict(request.query_params))
        try:
            result = search(list(self.sources.values()), criteria)
        except ValueError as exc:
            return error(400, 'Invalid condition type "%1"', [str(exc)])
        return JSONResponse(copy.deepcopy(result))

    def get_stock_item(self, request: Request, body: Any) -> Response:
        sku = request.path_params["sku"]
        item = self.stock_items.get(sku)
        if item is None:
            return error(404, 'The Product with the "%1" SKU doesn\'t exist.', [sku])
        return JSONResponse(item)

    def put_stock_item(self, request: Request, body: Any) -> Response:
        sku = request.path_params["sku"]
        item = self.stock_items.get(sku)
        if item is None:
            return error(404, 'The Product with the "%1" SKU doesn\'t exist.', [sku])
        given = (body or {}).get("stockItem") or {}
        item.update(qty=given.get("qty", item["qty"]), is_in_stock=given.get("is_in_stock", item["is_in_stock"]))
        return JSONResponse(item["item_id"])

    def add_product(self, sku: str, qty: int = 0, *, manage_stock: bool = True) -> None:
        with self._lock:
            item_id = self.next_id("stock")
            self.stock_items[sku] = {"item_id": item_id, "product_id": item_id, "stock_id": 1,
                                     "qty": qty, "is_in_stock": qty > 0,
                                     "manage_stock": manage_stock}

    def set_source_item(self, sku: str, quantity: float, *, source: str = "default",
                        status: int | None = None) -> None:
        """A merchant's edit of one source item (status follows the quantity unless given)."""
        with self._lock:
            self.source_items[(sku, source)] = {
                "sku": sku, "source_code": source, "quantity": quantity,
                "status": (1 if quantity > 0 else 0) if status is None else status}
