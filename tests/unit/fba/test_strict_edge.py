"""The SP-API edge believes nothing it cannot read: a 2xx whose body is not a JSON
object (or carries `errors`) is never a success, a payload of the wrong shape is a
typed error, an answer is capped and bound to a deadline, and a redirect is refused."""

from __future__ import annotations

import json
import pickle
from datetime import datetime

import pytest
import requests
import responses

from bridge.errors import AnswerTooLarge, DeadlineExceeded, IndeterminateError, MalformedAnswer, RedirectRefused
from bridge.fba.auth import LwaAuth

ORDER_ID = "demo-1001"

HOSTILE_BODIES = {
    "html": ("<html><body>Service maintenance</body></html>", "HTML"),
    "truncated": ('{"payload": {"fulfillmentOrder": {"sellerFulfillmentOrderId": "de', "cut short"),
    "errors": (json.dumps({"errors": [{"code": "InternalFailure", "message": "oops"}]}),
               "InternalFailure: oops"),
    "list": ("[]", "JSON list"),
    "string": ('"accepted"', "JSON string"),
    "empty": ("", "empty body"),
    "garbage": ("{not json at all}", "not JSON"),
}


def _order_url(amazon, order_id: str = ORDER_ID) -> str:
    return f"{amazon.OUTBOUND}/fulfillmentOrders/{order_id}"


def _pickles(error: Exception) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error) and str(copy) == str(error)


# -- writes: a 2xx that cannot be read is an unknown outcome --------------------------------

@pytest.mark.parametrize("kind", sorted(HOSTILE_BODIES))
def test_an_unreadable_2xx_to_a_create_is_indeterminate(amazon, make_client, kind):
    body, reason = HOSTILE_BODIES[kind]
    amazon.add(responses.POST, f"{amazon.OUTBOUND}/fulfillmentOrders", body=body, status=200)

    with pytest.raises(IndeterminateError) as caught:
        make_client().post_fulfillment_order(amazon.create_body())

    assert reason in caught.value.message
    assert "may have acted" in caught.value.message
    assert len(amazon.spapi_calls) == 1  # never sent again blindly
    _pickles(caught.value)


def test_an_unreadable_2xx_to_a_cancel_is_indeterminate(amazon, make_client):
    amazon.add(responses.PUT, f"{_order_url(amazon)}/cancel", body="<html>ok</html>", status=200)
    with pytest.raises(IndeterminateError):
        make_client().cancel_fulfillment_order(ORDER_ID)


def test_no_content_is_a_success_for_a_write(amazon, make_client):
    amazon.add(responses.PUT, f"{_order_url(amazon)}/cancel", status=204)
    make_client().cancel_fulfillment_order(ORDER_ID)


def test_an_empty_errors_list_is_still_a_success(amazon, make_client):
    amazon.add(responses.POST, f"{amazon.OUTBOUND}/fulfillmentOrders", json={"errors": []})
    make_client().post_fulfillment_order(amazon.create_body())


# -- reads: retried, then a typed transient error with the reason ----------------------------

@pytest.mark.parametrize("kind", ["html", "truncated", "errors", "list"])
def test_an_unreadable_2xx_to_a_read_is_retried_then_malformed(amazon, make_client, kind):
    body, reason = HOSTILE_BODIES[kind]
    amazon.add(responses.GET, _order_url(amazon), body=body, status=200)

    with pytest.raises(MalformedAnswer) as caught:
        make_client(max_retries=2).get_fulfillment_order(ORDER_ID)

    assert not isinstance(caught.value, IndeterminateError)
    assert reason in caught.value.message and "gave up after 3 attempts" in caught.value.message
    assert len(amazon.spapi_calls) == 3
    _pickles(caught.value)


# -- wrong shapes deeper in a payload ---------------------------------------------------------

def _order_with(amazon, **changes) -> dict:
    answer = amazon.get_order_response()
    answer["payload"].update(changes)
    return answer


@pytest.mark.parametrize("answer", [
    {"payload": []},
    {"payload": {"fulfillmentOrder": []}},
    {"payload": {"fulfillmentOrder": {"fulfillmentOrderStatus": ["Complete"]}}},
    "shipments-as-object",
    "shipment-items-as-string",
    "package-without-number",
    "package-number-as-text",
])
def test_a_misshapen_order_is_malformed_not_a_crash(amazon, make_client, answer):
    shipment = {"amazonShipmentId": "S1", "fulfillmentCenterId": "FC1",
                "fulfillmentShipmentStatus": "SHIPPED", "fulfillmentShipmentItem": [],
                "fulfillmentShipmentPackage": [{"packageNumber": 1}]}
    if answer == "shipments-as-object":
        answer = _order_with(amazon, fulfillmentShipments={"0": shipment})
    elif answer == "shipment-items-as-string":
        answer = _order_with(amazon, fulfillmentShipments=[{**shipment, "fulfillmentShipmentItem": "x"}])
    elif answer == "package-without-number":
        answer = _order_with(amazon, fulfillmentShipments=[
            {**shipment, "fulfillmentShipmentPackage": [{"carrierCode": "UPS"}]}])
    elif answer == "package-number-as-text":
        answer = _order_with(amazon, fulfillmentShipments=[
            {**shipment, "fulfillmentShipmentPackage": [{"packageNumber": "one"}]}])
    amazon.add(responses.GET, _order_url(amazon), json=answer)

    with pytest.raises(MalformedAnswer):
        make_client(max_retries=0).get_fulfillment_order(ORDER_ID)


def test_a_well_shaped_order_with_shipments_passes(amazon, make_client):
    shipment = {"amazonShipmentId": "S1", "fulfillmentCenterId": "FC1",
                "fulfillmentShipmentStatus": "SHIPPED",
                "fulfillmentShipmentItem": [{"sellerSku": "SKU-1", "sellerFulfillmentOrderItemId": "1001-1",
                                             "quantity": 2, "packageNumber": 1}],
                "fulfillmentShipmentPackage": [{"packageNumber": 1, "carrierCode": "UPS"}]}
    amazon.add(responses.GET, _order_url(amazon), json=_order_with(amazon, fulfillmentShipments=[shipment]))
    payload = make_client().get_fulfillment_order(ORDER_ID)
    assert payload["fulfillmentShipments"] == [shipment]


@pytest.mark.parametrize("page", [
    {"payload": ["order"]},
    {"payload": {"fulfillmentOrders": {"a": 1}}},
    {"payload": {"fulfillmentOrders": ["DEMO-1"]}},
    {"payload": {"fulfillmentOrders": [], "nextToken": ["t"]}},
])
def test_a_misshapen_order_list_is_malformed(amazon, make_client, page):
    amazon.add(responses.GET, f"{amazon.OUTBOUND}/fulfillmentOrders", json=page)
    with pytest.raises(MalformedAnswer):
        list(make_client(max_retries=0).list_all_fulfillment_orders(datetime(2026, 11, 20)))


@pytest.mark.parametrize("page", [
    {"payload": {"inventorySummaries": {"sellerSku": "A"}}},
    {"payload": {"inventorySummaries": [{"sellerSku": "A", "inventoryDetails": []}]}},
    {"payload": {"inventorySummaries": [{"sellerSku": "A",
                                         "inventoryDetails": {"fulfillableQuantity": "many"}}]}},
    {"payload": {"inventorySummaries": []}, "pagination": "next"},
])
def test_misshapen_inventory_is_malformed(amazon, make_client, page):
    amazon.add(responses.GET, f"{amazon.INVENTORY}/summaries", json=page)
    with pytest.raises(MalformedAnswer):
        list(make_client(max_retries=0).get_inventory_summaries(seller_skus=["A"]))


# -- size cap ----------------------------------------------------------------------------------

def test_an_answer_over_the_cap_is_not_read_and_not_retried(amazon, make_client):
    big = amazon.get_order_response()
    big["payload"]["padding"] = "x" * 5000
    amazon.add(responses.GET, _order_url(amazon), json=big)

    with pytest.raises(AnswerTooLarge) as caught:
        make_client(max_body=1000).get_fulfillment_order(ORDER_ID)

    assert caught.value.limit == 1000
    assert len(amazon.spapi_calls) == 1
    _pickles(caught.value)


def test_a_create_whose_answer_is_over_the_cap_is_indeterminate(amazon, make_client):
    amazon.add(responses.POST, f"{amazon.OUTBOUND}/fulfillmentOrders", body="{" + " " * 5000 + "}")
    with pytest.raises(IndeterminateError) as caught:
        make_client(max_body=1000).post_fulfillment_order(amazon.create_body())
    assert "1000-byte limit" in caught.value.message


# -- deadline (on an injected clock) -----------------------------------------------------------

def _slow_answer(clock, seconds: float, body: dict):
    def callback(request):
        clock.advance(seconds)  # the answer took this long to arrive
        return 200, {}, json.dumps(body)
    return callback


def test_a_create_that_outlives_its_deadline_is_indeterminate(amazon, make_client, clock):
    amazon.mock.add_callback(responses.POST, f"{amazon.OUTBOUND}/fulfillmentOrders",
                             callback=_slow_answer(clock, 30, {}))
    with pytest.raises(IndeterminateError) as caught:
        make_client(clock=clock, deadline=5.0).post_fulfillment_order(amazon.create_body())
    assert "within 5 s" in caught.value.message
    assert len(amazon.spapi_calls) == 1


def test_a_read_that_outlives_its_deadline_is_retried_then_typed(amazon, make_client, clock):
    amazon.mock.add_callback(responses.GET, _order_url(amazon),
                             callback=_slow_answer(clock, 30, amazon.get_order_response()))
    with pytest.raises(DeadlineExceeded):
        make_client(clock=clock, deadline=5.0, max_retries=1).get_fulfillment_order(ORDER_ID)
    assert len(amazon.spapi_calls) == 2


def test_an_answer_within_its_deadline_is_read(amazon, make_client, clock):
    amazon.mock.add_callback(responses.GET, _order_url(amazon),
                             callback=_slow_answer(clock, 1, amazon.get_order_response()))
    assert make_client(clock=clock, deadline=5.0).get_fulfillment_order(ORDER_ID) is not None


# -- redirects ---------------------------------------------------------------------------------

@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_refused_naming_the_target_host(amazon, make_client, status):
    amazon.add(responses.POST, f"{amazon.OUTBOUND}/fulfillmentOrders", status=status,
               headers={"location": "https://collector.example.net/steal"})

    with pytest.raises(RedirectRefused) as caught:
        make_client().post_fulfillment_order(amazon.create_body())

    assert caught.value.target_host == "collector.example.net"
    assert "collector.example.net" in caught.value.message
    assert [c.request.url for c in amazon.mock.calls if "example.net" in c.request.url] == []
    _pickles(caught.value)


# -- the token call --------------------------------------------------------------------------

def _auth(amazon, clock) -> LwaAuth:
    return LwaAuth(amazon.TOKEN_URL, amazon.CLIENT_ID, amazon.CLIENT_SECRET, amazon.REFRESH_TOKEN,
                   requests.Session(), 5.0, clock=clock)


def test_a_token_answer_that_is_not_json_says_so(amazon, clock):
    amazon.mock.replace(responses.POST, amazon.TOKEN_URL, body="<html>login</html>", status=200)
    with pytest.raises(MalformedAnswer, match="HTML"):
        _auth(amazon, clock).access_token()


def test_a_redirected_token_call_is_refused(amazon, clock):
    amazon.mock.replace(responses.POST, amazon.TOKEN_URL, status=302,
                        headers={"location": "https://phish.example.org/token"})
    with pytest.raises(RedirectRefused) as caught:
        _auth(amazon, clock).access_token()
    assert caught.value.target_host == "phish.example.org"


def test_a_huge_token_answer_is_refused(amazon, clock):
    amazon.mock.replace(responses.POST, amazon.TOKEN_URL, body="x" * 100_000, status=200)
    with pytest.raises(AnswerTooLarge):
        _auth(amazon, clock).access_token()
