"""The admin API under /_sim/ (no authentication): drive the clock, set stock, inject
faults, switch rate limits, and read back everything for tests' final checks."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bridge.sim.clock import iso
from bridge.sim.faults import Fault
from bridge.sim.inbound import labels as inbound_labels
from bridge.sim.inventory.stock import UNFULFILLABLE_KINDS
from bridge.sim.marketplaces import MARKETPLACES
from bridge.sim.outbound import features, order_views
from bridge.sim.wire import SimError, error_body, new_request_id

if TYPE_CHECKING:
    from bridge.sim.simulator import Simulator


class AdminError(Exception):
    pass


def _ok(body: dict, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={"x-amzn-RequestId": new_request_id()})


async def _body(request: Request) -> dict:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise AdminError("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise AdminError("The request body must be a JSON object.")
    return body


def _number(body: dict, name: str, minimum: float = 0.0) -> float:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise AdminError(f"{name} must be a number >= {minimum:g}.")
    return float(value)


def _handler(action):
    async def endpoint(request: Request) -> JSONResponse:
        try:
            return await action(request.app.state.sim, request)
        except (AdminError, ValueError, TypeError) as error:
            return _ok(error_body("InvalidInput", str(error)), 400)
    return endpoint


async def get_clock(sim: Simulator, request: Request) -> JSONResponse:
    sim.sync()
    return _ok(sim.clock_view())


async def advance_clock(sim: Simulator, request: Request) -> JSONResponse:
    sim.advance(_number(await _body(request), "seconds"))
    return _ok(sim.clock_view())


async def set_clock(sim: Simulator, request: Request) -> JSONResponse:
    sim.set_clock_factor(_number(await _body(request), "factor"))
    return _ok(sim.clock_view())


async def reset(sim: Simulator, request: Request) -> JSONResponse:
    seed = (await _body(request)).get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise AdminError("seed must be an integer.")
    sim.reset(seed)
    return _ok({"reset": True, **sim.clock_view()})


# Optional per-SKU counts the inventory admin call takes, by their names.
_EXTRA_COUNTS = {"researching": ("short", "mid", "long"), "unfulfillable": UNFULFILLABLE_KINDS}


def _count(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise AdminError(f"{name} must be an integer >= 0.")
    return value


def _marketplace_id(sim: Simulator, value, default: str) -> str:
    """A marketplace the simulator keeps stock for (`default` when not given)."""
    if value is None:
        return default
    known = isinstance(value, str) and (value in MARKETPLACES
                                        or value == sim.config.marketplace_id)
    if not known:
        raise AdminError(f"marketplaceId {value!r} is not a marketplace the simulator knows; "
                         f"known: {', '.join(MARKETPLACES)}.")
    return value


def _extras(item: dict, sku: str) -> list[tuple[str, dict]]:
    """The optional researching/unfulfillable counts of one inventory item."""
    extras = []
    for field in ("researching", "unfulfillable"):
        counts = item.get(field)
        if counts is None:
            continue
        if not isinstance(counts, dict):
            raise AdminError(f"{field} for {sku} must be an object of counts.")
        known = _EXTRA_COUNTS[field]
        if not set(counts) <= set(known):
            raise AdminError(f"{field} for {sku} takes counts of {', '.join(known)}.")
        extras.append((field, {k: _count(v, f"{field}.{k} for {sku}")
                               for k, v in counts.items()}))
    return extras


def _inventory_item(sim: Simulator, item, default_marketplace: str) -> dict:
    """One checked item of the inventory admin call."""
    sku = item.get("sellerSku") if isinstance(item, dict) else None
    if not isinstance(sku, str) or not sku.strip() or len(sku) > 50:
        raise AdminError("every item needs a sellerSku of 1 to 50 characters.")
    fc = item.get("fulfillmentCenterId")
    if fc is not None and (not isinstance(fc, str) or not fc.strip()):
        raise AdminError(f"fulfillmentCenterId for {sku} must be a non-empty string.")
    return {"sku": sku, "quantity": _count(item.get("quantity"), f"quantity for {sku}"),
            "fc": fc.strip() if fc else None,
            "marketplaceId": _marketplace_id(sim, item.get("marketplaceId"),
                                             default_marketplace),
            "extras": _extras(item, sku)}


async def set_inventory(sim: Simulator, request: Request) -> JSONResponse:
    """Absolute fulfillable levels; a fulfillmentCenterId sets that center's shelf only.
    Stock is per marketplace: an item's marketplaceId, else the body's, else the
    simulator's own. Optional per item: researching {short, mid, long} and
    unfulfillable {kind: n}."""
    body = await _body(request)
    items = body.get("items")
    # A change Amazon makes without moving lastUpdatedTime, so startDateTime reads miss it
    # (what a full inventory read exists to repair).
    undetected = body.get("undetected") is True
    if not isinstance(items, list):
        raise AdminError("items must be a list of {sellerSku, quantity}.")
    default_marketplace = _marketplace_id(sim, body.get("marketplaceId"),
                                          sim.config.marketplace_id)
    parsed = [_inventory_item(sim, item, default_marketplace) for item in items]
    # Whole-SKU levels first: they move every unit to the default center, so a center's
    # own level given in the same call must come after.
    parsed.sort(key=lambda item: item["fc"] is not None)
    with sim.store.transaction():
        now = sim.sync()
        for item in parsed:
            book = sim.stock.at(item["marketplaceId"])
            book.set_fulfillable(item["sku"], item["quantity"], now, fc=item["fc"],
                                 detected=item["fc"] is not None or not undetected)
            for field, counts in item["extras"]:
                if field == "researching":
                    book.set_researching(item["sku"], now, **counts)
                else:
                    book.set_unfulfillable(item["sku"], now, **counts)
    return await get_inventory(sim, request)


async def lose_inventory(sim: Simulator, request: Request) -> JSONResponse:
    """Units found missing in a center after orders were accepted: off the shelf, then
    out of the reservations of open orders (see Fulfillment.lose_stock), in one
    marketplace's stock (marketplaceId, else the simulator's own)."""
    body = await _body(request)
    sku = body.get("sellerSku")
    if not isinstance(sku, str) or not sku.strip():
        raise AdminError("sellerSku must be a non-empty string.")
    quantity = _count(body.get("quantity"), "quantity")
    fc = body.get("fulfillmentCenterId")
    if fc is not None and (not isinstance(fc, str) or not fc.strip()):
        raise AdminError("fulfillmentCenterId must be a non-empty string.")
    marketplace_id = _marketplace_id(sim, body.get("marketplaceId"), sim.config.marketplace_id)
    with sim.store.transaction():
        now = sim.sync()
        try:
            lost = sim.fulfillment.lose_stock(sku, quantity, now, fc.strip() if fc else None,
                                              marketplace_id)
        except LookupError:
            raise AdminError(f"no SKU {sku!r} in marketplace {marketplace_id}") from None
    return _ok({"sellerSku": sku, "lost": lost})


async def get_inventory(sim: Simulator, request: Request) -> JSONResponse:
    """Every marketplace's stock, or one's with ?marketplaceId= (the simulator's own when
    empty); `marketplaceId` at the top is the simulator's own."""
    wanted = request.query_params.get("marketplaceId")
    with sim.store.transaction():
        sim.sync()
        stock = sim.stock.everywhere() if wanted is None else sim.stock.at(wanted).all()
        items = [{"sellerSku": i["sellerSku"], "marketplaceId": i["marketplaceId"],
                  "fulfillable": i["fulfillable"],
                  "reserved": i["reserved"], "unfulfillable": i["unfulfillable"],
                  "fcProcessing": i["fcProcessing"], "inbound": dict(i["inbound"]),
                  "fulfillmentCenters": {fc: dict(q) for fc, q in sorted(i["fcs"].items())},
                  "lastUpdatedTime": iso(i["lastUpdated"])} for i in stock]
    return _ok({"marketplaceId": sim.config.marketplace_id, "items": items})


async def get_orders(sim: Simulator, request: Request) -> JSONResponse:
    with sim.store.transaction():
        sim.sync()
        orders = [order_views.summary(o, sim.store) for o in sim.fulfillment.all()]
    return _ok({"count": len(orders), "orders": orders})


async def set_tracking_outcome(sim: Simulator, request: Request) -> JSONResponse:
    """How this order's packages fare: DELIVERED, DELAYED, UNDELIVERABLE or RETURNED."""
    outcome = (await _body(request)).get("outcome")
    order_id = request.path_params["order_id"]
    with sim.store.transaction():
        sim.sync()
        try:
            order = sim.fulfillment.set_tracking_outcome(order_id, str(outcome))
        except LookupError:
            raise AdminError(f"no fulfillment order {order_id!r}") from None
        return _ok(order_views.summary(order, sim.store))


async def cancel_by_amazon(sim: Simulator, request: Request) -> JSONResponse:
    """Amazon cancels an open order by itself, as it may at any point before it ships:
    status Cancelled, every unit not shipped counted in cancelledQuantity, reservations
    released. An order already shipped or closed is refused."""
    order_id = request.path_params["order_id"]
    with sim.store.transaction():
        now = sim.sync()
        try:
            order = sim.fulfillment.force_status(order_id, "Cancelled", now)
        except LookupError:
            raise AdminError(f"no fulfillment order {order_id!r}") from None
        except SimError as refused:
            raise AdminError(str(refused)) from None
        return _ok(order_views.summary(order, sim.store))


async def set_feature_enrollment(sim: Simulator, request: Request) -> JSONResponse:
    body = await _body(request)
    if not isinstance(body.get("sellerEligible"), bool):
        raise AdminError("sellerEligible must be true or false.")
    with sim.store.transaction():
        features.set_enrollment(sim, str(body.get("featureName")), body["sellerEligible"])
    return _ok({"featureName": body["featureName"], "sellerEligible": body["sellerEligible"]})


async def inbound_fail_next(sim: Simulator, request: Request) -> JSONResponse:
    """Make the next `count` calls of an asynchronous inbound operation end FAILED, with
    operationProblems [{code, message, details, severity: ERROR}]."""
    body = await _body(request)
    operation = body.get("operation")
    if not isinstance(operation, str):
        raise AdminError("operation must be an asynchronous inbound operationId.")
    count = body.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int):
        raise AdminError("count must be an integer >= 1.")
    texts = {k: body[k] for k in ("code", "message", "details") if k in body}
    if any(not isinstance(v, str) for v in texts.values()):
        raise AdminError("code, message and details must be strings.")
    with sim.store.transaction():
        sim.inbound.fail_next(operation, count, **texts)
        return _ok({"failNext": sim.inbound.failures()})


async def inbound_clear_failures(sim: Simulator, request: Request) -> JSONResponse:
    with sim.store.transaction():
        sim.inbound.clear_failures()
    return _ok({"failNext": []})


async def inbound_summary(sim: Simulator, request: Request) -> JSONResponse:
    with sim.store.transaction():
        sim.sync()
        plans = sim.inbound.summary()
        return _ok({"count": len(plans), "plans": plans,
                    "failNext": sim.inbound.failures()})


async def add_fault(sim: Simulator, request: Request) -> JSONResponse:
    body = await _body(request)
    if not isinstance(body.get("operation"), str) or not body["operation"]:
        raise AdminError("operation must be an operationId or '*'.")
    known = {op.operation_id for op in sim.operations}
    if body["operation"] != "*" and body["operation"] not in known:
        raise AdminError(f"unknown operation {body['operation']!r}; known: {sorted(known)}")
    fields = {k: body[k] for k in ("status", "rate", "latency", "drop_after_act", "count")
              if k in body}
    sim.faults.add(Fault(operation=body["operation"], **fields))
    return _ok({"faults": sim.faults.list()})


async def list_faults(sim: Simulator, request: Request) -> JSONResponse:
    return _ok({"faults": sim.faults.list()})


async def clear_faults(sim: Simulator, request: Request) -> JSONResponse:
    sim.faults.clear()
    return _ok({"faults": []})


async def set_rate_limits(sim: Simulator, request: Request) -> JSONResponse:
    body = await _body(request)
    enabled = body.get("enabled")
    if enabled is not None and not isinstance(enabled, bool):
        raise AdminError("enabled must be true or false.")
    limits = {}
    for op, limit in (body.get("limits") or {}).items():
        if not isinstance(limit, dict):
            raise AdminError(f"limits.{op} must be {{\"rate\": r, \"burst\": b}}.")
        limits[op] = (_number(limit, "rate", 0.001), int(_number(limit, "burst", 1)))
    sim.limiter.configure(enabled=enabled, limits=limits)
    return _ok(sim.limiter.describe())


async def get_rate_limits(sim: Simulator, request: Request) -> JSONResponse:
    return _ok(sim.limiter.describe())


async def get_stats(sim: Simulator, request: Request) -> JSONResponse:
    return _ok({"operations": sim.stats.snapshot()})


def routes(sim: Simulator) -> list[Route]:
    table = [
        ("/_sim/clock", get_clock, "GET"),
        ("/_sim/clock", set_clock, "POST"),
        ("/_sim/clock/advance", advance_clock, "POST"),
        ("/_sim/reset", reset, "POST"),
        ("/_sim/inventory", get_inventory, "GET"),
        ("/_sim/inventory", set_inventory, "POST"),
        ("/_sim/inventory/lost", lose_inventory, "POST"),
        ("/_sim/orders", get_orders, "GET"),
        ("/_sim/orders/{order_id}/tracking", set_tracking_outcome, "POST"),
        ("/_sim/orders/{order_id}/cancel-by-amazon", cancel_by_amazon, "POST"),
        ("/_sim/features", set_feature_enrollment, "POST"),
        ("/_sim/inbound", inbound_summary, "GET"),
        ("/_sim/inbound/fail-next", inbound_fail_next, "POST"),
        ("/_sim/inbound/fail-next", inbound_clear_failures, "DELETE"),
        (inbound_labels.DOCUMENT_PATH, inbound_labels.download, "GET"),
        ("/_sim/faults", list_faults, "GET"),
        ("/_sim/faults", add_fault, "POST"),
        ("/_sim/faults", clear_faults, "DELETE"),
        ("/_sim/rate-limits", get_rate_limits, "GET"),
        ("/_sim/rate-limits", set_rate_limits, "POST"),
        ("/_sim/stats", get_stats, "GET"),
    ]
    return [Route(path, _handler(action), methods=[method]) for path, action, method in table]
