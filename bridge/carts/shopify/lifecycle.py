"""What Amazon's outcomes do to a Shopify order: cancel it (whole, or some lines by an
order edit), mark where a package ended up (a fulfillment event), and tell the merchant
about a customer return (a line of the order's note).

Every write reads the shop first and is left out when the shop already shows it, so a
retry after a lost answer, or a second bridge process, does not write twice. None of
them refunds or restocks anything: money and stock stay the merchant's decision."""

from __future__ import annotations

from dataclasses import dataclass

from bridge.carts import lifecycle_words
from bridge.carts.contract import CancelRequest, DeliveryUpdate, Milestone, ReturnStage, ReturnUpdate
from bridge.carts.shopify import notes
from bridge.carts.shopify import queries as q
from bridge.carts.shopify.client import ShopifyHttp, mutation_payload, user_errors
from bridge.carts.shopify.mapping import BRIDGE_NOTE_PREFIX
from bridge.domain.model import CartOrder, ShippedLine
from bridge.errors import IndeterminateError, MalformedAnswer, NeedsAttentionError

# orderCancel's staffNote and orderEditCommit's staffNote: Shopify keeps 255 characters.
STAFF_NOTE_MAX = 255
# Fulfillments Shopify no longer counts as shipped; their tracking may be written again.
VOID_FULFILLMENT_STATUSES = frozenset({"CANCELLED", "ERROR", "FAILURE"})

# Milestone → (FulfillmentEventStatus, the message's first words). Shopify's events have
# no "returned to sender": it is a FAILURE whose message says so, and the words tell it
# apart from a failed delivery when the shop is read back.
DELIVERY_EVENTS: dict[Milestone, tuple[str, str]] = {
    Milestone.DELIVERED: ("DELIVERED", "Delivered"),
    Milestone.DELIVERY_FAILED: ("FAILURE", "Delivery failed"),
    Milestone.RETURNED_TO_SENDER: ("FAILURE", "Returned to sender"),
}


# -- cancel ---------------------------------------------------------------------------


def cancel(http: ShopifyHttp, order: CartOrder, request: CancelRequest) -> bool:
    if request.lines is None:
        return _cancel_order(http, order, request)
    return _cancel_lines(http, order, request, request.lines)


def _cancel_order(http: ShopifyHttp, order: CartOrder, request: CancelRequest) -> bool:
    """orderCancel, reason OTHER, no restock, no refund. `cancelledAt` is read first so an
    order already cancelled (by the merchant, or by an earlier call whose answer was
    lost) is left alone. Shopify cancels in a background job: while the answer's job is
    not done, `cancelledAt` is read once more, and an order still not cancelled leaves
    the outcome unknown (IndeterminateError)."""
    if _cancelled_at(http, order):
        return False
    what = f"the cancel of order {order.number}"
    variables = {"orderId": order.order_id, "notifyCustomer": request.notify_customer,
                 "staffNote": _staff_note(request.reason)}
    data = http.graphql(q.ORDER_CANCEL, variables, cost=q.MUTATION_COST, write=True)
    payload = mutation_payload(data, "orderCancel", what, errors="orderCancelUserErrors")
    errors = payload["orderCancelUserErrors"]
    if errors and _cancelled_at(http, order):
        return False  # another process (or the merchant) cancelled it meanwhile
    user_errors(what, errors)
    if not _job_done(payload) and not _cancelled_at(http, order):
        # Only queued so far: the retry reads cancelledAt before it sends anything.
        raise IndeterminateError(f"Shopify queued {what} but has not cancelled the order yet")
    return True


def _job_done(payload: dict) -> bool:
    job = payload.get("job")
    return isinstance(job, dict) and job.get("done") is True


def _cancelled_at(http: ShopifyHttp, order: CartOrder) -> str | None:
    data = http.graphql(q.ORDER_CANCELLED, {"id": order.order_id}, cost=q.ORDER_CANCELLED_COST)
    found = data.get("order")
    if found is None:
        raise NeedsAttentionError("cart_order_missing", f"Shopify has no order {order.order_id}")
    return found.get("cancelledAt")


@dataclass(frozen=True)
class _OrderLine:
    """A Shopify LineItem: ordered, left after edits and refunds, not yet fulfilled."""

    id: str
    sku: str
    quantity: int
    current: int
    unfulfilled: int


def _cancel_lines(http: ShopifyHttp, order: CartOrder, request: CancelRequest,
                  lines: tuple[ShippedLine, ...]) -> bool:
    """Lower each line's quantity by an order edit (orderEditBegin, orderEditSetQuantity
    without restock, orderEditCommit without telling the customer unless asked). Only
    unfulfilled units can be edited away. The new quantity is absolute (ordered minus
    cancelled), so a line already at or below it was done before and is skipped."""
    found, by_sku, cancelled_at = _order_lines(http, order)
    if cancelled_at:
        return False
    targets: dict[str, int] = {}
    chosen: dict[str, _OrderLine] = {}
    for wanted in lines:
        line = found.get(wanted.line_id) or _only(by_sku.get(wanted.sku, []))
        if line is None:
            raise NeedsAttentionError(
                "cart_line_missing",
                f"order {order.number}: Shopify has no line {wanted.line_id} ({wanted.sku}) to cancel")
        fulfilled = line.current - line.unfulfilled
        target = max(fulfilled, targets.get(line.id, line.quantity) - wanted.quantity)
        targets[line.id], chosen[line.id] = target, line
    changes = {line_id: quantity for line_id, quantity in targets.items()
               if chosen[line_id].current > quantity}
    if not changes:
        return False
    _edit_quantities(http, order, changes, request)
    return True


def _order_lines(http: ShopifyHttp, order: CartOrder
                 ) -> tuple[dict[str, _OrderLine], dict[str, list[_OrderLine]], str | None]:
    """(FulfillmentOrderLineItem id → its order line, SKU → order lines, cancelledAt)."""
    data = http.graphql(q.ORDER_LINES_FOR_CANCEL, {"id": order.order_id},
                        cost=q.ORDER_LINES_FOR_CANCEL_COST)
    found = data.get("order")
    if found is None:
        raise NeedsAttentionError("cart_order_missing", f"Shopify has no order {order.order_id}")
    by_fo_line = {
        item["id"]: _order_line(item["lineItem"])
        for fo in found["fulfillmentOrders"]["nodes"]
        for item in fo["lineItems"]["nodes"]
    }
    by_sku: dict[str, list[_OrderLine]] = {}
    for node in found["lineItems"]["nodes"]:
        line = _order_line(node)
        by_sku.setdefault(line.sku, []).append(line)
    for line in by_fo_line.values():
        if all(known.id != line.id for known in by_sku.get(line.sku, [])):
            by_sku.setdefault(line.sku, []).append(line)
    return by_fo_line, by_sku, found.get("cancelledAt")


def _order_line(node: dict) -> _OrderLine:
    return _OrderLine(node["id"], (node.get("sku") or "").strip(), int(node["quantity"]),
                      int(node["currentQuantity"]), int(node["unfulfilledQuantity"]))


def _only(lines: list[_OrderLine]) -> _OrderLine | None:
    return lines[0] if len(lines) == 1 else None


def _edit_quantities(http: ShopifyHttp, order: CartOrder, quantities: dict[str, int],
                     request: CancelRequest) -> None:
    what = f"the cancel of lines of order {order.number}"
    # Until the commit nothing changes in the shop: an unreadable answer to the first
    # two steps leaves an edit session Shopify drops by itself, and the retry begins anew.
    begun = http.graphql(q.ORDER_EDIT_BEGIN, {"id": order.order_id}, cost=q.MUTATION_COST, write=True)
    begin = mutation_payload(begun, "orderEditBegin", what, committed=False)
    user_errors(what, begin["userErrors"])
    calculated = begin.get("calculatedOrder")
    if not isinstance(calculated, dict):
        raise MalformedAnswer(f"Shopify began {what} without a calculated order")
    editable = {_numeric(node["id"]): node for node in calculated["lineItems"]["nodes"]}
    for line_id, quantity in quantities.items():
        # A calculated line item carries the number of the order line it stands for.
        node = editable.get(_numeric(line_id))
        if node is None:
            raise NeedsAttentionError("cart_line_missing",
                                      f"order {order.number}: line {line_id} cannot be edited")
        answer = http.graphql(q.ORDER_EDIT_SET_QUANTITY,
                              {"id": calculated["id"], "lineItemId": node["id"], "quantity": quantity},
                              cost=q.MUTATION_COST, write=True)
        staged = mutation_payload(answer, "orderEditSetQuantity", what, committed=False)
        user_errors(what, staged["userErrors"])
    committed = http.graphql(q.ORDER_EDIT_COMMIT,
                             {"id": calculated["id"], "notifyCustomer": request.notify_customer,
                              "staffNote": _staff_note(request.reason)},
                             cost=q.MUTATION_COST, write=True)
    user_errors(what, mutation_payload(committed, "orderEditCommit", what)["userErrors"])


def _numeric(gid: str) -> str:
    return gid.rsplit("/", 1)[-1]


def _staff_note(reason: str) -> str:
    text = " ".join(f"bridge: {reason}".split())
    return text if len(text) <= STAFF_NOTE_MAX else text[:STAFF_NOTE_MAX - 1] + "…"


# -- delivery -------------------------------------------------------------------------


def push_delivery(http: ShopifyHttp, order: CartOrder, update: DeliveryUpdate) -> bool:
    """A fulfillment event on the fulfillment that carries the package's tracking number,
    unless that fulfillment already has the milestone's event (DELIVERED from any
    source counts: a carrier integration may have marked it first)."""
    status, words = DELIVERY_EVENTS[update.milestone]
    fulfillment_id = _fulfillment_of(http, order, update.package.tracking_number)
    if any(_shows(event, status, words) for event in _events(http, fulfillment_id)):
        return False
    message = f"{words}: {update.detail}" if update.detail else words
    event = {"fulfillmentId": fulfillment_id, "status": status, "message": message,
             "happenedAt": update.happened_at.isoformat()}
    data = http.graphql(q.FULFILLMENT_EVENT_CREATE, {"event": event}, cost=q.MUTATION_COST, write=True)
    what = f"the delivery event on order {order.number}"
    user_errors(what, mutation_payload(data, "fulfillmentEventCreate", what)["userErrors"])
    return True


def _shows(event: dict, status: str, words: str) -> bool:
    if event.get("status") != status:
        return False
    return status == "DELIVERED" or (event.get("message") or "").startswith(words)


def live_fulfillments(http: ShopifyHttp, order_id: str) -> dict[str, set[str]]:
    """The order's fulfillments Shopify still counts as shipped → their tracking numbers."""
    data = http.graphql(q.ORDER_TRACKING, {"id": order_id}, cost=q.ORDER_TRACKING_COST)
    found = data.get("order")
    if found is None:
        raise NeedsAttentionError("cart_order_missing", f"Shopify has no order {order_id}")
    return {str(fulfillment["id"]): {info["number"] for info in fulfillment["trackingInfo"]
                                     if info.get("number")}
            for fulfillment in found["fulfillments"]
            if fulfillment.get("status") not in VOID_FULFILLMENT_STATUSES}


def _fulfillment_of(http: ShopifyHttp, order: CartOrder, tracking_number: str) -> str:
    for fulfillment_id, numbers in live_fulfillments(http, order.order_id).items():
        if tracking_number in numbers:
            return fulfillment_id
    raise NeedsAttentionError(
        "cart_package_missing",
        f"order {order.number}: Shopify has no fulfillment with tracking number {tracking_number}")


def _events(http: ShopifyHttp, fulfillment_id: str) -> list[dict]:
    events: list[dict] = []
    after: str | None = None
    while True:
        data = http.graphql(q.FULFILLMENT_EVENTS, {"id": fulfillment_id, "after": after},
                            cost=q.FULFILLMENT_EVENTS_COST)
        connection = (data.get("fulfillment") or {}).get("events")
        if not connection:
            return events
        events.extend(connection["nodes"])
        if not connection["pageInfo"]["hasNextPage"]:
            return events
        after = connection["pageInfo"]["endCursor"]


# -- returns --------------------------------------------------------------------------


def return_note_start(authorization_id: str, stage: ReturnStage) -> str:
    """How the note line of one return stage begins: what makes it findable again."""
    return BRIDGE_NOTE_PREFIX + lifecycle_words.return_opening(authorization_id, stage)


def push_return(http: ShopifyHttp, order: CartOrder, update: ReturnUpdate) -> bool:
    """A line of the order's note (Shopify's returns API would start a return in the
    shop; Amazon already runs this one). Written once per authorization and stage."""
    start = return_note_start(update.authorization_id, update.stage)
    # One line of the note, whatever line breaks the reason or condition hold.
    sentence = lifecycle_words.return_sentence(update, order, refund_in="Shopify")
    sentence = " ".join(sentence.split())
    return notes.append_line(http, order, BRIDGE_NOTE_PREFIX + sentence,
                             lambda lines: any(line.startswith(start) for line in lines))
