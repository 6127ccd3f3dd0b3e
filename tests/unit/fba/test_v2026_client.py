"""FbaV2026Client on the wire: what it sends (checked against the v2026 model), how it
pages listOrders, and which port methods stay on 2020-07-01."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from bridge.domain.fulfillment import CancelVerdict, FulfillmentOrderRequest, RequestedItem
from bridge.domain.model import Address
from bridge.errors import MalformedAnswer, TransientError
from bridge.fba.auth import LwaAuth
from bridge.fba.client import FbaClient
from bridge.fba.port import FulfillmentNetwork
from bridge.fba.ratelimit import NoLimiter
from bridge.fba.v2026.client import FbaV2026Client, client_class

V26 = "fulfillmentOutbound_2026-07-04"
RECEIVED_AT = "2026-11-20T10:00:05Z"


@pytest.fixture
def client(amazon, clock):
    session = requests.Session()
    auth = LwaAuth(amazon.TOKEN_URL, amazon.CLIENT_ID, amazon.CLIENT_SECRET,
                   amazon.REFRESH_TOKEN, session, 5.0, clock=clock)
    built = FbaV2026Client(amazon.BASE_URL, amazon.MARKETPLACE, auth, NoLimiter(), "test",
                           timeout=5.0, max_retries=0, session=session, sleep=clock.sleep)
    yield built
    built.close()


def v26(amazon, path: str = "") -> str:
    return f"{amazon.BASE_URL}/fulfillment/outbound/2026-07-04{path}"


def fulfillment_order(order_id: str = "demo-1001", status: str = "PROCESSING") -> dict:
    return {"orderId": order_id, "receiveTime": RECEIVED_AT, "status": status,
            "statusUpdateTime": RECEIVED_AT,
            "lineItems": [{"lineItemId": "1001-1",
                           "product": {"productIdentifier": {"amazonSku": "SKU-1"}},
                           "amount": {"unit": "EACHES", "value": "2.0"}}]}


def test_it_implements_the_port_and_is_chosen_by_the_setting(client):
    assert isinstance(client, FulfillmentNetwork)
    assert client_class("2026-07-04") is FbaV2026Client
    assert client_class("2020-07-01") is FbaClient


def test_create_sends_a_create_order_body(amazon, client, models):
    answer = {"orderId": "demo-1001", "status": "PROCESSING"}
    models.validate(V26, "CreateOrderAcceptedResponse", answer)
    amazon.add(responses.POST, v26(amazon, "/orders"), json=answer, status=202)
    client.create_fulfillment_order(FulfillmentOrderRequest(
        seller_fulfillment_order_id="demo-1001", displayable_id="1001",
        displayable_date=datetime(2026, 11, 20, 10, 0, tzinfo=UTC), comment="Thanks",
        shipping_speed="Standard",
        destination=Address(name="Jane Doe", line1="1 Main St", postal_code="98101",
                            country_code="US"),
        fulfillment_policy="FillOrKill", items=(RequestedItem("SKU-1", "1001-1", 2),)))
    sent = json.loads(amazon.spapi_calls[0].request.body)
    models.validate(V26, "CreateOrderRequest", sent)
    assert sent["orderId"] == "demo-1001" and sent["origin"] == {"countryCode": "US"}


def test_get_reads_the_order_and_none_when_amazon_has_none(amazon, client, models):
    body = {"order": fulfillment_order()}
    models.validate(V26, "GetOrderResponse", body)
    amazon.add(responses.GET, v26(amazon, "/orders/demo-1001"), json=body)
    amazon.add(responses.GET, v26(amazon, "/orders/ghost"), status=404,
               json=amazon.errors("NotFound", "no such order"))
    found = client.fulfillment_order("demo-1001")
    assert found is not None and found.status == "Received"
    assert client.fulfillment_order("ghost") is None


def test_an_answer_without_an_order_is_malformed_never_none(amazon, client):
    amazon.add(responses.GET, v26(amazon, "/orders/demo-1001"), json={})
    with pytest.raises(MalformedAnswer):
        client.fulfillment_order("demo-1001")


def test_changed_orders_pages_with_the_same_arguments(amazon, client, models):
    first = {"orders": [fulfillment_order("a")], "pagination": {"nextToken": "t1"}}
    second = {"orders": [fulfillment_order("b", "COMPLETE")]}
    models.validate(V26, "ListOrdersResponse", first)
    models.validate(V26, "ListOrdersResponse", second)
    amazon.add(responses.GET, v26(amazon, "/orders"), json=first)
    amazon.add(responses.GET, v26(amazon, "/orders"), json=second)
    changed = client.changed_orders(datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    assert [(o.seller_fulfillment_order_id, o.status) for o in changed.orders] == [
        ("a", "Received"), ("b", "Complete")]
    queries = [{k: v[0] for k, v in parse_qs(urlsplit(c.request.url).query).items()}
               for c in amazon.spapi_calls]
    assert queries == [{"updatedAfter": "2026-11-20T09:00:00Z"},
                       {"updatedAfter": "2026-11-20T09:00:00Z", "pageToken": "t1"}]


def test_a_repeated_page_token_stops_the_listing(amazon, client):
    again = {"orders": [], "pagination": {"nextToken": "same"}}
    amazon.add(responses.GET, v26(amazon, "/orders"), json=again)
    with pytest.raises(TransientError):
        client.changed_orders(datetime(2026, 11, 20, tzinfo=UTC))


def test_cancel_outcomes(amazon, client, models):
    models.validate(V26, "CancelOrderResponse", {})
    amazon.add(responses.PUT, v26(amazon, "/orders/a/cancel"), json={}, status=202)
    amazon.add(responses.PUT, v26(amazon, "/orders/late/cancel"), status=400,
               json=amazon.errors("InvalidInput", "the order is being picked"))
    amazon.add(responses.PUT, v26(amazon, "/orders/ghost/cancel"), status=404,
               json=amazon.errors("NotFound", "no such order"))
    assert client.cancel_order("a").verdict == CancelVerdict.CANCELLED
    late = client.cancel_order("late")
    assert late.verdict == CancelVerdict.REFUSED
    assert client.cancel_order("ghost").verdict == CancelVerdict.NOT_FOUND


def test_release_preview_and_offers_are_raw_operations(amazon, client, models):
    amazon.add(responses.PUT, v26(amazon, "/orders/a"), json={}, status=202)
    amazon.add(responses.POST, v26(amazon, "/previews"), json={"plannedShipments": []})
    amazon.add(responses.POST, v26(amazon, "/offers"), json={"offerResults": []})
    client.set_fulfillment_action("a", ship=True)
    assert client.order_preview({"lineItems": []}) == {"plannedShipments": []}
    assert client.offers({"items": []}) == {"offerResults": []}
    models.validate(V26, "UpdateOrderRequest", json.loads(amazon.spapi_calls[0].request.body))
    assert json.loads(amazon.spapi_calls[0].request.body) == {
        "fulfillmentConfiguration": {"action": "SHIP"}}


def test_edits_and_returns_stay_on_2020_07_01(amazon, client):
    amazon.add(responses.GET, f"{amazon.OUTBOUND}/fulfillmentOrders/demo-1001",
               json=amazon.get_order_response())
    returns = client.order_returns("demo-1001")
    assert returns is not None
    assert amazon.spapi_calls[0].request.url.startswith(amazon.OUTBOUND)
