"""The HTTP face of the simulator: a Starlette app with the LWA token endpoint, every
registered SP-API operation behind the same pipeline, and the admin API under /_sim/.

The pipeline, in Amazon's order: access token (403) -> rate limit (429) -> injected
fault -> the operation -> (dropped answer). Every response carries x-amzn-RequestId;
rate-limited operations also report x-amzn-RateLimit-Limit on every status whose response
the model declares with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bridge.sim import admin
from bridge.sim.auth import LwaError, TokenRejected, parse_token_request
from bridge.sim.config import SimConfig
from bridge.sim.operations import Operation
from bridge.sim.simulator import Simulator
from bridge.sim.wire import ACCESS_DENIED, QUOTA_EXCEEDED, Call, Reply, SimError, error_body, new_request_id

log = logging.getLogger("bridge.sim")

RATE_LIMIT_HEADER = "x-amzn-RateLimit-Limit"


def rate_limit_header_statuses(op: Operation) -> frozenset[int]:
    """The statuses whose responses the operation's model declares with the header
    (200/400/404 mostly; also 201, 202 and 204 where a write answers with them)."""
    return frozenset(int(status) for status, response in op.model.spec["responses"].items()
                     if status.isdigit() and RATE_LIMIT_HEADER in (response.get("headers") or {}))


def _json(status: int, body: dict, headers: dict | None = None) -> Response:
    merged = {"x-amzn-RequestId": new_request_id(), **(headers or {})}
    if status == 204:  # No Content: a body would break the HTTP framing
        return Response(status_code=204, headers=merged)
    return JSONResponse(body, status_code=status, headers=merged)


def _operation_endpoint(sim: Simulator, op: Operation):
    header_statuses = rate_limit_header_statuses(op)

    async def endpoint(request: Request) -> Response:
        sim.stats.called(op.operation_id)
        reply, drop = await _run(sim, op, request)
        sim.stats.answered(op.operation_id, reply.status)
        headers = {}
        limit = sim.limiter.limit_of(op.operation_id)
        if limit is not None and reply.status in header_statuses:
            # As Amazon writes it: "2.0", "0.0167" (a fixed precision would show 0.0).
            headers[RATE_LIMIT_HEADER] = str(float(limit[0]))
        if drop:
            # The work is done; the answer arrives after the client has given up.
            await asyncio.sleep(sim.config.drop_seconds)
        return _json(reply.status, reply.body, headers)

    return endpoint


async def _run(sim: Simulator, op: Operation, request: Request) -> tuple[Reply, bool]:
    try:
        sim.lwa.check_access_token(request.headers.get("x-amz-access-token"))
    except TokenRejected as rejected:
        return Reply(403, error_body("Unauthorized", str(rejected) or ACCESS_DENIED)), False
    if not sim.limiter.allow(op.operation_id):
        return Reply(429, error_body("QuotaExceeded", QUOTA_EXCEEDED)), False
    decision = sim.faults.decide(op.operation_id)
    if decision.latency:
        await asyncio.sleep(decision.latency)
    if decision.error is not None:
        return Reply(decision.error.status, decision.error.body()), False
    call = Call(dict(request.path_params), request.query_params, request.headers,
                await request.body())
    try:
        with sim.store.transaction():
            sim.sync()
            reply = op.handler(sim, call)
    except SimError as error:
        reply = Reply(error.status, error.body())
    except Exception:  # a bug must still answer in the SP-API error shape
        log.exception("operation %s failed", op.operation_id)
        reply = Reply(500, error_body("InternalFailure",
                                      "We encountered an internal error. Please try again."))
    return reply, decision.drop_after_act


async def _lwa_token(request: Request) -> Response:
    sim: Simulator = request.app.state.sim
    sim.stats.called("lwaToken")
    try:
        fields = parse_token_request(await request.body(),
                                     request.headers.get("content-type", ""))
        status, body = 200, sim.lwa.grant(fields)
    except LwaError as error:
        status, body = error.status, error.body
    sim.stats.answered("lwaToken", status)
    return _json(status, body, {"Cache-Control": "no-store"})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)  # registered for HTTPException only
    if exc.status_code == 404:
        return _json(404, error_body("NotFound", "The requested resource was not found."))
    if exc.status_code == 405:
        return _json(405, error_body("MethodNotAllowed", "The method is not allowed for this "
                                     "resource."))
    return _json(exc.status_code, error_body("InvalidInput", str(exc.detail)))


def build_app(sim: Simulator) -> Starlette:
    routes = [Route("/auth/o2/token", _lwa_token, methods=["POST"])]
    routes += [Route(op.path, _operation_endpoint(sim, op), methods=[op.method],
                     name=op.operation_id) for op in sim.operations]
    routes += admin.routes(sim)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        yield
        sim.close()

    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error},
                    lifespan=lifespan)
    app.state.sim = sim
    return app


def create_app(config: SimConfig | None = None) -> Starlette:
    """A new simulator (fresh or loaded from config.db_path) behind its HTTP app."""
    return build_app(Simulator(config))
