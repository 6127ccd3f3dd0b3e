"""A stateful WooCommerce (REST v3) fake, built from the documented sample payloads in
`tests/fakes/woocommerce/`, for the adapter's contract tests over real HTTP.

What it does the way WooCommerce does:
- HTTP Basic with a consumer key and secret; 401 `woocommerce_rest_cannot_view` without
  credentials, `woocommerce_rest_authentication_error` with wrong ones;
- the order list with `modified_after`/`modified_before` (both exclusive), `dates_are_gmt`,
  `orderby` modified|id|date, `order`, `per_page` (1..100), `page` or `offset`, and the
  `X-WP-Total`/`X-WP-TotalPages` headers; orders sharing one modification time come back in
  a different order on every request, as MySQL is free to return them;
- `/products` with `include`, `sku` (split on commas, the whole string matched too, as
  WooCommerce's query clause does; variations too), `page`, `per_page` and `_fields`;
  variations under their parent, shown with `manage_stock: "parent"` and the parent's
  quantity while they sell from its stock; batch updates refused above 100 items with 413
  `woocommerce_rest_request_entity_too_large`, per-item errors for unknown ids;
- order notes, order updates (which move `date_modified`), and the Shipment Tracking
  extension's `/wp-json/wc-shipment-tracking/v3/` routes (can be switched off);
- an injectable throttle: every Nth request answered 429 or 503 with `Retry-After`.

The store's time zone is UTC−3 (as in the docs' examples), so the plain date fields differ
from the `*_gmt` ones an adapter must read."""

from __future__ import annotations

import base64
import copy
import json
import math
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .webhooks import SentWebhook, hmac_base64, new_id, post, send

FIXTURES = Path(__file__).parent / "woocommerce"
STORE_OFFSET = timedelta(hours=-3)
BATCH_LIMIT = 100


def fixture(name: str):
    return json.loads((FIXTURES / name).read_text())


def wc_error(code: str, message: str, status: int, **data) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, "data": {"status": status, **data}},
                        status_code=status)


def gmt_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def local_text(moment: datetime) -> str:
    return (moment.astimezone(UTC) + STORE_OFFSET).strftime("%Y-%m-%dT%H:%M:%S")


def parse_gmt(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass
class Throttle:
    status: int = 429
    every: int = 0          # every Nth request is refused; 0 = off
    retry_after: str = "0"
    count: int = 0
    refused: int = 0


@dataclass
class WooStore:
    consumer_key: str = "ck_fake_0123456789abcdef"
    consumer_secret: str = "cs_fake_0123456789abcdef"
    tracking_extension: bool = True
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    orders: dict[int, dict] = field(default_factory=dict)
    products: dict[int, dict] = field(default_factory=dict)   # products and variations
    notes: dict[int, list[dict]] = field(default_factory=dict)
    trackings: dict[int, list[dict]] = field(default_factory=dict)
    webhooks: dict[int, dict] = field(default_factory=dict)   # POST /webhooks, with secret
    throttle: Throttle = field(default_factory=Throttle)
    # Called (under the lock) with the query before every order list is answered: tests
    # edit orders here, as a merchant would while bridge pages.
    on_order_list: Callable[[WooStore, dict], None] | None = None
    requests: list[tuple[str, str, dict]] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _next_id: int = 700
    _rng: random.Random = field(default_factory=lambda: random.Random(7))

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    # -- webhooks (WC_Webhook::deliver: the order as GET /orders/<id> shows it, signed)

    def deliver_webhook(self, topic: str, order_id: int, *, secret: str | None = None) -> list[SentWebhook]:
        with self.lock:
            hooks = [dict(h) for h in self.webhooks.values()
                     if h["topic"] == topic and h["status"] == "active"]
            body = json.dumps(self.orders[order_id]).encode()
        resource, _, event = topic.partition(".")
        return [send(hook["delivery_url"], body, {
            "Content-Type": "application/json", "X-WC-Webhook-Source": "https://fake-store.test/",
            "X-WC-Webhook-Topic": topic, "X-WC-Webhook-Resource": resource,
            "X-WC-Webhook-Event": event, "X-WC-Webhook-ID": str(hook["id"]),
            "X-WC-Webhook-Delivery-ID": new_id().replace("-", ""),
            "X-WC-Webhook-Signature": hmac_base64(secret or hook["secret"], body)})
            for hook in hooks]

    def ping_webhook(self, webhook_id: int) -> int:
        """WC_Webhook::deliver_ping: `webhook_id=<id>` as a form, unsigned."""
        address = self.webhooks[webhook_id]["delivery_url"]
        return post(address, f"webhook_id={webhook_id}".encode(),
                    {"Content-Type": "application/x-www-form-urlencoded"})

    # -- catalogue

    def add_product(self, sku: str, *, virtual: bool = False, downloadable: bool = False) -> int:
        with self.lock:
            product = copy.deepcopy(_SIMPLE_TEMPLATE)
            product_id = self.new_id()
            product.update(id=product_id, name=sku, sku=sku, virtual=virtual,
                           downloadable=downloadable, type="simple", parent_id=0,
                           manage_stock=False, stock_quantity=None)
            self.products[product_id] = product
            return product_id

    def add_variable_product(self, sku: str, variation_skus: list[str]) -> tuple[int, list[int]]:
        with self.lock:
            parent_id = self.add_product(sku)
            self.products[parent_id]["type"] = "variable"
            ids = []
            for variation_sku in variation_skus:
                variation = copy.deepcopy(_VARIATION_TEMPLATE)
                variation_id = self.new_id()
                variation.update(id=variation_id, sku=variation_sku, parent_id=parent_id,
                                 type="variation", manage_stock=False, stock_quantity=None)
                self.products[variation_id] = variation
                ids.append(variation_id)
            self.products[parent_id]["variations"] = ids
            return parent_id, ids

    def product_by_sku(self, sku: str) -> dict | None:
        return next((p for p in self.products.values() if p["sku"] == sku), None)

    # -- orders

    def add_order(self, number: str, items: list[tuple[str, int]], *, modified: datetime,
                  status: str = "processing", shipping: dict | None = None) -> int:
        """`items` are (SKU, quantity); unknown SKUs become physical products."""
        with self.lock:
            order = copy.deepcopy(_ORDER_TEMPLATE)
            order_id = self.new_id()
            line_items = []
            for sku, quantity in items:
                product = self.product_by_sku(sku) or self.products[self.add_product(sku)]
                variation = product["type"] == "variation"
                line = copy.deepcopy(_LINE_TEMPLATE)
                line.update(id=self.new_id(), name=product["name"] if "name" in product else sku,
                            product_id=product["parent_id"] if variation else product["id"],
                            variation_id=product["id"] if variation else 0,
                            quantity=quantity, sku=sku)
                line_items.append(line)
            order.update(id=order_id, number=number.lstrip("#"), status=status,
                         line_items=line_items, meta_data=[])
            if shipping is not None:
                order["shipping"] = {**order["shipping"], **shipping}
            self._stamp(order, "date_created", modified)
            self._stamp(order, "date_modified", modified)
            paid = status in ("processing", "completed")
            self._stamp(order, "date_paid", modified if paid else None)
            self._stamp(order, "date_completed", None)
            order["_links"]["self"][0]["href"] = f"https://example.com/wp-json/wc/v3/orders/{order_id}"
            self.orders[order_id] = order
            return order_id

    def touch(self, order_id: int, moment: datetime | None = None, **changes) -> None:
        with self.lock:
            order = self.orders[order_id]
            order.update(changes)
            self._stamp(order, "date_modified", moment or self.clock())

    @staticmethod
    def _stamp(order: dict, name: str, moment: datetime | None) -> None:
        order[name] = local_text(moment) if moment else None
        order[f"{name}_gmt"] = gmt_text(moment) if moment else None

    def count(self, method: str, path_part: str) -> int:
        return len([r for r in self.requests if r[0] == method and path_part in r[1]])


# The documented payloads the fake's records start from.
_ORDER_TEMPLATE = fixture("order.json")
_LINE_TEMPLATE = _ORDER_TEMPLATE["line_items"][0]
_SIMPLE_TEMPLATE = next(p for p in fixture("products_batch_response.json")["create"]
                        if p["type"] == "simple" and not p["virtual"])
_VARIATION_TEMPLATE = fixture("product_variations_batch_response.json")["create"][0]
_NOTE_TEMPLATE = fixture("order_note_create_response.json")
_NO_ROUTE = fixture("error_rest_no_route.json")


def create_app(store: WooStore) -> Starlette:
    def guarded(handler):
        async def endpoint(request: Request) -> Response:
            body = None
            if request.method in ("POST", "PUT"):
                raw = await request.body()
                body = json.loads(raw) if raw else {}
            with store.lock:
                store.requests.append((request.method, request.url.path, dict(request.query_params)))
                refusal = _throttled(store.throttle) or _unauthorised(store, request)
                if refusal is not None:
                    return refusal
                return handler(request, body)
        return endpoint

    # -- orders

    def list_orders(request: Request, _body) -> Response:
        q = request.query_params
        if store.on_order_list:
            store.on_order_list(store, dict(q))
        per_page = int(q.get("per_page", "10"))
        if not 1 <= per_page <= 100:
            return wc_error("rest_invalid_param", "Invalid parameter(s): per_page", 400,
                            params={"per_page": "per_page must be between 1 (inclusive) and 100 (inclusive)"})
        gmt = q.get("dates_are_gmt") in ("true", "1")
        rows = list(store.orders.values())
        for name, keep in (("modified_after", lambda s, b: s > b), ("modified_before", lambda s, b: s < b)):
            if name in q:
                bound = q[name]
                if bound.endswith("Z") or "+" in bound[10:]:
                    # Stricter than WordPress (which shifts zoned bounds into the store's
                    # zone): an adapter must send naive GMT bounds with dates_are_gmt.
                    return wc_error("rest_invalid_param", f"Invalid parameter(s): {name}", 400)
                column = "date_modified_gmt" if gmt else "date_modified"
                rows = [o for o in rows if keep(o[column], bound)]
        if "status" in q and q["status"] != "any":
            wanted = set(q["status"].split(","))
            rows = [o for o in rows if o["status"] in wanted]
        orderby = q.get("orderby", "date")
        if orderby == "id":
            rows.sort(key=lambda o: o["id"])
        else:
            column = "date_modified_gmt" if orderby == "modified" else "date_created_gmt"
            # Ties in no fixed order, different on every request.
            rows.sort(key=lambda o: (o[column], store._rng.random()))
        if q.get("order", "desc") == "desc":
            rows.reverse()
        offset = int(q["offset"]) if "offset" in q else (int(q.get("page", "1")) - 1) * per_page
        chosen = rows[offset:offset + per_page]
        headers = {"X-WP-Total": str(len(rows)),
                   "X-WP-TotalPages": str(math.ceil(len(rows) / per_page))}
        return JSONResponse(copy.deepcopy(chosen), headers=headers)

    def one_order(request: Request, body) -> Response:
        order = store.orders.get(int(request.path_params["order_id"]))
        if order is None:
            return wc_error("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", 404)
        if request.method in ("PUT", "POST"):
            _update_order(store, order, body or {})
        shown = copy.deepcopy(order)
        if "_fields" in request.query_params:
            keep = set(request.query_params["_fields"].split(","))
            shown = {k: v for k, v in shown.items() if k in keep}
        return JSONResponse(shown)

    def order_notes(request: Request, body) -> Response:
        order_id = int(request.path_params["order_id"])
        if order_id not in store.orders:
            return wc_error("woocommerce_rest_order_invalid_id", "Invalid order ID.", 404)
        notes = store.notes.setdefault(order_id, [])
        if request.method == "GET":
            kind = request.query_params.get("type", "any")
            shown = [n for n in notes if kind == "any"
                     or (kind == "customer") == n["customer_note"]]
            return JSONResponse(list(reversed(shown)))
        if not (body or {}).get("note"):
            return wc_error("rest_missing_callback_param", "Missing parameter(s): note", 400)
        note = copy.deepcopy(_NOTE_TEMPLATE)
        now = store.clock()
        note.update(id=store.new_id(), note=body["note"],
                    customer_note=bool(body.get("customer_note", False)),
                    date_created=local_text(now), date_created_gmt=gmt_text(now))
        notes.append(note)
        return JSONResponse(note, status_code=201)

    # -- products

    def list_products(request: Request, _body) -> Response:
        q = request.query_params
        per_page = int(q.get("per_page", "10"))
        if not 1 <= per_page <= 100:
            return wc_error("rest_invalid_param", "Invalid parameter(s): per_page", 400)
        if "sku" in q:
            # With `sku`, WooCommerce searches products and variations alike; it splits
            # the value on commas and, for a list, matches the whole string as well.
            skus = set(q["sku"].split(","))
            if len(skus) > 1:
                skus.add(q["sku"])
            rows = [p for p in store.products.values() if p["sku"] in skus]
        else:
            rows = [p for p in store.products.values() if p["type"] != "variation"]
        rows = _included(rows, q)
        return _product_page([_viewed(store, p) for p in rows], q, per_page)

    def list_variations(request: Request, _body) -> Response:
        q = request.query_params
        parent = store.products.get(int(request.path_params["product_id"]))
        if parent is None or parent["type"] == "variation":
            return wc_error("woocommerce_rest_product_invalid_id", "Invalid ID.", 404)
        rows = [_viewed(store, p) for p in store.products.values() if p["parent_id"] == parent["id"]]
        return _product_page(_included(rows, q), q, int(q.get("per_page", "10")))

    def products_batch(request: Request, body) -> Response:
        return _batch(store, body or {}, parent_id=None)

    def variations_batch(request: Request, body) -> Response:
        return _batch(store, body or {}, parent_id=int(request.path_params["product_id"]))

    # -- Shipment Tracking extension

    def trackings(request: Request, body) -> Response:
        if not store.tracking_extension:
            return JSONResponse(_NO_ROUTE, status_code=404)
        order_id = int(request.path_params["order_id"])
        if order_id not in store.orders:
            return wc_error("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", 404)
        items = store.trackings.setdefault(order_id, [])
        if request.method == "GET":
            return JSONResponse(items)
        body = body or {}
        if not body.get("tracking_number"):
            return wc_error("rest_missing_callback_param", "Missing parameter(s): tracking_number", 400)
        provider = body.get("custom_tracking_provider") or body.get("tracking_provider", "")
        item = {
            "tracking_id": f"{store.new_id():032x}",
            "tracking_provider": provider,
            "tracking_link": body.get("custom_tracking_link", ""),
            "tracking_number": body["tracking_number"],
            "date_shipped": body.get("date_shipped") or store.clock().date().isoformat(),
        }
        items.append(item)
        return JSONResponse(item, status_code=201)

    def tracking_index(request: Request, body) -> Response:
        # WordPress's index of a REST namespace: there only while the plugin is active.
        if not store.tracking_extension:
            return JSONResponse(_NO_ROUTE, status_code=404)
        route = "/wc-shipment-tracking/v3/orders/(?P<order_id>[\\d]+)/shipment-trackings"
        return JSONResponse({"namespace": "wc-shipment-tracking/v3",
                             "routes": {route: {"namespace": "wc-shipment-tracking/v3",
                                                "methods": ["GET", "POST"]}}})

    def webhooks(request: Request, body) -> Response:
        if request.method == "GET":
            q = request.query_params
            per_page, page = int(q.get("per_page", "10")), int(q.get("page", "1"))
            rows = [_webhook_view(h) for h in sorted(store.webhooks.values(), key=lambda h: h["id"])
                    if q.get("status", "all") in ("all", h["status"])]
            return JSONResponse(rows[(page - 1) * per_page:page * per_page],
                                headers={"X-WP-Total": str(len(rows)),
                                         "X-WP-TotalPages": str(math.ceil(len(rows) / per_page))})
        body = body or {}
        topic, address = body.get("topic", ""), body.get("delivery_url", "")
        if not topic or not address:
            return wc_error("rest_missing_callback_param", "Missing parameter(s): topic, delivery_url",
                            400)
        if topic.partition(".")[0] not in ("order", "product", "customer", "coupon"):
            return wc_error("woocommerce_rest_webhook_invalid_topic", "Webhook topic is invalid.", 400)
        webhook_id = store.new_id()
        moment = store.clock()
        store.webhooks[webhook_id] = {
            "id": webhook_id, "name": body.get("name", ""), "status": body.get("status", "active"),
            "topic": topic, "resource": topic.partition(".")[0], "event": topic.partition(".")[2],
            "delivery_url": address, "secret": body.get("secret") or "generated-secret",
            "date_created": local_text(moment), "date_created_gmt": gmt_text(moment)}
        return JSONResponse(_webhook_view(store.webhooks[webhook_id]), status_code=201)

    async def no_route(request: Request) -> Response:
        return JSONResponse(_NO_ROUTE, status_code=404)

    wc = "/wp-json/wc/v3"
    routes = [
        Route(f"{wc}/orders", guarded(list_orders), methods=["GET"]),
        Route(f"{wc}/orders/{{order_id:int}}", guarded(one_order), methods=["GET", "PUT", "POST"]),
        Route(f"{wc}/orders/{{order_id:int}}/notes", guarded(order_notes), methods=["GET", "POST"]),
        Route(f"{wc}/products", guarded(list_products), methods=["GET"]),
        Route(f"{wc}/products/batch", guarded(products_batch), methods=["POST", "PUT"]),
        Route(f"{wc}/products/{{product_id:int}}/variations", guarded(list_variations), methods=["GET"]),
        Route(f"{wc}/products/{{product_id:int}}/variations/batch", guarded(variations_batch),
              methods=["POST", "PUT"]),
        Route("/wp-json/wc-shipment-tracking/v3/orders/{order_id:int}/shipment-trackings",
              guarded(trackings), methods=["GET", "POST"]),
        Route("/wp-json/wc-shipment-tracking/v3", guarded(tracking_index), methods=["GET"]),
        Route(f"{wc}/webhooks", guarded(webhooks), methods=["GET", "POST"]),
        Route("/{rest:path}", no_route, methods=["GET", "POST", "PUT", "DELETE"]),
    ]
    return Starlette(routes=routes)


def _webhook_view(hook: dict) -> dict:
    """A webhook as the API shows it (webhook_create_response.json): never its secret."""
    view = {k: v for k, v in fixture("webhook_create_response.json").items() if k != "_links"}
    view.update({k: v for k, v in hook.items() if k != "secret"})
    return view


def _throttled(throttle: Throttle) -> Response | None:
    if not throttle.every:
        return None
    throttle.count += 1
    if throttle.count % throttle.every:
        return None
    throttle.refused += 1
    return Response("Too many requests", status_code=throttle.status,
                    headers={"Retry-After": throttle.retry_after})


def _unauthorised(store: WooStore, request: Request) -> Response | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return wc_error("woocommerce_rest_cannot_view", "Sorry, you cannot list resources.", 401)
    key, _, secret = base64.b64decode(header[6:]).decode().partition(":")
    if key != store.consumer_key:
        return wc_error("woocommerce_rest_authentication_error", "Consumer key is invalid.", 401)
    if secret != store.consumer_secret:
        return wc_error("woocommerce_rest_authentication_error", "Consumer secret is invalid.", 401)
    return None


def _update_order(store: WooStore, order: dict, body: dict) -> None:
    for meta in body.get("meta_data") or []:
        existing = next((m for m in order["meta_data"] if m["key"] == meta["key"]), None)
        if existing:
            existing["value"] = meta["value"]
        else:
            order["meta_data"].append({"id": store.new_id(), "key": meta["key"], "value": meta["value"]})
    now = store.clock()
    if "status" in body:
        order["status"] = body["status"]
        if body["status"] == "completed":
            WooStore._stamp(order, "date_completed", now)
    if "shipping" in body:
        order["shipping"] = {**order["shipping"], **body["shipping"]}
    WooStore._stamp(order, "date_modified", now)


def _included(rows: list[dict], q) -> list[dict]:
    if "include" in q:
        wanted = {int(i) for i in q["include"].split(",") if i}
        rows = [p for p in rows if p["id"] in wanted]
    return rows


def _viewed(store: WooStore, product: dict) -> dict:
    """A row as the REST API shows it ("view" context): a variation that keeps no stock
    of its own while its parent does sells from the parent's stock."""
    parent = store.products.get(product["parent_id"]) if product["type"] == "variation" else None
    if parent is None or product["manage_stock"] is not False or parent["manage_stock"] is not True:
        return product
    return {**product, "manage_stock": "parent", "stock_quantity": parent["stock_quantity"],
            "stock_status": parent["stock_status"]}


def _product_page(rows: list[dict], q, per_page: int) -> Response:
    rows = sorted(rows, key=lambda p: p["id"])
    page = int(q.get("page", "1"))
    chosen = rows[(page - 1) * per_page: page * per_page]
    if "_fields" in q:
        keep = set(q["_fields"].split(","))
        chosen = [{k: v for k, v in p.items() if k in keep} for p in chosen]
    headers = {"X-WP-Total": str(len(rows)), "X-WP-TotalPages": str(math.ceil(len(rows) / per_page))}
    return JSONResponse(copy.deepcopy(chosen), headers=headers)


def _batch(store: WooStore, body: dict, parent_id: int | None) -> Response:
    total = sum(len(body.get(action) or []) for action in ("create", "update", "delete"))
    if total > BATCH_LIMIT:
        return wc_error("woocommerce_rest_request_entity_too_large",
                        f"Unable to accept more than {BATCH_LIMIT} items for this request.", 413)
    updated = []
    for change in body.get("update") or []:
        product = store.products.get(int(change.get("id", 0)))
        wrong_kind = product is None or (
            product["parent_id"] != parent_id if parent_id is not None else product["type"] == "variation"
        )
        if wrong_kind:
            updated.append({"id": change.get("id"), "error": {
                "code": "woocommerce_rest_product_invalid_id", "message": "Invalid ID.",
                "data": {"status": 400}}})
            continue
        for key in ("manage_stock", "stock_quantity"):
            if key in change:
                product[key] = change[key]
        product["stock_status"] = "instock" if (product["stock_quantity"] or 0) > 0 else "outofstock"
        updated.append(copy.deepcopy(product))
    return JSONResponse({"update": updated})
