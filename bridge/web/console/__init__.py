"""The web console of `bridge serve`: server-rendered pages under /console/ (storefronts
and their health, orders, the needs-attention and held lists with their buttons, stock
drift, inbound plans, the last day in charts) and `/` sending a browser there. Its
stylesheet is served from the package; the page loads nothing from elsewhere."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from bridge.bootstrap import Runtime
from bridge.web.console.csrf import CsrfTokens
from bridge.web.console.pages import Console, environment

STATIC = Path(__file__).parent / "static"


def routes(runtime: Runtime) -> Sequence[BaseRoute]:
    console = Console(runtime, environment(), CsrfTokens())

    def home(_request: Request) -> RedirectResponse:
        return RedirectResponse("/console/", status_code=307)

    return [
        Route("/", home),
        Route("/console", home),
        Mount("/console", routes=[
            Route("/", console.overview, name="overview"),
            Route("/orders", console.orders, name="orders"),
            Route("/orders/{order_id:int}", console.order, name="order"),
            Route("/orders/{order_id:int}/retry", console.retry_order, methods=["POST"]),
            Route("/orders/{order_id:int}/approve", console.approve_order, methods=["POST"]),
            Route("/attention", console.attention, name="attention"),
            Route("/held", console.held, name="held"),
            Route("/stock", console.stock, name="stock"),
            Route("/inbound", console.inbound, name="inbound"),
            Route("/activity", console.activity, name="activity"),
            Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
        ]),
    ]
