"""What bridge's rules read on a Shopify order (total, currency, tags, the customer's
note, payment state, fraud risk, line titles), mapped from GraphQL order nodes. The
nodes are built from Shopify's published example orders (REST, the shape webhooks
still carry) field by field, as the Admin API names each value in GraphQL."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bridge.carts.contract import CancelRequest, DeliveryUpdate, Milestone, ReturnStage
from bridge.carts.shopify.lifecycle import DELIVERY_EVENTS, cancel, push_delivery, return_note_start
from bridge.carts.shopify.mapping import (
    PAYMENT_STATUSES,
    cart_order,
    customer_note,
    line_title,
    payment_status,
    risk_level,
    workable_lines,
)
from bridge.carts.shopify.settings import FINANCIAL_STATUSES
from bridge.domain.model import CartLine, CartOrder, PackageShipment, PaymentStatus, RiskLevel, ShippedLine
from bridge.errors import IndeterminateError, MalformedAnswer, NeedsAttentionError

FIXTURES = Path(__file__).parents[2] / "fakes" / "shopify"
LOCATION = "gid://shopify/Location/1"
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def rest_order(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())["order"]


def graphql_node(rest: dict, *, risk: dict | None = None) -> dict:
    """The GraphQL Order node carrying the REST example's values: total_price and
    currency are totalPriceSet.shopMoney, tags is one comma-separated string in REST and
    a list in GraphQL, financial_status is displayFinancialStatus in capitals, a line's
    title and variant_title are productTitle and variantTitle of its fulfillment line."""
    return {
        "id": rest.get("admin_graphql_api_id") or f"gid://shopify/Order/{rest['id']}",
        "name": rest["name"],
        "email": rest.get("email"),
        "createdAt": rest["created_at"],
        "updatedAt": rest["updated_at"],
        "cancelledAt": rest.get("cancelled_at"),
        "displayFinancialStatus": (rest.get("financial_status") or "").upper() or None,
        "totalPriceSet": {"shopMoney": {"amount": rest["total_price"], "currencyCode": rest["currency"]}},
        "tags": [tag.strip() for tag in (rest.get("tags") or "").split(",") if tag.strip()],
        "note": rest.get("note"),
        "risk": risk or {"recommendation": "NONE", "assessments": []},
        "shippingAddress": None,
        "shippingLine": None,
        "fulfillmentOrders": {"nodes": [{
            "id": "gid://shopify/FulfillmentOrder/1",
            "status": "OPEN",
            "assignedLocation": {"location": {"id": LOCATION}},
            "lineItems": {"nodes": [
                {"id": f"gid://shopify/FulfillmentOrderLineItem/{line['id']}", "sku": line["sku"],
                 "remainingQuantity": line["quantity"], "requiresShipping": line["requires_shipping"],
                 "productTitle": line["title"], "variantTitle": line.get("variant_title")}
                for line in rest["line_items"]
            ]},
        }]},
    }


def mapped(node: dict):
    return cart_order(node, workable_lines(node["fulfillmentOrders"]["nodes"], LOCATION),
                      frozenset({"PAID"}))


def test_published_partially_refunded_order_reads_as_paid_with_its_total():
    rest = rest_order("rest_order_2025-01.json")
    order = mapped(graphql_node(rest))
    assert (order.total, order.currency) == ("598.94", "USD")
    assert order.payment_status == PaymentStatus.PAID  # captured first, then partly refunded
    assert order.paid is False  # the storefront's paid_statuses say PAID only
    assert order.tags == () and order.customer_note == ""
    assert order.risk == RiskLevel.UNKNOWN


def test_line_titles_are_shopifys_line_item_names():
    rest = rest_order("rest_order_2025-01.json")
    order = mapped(graphql_node(rest))
    # LineItem.name in the same example: the product's title, then the variant's.
    assert [line.title for line in order.lines] == [line["name"] for line in rest["line_items"]]


def test_published_authorized_order_is_authorized_and_not_paid():
    order = mapped(graphql_node(rest_order("rest_order_authorized_python_api.json")))
    assert order.payment_status == PaymentStatus.AUTHORIZED and not order.paid
    assert (order.total, order.currency) == ("409.94", "USD")


def test_tags_and_note_of_a_tagged_order():
    rest = {**rest_order("rest_order_2025-01.json"), "tags": "vip, gift ,wholesale",
            "note": "Leave it with the neighbour"}
    order = mapped(graphql_node(rest))
    assert order.tags == ("vip", "gift", "wholesale")
    assert order.customer_note == "Leave it with the neighbour"


@pytest.mark.parametrize(("status", "expected"), [
    ("PAID", PaymentStatus.PAID),
    ("PARTIALLY_REFUNDED", PaymentStatus.PAID),
    ("AUTHORIZED", PaymentStatus.AUTHORIZED),
    ("PARTIALLY_PAID", PaymentStatus.PENDING),
    ("PENDING", PaymentStatus.PENDING),
    ("REFUNDED", PaymentStatus.REFUNDED),
    ("VOIDED", PaymentStatus.VOIDED),
    ("EXPIRED", PaymentStatus.VOIDED),
    (None, PaymentStatus.UNKNOWN),
])
def test_each_financial_status_has_a_payment_state(status, expected):
    assert payment_status(status) == expected


def test_every_status_of_the_schema_is_mapped():
    assert set(PAYMENT_STATUSES) == FINANCIAL_STATUSES


@pytest.mark.parametrize(("risk", "expected"), [
    (None, RiskLevel.UNKNOWN),
    ({"recommendation": "NONE", "assessments": []}, RiskLevel.UNKNOWN),
    ({"recommendation": "NONE", "assessments": [{"riskLevel": "PENDING"}, {"riskLevel": "NONE"}]},
     RiskLevel.UNKNOWN),
    ({"recommendation": "ACCEPT", "assessments": [{"riskLevel": "LOW"}]}, RiskLevel.LOW),
    ({"recommendation": "ACCEPT", "assessments": [{"riskLevel": "LOW"}, {"riskLevel": "HIGH"}]},
     RiskLevel.HIGH),
    ({"recommendation": "INVESTIGATE", "assessments": [{"riskLevel": "LOW"}]}, RiskLevel.MEDIUM),
    ({"recommendation": "CANCEL", "assessments": []}, RiskLevel.HIGH),
])
def test_risk_is_the_highest_verdict(risk, expected):
    assert risk_level(risk) == expected


def test_bridges_own_note_lines_are_not_the_customers_note():
    note = "Gift wrap please\nbridge: on hold: SKU MUG has no stock\nRing twice\nbridge: Return R1 received"
    assert customer_note(note) == "Gift wrap please\nRing twice"
    assert customer_note("bridge: on hold") == "" and customer_note(None) == ""


def test_a_line_without_a_variant_is_named_by_its_product():
    assert line_title({"productTitle": "Blue mug", "variantTitle": None}) == "Blue mug"
    assert line_title({"productTitle": "Tee", "variantTitle": "M"}) == "Tee - M"


def test_each_milestone_has_its_own_event_words():
    assert DELIVERY_EVENTS[Milestone.DELIVERED][0] == "DELIVERED"
    assert len({words for _status, words in DELIVERY_EVENTS.values()}) == len(Milestone)


def test_return_stages_are_told_apart_in_the_note():
    authorized = return_note_start("RMA-1", ReturnStage.AUTHORIZED)
    received = return_note_start("RMA-1", ReturnStage.RECEIVED)
    assert authorized.startswith("bridge: ") and not received.startswith(authorized)
    assert customer_note(authorized + " by Amazon: 1 × MUG") == ""


# -- answers that cannot be read ------------------------------------------------------------


class Scripted:
    """Answers per operation name, in order; records the operations sent."""

    def __init__(self, **answers: list) -> None:
        self.answers = {name: list(queue) for name, queue in answers.items()}
        self.sent: list[str] = []

    def graphql(self, document: str, variables: dict, *, cost: int, write: bool = False) -> dict:
        name = re.search(r"(?:query|mutation) (\w+)", document).group(1)
        self.sent.append(name)
        return self.answers[name].pop(0)


ORDER = CartOrder("gid://shopify/Order/1", "#1001", T0, T0, True, False,
                  (CartLine("gid://shopify/FulfillmentOrderLineItem/7", "MUG", 2, title="Mug"),))
LINE_ITEM = {"id": "gid://shopify/LineItem/9", "sku": "MUG", "quantity": 2, "currentQuantity": 2,
             "unfulfilledQuantity": 2}
LINES_READ = {"order": {"id": ORDER.order_id, "cancelledAt": None,
                        "fulfillmentOrders": {"nodes": [{"id": "gid://shopify/FulfillmentOrder/3", "lineItems": {
                            "nodes": [{"id": "gid://shopify/FulfillmentOrderLineItem/7", "lineItem": LINE_ITEM}]}}]},
                        "lineItems": {"nodes": [LINE_ITEM]}}}
CALCULATED = {"orderEditBegin": {"userErrors": [], "calculatedOrder": {
    "id": "gid://shopify/CalculatedOrder/5",
    "lineItems": {"nodes": [{"id": "gid://shopify/CalculatedLineItem/9", "sku": "MUG", "quantity": 2,
                             "editableQuantity": 2}]}}}}
CANCEL_ONE = CancelRequest("Amazon shipped part", lines=(ShippedLine(ORDER.lines[0].line_id, "MUG", 1),))


def test_an_unanswered_commit_of_a_line_cancel_is_indeterminate():
    http = Scripted(BridgeOrderLinesForCancel=[LINES_READ], BridgeOrderEditBegin=[CALCULATED],
                    BridgeOrderEditSetQuantity=[{"orderEditSetQuantity": {"userErrors": []}}],
                    BridgeOrderEditCommit=[{"orderEditCommit": None}])
    with pytest.raises(IndeterminateError):
        cancel(http, ORDER, CANCEL_ONE)
    assert http.sent[-1] == "BridgeOrderEditCommit"


def test_an_edit_begun_without_a_calculated_order_is_malformed_and_commits_nothing():
    http = Scripted(BridgeOrderLinesForCancel=[LINES_READ],
                    BridgeOrderEditBegin=[{"orderEditBegin": {"userErrors": [], "calculatedOrder": None}}])
    with pytest.raises(MalformedAnswer):
        cancel(http, ORDER, CANCEL_ONE)
    assert "BridgeOrderEditCommit" not in http.sent


def test_a_refused_edit_needs_attention_with_shopifys_words():
    refused = {"orderEditSetQuantity": {"userErrors": [
        {"field": ["quantity"], "message": "Quantity can't be less than the fulfilled quantity."}]}}
    http = Scripted(BridgeOrderLinesForCancel=[LINES_READ], BridgeOrderEditBegin=[CALCULATED],
                    BridgeOrderEditSetQuantity=[refused])
    with pytest.raises(NeedsAttentionError, match="fulfilled quantity") as caught:
        cancel(http, ORDER, CANCEL_ONE)
    assert caught.value.reason == "cart_rejected"


def test_a_line_shopify_does_not_have_needs_attention():
    empty = {"order": {**LINES_READ["order"], "fulfillmentOrders": {"nodes": []}, "lineItems": {"nodes": []}}}
    with pytest.raises(NeedsAttentionError) as caught:
        cancel(Scripted(BridgeOrderLinesForCancel=[empty]), ORDER, CANCEL_ONE)
    assert caught.value.reason == "cart_line_missing"


def test_an_unanswered_delivery_event_is_indeterminate():
    tracking = {"order": {"id": ORDER.order_id, "fulfillments": [
        {"id": "gid://shopify/Fulfillment/4", "status": "SUCCESS", "trackingInfo": [{"number": "1Z1"}]}]}}
    events = {"fulfillment": {"id": "gid://shopify/Fulfillment/4", "events": {
        "pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": []}}}
    http = Scripted(BridgeOrderTracking=[tracking], BridgeFulfillmentEvents=[events],
                    BridgeFulfillmentEventCreate=[{"errors": "lost"}])
    package = PackageShipment(1, "UPS", "1Z1", lines=())
    with pytest.raises(IndeterminateError):
        push_delivery(http, ORDER, DeliveryUpdate(package, Milestone.DELIVERED, T0))


NOT_CANCELLED = {"order": {"id": ORDER.order_id, "cancelledAt": None}}


def cancel_answer(done: bool) -> dict:
    return {"orderCancel": {"job": {"id": "gid://shopify/Job/1", "done": done}, "orderCancelUserErrors": []}}


def test_a_cancel_whose_job_has_not_run_yet_is_indeterminate():
    http = Scripted(BridgeOrderCancelled=[NOT_CANCELLED, NOT_CANCELLED],
                    BridgeOrderCancel=[cancel_answer(done=False)])
    with pytest.raises(IndeterminateError):
        cancel(http, ORDER, CancelRequest("Amazon cancelled the order"))
    assert http.sent == ["BridgeOrderCancelled", "BridgeOrderCancel", "BridgeOrderCancelled"]


def test_a_staff_note_is_cut_to_shopifys_limit():
    http = Scripted(BridgeOrderCancelled=[NOT_CANCELLED], BridgeOrderCancel=[cancel_answer(done=True)])
    sent: list[dict] = []
    graphql = http.graphql

    def recording(document, variables, **kwargs):
        sent.append(variables)
        return graphql(document, variables, **kwargs)

    http.graphql = recording
    assert cancel(http, ORDER, CancelRequest("x" * 400)) is True
    assert len(sent[-1]["staffNote"]) == 255 and sent[-1]["staffNote"].startswith("bridge: x")
