"""A stateful fake of Shopify's GraphQL Admin API, enough for bridge's Shopify adapter:
orders with fulfillment orders per location, fulfillments with tracking, variants and
inventory levels (read by SKU, set with compare-and-swap and idempotency keys), order
notes, tags, totals and risk, order cancels (a job), order edits (line quantities lowered),
fulfillment events; admin tokens and the client-credentials grant; the cost-based leaky bucket
(THROTTLED in a 200 body, or HTTP 429), the 1,000-point query cap, ACCESS_DENIED.
Every document is validated against Shopify's published schema.

Tests drive the state directly (`add_order`, `edit_order`, `cancel_order`,
`set_available`, …) and read
what the adapter wrote (`fulfillments` and their `events`, `levels`, `notes`, an order's
`cancellation` and `edits`, `requests`)."""

from __future__ import annotations

import copy
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .shopify_graphql import (
    Operation,
    RequestError,
    compare,
    connection,
    fixture,
    search_terms,
    search_time,
)
from .webhooks import SentWebhook, hmac_base64, new_id, send

MAX_QUERY_COST = 1000
INVALID_TOKEN = {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
DEFAULT_LOCATION = "gid://shopify/Location/1001"
# What the app is granted by default: every scope the adapter's guide asks for.
DEFAULT_SCOPES = ("read_orders", "write_orders", "write_order_edits",
                  "write_merchant_managed_fulfillment_orders",
                  "read_products", "read_inventory", "write_inventory")


@dataclass
class FoLine:
    """A FulfillmentOrderLineItem and (the fake keeps them one to one) its order's
    LineItem: `ordered` as placed, `current` after edits."""

    id: str
    sku: str
    total: int
    remaining: int
    requires_shipping: bool = True
    title: str = ""
    line_item_id: str = ""
    ordered: int = 0
    current: int = 0


@dataclass
class FulfillmentOrder:
    id: str
    location_id: str
    status: str
    lines: list[FoLine]


@dataclass
class Fulfillment:
    id: str
    order_id: str
    status: str
    company: str
    number: str
    url: str | None
    notify_customer: bool
    lines: list[tuple[str, int]]  # (FulfillmentOrderLineItem id, quantity)
    events: list[dict] = field(default_factory=list)  # FulfillmentEvent fields


@dataclass
class Order:
    id: str
    name: str
    created_at: datetime
    updated_at: datetime
    financial_status: str
    address: dict | None
    shipping_line: dict | None
    email: str = "ava@example.com"
    cancelled_at: datetime | None = None
    note: str | None = None
    fulfillment_orders: list[FulfillmentOrder] = field(default_factory=list)
    fulfillments: list[Fulfillment] = field(default_factory=list)
    total: str = "0.00"
    currency: str = "USD"
    tags: list[str] = field(default_factory=list)
    # Order.risk: {"recommendation": …, "assessments": [{"riskLevel": …}]}
    risk: dict = field(default_factory=lambda: {"recommendation": "NONE", "assessments": []})
    # What orderCancel was asked (reason, restock, refund, notify, staff note).
    cancellation: dict | None = None
    # orderEditCommit calls that changed the order: (notifyCustomer, staffNote, restocked).
    edits: list[tuple[bool, str | None, bool]] = field(default_factory=list)


@dataclass
class LoggedRequest:
    operation: str
    root_fields: list[str]
    variables: dict
    requested_cost: int | None
    outcome: str  # "ok", "throttled", "unauthorized", "error", "lost"
    status: int


class ShopifyFake:
    def __init__(self, *, access_tokens: tuple[str, ...] = ("shpat_fake_admin_token",),
                 client_id: str = "", client_secret: str = "", token_lifetime: int = 86_399,
                 maximum_available: float = 1000.0, restore_rate: float = 100.0,
                 idempotency_required: bool = True) -> None:
        self.lock = threading.RLock()
        self.valid_tokens = set(access_tokens)
        self.client_id, self.client_secret = client_id, client_secret
        self.token_lifetime = token_lifetime
        self.granted_tokens: list[str] = []
        self.maximum_available, self.restore_rate = maximum_available, restore_rate
        self._available, self._filled_at = maximum_available, time.monotonic()
        self.idempotency_required = idempotency_required
        self.orders: dict[str, Order] = {}
        self.variants: list[dict] = []          # {id, sku, inventory_item_id, tracked}
        self.levels: dict[tuple[str, str], int] = {}  # (inventory item, location) → available
        # Location GID → the fields of the schema's Location the fake serves.
        self.locations: dict[str, dict] = {
            DEFAULT_LOCATION: {"name": "Amazon MCF", "isActive": True, "fulfillsOnlineOrders": True},
            "gid://shopify/Location/2002": {"name": "Back room", "isActive": True,
                                            "fulfillsOnlineOrders": True},
        }
        self.shop_name = "Fake Shop"
        self.access_scopes = list(DEFAULT_SCOPES)
        self.requests: list[LoggedRequest] = []
        self.forced_throttles: list[int] = []   # HTTP status of each forced THROTTLED answer
        self.throttle_every = 0                 # >0: every n-th GraphQL call is THROTTLED
        self.denied_fields: set[str] = set()
        self.lost_answers: dict[str, int] = {}  # operation → 5xx sent after it ran, once
        self.idempotency_keys: dict[str, dict] = {}  # key → {input, result, failed}
        self.replays = 0  # results answered from an idempotency key, not executed again
        # orderCancel runs as a job: queued here, done before the next request is served
        # (or held while `hold_jobs`, to show an order whose cancel is still running).
        self.pending_jobs: list[tuple[str, Any]] = []
        self.hold_jobs = False
        self.edit_sessions: dict[str, dict] = {}  # CalculatedOrder GID → {order, staged}
        # Shopify keeps whole seconds.
        self.clock = lambda: datetime.now(UTC).replace(microsecond=0)
        self._ids = itertools.count(5_000_000_001)
        # webhookSubscriptionCreate's subscriptions ({id, topic, uri}), and the app's client
        # secret that signs their deliveries.
        self.webhook_subscriptions: list[dict] = []
        self.app_secret = client_secret or "shopify-app-client-secret"
        self._calls = 0
        self.app = Starlette(routes=[
            Route("/admin/api/{version}/graphql.json", self._graphql, methods=["POST"]),
            Route("/admin/oauth/access_token", self._token, methods=["POST"]),
        ])

    # -- driving the state ------------------------------------------------------------

    def gid(self, kind: str) -> str:
        return f"gid://shopify/{kind}/{next(self._ids)}"

    def add_order(self, name: str, *, updated_at: datetime, created_at: datetime | None = None,
                  financial_status: str = "PAID", address: dict | None = None,
                  shipping_line: dict | None = None,
                  fulfillment_orders: list[tuple[str, str, list[tuple[str, int, bool]]]] = (),
                  **details: Any) -> str:
        """fulfillment_orders: (location GID, status, [(sku, quantity, requires shipping)]);
        details: the Order fields `total`, `currency`, `tags`, `note`, `risk`."""
        with self.lock:
            order = Order(
                id=self.gid("Order"), name=name, created_at=created_at or updated_at,
                updated_at=updated_at, financial_status=financial_status, address=address,
                shipping_line=shipping_line or {"title": "Standard", "code": "STANDARD"},
                **details,
            )
            for location, status, lines in fulfillment_orders:
                fo = FulfillmentOrder(self.gid("FulfillmentOrder"), location, status, [])
                for sku, quantity, ships in lines:
                    fo.lines.append(FoLine(self.gid("FulfillmentOrderLineItem"), sku, quantity, quantity, ships,
                                           title=sku.replace("-", " ").title(),
                                           line_item_id=self.gid("LineItem"), ordered=quantity,
                                           current=quantity))
                    self.ensure_variant(sku)
                order.fulfillment_orders.append(fo)
            self.orders[order.id] = order
            return order.id

    def edit_order(self, order_id: str, *, updated_at: datetime, **changes: Any) -> None:
        with self.lock:
            order = self.orders[order_id]
            for key, value in changes.items():
                setattr(order, key, value)
            order.updated_at = updated_at

    def cancel_order(self, order_id: str, *, updated_at: datetime) -> None:
        with self.lock:
            order = self.orders[order_id]
            order.cancelled_at = order.updated_at = updated_at
            for fo in order.fulfillment_orders:
                if fo.status in ("OPEN", "IN_PROGRESS", "ON_HOLD", "SCHEDULED"):
                    fo.status = "CANCELLED"

    def ensure_variant(self, sku: str, tracked: bool = True) -> dict:
        with self.lock:
            for variant in self.variants:
                if variant["sku"] == sku:
                    return variant
            variant = {"id": self.gid("ProductVariant"), "sku": sku,
                       "inventory_item_id": self.gid("InventoryItem"), "tracked": tracked}
            self.variants.append(variant)
            return variant

    def add_variant(self, sku: str, tracked: bool = True) -> dict:
        """Another variant with this SKU (Shopify does not keep SKUs unique)."""
        with self.lock:
            variant = {"id": self.gid("ProductVariant"), "sku": sku,
                       "inventory_item_id": self.gid("InventoryItem"), "tracked": tracked}
            self.variants.append(variant)
            return variant

    def set_available(self, sku: str, quantity: int, location: str = DEFAULT_LOCATION) -> None:
        """A change in the admin (a manual edit, another app): every item with the SKU."""
        with self.lock:
            for variant in self.variants:
                if variant["sku"] == sku:
                    self.levels[(variant["inventory_item_id"], location)] = quantity

    def levels_of(self, sku: str, location: str = DEFAULT_LOCATION) -> list[int | None]:
        with self.lock:
            return [self.levels.get((v["inventory_item_id"], location)) for v in self.variants if v["sku"] == sku]

    def stock_by_sku(self, location: str = DEFAULT_LOCATION) -> dict[str, int]:
        with self.lock:
            return {v["sku"]: self.levels[(v["inventory_item_id"], location)]
                    for v in self.variants if (v["inventory_item_id"], location) in self.levels}

    def all_fulfillments(self) -> list[Fulfillment]:
        with self.lock:
            return [f for order in self.orders.values() for f in order.fulfillments]

    def expire_granted_tokens(self) -> None:
        """Tokens of the client-credentials grant lapse (as they do after 24 h)."""
        with self.lock:
            for token in self.granted_tokens:
                self.valid_tokens.discard(token)

    def uninstall_app(self) -> None:
        """Every token is revoked and the grant refused, as when the app is uninstalled."""
        with self.lock:
            self.valid_tokens.clear()
            self.client_id = self.client_secret = ""

    def graphql_requests(self, operation: str | None = None) -> list[LoggedRequest]:
        with self.lock:
            return [r for r in self.requests if operation in (None, r.operation)]

    # -- HTTP -------------------------------------------------------------------------

    async def _token(self, request: Request) -> JSONResponse:
        # The grant posts a form; parsed by hand so the fake needs no multipart library.
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        with self.lock:
            good = (form.get("grant_type") == "client_credentials" and self.client_id
                    and form.get("client_id") == self.client_id
                    and form.get("client_secret") == self.client_secret)
            if not good:
                return JSONResponse({"error": "invalid_client",
                                     "error_description": "Client credentials are invalid"}, 401)
            token = f"shpat_cc_{next(self._ids)}"
            self.granted_tokens.append(token)
            self.valid_tokens.add(token)
            return JSONResponse({"access_token": token, "scope": "read_orders,write_inventory",
                                 "expires_in": self.token_lifetime})

    async def _graphql(self, request: Request) -> JSONResponse:
        body = await request.json()
        with self.lock:
            return self._answer(request.headers.get("X-Shopify-Access-Token", ""), body)

    def run_jobs(self) -> None:
        """Finish every queued job (as Shopify's background workers do)."""
        with self.lock:
            jobs, self.pending_jobs = self.pending_jobs, []
            for _job_id, work in jobs:
                work()

    def _answer(self, token: str, body: dict) -> JSONResponse:
        if not self.hold_jobs:
            self.run_jobs()
        if token not in self.valid_tokens:
            self._log("?", [], {}, None, "unauthorized", 401)
            return JSONResponse(INVALID_TOKEN, 401)
        try:
            op = Operation(body.get("query", ""), body.get("variables"), body.get("operationName"))
        except RequestError as exc:
            self._log("?", [], body.get("variables") or {}, None, "error", 200)
            return JSONResponse(self._error_body(str(exc), exc.code, None))
        roots = [f.name.value for f in op.root_fields]
        requested = op.requested_cost()
        self._calls += 1

        def log(outcome: str, status: int = 200) -> None:
            self._log(op.name, roots, op.raw_variables, requested, outcome, status)

        if requested > MAX_QUERY_COST:
            log("error")
            message = (f"Query cost is {requested}, which exceeds the single query max cost "
                       f"limit ({MAX_QUERY_COST}).")
            return JSONResponse(self._error_body(message, "MAX_COST_EXCEEDED", requested))
        denied = [name for name in roots if name in self.denied_fields]
        if denied:
            log("error")
            return JSONResponse(self._error_body(
                f"Access denied for {denied[0]} field.", "ACCESS_DENIED", requested))
        forced = self.forced_throttles.pop(0) if self.forced_throttles else None
        if forced is None and self.throttle_every and self._calls % self.throttle_every == 0:
            forced = 200
        available = self._refill()
        if forced is not None or available < requested:
            log("throttled", forced or 200)
            return self._throttled(requested, forced or 200)
        self._available -= requested
        try:
            data = self._execute(op)
        except RequestError as exc:
            self._available += requested
            log("error")
            return JSONResponse(self._error_body(str(exc), exc.code, requested))
        actual = op.actual_cost(data)
        self._available = min(self.maximum_available, self._available + requested - actual)
        lost = self.lost_answers.pop(op.name, None)
        if lost:
            log("lost", lost)  # done, but the answer never reaches the caller
            return JSONResponse({"errors": "Internal Server Error"}, lost)
        log("ok")
        envelope = fixture("envelope_success_with_cost.json")
        envelope["data"] = data
        envelope["extensions"]["cost"] = self._cost(requested, actual)
        return JSONResponse(envelope)

    def _log(self, *fields: Any) -> None:
        self.requests.append(LoggedRequest(*fields))

    def _refill(self) -> float:
        now = time.monotonic()
        self._available = min(self.maximum_available,
                              self._available + (now - self._filled_at) * self.restore_rate)
        self._filled_at = now
        return self._available

    def _cost(self, requested: int | None, actual: int | None) -> dict:
        return {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": {
                "maximumAvailable": self.maximum_available,
                "currentlyAvailable": int(self._available),
                "restoreRate": self.restore_rate,
            },
        }

    def _throttled(self, requested: int, status: int) -> JSONResponse:
        body = fixture("error_throttled.json")
        body["extensions"] = {"cost": self._cost(requested, None)}
        return JSONResponse(body, status)

    def _error_body(self, message: str, code: str | None, requested: int | None) -> dict:
        body = fixture("error_query_with_cost.json")
        error = {"message": message, "locations": [], "path": []}
        if code:
            error["extensions"] = {"code": code}
        body["errors"] = [error]
        body["extensions"]["cost"] = self._cost(requested or 0, requested or 0)
        return body

    # -- operations -------------------------------------------------------------------

    def _execute(self, op: Operation) -> dict:
        data = {}
        for root in op.root_fields:
            resolver = getattr(self, f"_root_{root.name.value}", None)
            if resolver is None:
                raise RequestError(f"the fake does not serve {root.name.value}")
            data[root.alias.value if root.alias else root.name.value] = op.project(
                resolver(op, root, **op.args(root)), root)
        return data

    def _root_orders(self, op, root, first=None, after=None, query="", sortKey=None, **unused) -> dict:
        if unused or sortKey != "UPDATED_AT":
            raise RequestError("the fake lists orders only by UPDATED_AT, forwards")
        _connective, terms = search_terms(query or "")
        chosen = []
        for order in self.orders.values():
            for name, comparator, value in terms:
                if name != "updated_at":
                    raise RequestError(f"the fake cannot filter orders on {name}")
                if not compare(order.updated_at, comparator, search_time(value)):
                    break
            else:
                chosen.append(order)
        chosen.sort(key=_order_key)
        return connection([self._order_object(o) for o in chosen], first, after,
                          cursor_of=lambda obj: obj["_key"])

    def _root_order(self, op, root, id) -> dict | None:
        order = self.orders.get(id)
        return self._order_object(order) if order else None

    def _root_shop(self, op, root) -> dict:
        return {"name": self.shop_name}

    # -- webhooks ---------------------------------------------------------------------

    def _root_webhookSubscriptions(self, op, root, first=None, after=None, topics=None,
                                   **unused) -> dict:
        chosen = [dict(s) for s in self.webhook_subscriptions
                  if topics is None or s["topic"] in topics]
        return connection(chosen, first, after, max_first=100)

    def _root_webhookSubscriptionCreate(self, op, root, topic, webhookSubscription) -> dict:
        uri = webhookSubscription.get("uri") or webhookSubscription.get("callbackUrl") or ""
        if not (uri.startswith("https://") or uri.startswith("http://127.0.0.1")):
            return _payload("webhookSubscription", None,
                            [_user_error(["webhookSubscription", "callbackUrl"],
                                         "Address protocol http:// is not supported")])
        if any(s["topic"] == topic and s["uri"] == uri for s in self.webhook_subscriptions):
            return _payload("webhookSubscription", None,
                            [_user_error(["webhookSubscription", "callbackUrl"],
                                         "Address for this topic has already been taken")])
        subscription = {"id": f"gid://shopify/WebhookSubscription/{next(self._ids)}",
                        "topic": topic, "uri": uri}
        self.webhook_subscriptions.append(subscription)
        return _payload("webhookSubscription", dict(subscription), [])

    def deliver_webhook(self, topic: str, order_id: str, *, secret: str | None = None,
                        triggered_at: datetime | None = None) -> list[SentWebhook]:
        """Post `topic` (orders/paid …) for the order to each subscription of it, with
        Shopify's headers, signed with the app's secret (or `secret`, to forge one)."""
        enum = topic.upper().replace("/", "_")
        with self.lock:
            addresses = [s["uri"] for s in self.webhook_subscriptions if s["topic"] == enum]
            order = self.orders[order_id]
            number = int(order_id.rsplit("/", 1)[1])
            body = json.dumps({"id": number, "admin_graphql_api_id": order_id,
                               "name": order.name, "updated_at": _iso(order.updated_at)}).encode()
        event = new_id()
        moment = triggered_at or datetime.now(UTC)
        sent = []
        for address in addresses:
            headers = {"Content-Type": "application/json", "X-Shopify-Topic": topic,
                       "X-Shopify-Hmac-Sha256": hmac_base64(secret or self.app_secret, body),
                       "X-Shopify-Shop-Domain": "fake-shop.myshopify.com",
                       "X-Shopify-API-Version": "2026-07", "X-Shopify-Webhook-Id": new_id(),
                       "X-Shopify-Event-Id": event,
                       "X-Shopify-Triggered-At": moment.isoformat().replace("+00:00", "Z")}
            sent.append(send(address, body, headers))
        return sent

    def _root_currentAppInstallation(self, op, root) -> dict:
        return {"accessScopes": [{"handle": handle} for handle in self.access_scopes]}

    def _root_location(self, op, root, id=None) -> dict | None:
        return self._location_object(id) if id in self.locations else None

    def _root_locations(self, op, root, first=None, after=None, includeInactive=False, **unused) -> dict:
        if unused:
            raise RequestError("the fake lists locations only forwards, without a query")
        chosen = [gid for gid, info in self.locations.items() if includeInactive or info["isActive"]]
        return connection([self._location_object(gid) for gid in chosen], first, after)

    def _location_object(self, gid: str) -> dict:
        return {"id": gid, **self.locations[gid]}

    def _root_fulfillmentOrder(self, op, root, id) -> dict | None:
        for order in self.orders.values():
            for fo in order.fulfillment_orders:
                if fo.id == id:
                    return self._fo_object(fo)
        return None

    def _root_productVariants(self, op, root, first=None, after=None, query="", **unused) -> dict:
        connective, terms = search_terms(query or "")
        if connective != "OR" and len(terms) > 1 or any(t[0] != "sku" for t in terms):
            raise RequestError("the fake looks variants up by sku terms joined with OR")
        wanted = {value for _f, _op, value in terms}
        chosen = [v for v in self.variants if v["sku"] in wanted]
        return connection([{"id": v["id"], "sku": v["sku"],
                            "inventoryItem": {"id": v["inventory_item_id"], "tracked": v["tracked"]}}
                           for v in chosen], first, after)

    def _root_inventoryItems(self, op, root, first=None, after=None, query="", **unused) -> dict:
        if unused:
            raise RequestError("the fake lists inventory items only forwards, by sku")
        connective, terms = search_terms(query or "")
        if connective != "OR" and len(terms) > 1 or any(t[0] != "sku" for t in terms):
            raise RequestError("the fake looks inventory items up by sku terms joined with OR")
        wanted = {value for _f, _op, value in terms}
        return connection([self._inventory_item_object(v) for v in self.variants if v["sku"] in wanted],
                          first, after)

    def _inventory_item_object(self, variant: dict) -> dict:
        item = variant["inventory_item_id"]
        return {
            "id": item, "sku": variant["sku"], "tracked": variant["tracked"],
            "inventoryLevel": lambda locationId, includeInactive=None: self._level_object(item, locationId),
        }

    def _level_object(self, item: str, location: str) -> dict | None:
        if (item, location) not in self.levels:
            return None  # not stocked there

        def quantities(names: list[str]) -> list[dict]:
            if set(names) - {"available"}:
                raise RequestError("the fake keeps only the available quantity")
            return [{"name": "available", "quantity": self.levels[(item, location)]}]

        return {"quantities": quantities}

    def _root_fulfillmentCreate(self, op, root, fulfillment, message=None) -> dict:
        errors = []
        groups = fulfillment["lineItemsByFulfillmentOrder"]
        fos = [self._find_fo(g["fulfillmentOrderId"]) for g in groups]
        if any(fo is None for fo, _order in fos) or not groups:
            return _payload("fulfillment", None, [_user_error(["fulfillment"], "Fulfillment order does not exist.")])
        orders = {order.id for _fo, order in fos}
        locations = {fo.location_id for fo, _order in fos}
        if len(orders) > 1 or len(locations) > 1:
            errors.append(_user_error(["fulfillment"], "Fulfillment orders must belong to one order and location."))
        taking: list[tuple[FoLine, int]] = []
        for group, (fo, _order) in zip(groups, fos, strict=True):
            if fo.status not in ("OPEN", "IN_PROGRESS"):
                errors.append(_user_error(
                    ["fulfillment"],
                    f"Fulfillment order {fo.id} has an unfulfillable status= {fo.status.lower()}."))
                continue
            items = group.get("fulfillmentOrderLineItems")
            if not items:
                taking += [(line, line.remaining) for line in fo.lines if line.remaining]
                continue
            by_id = {line.id: line for line in fo.lines}
            for item in items:
                line = by_id.get(item["id"])
                if line is None or not 0 < item["quantity"] <= line.remaining:
                    errors.append(_user_error(["fulfillment", "lineItemsByFulfillmentOrder"],
                                              "Invalid fulfillment order line item quantity requested."))
                else:
                    taking.append((line, item["quantity"]))
        if errors:
            return _payload("fulfillment", None, errors)
        for line, quantity in taking:
            line.remaining -= quantity
        for fo, _order in fos:
            fo.status = "CLOSED" if all(line.remaining == 0 for line in fo.lines) else "IN_PROGRESS"
        order = fos[0][1]
        tracking = fulfillment.get("trackingInfo") or {}
        record = Fulfillment(self.gid("Fulfillment"), order.id, "SUCCESS", tracking.get("company") or "",
                             tracking.get("number") or "", tracking.get("url"),
                             bool(fulfillment.get("notifyCustomer", False)),
                             [(line.id, quantity) for line, quantity in taking])
        order.fulfillments.append(record)
        order.updated_at = self.clock()
        return _payload("fulfillment", self._fulfillment_object(record), [])

    def _root_orderUpdate(self, op, root, input) -> dict:
        order = self.orders.get(input["id"])
        if order is None:
            return _payload("order", None, [_user_error(["id"], "Order does not exist")])
        if set(input) - {"id", "note"}:
            raise RequestError("the fake updates only the note")
        order.note = input.get("note")
        order.updated_at = self.clock()
        return _payload("order", self._order_object(order), [])

    # -- cancels and order edits ---------------------------------------------------------

    def _root_orderCancel(self, op, root, orderId, reason, restock, notifyCustomer=None, refund=None,
                          refundMethod=None, staffNote=None) -> dict:
        """Queues a job that cancels the order. Refused (orderCancelUserErrors, no job) for
        an unknown order, one cancelled or being cancelled, one with a live fulfillment
        (Shopify cancels only orders whose fulfillments can be cancelled; the fake has no
        fulfillment cancel) and a staff note over 255 characters."""
        order = self.orders.get(orderId)
        problem = None
        if order is None:
            problem = _user_error(["orderId"], "Order does not exist.", "NOT_FOUND")
        elif order.cancelled_at or order.cancellation:
            problem = _user_error(["orderId"], "Order has already been canceled.", "INVALID")
        elif any(f.status == "SUCCESS" for f in order.fulfillments):
            problem = _user_error(["orderId"], "Order has fulfillments that can't be canceled.", "INVALID")
        elif staffNote and len(staffNote) > 255:
            problem = _user_error(["staffNote"], "Staff note is too long (maximum is 255 characters).",
                                  "INVALID")
        if problem:
            return {"job": None, "orderCancelUserErrors": [problem], "userErrors": []}
        order.cancellation = {"reason": reason, "restock": restock, "refund": refund,
                              "refundMethod": refundMethod, "notifyCustomer": notifyCustomer,
                              "staffNote": staffNote}
        job = self.gid("Job")
        self.pending_jobs.append((job, lambda: self._finish_cancel(order)))
        return {"job": {"id": job, "done": False}, "orderCancelUserErrors": [], "userErrors": []}

    def _finish_cancel(self, order: Order) -> None:
        order.cancelled_at = order.updated_at = self.clock()
        for fo in order.fulfillment_orders:
            if fo.status in ("OPEN", "IN_PROGRESS", "ON_HOLD", "SCHEDULED"):
                fo.status = "CANCELLED"

    def _root_orderEditBegin(self, op, root, id) -> dict:
        order = self.orders.get(id)
        if order is None or order.cancelled_at:
            return {"calculatedOrder": None, "orderEditSession": None,
                    "userErrors": [_user_error(["id"], "The order can't be edited.")]}
        calculated = self.gid("CalculatedOrder")
        self.edit_sessions[calculated] = {"order": order, "staged": {}}
        return {"calculatedOrder": self._calculated_order(calculated),
                "orderEditSession": {"id": calculated.replace("CalculatedOrder", "OrderEditSession")},
                "userErrors": []}

    def _root_orderEditSetQuantity(self, op, root, id, lineItemId, quantity, restock=None,
                                   locationId=None) -> dict:
        """Lowers a line's quantity in the session, down to what is fulfilled already
        (only unfulfilled units can be edited). The fake does not add units."""
        session = self.edit_sessions.get(id)
        line = self._calculated_line(session, lineItemId) if session else None
        if session is None or line is None:
            return {"calculatedLineItem": None, "calculatedOrder": None, "orderEditSession": None,
                    "userErrors": [_user_error(["lineItemId"], "Line item does not exist.")]}
        if quantity > line.current:
            raise RequestError("the fake lowers quantities only")
        if quantity < line.current - line.remaining:
            return {"calculatedLineItem": None, "calculatedOrder": None, "orderEditSession": None,
                    "userErrors": [_user_error(["quantity"],
                                               "Quantity can't be less than the fulfilled quantity.")]}
        session["staged"][line.id] = (quantity, bool(restock))
        return {"calculatedLineItem": self._calculated_line_object(line, quantity),
                "calculatedOrder": self._calculated_order(id), "orderEditSession": {"id": id},
                "userErrors": []}

    def _root_orderEditCommit(self, op, root, id, notifyCustomer=None, staffNote=None) -> dict:
        """Applies the staged quantities: the order line and its fulfillment order line
        lose the removed units; a fulfillment order with nothing left closes."""
        session = self.edit_sessions.pop(id, None)
        if session is None:
            return {"order": None, "successMessages": None,
                    "userErrors": [_user_error(["id"], "The order edit session does not exist.")]}
        order: Order = session["order"]
        restocked = False
        for fo in order.fulfillment_orders:
            for line in fo.lines:
                if line.id not in session["staged"]:
                    continue
                quantity, restock = session["staged"][line.id]
                removed = line.current - quantity
                line.current, line.total, line.remaining = quantity, line.total - removed, line.remaining - removed
                restocked = restocked or (restock and removed > 0)
            if fo.status in ("OPEN", "IN_PROGRESS") and all(line.remaining == 0 for line in fo.lines):
                fo.status = "CLOSED"
        if session["staged"]:
            order.edits.append((bool(notifyCustomer), staffNote, restocked))
            order.updated_at = self.clock()
        return {"order": self._order_object(order), "successMessages": ["Order updated"], "userErrors": []}

    def _calculated_line(self, session: dict, calculated_id: str) -> FoLine | None:
        number = calculated_id.rsplit("/", 1)[-1]
        for fo in session["order"].fulfillment_orders:
            for line in fo.lines:
                if line.line_item_id.rsplit("/", 1)[-1] == number:
                    return line
        return None

    def _calculated_order(self, calculated: str) -> dict:
        session = self.edit_sessions[calculated]
        lines = [line for fo in session["order"].fulfillment_orders for line in fo.lines]
        return {"id": calculated, "lineItems": lambda first=None, after=None, **_: connection(
            [self._calculated_line_object(line, session["staged"].get(line.id, (line.current,))[0])
             for line in lines], first, after)}

    @staticmethod
    def _calculated_line_object(line: FoLine, quantity: int) -> dict:
        # A calculated line item carries its order line's number.
        number = line.line_item_id.rsplit("/", 1)[-1]
        return {"id": f"gid://shopify/CalculatedLineItem/{number}", "sku": line.sku, "quantity": quantity,
                "editableQuantity": line.remaining, "title": line.title}

    # -- delivery events ------------------------------------------------------------------

    def _find_fulfillment(self, fulfillment_id: str) -> Fulfillment | None:
        return next((f for f in self.all_fulfillments() if f.id == fulfillment_id), None)

    def _root_fulfillment(self, op, root, id) -> dict | None:
        record = self._find_fulfillment(id)
        return self._fulfillment_object(record) if record else None

    def _root_fulfillmentEventCreate(self, op, root, fulfillmentEvent) -> dict:
        record = self._find_fulfillment(fulfillmentEvent["fulfillmentId"])
        if record is None:
            return {"fulfillmentEvent": None, "userErrors": [
                _user_error(["fulfillmentEvent", "fulfillmentId"], "Fulfillment does not exist.")]}
        now = _iso(self.clock())
        event = {"id": self.gid("FulfillmentEvent"), "status": fulfillmentEvent["status"],
                 "message": fulfillmentEvent.get("message"),
                 "happenedAt": fulfillmentEvent.get("happenedAt") or now, "createdAt": now}
        record.events.append(event)
        return {"fulfillmentEvent": dict(event), "userErrors": []}

    def _root_inventorySetQuantities(self, op, root, input) -> dict:
        """As documented for 2026-04 and later: an @idempotent key is required (not blank);
        every quantity must carry changeFromQuantity (null skips the compare-and-swap);
        a quantity whose changeFromQuantity differs from the level fails the whole
        mutation with CHANGE_FROM_QUANTITY_STALE (nothing is written); the same key with
        the same input replays the first result, with other input is
        IDEMPOTENCY_KEY_PARAMETER_MISMATCH, and after a failed attempt is
        IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED (a new key is needed)."""
        key = self._idempotency_key(op, root)
        fingerprint = json.dumps(op.raw_variables.get("input"), sort_keys=True)
        if key in self.idempotency_keys:
            return self._replay(key, fingerprint)
        errors = self._quantity_errors(input, op.raw_variables.get("input", {}).get("quantities", []))
        if not errors:
            errors = self._stale_errors(input)
        if errors:
            result = _payload("inventoryAdjustmentGroup", None, errors)
        else:
            for entry in input["quantities"]:
                self.levels[(entry["inventoryItemId"], entry["locationId"])] = entry["quantity"]
            result = _payload("inventoryAdjustmentGroup",
                              {"reason": input["reason"], "createdAt": self.clock().isoformat()}, [])
        if key:
            self.idempotency_keys[key] = {"input": fingerprint, "result": result, "failed": bool(errors)}
        return result

    def _idempotency_key(self, op, root) -> str:
        idempotent = op.directive_args(root, "idempotent")
        if idempotent is None and self.idempotency_required:
            raise RequestError("The @idempotent directive is required for this mutation.", "BAD_REQUEST")
        key = (idempotent or {}).get("key") or ""
        if idempotent is not None and not key.strip():
            raise RequestError("The idempotency key cannot be empty.", "BAD_REQUEST")
        return key

    def _replay(self, key: str, fingerprint: str) -> dict:
        first = self.idempotency_keys[key]
        if first["input"] != fingerprint:
            return _payload("inventoryAdjustmentGroup", None, [_user_error(
                None, "The same idempotency key cannot be used with different operation parameters.",
                "IDEMPOTENCY_KEY_PARAMETER_MISMATCH")])
        if first["failed"]:
            return _payload("inventoryAdjustmentGroup", None, [_user_error(
                None, "A previous request with this idempotency key failed. Retry with a new idempotency key.",
                "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED")])
        self.replays += 1
        return copy.deepcopy(first["result"])

    def _quantity_errors(self, input: dict, raw: list[dict]) -> list[dict]:
        quantities = input["quantities"]
        errors = []
        if input["name"] not in ("available", "on_hand"):
            errors.append(_user_error(["input", "name"], "The quantity name must be either 'available' or 'on_hand'.",
                                      "INVALID_NAME"))
        if len(quantities) > 250:
            # Shopify refuses any input array over 250 items before running anything.
            raise RequestError(f"The input array size of {len(quantities)} is greater than the maximum "
                               "allowed of 250.", "MAX_INPUT_SIZE_EXCEEDED")
        items = {v["inventory_item_id"] for v in self.variants}
        seen = set()
        for i, (entry, sent) in enumerate(zip(quantities, raw, strict=False)):
            path = ["input", "quantities", str(i)]
            if "changeFromQuantity" not in sent:
                errors.append(_user_error([*path, "changeFromQuantity"],
                                          "changeFromQuantity must be given (null to skip the check)."))
            if entry["inventoryItemId"] not in items:
                errors.append(_user_error([*path, "inventoryItemId"],
                                          "The specified inventory item could not be found.", "INVALID_INVENTORY_ITEM"))
            if entry["locationId"] not in self.locations:
                errors.append(_user_error([*path, "locationId"],
                                          "The specified location could not be found.", "INVALID_LOCATION"))
            pair = (entry["inventoryItemId"], entry["locationId"])
            if pair in seen:
                errors.append(_user_error([*path], "The combination of inventoryItemId and locationId must be unique.",
                                          "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR"))
            seen.add(pair)
        return errors

    def _stale_errors(self, input: dict) -> list[dict]:
        """Every quantity whose changeFromQuantity is not the level as stored. An item
        without a level at the location counts as 0 (the fake stocks it on first write)."""
        errors = []
        for i, entry in enumerate(input["quantities"]):
            expected = entry.get("changeFromQuantity")
            current = self.levels.get((entry["inventoryItemId"], entry["locationId"]), 0)
            if expected is not None and expected != current:
                errors.append(_user_error(["input", "quantities", str(i), "changeFromQuantity"],
                                          "The changeFromQuantity value does not match persisted value.",
                                          "CHANGE_FROM_QUANTITY_STALE"))
        return errors

    # -- objects ----------------------------------------------------------------------

    def _find_fo(self, fo_id: str) -> tuple[FulfillmentOrder | None, Order | None]:
        for order in self.orders.values():
            for fo in order.fulfillment_orders:
                if fo.id == fo_id:
                    return fo, order
        return None, None

    def _order_object(self, order: Order) -> dict:
        address = None
        if order.address:
            address = dict(order.address)
            address["name"] = " ".join(p for p in (address.get("firstName"), address.get("lastName")) if p)
        return {
            "_key": list(_order_key(order)),
            "id": order.id,
            "name": order.name,
            "email": order.email,
            "createdAt": _iso(order.created_at),
            "updatedAt": _iso(order.updated_at),
            "cancelledAt": _iso(order.cancelled_at) if order.cancelled_at else None,
            "displayFinancialStatus": order.financial_status,
            "totalPriceSet": {"shopMoney": {"amount": order.total, "currencyCode": order.currency}},
            "tags": list(order.tags),
            "risk": copy.deepcopy(order.risk),
            "note": order.note,
            "shippingAddress": address,
            "shippingLine": order.shipping_line,
            "fulfillmentOrders": lambda first=None, after=None, **_: connection(
                [self._fo_object(fo) for fo in order.fulfillment_orders], first, after),
            "fulfillments": lambda first=None, **_: [
                self._fulfillment_object(f) for f in order.fulfillments][: first or None],
            "lineItems": lambda first=None, after=None, **_: connection(
                [_line_item_object(line) for fo in order.fulfillment_orders for line in fo.lines],
                first, after),
        }

    def _fo_object(self, fo: FulfillmentOrder) -> dict:
        return {
            "id": fo.id,
            "status": fo.status,
            "assignedLocation": {"location": {"id": fo.location_id}},
            "lineItems": lambda first=None, after=None, **_: connection(
                [{"id": line.id, "sku": line.sku, "remainingQuantity": line.remaining,
                  "totalQuantity": line.total, "requiresShipping": line.requires_shipping,
                  "productTitle": line.title, "variantTitle": None, "lineItem": _line_item_object(line)}
                 for line in fo.lines], first, after),
        }

    def _fulfillment_object(self, record: Fulfillment) -> dict:
        info = {"company": record.company, "number": record.number, "url": record.url}
        return {"id": record.id, "status": record.status,
                "trackingInfo": lambda first=None, **_: [info][: first or None],
                "events": lambda first=None, after=None, **_: connection(
                    [dict(event) for event in record.events], first, after)}


def _line_item_object(line: FoLine) -> dict:
    return {"id": line.line_item_id, "sku": line.sku, "quantity": line.ordered,
            "currentQuantity": line.current, "unfulfilledQuantity": line.remaining,
            "name": line.title, "title": line.title}


def _order_key(order: Order) -> tuple:
    return (order.updated_at.isoformat(), int(order.id.rsplit("/", 1)[1]))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _payload(name: str, value: Any, errors: list[dict]) -> dict:
    return {name: value, "userErrors": copy.deepcopy(errors)}


def _user_error(path: list[str] | None, message: str, code: str | None = None) -> dict:
    return {"field": path, "message": message, "code": code}
