"""Who may reach `bridge serve`: on loopback anyone on the machine; bound elsewhere, every
path but the probes and the webhooks needs the operator's bearer token or basic auth."""

from __future__ import annotations

import base64

import pytest
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from bridge.web.app import Credentials, create_app

PATHS = ("/private", "/metrics", "/healthz", "/readyz", "/webhooks/shopify/north")


def answer(request):
    return PlainTextResponse(request.url.path)


def every_path(runtime):
    return [Route(path, answer, methods=["GET", "POST"]) for path in PATHS]


def client(host: str, credentials: Credentials | None) -> TestClient:
    return TestClient(create_app(object(), host=host, credentials=credentials,  # type: ignore[arg-type]
                                 sources=[every_path]))


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


OPERATOR = Credentials(token="s3cret-token", user="ops", password="pass word")


@pytest.mark.parametrize("path", ["/private", "/metrics"])
def test_off_loopback_a_private_path_wants_credentials(path):
    response = client("0.0.0.0", OPERATOR).get(path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Basic realm="bridge"'
    assert path not in response.text


@pytest.mark.parametrize("authorization", [
    "Bearer s3cret-token",
    "bearer s3cret-token",
    basic("ops", "pass word"),
])
def test_the_operators_bearer_token_or_basic_auth_is_accepted(authorization):
    response = client("0.0.0.0", OPERATOR).get("/private", headers={"authorization": authorization})
    assert response.status_code == 200 and response.text == "/private"


@pytest.mark.parametrize("authorization", [
    "Bearer wrong",
    "Bearer s3cret-token-and-more",
    basic("ops", "wrong"),
    basic("root", "pass word"),
    "Basic not-base64!",
    "Basic " + base64.b64encode(b"\xff\xfe").decode(),
    "Digest s3cret-token",
    "s3cret-token",
])
def test_anything_else_is_refused(authorization):
    response = client("0.0.0.0", OPERATOR).get("/private", headers={"authorization": authorization})
    assert response.status_code == 401


def test_a_token_alone_does_not_open_basic_auth():
    only_token = Credentials(token="s3cret-token")
    response = client("0.0.0.0", only_token).get("/private", headers={"authorization": basic("", "")})
    assert response.status_code == 401


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/webhooks/shopify/north"])
def test_probes_and_webhooks_are_public(path):
    response = client("0.0.0.0", OPERATOR).get(path)
    assert response.status_code == 200 and response.text == path


def test_off_loopback_without_credentials_the_app_is_not_built():
    with pytest.raises(ValueError, match="needs credentials"):
        client("0.0.0.0", None)
    with pytest.raises(ValueError, match="needs credentials"):
        client("192.0.2.10", Credentials(user="ops"))  # a user without a password


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_on_loopback_without_credentials_everything_is_open(host):
    for path in PATHS:
        assert client(host, None).get(path).status_code == 200


def test_on_loopback_credentials_given_are_asked_for():
    assert client("127.0.0.1", OPERATOR).get("/private").status_code == 401
    assert client("127.0.0.1", OPERATOR).get(
        "/private", headers={"authorization": "Bearer s3cret-token"}).status_code == 200
