from __future__ import annotations

import pickle
import threading
from urllib.parse import parse_qs

import pytest
import requests
import responses

from bridge.errors import FatalError, TransientError
from bridge.fba.auth import LwaAuth


def _auth(amazon, clock) -> LwaAuth:
    return LwaAuth(
        amazon.TOKEN_URL, amazon.CLIENT_ID, amazon.CLIENT_SECRET, amazon.REFRESH_TOKEN,
        requests.Session(), 5.0, clock=clock,
    )


def _answer_with(amazon, status: int, body: dict | Exception) -> None:
    amazon.mock.replace(
        responses.POST, amazon.TOKEN_URL,
        **({"body": body} if isinstance(body, Exception) else {"json": body, "status": status}),
    )


def _assert_no_secret(amazon, text: str) -> None:
    for secret in (amazon.CLIENT_SECRET, amazon.REFRESH_TOKEN, amazon.ACCESS_TOKEN):
        assert secret not in text


def test_sends_a_form_encoded_refresh_token_grant(amazon, clock):
    assert _auth(amazon, clock).access_token() == amazon.ACCESS_TOKEN

    request = amazon.token_calls[0].request
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert {k: v[0] for k, v in parse_qs(request.body).items()} == {
        "grant_type": "refresh_token",
        "refresh_token": amazon.REFRESH_TOKEN,
        "client_id": amazon.CLIENT_ID,
        "client_secret": amazon.CLIENT_SECRET,
    }


def test_caches_the_token_until_shortly_before_it_expires(amazon, clock):
    auth = _auth(amazon, clock)
    auth.access_token()
    clock.advance(3600 - 61)
    auth.access_token()
    assert len(amazon.token_calls) == 1

    clock.advance(2)  # now within 60 s of expiry
    auth.access_token()
    assert len(amazon.token_calls) == 2


def test_a_short_lived_token_is_not_refetched_on_every_call(amazon, clock):
    _answer_with(amazon, 200, {"access_token": "Atza|short", "expires_in": 60})
    auth = _auth(amazon, clock)
    auth.access_token()
    clock.advance(29)
    auth.access_token()
    assert len(amazon.token_calls) == 1


def test_invalidate_forces_a_new_token(amazon, clock):
    auth = _auth(amazon, clock)
    auth.access_token()
    auth.invalidate()
    auth.access_token()
    assert len(amazon.token_calls) == 2


def test_concurrent_callers_share_one_token_fetch(amazon, clock):
    auth = _auth(amazon, clock)
    tokens = []
    threads = [threading.Thread(target=lambda: tokens.append(auth.access_token())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert tokens == [amazon.ACCESS_TOKEN] * 8
    assert len(amazon.token_calls) == 1


@pytest.mark.parametrize(
    "code", ["invalid_grant", "invalid_client", "unauthorized_client", "access_denied"]
)
def test_refused_credentials_are_fatal_and_name_no_secret(amazon, clock, code):
    _answer_with(
        amazon, 400,
        {"error": code, "error_description": f"bad refresh_token {amazon.REFRESH_TOKEN}"},
    )
    with pytest.raises(FatalError) as caught:
        _auth(amazon, clock).access_token()

    error = caught.value
    assert error.reason == "credentials_refused"
    assert code in error.message and "revoked" in error.message
    _assert_no_secret(amazon, str(error) + repr(error) + repr(error.args))
    assert pickle.loads(pickle.dumps(error)).message == error.message


def test_an_unknown_client_error_is_fatal(amazon, clock):
    _answer_with(amazon, 400, {"error": "invalid_request"})
    with pytest.raises(FatalError):
        _auth(amazon, clock).access_token()


@pytest.mark.parametrize(
    "status, body",
    [
        (500, {"error": "server_error"}),
        (503, {}),
        (400, {"error": "temporarily_unavailable"}),
        (429, {}),
        (200, {"token_type": "bearer"}),  # no access_token in it
        (0, requests.exceptions.ReadTimeout("read timed out")),
        (0, requests.exceptions.ConnectionError("connection refused")),
    ],
)
def test_an_unavailable_token_service_is_transient(amazon, clock, status, body):
    _answer_with(amazon, status, body)
    with pytest.raises(TransientError) as caught:
        _auth(amazon, clock).access_token()
    _assert_no_secret(amazon, str(caught.value))
    pickle.loads(pickle.dumps(caught.value))


def test_repr_names_no_secret(amazon, clock):
    auth = _auth(amazon, clock)
    auth.access_token()
    _assert_no_secret(amazon, repr(auth))
    assert amazon.CLIENT_ID in repr(auth)
