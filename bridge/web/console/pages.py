"""The console's request handlers: read the request, call a read model or a domain
service, render a template. Reads run in Starlette's thread pool (the ledger is
synchronous); the two actions (retry, approve) are POST forms guarded by CSRF tokens
and done by the same services as `bridge orders retry|approve`."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from bridge.bootstrap import Runtime
from bridge.domain.states import OrderState as S
from bridge.services import inbound as inbound_service
from bridge.services.holds import APPROVE, Selection, decide
from bridge.services.orders import StorefrontStatus, retry_orders, storefront_status
from bridge.web.bodies import read_capped
from bridge.web.console import charts, reads
from bridge.web.console.csrf import COOKIE, FIELD, CsrfTokens

MAX_FORM_BYTES = 4096
# Pages load only the console's own stylesheet, run no script, and are never framed by
# another site (a framed page could trick a click on Approve); forms post to the console.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
# Each storefront's card costs a dozen small queries: the overview shows this many a page.
STOREFRONTS_PER_PAGE = 20
# The overview counts stalled submissions up to this many (then shows "50+").
STALLED_SHOWN = 50


class BadInput(ValueError):
    """A query parameter the page cannot take; shown with status 400."""


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "never"


def environment() -> Environment:
    env = Environment(loader=PackageLoader("bridge.web.console", "templates"),
                      autoescape=select_autoescape(["html"]), trim_blocks=True,
                      lstrip_blocks=True)
    env.filters["when"] = _when
    return env


@dataclass
class Console:
    runtime: Runtime
    env: Environment
    csrf: CsrfTokens

    # -- rendering ------------------------------------------------------------------

    def render(self, request: Request, template: str, status_code: int = 200,
               **context: Any) -> HTMLResponse:
        token = request.cookies.get(COOKIE)
        fresh = not self.csrf.valid(token)
        if fresh:
            token = self.csrf.new()
        html = self.env.get_template(template).render(
            request=request, csrf_field=FIELD, csrf_token=token, page=template.removesuffix(".html"),
            notice=request.query_params.get("notice", ""),
            notice_ok=request.query_params.get("ok") == "1", **context)
        response = HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS)
        if fresh:
            response.set_cookie(COOKIE, token or "", httponly=True, samesite="strict",
                                path="/console")
        return response

    def bad_input(self, request: Request, error: BadInput) -> HTMLResponse:
        return self.render(request, "error.html", status_code=400, message=str(error))

    def storefront_param(self, request: Request) -> str | None:
        name = request.query_params.get("storefront") or None
        if name is not None and name not in self.runtime.storefronts:
            raise BadInput(f"no storefront named {name!r}; configured: "
                           + ", ".join(sorted(self.runtime.storefronts)))
        return name

    # -- pages ----------------------------------------------------------------------

    def overview(self, request: Request) -> Response:
        ledger = self.runtime.ledger
        names = sorted(self.runtime.storefronts)
        pages = max(1, -(-len(names) // STOREFRONTS_PER_PAGE))
        number = request.query_params.get("page") or "1"
        if not number.isdigit() or not 1 <= int(number) <= pages:
            return self.bad_input(request, BadInput(f"'page' is a page from 1 to {pages}, "
                                                    f"not {number!r}"))
        first = (int(number) - 1) * STOREFRONTS_PER_PAGE
        statuses = [self.card(name) for name in names[first:first + STOREFRONTS_PER_PAGE]]
        return self.render(request, "overview.html", storefronts=statuses, now=ledger.clock(),
                           stalled_shown=STALLED_SHOWN, page_number=int(number), pages=pages)

    def card(self, name: str) -> StorefrontStatus:
        """One storefront's overview card. The oldest waiting orders are not read (the card
        links to their pages); `attention_limit` bounds the stalled submissions counted."""
        config = self.runtime.storefronts[name]
        return storefront_status(self.runtime.ledger, name, attention_limit=STALLED_SHOWN,
                                 oldest=0, mode=config.mode, account=config.fulfillment)

    def orders(self, request: Request) -> Response:
        params = request.query_params
        try:
            storefront = self.storefront_param(request)
            state = params.get("state") or None
            if state is not None and state not in {s.value for s in S}:
                raise BadInput(f"no order state {state!r}; states: "
                               + ", ".join(s.value for s in S))
            before_text = params.get("before") or None
            if before_text is not None and not before_text.isdigit():
                raise BadInput(f"'before' is an order id, not {before_text!r}")
            size_text = params.get("size") or str(reads.PAGE_SIZE)
            if not size_text.isdigit() or not 1 <= int(size_text) <= reads.LIST_LIMIT:
                raise BadInput(f"'size' is a number of orders from 1 to {reads.LIST_LIMIT}, "
                               f"not {size_text!r}")
        except BadInput as error:
            return self.bad_input(request, error)
        search = (params.get("q") or "").strip()[:255] or None
        page = reads.order_page(self.runtime.ledger, storefront=storefront, state=state,
                                search=search, before=int(before_text) if before_text else None,
                                size=int(size_text))
        filters = {k: v for k, v in (("storefront", storefront), ("state", state), ("q", search),
                                     ("size", params.get("size"))) if v}
        next_url = (f"/console/orders?{urlencode({**filters, 'before': page.next_before})}"
                    if page.next_before is not None else None)
        return self.render(request, "orders.html", page_orders=page.orders, next_url=next_url,
                           storefront=storefront, state=state, search=search or "",
                           states=[s.value for s in S], storefronts=sorted(self.runtime.storefronts),
                           first_url=f"/console/orders?{urlencode(filters)}" if before_text else None)

    def order(self, request: Request) -> Response:
        order_id: int = request.path_params["order_id"]
        detail = reads.order_detail(self.runtime.ledger, order_id)
        if detail is None:
            return self.render(request, "error.html", status_code=404,
                               message=f"no order {order_id} in the ledger")
        return self.render(request, "order.html", order=detail)

    def attention(self, request: Request) -> Response:
        try:
            storefront = self.storefront_param(request)
        except BadInput as error:
            return self.bad_input(request, error)
        waiting, total = reads.waiting_orders(self.runtime.ledger, S.NEEDS_ATTENTION, storefront)
        return self.render(request, "attention.html", waiting=waiting, total=total)

    def held(self, request: Request) -> Response:
        try:
            storefront = self.storefront_param(request)
        except BadInput as error:
            return self.bad_input(request, error)
        waiting, total = reads.waiting_orders(self.runtime.ledger, S.ON_HOLD, storefront)
        return self.render(request, "held.html", waiting=waiting, total=total)

    def stock(self, request: Request) -> Response:
        views = [reads.stock_view(self.runtime.ledger, name) for name in sorted(self.runtime.storefronts)]
        return self.render(request, "stock.html", views=views)

    def inbound(self, request: Request) -> Response:
        show_all = request.query_params.get("all") == "1"
        plans = inbound_service.list_plans(self.runtime.ledger, None, show_all)[:reads.LIST_LIMIT]
        return self.render(request, "inbound.html", plans=plans, show_all=show_all)

    def activity(self, request: Request) -> Response:
        day = reads.activity(self.runtime.ledger)
        labels = [hour.strftime("%H:00") for hour in day.hours]
        flow = charts.bar_chart("Orders per hour", labels, [
            charts.Series("in", day.received), charts.Series("accepted", day.accepted),
            charts.Series("shipped", day.shipped)], unit="orders")
        latency = charts.line_chart("Recorded → accepted", labels, [
            charts.Series("p50", [p[0] if p else None for p in day.latency]),
            charts.Series("p95", [p[1] if p else None for p in day.latency])], unit="seconds")
        throttled = self.throttle_chart(labels, day)
        return self.render(request, "activity.html", day=day, charts=[flow, latency, throttled],
                           totals={"in": sum(day.received), "accepted": sum(day.accepted),
                                   "shipped": sum(day.shipped)})

    def throttle_chart(self, labels: list[str], day: reads.Activity) -> Any:
        total, throttled = reads.calls_per_hour(self.runtime.ledger, day.now)
        if not any(total):
            return charts.empty_chart("SP-API calls and 429s per hour",
                                      "no SP-API call recorded in the last 24 hours")
        return charts.bar_chart("SP-API calls and 429s per hour", labels, [
            charts.Series("calls", total), charts.Series("429s", throttled)], unit="calls")

    # -- actions --------------------------------------------------------------------

    async def retry_order(self, request: Request) -> Response:
        return await self._act(request, "/console/attention", self._retry)

    async def approve_order(self, request: Request) -> Response:
        return await self._act(request, "/console/held", self._approve)

    async def _act(self, request: Request, back: str,
                   action: Callable[[Request, int], tuple[bool, str]]) -> Response:
        body = await read_capped(request, MAX_FORM_BYTES)
        if body is None:
            return self.render(request, "error.html", status_code=413,
                               message="this form is larger than any the console sends")
        form = parse_qs(body.decode("utf-8", "replace"))
        submitted = (form.get(FIELD) or [""])[0]
        if not self.csrf.accept(request.cookies.get(COOKIE), submitted):
            return self.render(request, "error.html", status_code=403,
                               message="this form is out of date or did not come from the "
                                       "console (missing or wrong CSRF token): reload the page "
                                       "and try again")
        order_id: int = request.path_params["order_id"]
        if not 0 < order_id <= reads.MAX_ID:
            return self.render(request, "error.html", status_code=404,
                               message=f"no order {order_id} in the ledger")
        done, message = await run_in_threadpool(action, request, order_id)
        target = (form.get("back") or [back])[0]
        if not target.startswith("/console/"):
            target = back
        separator = "&" if "?" in target else "?"
        return RedirectResponse(f"{target}{separator}{urlencode({'notice': message, 'ok': int(done)})}",
                                status_code=303)

    def _retry(self, request: Request, order_id: int) -> tuple[bool, str]:
        outcomes = retry_orders(self.runtime.ledger, self.runtime.storefronts, [order_id])
        return outcomes[0].done, outcomes[0].message

    def _approve(self, request: Request, order_id: int) -> tuple[bool, str]:
        # Digits are read as the ledger id; an unknown one comes back as a refused outcome.
        [outcome] = decide(self.runtime.ledger, self.runtime.storefronts, APPROVE,
                           Selection((str(order_id),)), operator(request), self.runtime.cart)
        return outcome.done, outcome.message


def operator(request: Request) -> str:
    """Who acts, for the event log and the shop's note: the user of HTTP basic auth
    (checked by the app's middleware), else the console itself."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    user = ""
    if scheme.lower() == "basic":
        try:
            user = base64.b64decode(value.strip()).decode().partition(":")[0]
        except (ValueError, UnicodeDecodeError):
            user = ""
    return f"{user} (web console)" if user else "the web console"
