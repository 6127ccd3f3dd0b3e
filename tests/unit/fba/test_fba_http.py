"""How the HTTP edge classifies each kind of answer (or its absence) into the error tree."""

from __future__ import annotations

import pickle

import pytest
import requests
import responses
import urllib3.exceptions

from bridge.errors import (
    FatalError,
    IndeterminateError,
    NeedsAttentionError,
    TransientError,
)
from bridge.fba.errors import NotFound

ORDER_ID = "demo-1001"


def _order_url(amazon, order_id: str = ORDER_ID) -> str:
    return f"{amazon.OUTBOUND}/fulfillmentOrders/{order_id}"


def _refused() -> requests.exceptions.ConnectionError:
    reason = urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection")
    return requests.exceptions.ConnectionError(
        urllib3.exceptions.MaxRetryError(None, "/fba", reason)
    )


def _reset_after_sending() -> requests.exceptions.ConnectionError:
    return requests.exceptions.ConnectionError(
        urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError(104, "reset"))
    )


def _pickles(error: Exception) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error) and str(copy) == str(error)


class RecordingLimiter:
    def __init__(self) -> None:
        self.acquired: list[tuple] = []
        self.rates: list[tuple] = []

    def acquire(self, key, rate, burst, timeout):
        self.acquired.append((key, rate, burst, timeout))

    def update_rate(self, key, rate):
        self.rates.append((key, rate))


def test_every_call_carries_the_access_token_and_a_user_agent(amazon, make_client):
    amazon.add(responses.GET, _order_url(amazon), json=amazon.get_order_response())
    make_client().get_fulfillment_order(ORDER_ID)

    headers = amazon.spapi_calls[0].request.headers
    assert headers["x-amz-access-token"] == amazon.ACCESS_TOKEN
    assert headers["user-agent"].startswith("bridge/")


def test_every_call_waits_for_its_bucket_and_learns_the_rate(amazon, make_client):
    amazon.add(
        responses.GET, _order_url(amazon), json=amazon.get_order_response(),
        headers={"x-amzn-RateLimit-Limit": "5.0"},
    )
    limiter = RecordingLimiter()
    make_client(limiter=limiter).get_fulfillment_order(ORDER_ID)

    key = "sellingpartnerapi-na.amazon.com:test:getFulfillmentOrder"
    assert limiter.acquired == [(key, 2, 30, 5.0)]
    assert limiter.rates == [(key, 5.0)]


def test_path_parameters_are_quoted(amazon, make_client):
    amazon.add(responses.GET, f"{amazon.OUTBOUND}/fulfillmentOrders/a%2Fb%20c", status=404)
    assert make_client().get_fulfillment_order("a/b c") is None
    assert amazon.spapi_calls[0].request.url.endswith("/fulfillmentOrders/a%2Fb%20c")


@pytest.mark.parametrize("status", [400, 422])
def test_a_rejected_request_needs_attention_with_amazons_errors(amazon, make_client, status):
    amazon.add(
        responses.POST, f"{amazon.OUTBOUND}/fulfillmentOrders", status=status,
        json={"errors": [
            {"code": "InvalidInput", "message": "the SellerSKU for Item Id: 1001-1 is invalid."},
            {"code": "InvalidInput", "message": "postalCode is invalid", "details": "98101x"},
        ]},
    )
    with pytest.raises(NeedsAttentionError) as caught:
        make_client().post_fulfillment_order(amazon.create_body())

    error = caught.value
    assert error.reason == "amazon_rejected"
    assert error.message == (
        "InvalidInput: the SellerSKU for Item Id: 1001-1 is invalid.; "
        "InvalidInput: postalCode is invalid (98101x)"
    )
    assert len(amazon.spapi_calls) == 1
    _pickles(error)


@pytest.mark.parametrize("status", [401, 403])
def test_refused_access_is_fatal_after_one_fresh_token(amazon, make_client, status):
    amazon.add(
        responses.GET, _order_url(amazon), status=status,
        json=amazon.errors("Unauthorized", "Access to requested resource is denied."),
    )
    with pytest.raises(FatalError) as caught:
        make_client().get_fulfillment_order(ORDER_ID)

    assert caught.value.reason == "access_refused"
    assert "Access to requested resource is denied." in caught.value.message
    assert amazon.ACCESS_TOKEN not in caught.value.message
    assert len(amazon.spapi_calls) == 2
    assert len(amazon.token_calls) == 2
    _pickles(caught.value)


def test_an_expired_token_is_replaced_and_the_call_succeeds(amazon, make_client):
    amazon.add(responses.PUT, f"{_order_url(amazon)}/cancel", status=403,
               json=amazon.errors("Unauthorized", "The access token you provided has expired."))
    amazon.add(responses.PUT, f"{_order_url(amazon)}/cancel", json={})
    make_client().cancel_fulfillment_order(ORDER_ID)
    assert len(amazon.spapi_calls) == 2


def test_not_found_means_no_such_order(amazon, make_client):
    amazon.add(responses.GET, _order_url(amazon), status=404,
               json=amazon.errors("NotFound", "Requested order not found"))
    assert make_client().get_fulfillment_order(ORDER_ID) is None


def test_cancelling_an_unknown_order_raises_not_found(amazon, make_client):
    amazon.add(responses.PUT, f"{_order_url(amazon)}/cancel", status=404)
    with pytest.raises(NotFound) as caught:
        make_client().cancel_fulfillment_order(ORDER_ID)
    assert caught.value.operation == "cancelFulfillmentOrder"
    _pickles(caught.value)


def test_throttling_is_retried_no_faster_than_the_bucket_then_transient(amazon, make_client, clock):
    amazon.add(responses.POST, f"{amazon.OUTBOUND}/fulfillmentOrders", status=429,
               json=amazon.errors("QuotaExceeded", "You exceeded your quota for the requested resource."))
    with pytest.raises(TransientError) as caught:
        make_client(max_retries=3).post_fulfillment_order(amazon.create_body())

    error = caught.value
    assert not isinstance(error, IndeterminateError)  # a throttled create was not acted on
    assert len(amazon.spapi_calls) == 4
    assert len(clock.sleeps) == 3 and all(s >= 0.5 for s in clock.sleeps)  # 1 / (2 per second)
    assert error.retry_after is not None and error.retry_after >= 0.5
    _pickles(error)


def test_throttling_honours_retry_after(amazon, make_client, clock):
    amazon.add(responses.GET, _order_url(amazon), status=429, headers={"retry-after": "7"})
    amazon.add(responses.GET, _order_url(amazon), json=amazon.get_order_response())
    assert make_client().get_fulfillment_order(ORDER_ID) is not None
    assert clock.sleeps[0] >= 7


@pytest.mark.parametrize("failure", [
    {"status": 503},
    {"status": 500},
    {"body": requests.exceptions.ReadTimeout("read timed out")},
    {"body": _reset_after_sending()},
])
def test_an_unknown_outcome_of_a_create_is_indeterminate_at_once(amazon, make_client, failure):
    amazon.add(responses.POST, f"{amazon.OUTBOUND}/fulfillmentOrders", **failure)
    with pytest.raises(IndeterminateError) as caught:
        make_client().post_fulfillment_order(amazon.create_body())
    assert len(amazon.spapi_calls) == 1
    _pickles(caught.value)


def test_an_unknown_outcome_of_a_cancel_is_indeterminate(amazon, make_client):
    amazon.add(responses.PUT, f"{_order_url(amazon)}/cancel", status=503)
    with pytest.raises(IndeterminateError):
        make_client().cancel_fulfillment_order(ORDER_ID)
    assert len(amazon.spapi_calls) == 1


@pytest.mark.parametrize("failure", [
    {"status": 503},
    {"body": requests.exceptions.ReadTimeout("read timed out")},
    {"body": _reset_after_sending()},
    {"body": "<html>maintenance</html>", "status": 200},
])
def test_a_failed_read_is_retried_and_then_succeeds(amazon, make_client, clock, failure):
    amazon.add(responses.GET, _order_url(amazon), **failure)
    amazon.add(responses.GET, _order_url(amazon), **failure)
    amazon.add(responses.GET, _order_url(amazon), json=amazon.get_order_response())

    payload = make_client().get_fulfillment_order(ORDER_ID)

    assert payload["fulfillmentOrder"]["sellerFulfillmentOrderId"] == ORDER_ID
    assert len(amazon.spapi_calls) == 3
    assert len(clock.sleeps) == 2


def test_a_read_that_keeps_failing_becomes_transient(amazon, make_client):
    amazon.add(responses.GET, _order_url(amazon), status=503)
    with pytest.raises(TransientError) as caught:
        make_client(max_retries=2).get_fulfillment_order(ORDER_ID)
    assert not isinstance(caught.value, IndeterminateError)
    assert len(amazon.spapi_calls) == 3


@pytest.mark.parametrize("failure", [_refused(), requests.exceptions.ConnectTimeout("connect timed out")])
def test_a_request_never_sent_is_retried_even_for_a_create(amazon, make_client, failure):
    amazon.add(responses.POST, f"{amazon.OUTBOUND}/fulfillmentOrders", body=failure)
    with pytest.raises(TransientError) as caught:
        make_client(max_retries=2).post_fulfillment_order(amazon.create_body())

    assert not isinstance(caught.value, IndeterminateError)
    assert len(amazon.spapi_calls) == 3
    _pickles(caught.value)


def test_a_create_refused_once_then_accepted_succeeds(amazon, make_client):
    amazon.add(responses.POST, f"{amazon.OUTBOUND}/fulfillmentOrders", body=_refused())
    amazon.add(responses.POST, f"{amazon.OUTBOUND}/fulfillmentOrders", json={})
    make_client().post_fulfillment_order(amazon.create_body())
    assert len(amazon.spapi_calls) == 2


def test_an_unreachable_token_service_is_retried_before_anything_is_sent(amazon, make_client):
    amazon.mock.replace(responses.POST, amazon.TOKEN_URL, status=503)
    with pytest.raises(TransientError) as caught:
        make_client(max_retries=1).post_fulfillment_order(amazon.create_body())
    assert not isinstance(caught.value, IndeterminateError)
    assert amazon.spapi_calls == []
    assert len(amazon.token_calls) == 2


def test_an_answer_without_payload_is_never_read_as_missing(amazon, make_client):
    amazon.add(responses.GET, _order_url(amazon), json={})
    with pytest.raises(TransientError):
        make_client(max_retries=0).get_fulfillment_order(ORDER_ID)
