"""A stateful BigCommerce store over HTTP (Starlette), shaped by the published payloads
in `bigcommerce/` and checked against the published OpenAPI specs in `bigcommerce/spec/`.

It serves `/stores/{hash}/v2/orders…` and `/stores/{hash}/v3/{catalog,inventory}…` with
the token check (401), the store quota in `X-Rate-Limit-*` headers on every response
and 429 when it is spent (the documented header-only 429), 204 for empty V2 lists,
inclusive whole-second date filters, and a request log for the tests. Order updates
(`PUT /v2/orders/{id}`: `staff_notes`, `status_id`) are checked as the spec's `order_Put`,
shipment updates (`PUT …/shipments/{id}`) as `orderShipment_Put`; the store stamps them
on its own `clock`.

Inventory is kept per item and location: a variant with options is its own item, an
option-less product's stock sits on the product. `GET /v3/inventory/locations/{id}/items`
lists the items holding inventory at a location (a catalog entry whose stock was never
set there is not listed), filtered by `sku:in`, `variant_id:in` or `product_id:in`, in
pages of `limit` (at most 1,000), each shaped as the spec's `LocationItemsResponse`; an
unknown location is a 404."""

from __future__ import annotations

import copy
import json
import math
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .webhooks import SentWebhook, send

HERE = Path(__file__).parent / "bigcommerce"
STATUS_NAMES = {0: "Incomplete", 1: "Pending", 2: "Shipped", 3: "Partially Shipped",
                4: "Refunded", 5: "Cancelled", 6: "Declined", 7: "Awaiting Payment",
                8: "Awaiting Pickup", 9: "Awaiting Shipment", 10: "Completed",
                11: "Awaiting Fulfillment", 12: "Manual Verification Required",
                13: "Disputed", 14: "Partially Refunded"}
PROVIDER_NAMES = {"ups": "UPS", "usps": "USPS", "fedex": "FedEx", "royalmail": "Royal Mail",
                  "canadapost": "Canada Post", "auspost": "Australia Post", "": ""}
ADJUSTMENT_LIMIT = 2000
LOCATION_ITEMS_LIMIT = 1000


def fixture(name: str) -> Any:
    return json.loads((HERE / name).read_text())


@cache
def spec(name: str) -> dict:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load((HERE / "spec" / name).read_text(), Loader=loader)


@cache
def schema_validator(spec_name: str, schema_name: str) -> jsonschema.protocols.Validator:
    """A validator for one of a spec's component schemas, its `#/components` refs resolvable."""
    document = spec(spec_name)
    root = {"$ref": f"#/components/schemas/{schema_name}", "components": document["components"]}
    return jsonschema.Draft7Validator(root)


@cache
def documented_429() -> tuple[int, dict[str, str]]:
    """Status and headers of the documented 429 example (an HTTP/1.1 message, no body)."""
    status_line, *lines = (HERE / "rate_limit_429_response.http").read_text().strip().splitlines()
    headers = dict(line.split(": ", 1) for line in lines if ": " in line)
    return int(status_line.split()[1]), headers


def rfc2822(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0))


def parse_filter_date(text: str) -> datetime:
    try:
        return parsedate_to_datetime(text).astimezone(UTC)
    except (TypeError, ValueError):
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@dataclass
class RateLimit:
    quota: int = 1000
    window_ms: int = 30000
    left: int = 1000
    # The store's clock; a test gives it a virtual one that moves only when the client
    # sleeps, so running out of quota never depends on how fast the machine is.
    clock: Callable[[], float] = time.monotonic
    window_start: float | None = None
    forced_429: int = 0

    def take(self) -> tuple[bool, dict[str, str]]:
        now = self.clock()
        if self.window_start is None:
            self.window_start = now
        # To the microsecond: a client that waits exactly the announced reset must reach
        # the next window, whatever the float arithmetic of its clock made of the wait.
        elapsed_ms = round((now - self.window_start) * 1000, 3)
        if elapsed_ms >= self.window_ms:
            self.window_start, self.left, elapsed_ms = now, self.quota, 0
        allowed = self.left > 0 and self.forced_429 == 0
        if self.forced_429:
            self.forced_429 -= 1
        elif allowed:
            self.left -= 1
        headers = {
            "X-Rate-Limit-Time-Window-Ms": str(self.window_ms),
            # Rounded up: waiting exactly this long always reaches the next window.
            "X-Rate-Limit-Time-Reset-Ms": str(max(1, math.ceil(self.window_ms - elapsed_ms))),
            "X-Rate-Limit-Requests-Quota": str(self.quota),
            "X-Rate-Limit-Requests-Left": str(self.left),
        }
        return allowed, headers


@dataclass
class Logged:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int
    accept: str = ""


class BigCommerceFake:
    def __init__(self, store_hash: str = "abc123", token: str = "test-token-0001") -> None:
        self.store_hash = store_hash
        self.token = token
        self.limit = RateLimit()
        self.lock = threading.RLock()
        self.orders: dict[int, dict] = {}
        self.products: dict[int, list[dict]] = {}
        self.addresses: dict[int, list[dict]] = {}
        self.shipments: dict[int, list[dict]] = {}
        self.catalog: dict[str, dict] = {}  # SKU → variant (with product_id, option_values)
        self.stock_by_variant: dict[tuple[int, int], int] = {}  # (variant id, location)
        self.stock_by_product: dict[tuple[int, int], int] = {}
        # Location id → the store's location (locations.v3.yml LocationResponse); every
        # store has location 1, its default.
        self.locations: dict[int, dict] = {1: location_record(1, "Default location")}
        self.safety_stock: dict[str, int] = {}  # SKU → the merchant's safety stock
        self.log: list[Logged] = []
        self.throttled = 0  # 429s answered
        # Stamps the store puts on changes made through the API (tests give a fixed one).
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self._next_id = 10_000
        self.hooks: dict[int, dict] = {}  # POST /v3/hooks (webhooks.v3.yml hook objects)
        prefix = f"/stores/{store_hash}"
        self.app = Starlette(routes=[
            Route(prefix + "/v2/orders", self.list_orders, methods=["GET"]),
            Route(prefix + "/v2/orders/{id:int}", self.order, methods=["GET", "PUT"]),
            Route(prefix + "/v2/orders/{id:int}/products", self.order_products, methods=["GET"]),
            Route(prefix + "/v2/orders/{id:int}/shipping_addresses", self.order_addresses,
                  methods=["GET"]),
            Route(prefix + "/v2/orders/{id:int}/shipments", self.order_shipments,
                  methods=["GET", "POST"]),
            Route(prefix + "/v2/orders/{id:int}/shipments/{shipment_id:int}",
                  self.order_shipment, methods=["GET", "PUT"]),
            Route(prefix + "/v3/catalog/variants", self.variants, methods=["GET"]),
            Route(prefix + "/v3/inventory/adjustments/absolute", self.absolute_adjustment,
                  methods=["PUT"]),
            Route(prefix + "/v3/inventory/locations", self.list_locations, methods=["GET"]),
            Route(prefix + "/v3/inventory/locations/{location_id:int}/items",
                  self.location_items, methods=["GET"]),
            Route(prefix + "/v3/hooks", self.list_or_create_hooks, methods=["GET", "POST"]),
            Route(prefix + "/v3/hooks/{id:int}", self.update_hook, methods=["PUT"]),
        ])
        self.app.add_middleware(_Gate, fake=self)  # type: ignore[arg-type]

    # -- store setup (tests) --------------------------------------------------------

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def add_order(self, order_id: int, *, modified: datetime, status_id: int = 11,
                  lines: list[dict], address: dict | None = None) -> int:
        """`lines`: {"sku", "quantity", "type"}; `address`: V2 shipping-address fields."""
        with self.lock:
            order = copy.deepcopy(fixture("v2_orders_list.json")[0])
            address_id = self.new_id()
            order.update(id=order_id, date_created=rfc2822(modified), items_total=0,
                         items_shipped=0, staff_notes="",
                         # The template's "authorized" would make every order uncaptured.
                         payment_status="pending" if status_id in (0, 1, 7) else "captured")
            self._set_status(order, status_id, modified)
            template = fixture("v2_order_products.json")[0]
            products = []
            for line in lines:
                product = copy.deepcopy(template)
                product.update(id=self.new_id(), order_id=order_id, order_address_id=address_id,
                               sku=line["sku"], name=line["sku"], quantity=line["quantity"],
                               type=line.get("type", "physical"), quantity_shipped=0)
                products.append(product)
            order["items_total"] = sum(p["quantity"] for p in products)
            self.orders[order_id] = order
            self.products[order_id] = products
            self.addresses[order_id] = [self._address_row(order_id, address_id, address or {})]
            self.shipments[order_id] = []
            return order_id

    def _address_row(self, order_id: int, address_id: int, fields: dict) -> dict:
        row = copy.deepcopy(fixture("v2_order_shipping_addresses.json")[0])
        row.update(id=address_id, order_id=order_id, items_shipped=0, **fields)
        row["shipping_quotes"] = {
            "url": f"https://api.bigcommerce.com/stores/{{store_hash}}/v2/orders/{order_id}"
                   f"/shippingaddresses/{address_id}/shippingquotes",
            "resource": f"/orders/{order_id}/shippingaddresses/{address_id}/shippingquotes",
        }
        return row

    def edit_address(self, order_id: int, fields: dict, modified: datetime) -> None:
        with self.lock:
            self.addresses[order_id][0].update(fields)
            self.orders[order_id]["date_modified"] = rfc2822(modified)

    def set_status(self, order_id: int, status_id: int, modified: datetime) -> None:
        with self.lock:
            self._set_status(self.orders[order_id], status_id, modified)

    def _set_status(self, order: dict, status_id: int, modified: datetime) -> None:
        order.update(status_id=status_id, status=STATUS_NAMES[status_id],
                     custom_status=STATUS_NAMES[status_id], date_modified=rfc2822(modified))

    def add_catalog_sku(self, sku: str, *, with_options: bool) -> None:
        """A variant with options (stock per variant) or an option-less product's base
        variant (stock on the product)."""
        with self.lock:
            product_id, variant_id = self.new_id(), self.new_id()
            options = [{"id": 1, "label": sku, "option_id": 1, "option_display_name": "Size"}]
            self.catalog[sku] = {"id": variant_id, "product_id": product_id, "sku": sku,
                                 "option_values": options if with_options else []}

    def stock(self, location_id: int = 1) -> dict[str, int]:
        """On hand per catalog SKU that holds inventory at a location."""
        with self.lock:
            found = {}
            for sku in self.catalog:
                holder, key = self.stock_key(sku, location_id)
                if key in holder:
                    found[sku] = holder[key]
            return found

    def stock_key(self, sku: str, location_id: int = 1) -> tuple[dict, tuple[int, int]]:
        """The store and key holding one catalog SKU's stock at a location."""
        variant = self.catalog[sku]
        if variant["option_values"]:
            return self.stock_by_variant, (variant["id"], location_id)
        return self.stock_by_product, (variant["product_id"], location_id)

    def requests(self, method: str, path_end: str) -> list[Logged]:
        return [r for r in self.log if r.method == method and r.path.endswith(path_end)]

    # -- webhooks (V3 hooks; a delivery carries the headers the hook was given) --------

    async def list_or_create_hooks(self, request: Request) -> Response:
        if request.method == "GET":
            q = request.query_params
            limit, page = int(q.get("limit", "50")), int(q.get("page", "1"))
            with self.lock:
                rows = [copy.deepcopy(h) for _id, h in sorted(self.hooks.items())]
            chosen = rows[(page - 1) * limit:page * limit]
            return JSONResponse({"data": chosen, "meta": {"pagination": {
                "count": len(chosen), "current_page": page, "per_page": limit,
                "total": len(rows), "total_pages": max(1, math.ceil(len(rows) / limit))}}})
        body = await request.json()
        problems = _hook_problems(body)
        if problems:
            return _problem(422, problems)
        moment = int(self.clock().timestamp())
        with self.lock:
            hook_id = self.new_id()
            self.hooks[hook_id] = {
                "id": hook_id, "client_id": "fake-client", "store_hash": self.store_hash,
                "scope": body["scope"], "destination": body["destination"],
                "headers": dict(body.get("headers") or {}), "is_active": body.get("is_active", True),
                "created_at": moment, "updated_at": moment}
            return JSONResponse({"data": copy.deepcopy(self.hooks[hook_id]), "meta": {}})

    async def update_hook(self, request: Request) -> Response:
        body = await request.json()
        with self.lock:
            hook = self.hooks.get(request.path_params["id"])
            if hook is None:
                return _problem(404, ["no such hook"])
            for key in ("scope", "destination", "headers", "is_active"):
                if key in body:
                    hook[key] = body[key]
            hook["updated_at"] = int(self.clock().timestamp())
            return JSONResponse({"data": copy.deepcopy(hook), "meta": {}})

    def deliver_webhook(self, scope: str, order_id: int, *,
                        headers: dict[str, str] | None = None) -> list[SentWebhook]:
        """Post `scope` for the order to each active hook of it, with the hook's own
        headers (or `headers` instead, to forge one), the payload of the docs' example."""
        with self.lock:
            hooks = [copy.deepcopy(h) for h in self.hooks.values()
                     if h["scope"] == scope and h["is_active"]]
            status_id = self.orders[order_id]["status_id"]
        payload: dict[str, Any] = fixture("webhook_store_order_statusUpdated.json")
        payload.update({"scope": scope, "store_id": "1001197568", "producer": f"stores/{self.store_hash}",
                        "created_at": int(time.time()), "hash": uuid.uuid4().hex})
        payload["data"] = {"type": "order", "id": order_id}
        if scope == "store/order/statusUpdated":
            payload["data"]["status"] = {"previous_status_id": 0, "new_status_id": status_id}
        body = json.dumps(payload).encode()
        return [send(hook["destination"], body, {"Content-Type": "application/json",
                                                 **(headers if headers is not None else hook["headers"])})
                for hook in hooks]

    # -- V2 orders ------------------------------------------------------------------

    async def list_orders(self, request: Request) -> Response:
        q = request.query_params
        rows = list(self.orders.values())
        if "min_date_modified" in q:
            low = parse_filter_date(q["min_date_modified"])
            rows = [o for o in rows if _modified(o) >= low]
        if "max_date_modified" in q:
            high = parse_filter_date(q["max_date_modified"])
            rows = [o for o in rows if _modified(o) <= high]
        if q.get("sort") == "date_modified:asc":
            # Ties in an order the client cannot predict (not by id).
            rows.sort(key=lambda o: (_modified(o), -o["id"]))
        else:
            rows.sort(key=lambda o: o["id"])
        return _paged(rows, q)

    async def order(self, request: Request) -> Response:
        order = self.orders.get(request.path_params["id"])
        if order is None:
            return JSONResponse(fixture("v2_error_404.json"), 404)
        if request.method == "PUT":
            body = await request.json()
            problems = _problems(schema_validator("orders.v2.oas2.yml", "order_Put"), body)
            if problems:
                return _problem(400, problems)
            with self.lock:
                if "staff_notes" in body:
                    order["staff_notes"] = body["staff_notes"]
                if "status_id" in body:
                    if body["status_id"] not in STATUS_NAMES:
                        return _problem(400, [f"status_id {body['status_id']} is no order status"])
                    self._set_status(order, body["status_id"], self.clock())
                order["date_modified"] = rfc2822(self.clock())
        return JSONResponse(order)

    async def order_products(self, request: Request) -> Response:
        if request.path_params["id"] not in self.orders:
            return JSONResponse(fixture("v2_error_404.json"), 404)
        return _paged(self.products[request.path_params["id"]], request.query_params)

    async def order_addresses(self, request: Request) -> Response:
        if request.path_params["id"] not in self.orders:
            return JSONResponse(fixture("v2_error_404.json"), 404)
        return _paged(self.addresses[request.path_params["id"]], request.query_params)

    async def order_shipments(self, request: Request) -> Response:
        order_id = request.path_params["id"]
        if order_id not in self.orders:
            return JSONResponse(fixture("v2_error_404.json"), 404)
        if request.method == "GET":
            return _paged(self.shipments[order_id], request.query_params)
        body = await request.json()
        problems = _problems(schema_validator("orders.v2.oas2.yml", "orderShipment_Post"), body)
        problems += [f"{key} is required" for key in ("order_address_id", "items")
                     if key not in body]
        if problems:
            return _problem(400, problems)
        with self.lock:
            return self._ship(order_id, body)

    async def order_shipment(self, request: Request) -> Response:
        """getOrderShipment / updateOrderShipment (the body checked as `orderShipment_Put`)."""
        order_id, shipment_id = request.path_params["id"], request.path_params["shipment_id"]
        found = next((s for s in self.shipments.get(order_id, []) if s["id"] == shipment_id), None)
        if order_id not in self.orders or found is None:
            return JSONResponse(fixture("v2_error_404.json"), 404)
        if request.method == "PUT":
            body = await request.json()
            problems = _problems(schema_validator("orders.v2.oas2.yml", "orderShipment_Put"), body)
            if problems:
                return _problem(400, problems)
            with self.lock:
                found.update({k: v for k, v in body.items() if k in found})
        return JSONResponse(found)

    def _ship(self, order_id: int, body: dict) -> Response:
        products = {p["id"]: p for p in self.products[order_id]}
        for item in body["items"]:
            product = products.get(item.get("order_product_id"))
            if product is None or product["order_address_id"] != body["order_address_id"]:
                return _problem(400, [f"order product {item.get('order_product_id')} is not "
                                      f"on address {body['order_address_id']}"])
            if product["quantity_shipped"] + item["quantity"] > product["quantity"]:
                return _problem(400, [f"order product {product['id']} would ship more than ordered"])
        for item in body["items"]:
            products[item["order_product_id"]]["quantity_shipped"] += item["quantity"]
        order = self.orders[order_id]
        shipped = all(p["quantity_shipped"] >= p["quantity"] for p in products.values()
                      if p["type"] == "physical")
        self._set_status(order, 2 if shipped else 3, self.clock())
        record = copy.deepcopy(fixture("v2_shipment_create_response.json"))
        provider = body.get("shipping_provider", "")
        record.update(
            id=self.new_id(), order_id=order_id, order_address_id=body["order_address_id"],
            date_created=rfc2822(self.clock()),
            tracking_number=body.get("tracking_number", ""),
            shipping_method=body.get("shipping_method", ""), comments=body.get("comments", ""),
            shipping_provider=provider, tracking_carrier=body.get("tracking_carrier", ""),
            tracking_link=body.get("tracking_link", ""),
            shipping_provider_display_name=PROVIDER_NAMES.get(provider, provider),
            items=[{"order_product_id": i["order_product_id"], "product_id": 0,
                    "quantity": i["quantity"]} for i in body["items"]],
        )
        self.shipments[order_id].append(record)
        return JSONResponse(record, 201)

    # -- V3 catalog and inventory ----------------------------------------------------

    async def variants(self, request: Request) -> Response:
        q = request.query_params
        rows = list(self.catalog.values())
        if "sku:in" in q:
            wanted = set(q["sku:in"].split(","))
            rows = [v for v in rows if v["sku"] in wanted]
        elif "sku" in q:
            rows = [v for v in rows if v["sku"] == q["sku"]]
        limit = min(int(q.get("limit", 50)), 250)
        page = int(q.get("page", 1))
        chunk = rows[(page - 1) * limit: page * limit]
        pages = max(1, -(-len(rows) // limit))
        return JSONResponse({"data": chunk, "meta": {"pagination": {
            "total": len(rows), "count": len(chunk), "per_page": limit, "current_page": page,
            "total_pages": pages, "links": {"current": f"?page={page}&limit={limit}"}}}})

    async def absolute_adjustment(self, request: Request) -> Response:
        body = await request.json()
        validator = schema_validator("inventory.v3.yml", "AdjustmentsAbsoluteRequest")
        problems = _problems(validator, body)
        if len(body.get("items") or []) > ADJUSTMENT_LIMIT:
            problems.append(f"more than {ADJUSTMENT_LIMIT} items")
        if problems:
            return _problem(422, problems)
        by_variant = {v["id"]: v for v in self.catalog.values()}
        by_product = {v["product_id"]: v for v in self.catalog.values()}
        for item in body["items"]:
            variant = by_variant.get(item.get("variant_id"))
            if "variant_id" in item and variant is not None and not variant["option_values"]:
                error = fixture("v3_inventory_adjustment_422_error.json")
                error["title"] = (f"[Item with variant_id {item['variant_id']} is tracked by "
                                  "product, please update stock by product id]")
                return JSONResponse(error, 422, media_type="application/problem+json")
            if ("variant_id" in item and variant is None) or \
                    ("product_id" in item and item["product_id"] not in by_product) or "sku" in item:
                return _problem(422, [f"unknown inventory item {item}"])
        with self.lock:
            for item in body["items"]:
                if "variant_id" in item:
                    self.stock_by_variant[(item["variant_id"], item["location_id"])] = item["quantity"]
                else:
                    self.stock_by_product[(item["product_id"], item["location_id"])] = item["quantity"]
        return JSONResponse({"transaction_id": str(uuid.uuid4())})


    async def list_locations(self, request: Request) -> Response:
        """getLocations: filters `location_id:in` and `is_active`, `page` and `limit`."""
        q = request.query_params
        with self.lock:
            rows = [copy.deepcopy(self.locations[i]) for i in sorted(self.locations)]
        if "location_id:in" in q:
            wanted = {int(part) for part in q["location_id:in"].split(",") if part}
            rows = [r for r in rows if r["id"] in wanted]
        if "is_active" in q:
            rows = [r for r in rows if r["enabled"] == (q["is_active"] == "true")]
        limit, page = int(q.get("limit", 50)), int(q.get("page", 1))
        chunk = rows[(page - 1) * limit: page * limit]
        return JSONResponse({"data": chunk, "meta": {"pagination": {
            "total": len(rows), "count": len(chunk), "per_page": limit, "current_page": page,
            "total_pages": max(1, -(-len(rows) // limit)),
            "links": {"current": f"?page={page}&limit={limit}"}}}})

    async def location_items(self, request: Request) -> Response:
        location_id = request.path_params["location_id"]
        if location_id not in self.locations:
            return JSONResponse({"status": 404, "title": f"Location {location_id} not found",
                                 "type": "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes"},
                                404, media_type="application/problem+json")
        q = request.query_params
        with self.lock:
            held = self.stock(location_id)
            rows = [self._location_item(v, location_id) for v in
                    sorted(self.catalog.values(), key=lambda v: v["id"]) if v["sku"] in held]
        for name, key in (("sku:in", "sku"), ("variant_id:in", "variant_id"),
                          ("product_id:in", "product_id")):
            if name in q:
                wanted = set(q[name].split(","))
                rows = [r for r in rows if str(r["identity"][key]) in wanted]
        limit = min(int(q.get("limit", 50)), LOCATION_ITEMS_LIMIT)
        page = int(q.get("page", 1))
        chunk = rows[(page - 1) * limit: page * limit]
        pages = max(1, -(-len(rows) // limit))
        return JSONResponse({"data": chunk, "meta": {"pagination": {
            "total": len(rows), "count": len(chunk), "per_page": limit, "current_page": page,
            "total_pages": pages, "links": {"current": f"?page={page}&limit={limit}"}}}})

    def _location_item(self, variant: dict, location_id: int) -> dict:
        holder, key = self.stock_key(variant["sku"], location_id)
        on_hand = holder[key]
        safety = self.safety_stock.get(variant["sku"], 0)
        available = max(0, on_hand - safety) if isinstance(on_hand, int) else on_hand
        return {
            "identity": {"sku": variant["sku"], "variant_id": variant["id"],
                         "product_id": variant["product_id"]},
            "available_to_sell": available,
            "total_inventory_onhand": on_hand,
            "settings": {"safety_stock": safety, "is_in_stock": True, "warning_level": 0,
                         "bin_picking_number": ""},
        }


def location_record(location_id: int, label: str, *, enabled: bool = True) -> dict:
    """One location as getLocations lists it (the LocationResponse schema's fields)."""
    return {
        "id": location_id, "code": f"BC-LOCATION-{location_id}", "label": label,
        "description": "", "managed_by_external_source": False, "type_id": "PHYSICAL",
        "enabled": enabled, "time_zone": "Etc/UTC", "storefront_visibility": True,
        "address": {"address1": "5th Ave", "city": "New York City", "state": "NY",
                    "zip": "10021", "email": "store@example.com", "country_code": "US"},
        "special_hours": [],
    }


def _hook_problems(body: Any) -> list[str]:
    """What BigCommerce's POST /v3/hooks refuses: a missing scope or destination, a
    destination not on https (the fake also takes a loopback http one)."""
    if not isinstance(body, dict):
        return ["the body must be an object"]
    problems = [f"{key} is required" for key in ("scope", "destination") if not body.get(key)]
    destination = str(body.get("destination", ""))
    if destination and not destination.startswith(("https://", "http://127.0.0.1")):
        problems.append("destination must be https")
    if not isinstance(body.get("headers", {}), dict):
        problems.append("headers must be an object of strings")
    return problems


class _Gate:
    """Token check, quota headers and the request log, around every route."""

    def __init__(self, app, fake: BigCommerceFake) -> None:
        self.app, self.fake = app, fake

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        raw = await request.body()

        async def replay():
            return {"type": "http.request", "body": raw, "more_body": False}

        fake = self.fake
        with fake.lock:
            allowed, limit_headers = fake.limit.take()
        headers = dict(request.headers)
        entry = Logged(scope["method"], scope["path"], dict(request.query_params),
                       json.loads(raw) if raw else None, 0, headers.get("accept", ""))
        if headers.get("x-auth-token") != fake.token:
            response: Response = JSONResponse(
                {"status": 401, "title": "You are not authorized to access this resource.",
                 "type": "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes"},
                401)
        elif not allowed:
            fake.throttled += 1
            # BigCommerce documents the 429 by its headers only (no body); the quota
            # headers below carry this store's values in place of the example's.
            status, documented = documented_429()
            response = Response(b"", status, media_type=documented["Content-Type"])
        else:
            async def capture(message):
                if message["type"] == "http.response.start":
                    # Logged before the client can read the answer, so tests see it.
                    entry.status = message["status"]
                    with fake.lock:
                        fake.log.append(entry)
                    message = {**message, "headers": list(message["headers"]) + [
                        (k.lower().encode(), v.encode()) for k, v in limit_headers.items()]}
                await send(message)

            await self.app(scope, replay, capture)
            return
        response.headers.update(limit_headers)
        entry.status = response.status_code
        with fake.lock:
            fake.log.append(entry)
        await response(scope, receive, send)


def _modified(order: dict) -> datetime:
    return parsedate_to_datetime(order["date_modified"]).astimezone(UTC)


def _paged(rows: list, query) -> Response:
    """V2 paging: `limit` (default 50, at most 250) and `page`; an empty page is a 204."""
    limit = min(int(float(query.get("limit", 50))), 250)
    page = int(float(query.get("page", 1)))
    chunk = rows[(page - 1) * limit: page * limit]
    if not chunk:
        return Response(status_code=204)
    return JSONResponse(chunk)


def _problems(validator: jsonschema.protocols.Validator, body: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}"
            for e in validator.iter_errors(body)]


def _problem(status: int, problems: list[str]) -> JSONResponse:
    if status == 422:
        return JSONResponse({"status": 422, "title": "; ".join(problems)[:500],
                             "type": "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes",
                             "errors": {}}, 422, media_type="application/problem+json")
    return JSONResponse([{"status": status, "message": "; ".join(problems)[:500]}], status)
