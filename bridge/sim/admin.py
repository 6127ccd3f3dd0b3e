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
from bridge.sim.wire import error_body, new_request_id

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
    sim.reset()
    return _ok({"reset": True, **sim.clock_view()})


async def set_inventory(sim: Simulator, request: Request) -> JSONResponse:
    items = (await _body(request)).get("items")
    if not isinstance(items, list):
        raise AdminError("items must be a list of {sellerSku, quantity}.")
    levels: dict[str, int] = {}
    for item in items:
        sku = item.get("sellerSku") if isinstance(item, dict) else None
        quantity = item.get("quantity") if isinstance(item, dict) else None
        if not isinstance(sku, str) or not sku.strip() or len(sku) > 50:
            raise AdminError("every item needs a sellerSku of 1 to 50 characters.")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            raise AdminError(f"quantity for {sku} must be an integer >= 0.")
        levels[sku] = quantity
    sim.set_stock(levels)
    return await get_inventory(sim, request)


async def get_inventory(sim: Simulator, request: Request) -> JSONResponse:
    with sim.store.transaction():
        sim.sync()
        items = [{"sellerSku": i["sellerSku"], "fulfillable": i["fulfillable"],
                  "reserved": i["reserved"], "unfulfillable": i["unfulfillable"],
                  "lastUpdatedTime": iso(i["lastUpdated"])} for i in sim.stock.all()]
    return _ok({"items": items})


async def get_orders(sim: Simulator, request: Request) -> JSONResponse:
    with sim.store.transaction():
        sim.sync()
        orders = [sim.fulfillment.summary(o) for o in sim.fulfillment.all()]
    return _ok({"count": len(orders), "orders": orders})


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
        ("/_sim/orders", get_orders, "GET"),
        ("/_sim/faults", list_faults, "GET"),
        ("/_sim/faults", add_fault, "POST"),
        ("/_sim/faults", clear_faults, "DELETE"),
        ("/_sim/rate-limits", get_rate_limits, "GET"),
        ("/_sim/rate-limits", set_rate_limits, "POST"),
        ("/_sim/stats", get_stats, "GET"),
    ]
    return [Route(path, _handler(action), methods=[method]) for path, action, method in table]
