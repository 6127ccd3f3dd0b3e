"""Shadow mode's decisions (docs/shadow-mode.md).

In shadow, an order that would be sent stays `ready` and gets a `would_send` event whose
message is the exact create body bridge would post (createFulfillmentOrder, or createOrder
for `outbound_api = "2026-07-04"`), recorded again only when the body changes.

Going live, each order recorded in shadow is first checked against the shop as it is
now, since another system may have shipped it meanwhile: before the first create, the
shop's orders are read again from the oldest such order's creation on (`fetch_orders` by
window: the same read every adapter has), and

- an order the shop now shows fulfilled (no units left to ship, or paid but moved out
  of the statuses that ship: shipped or completed) becomes `ignored`
  (`fulfilled_elsewhere`), never sent;
- an order the shop now shows cancelled becomes `cancelled`;
- an order the read does not return at all needs a person (`not_in_shop`): bridge
  cannot tell whether it still has to ship, so it does not guess;
- any other order is sent as usual.

Each order is checked once (a `live_checked` event)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, aliased

from bridge.carts.contract import CartAdapter
from bridge.config import StorefrontConfig
from bridge.domain.fulfillment import FulfillmentOrderRequest
from bridge.domain.model import CartOrder, PaymentStatus
from bridge.domain.states import OrderState as S
from bridge.errors import NeedsAttentionError
from bridge.fba.outbound_mapping import create_order_body
from bridge.fba.v2026 import mapping as v2026_mapping
from bridge.ledger import repo
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import Event, Order
from bridge.services.common import log

WOULD_SEND = "would_send"
LIVE_CHECKED = "live_checked"
# A cursor row whose presence says the storefront's last submit run was in shadow mode
# (`bridge run --shadow` is known only to that process; `bridge status` reads this).
MODE_FLOW = "shadow"
_PREFIX = "would send "
# The re-read starts a little before the oldest order's creation: a shop's clock and
# its filter's rounding must not leave that order out.
_MARGIN = timedelta(minutes=5)


def would_send_body(storefront: StorefrontConfig,
                    request: FulfillmentOrderRequest) -> tuple[str, dict[str, Any]]:
    """The operation and the JSON the storefront's Outbound API client would post to
    create `request` (NeedsAttentionError where that API cannot take it)."""
    account = storefront.fulfillment
    # The routed marketplace, or home ("") as the clients send it.
    marketplace_id = request.marketplace_id or account.marketplace_id
    if account.outbound_api == "2026-07-04":
        return "createOrder", v2026_mapping.create_order_body(request, marketplace_id)
    return "createFulfillmentOrder", {"marketplaceId": marketplace_id,
                                      **create_order_body(request)}


def would_send_body_of(event_message: str) -> tuple[str, dict[str, Any]] | None:
    """The operation and body a `would_send` event recorded (None for any other message)."""
    if not event_message.startswith(_PREFIX):
        return None
    operation, _colon, text = event_message[len(_PREFIX):].partition(": ")
    body: dict[str, Any] = json.loads(text)
    return operation, body


def record_would_send(ledger: Ledger, storefront: StorefrontConfig) -> int:
    """Shadow's submit: each ready order gets a `would_send` event with the body it
    would be created with, unless its latest one says the same. Nothing is claimed or
    sent; the orders stay `ready`. Returns how many events were recorded."""
    recorded = 0
    with ledger.transaction() as session:
        repo.set_cursor(session, storefront.name, MODE_FLOW, ledger.clock())
        rows = list(session.scalars(select(Order).where(
            Order.storefront == storefront.name, Order.state == S.READY.value)))
        latest = _latest_would_send(session, [row.id for row in rows])
        for row in rows:
            if row.request is None:
                continue
            try:
                operation, body = would_send_body(
                    storefront, FulfillmentOrderRequest.from_json(row.request))
            except NeedsAttentionError as problem:  # as the live create would find it
                repo.transition(session, row, S.NEEDS_ATTENTION, "needs_attention",
                                problem.message, reason=problem.reason)
                continue
            message = f"{_PREFIX}{operation}: {json.dumps(body, sort_keys=True)}"
            if latest.get(row.id) == message:
                continue
            repo.record_event(session, storefront.name, row.id, WOULD_SEND, row.state,
                              row.state, message)
            recorded += 1
            log.info("would_send", storefront=storefront.name, order=row.cart_order_id,
                     seller_fulfillment_order_id=row.seller_fulfillment_order_id,
                     operation=operation, body=body)
    return recorded


def _latest_would_send(session: Session, order_ids: list[int]) -> dict[int, str]:
    if not order_ids:
        return {}
    newest = (select(func.max(Event.id)).where(Event.order_id.in_(order_ids),
                                               Event.kind == WOULD_SEND)
              .group_by(Event.order_id))
    return {event.order_id: event.message
            for event in session.scalars(select(Event).where(Event.id.in_(newest)))
            if event.order_id is not None}


def last_run_in_shadow(session: Session, storefront: str) -> bool:
    return repo.get_cursor(session, storefront, MODE_FLOW) is not None


def would_send_count(session: Session, storefront: str) -> int:
    """Orders still `ready` with a would-be request on record: what shadow mode holds back."""
    return session.scalar(select(func.count()).select_from(Order).where(
        Order.storefront == storefront, Order.state == S.READY.value,
        exists().where(Event.order_id == Order.id, Event.kind == WOULD_SEND))) or 0


def fulfilled_elsewhere(order: CartOrder) -> bool:
    """The shop shows the order shipped by someone else: no units left to ship (the
    adapters count what is left: Shopify's open fulfillment orders, Magento's and
    BigCommerce's ordered minus shipped), or paid but out of the statuses that ship
    (WooCommerce `completed`, a BigCommerce or SQL shipped status)."""
    if order.cancelled:
        return False
    if not any(line.quantity > 0 for line in order.shippable_lines):
        return True
    return not order.paid and order.payment_status == PaymentStatus.PAID


@dataclass
class GoLiveResult:
    checked: int = 0
    fulfilled_elsewhere: int = 0
    cancelled: int = 0
    not_in_shop: int = 0


def check_before_first_create(ledger: Ledger, cart: CartAdapter, storefront: StorefrontConfig,
                              now: Callable[[], datetime]) -> GoLiveResult:
    """Live again after shadow: every ready order recorded in shadow and not yet checked
    is compared with the shop's current order before any create (see the module)."""
    result = GoLiveResult()
    with ledger.transaction() as session:
        if (marker := repo.get_cursor(session, storefront.name, MODE_FLOW)) is not None:
            session.delete(marker)  # live from now on, as `bridge status` will say
        pending = _unchecked(session, storefront.name)
    if not pending:
        return result
    since = min(CartOrder.from_snapshot(snapshot).created_at for _id, snapshot in pending) - _MARGIN
    current = _read_shop(cart, storefront, since, now())
    with ledger.transaction() as session:
        for order_id, _snapshot in pending:
            row = repo.existing_order(session, order_id)
            if row.state != S.READY:
                continue
            _decide(session, row, current.get(row.cart_order_id), result)
            result.checked += 1
    log.info("shadow_orders_checked", storefront=storefront.name, checked=result.checked,
             fulfilled_elsewhere=result.fulfilled_elsewhere, cancelled=result.cancelled,
             not_in_shop=result.not_in_shop)
    return result


def _unchecked(session: Session, storefront: str) -> list[tuple[int, dict[str, Any]]]:
    checked = aliased(Event)
    rows = session.execute(select(Order.id, Order.snapshot).where(
        Order.storefront == storefront, Order.state == S.READY.value,
        exists().where(Event.order_id == Order.id, Event.kind == WOULD_SEND),
        ~exists().where(checked.order_id == Order.id, checked.kind == LIVE_CHECKED)))
    return [(order_id, snapshot) for order_id, snapshot in rows]


def _read_shop(cart: CartAdapter, storefront: StorefrontConfig, since: datetime,
               until: datetime) -> dict[str, CartOrder]:
    """Every order the shop created or changed since `since`, as it is now."""
    found: dict[str, CartOrder] = {}
    page: str | None = None
    while True:
        batch = cart.fetch_orders(since, until, page, storefront.poll.page_size)
        found.update((order.order_id, order) for order in batch.orders)
        if batch.next_page is None:
            return found
        page = batch.next_page


def _decide(session: Session, row: Order, order: CartOrder | None, result: GoLiveResult) -> None:
    if order is None:
        repo.transition(session, row, S.NEEDS_ATTENTION, "needs_attention",
                        "recorded in shadow mode, but the shop no longer returns this order: "
                        "check it there, then `bridge orders retry` to send it",
                        reason="not_in_shop")
        result.not_in_shop += 1
    elif order.cancelled:
        repo.update_snapshot(row, order)  # as checked: the next poll's re-read is no change
        repo.replace_lines(session, row, ())
        repo.transition(session, row, S.CANCELLED, "cancelled",
                        "cancelled in the shop while bridge ran in shadow mode; not sent")
        result.cancelled += 1
    elif fulfilled_elsewhere(order):
        message = ("the shop shows this order fulfilled (shipped by another system while "
                   "bridge ran in shadow mode); not sent")
        # As checked: the next poll's re-read of this order is no change (else it would
        # be mapped again, to `ready`).
        repo.update_snapshot(row, order)
        repo.replace_lines(session, row, ())  # it holds back no stock any more
        repo.transition(session, row, S.RECEIVED, "live_checked", "checked against the shop")
        repo.transition(session, row, S.IGNORED, "ignored", message)
        row.attention_reason, row.last_error = "fulfilled_elsewhere", message
        result.fulfilled_elsewhere += 1
        log.info("order_ignored", order=row.cart_order_id, reason="fulfilled_elsewhere")
        return
    else:
        repo.record_event(session, row.storefront, row.id, LIVE_CHECKED, row.state, row.state,
                          "checked against the shop before the first create: still to ship")
        return
    repo.record_event(session, row.storefront, row.id, LIVE_CHECKED, "", "",
                      "checked against the shop before the first create")
