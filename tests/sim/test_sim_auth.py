"""LWA token endpoint: form and JSON bodies, the three grants, errors, strict mode."""

from __future__ import annotations

import re

import pytest
import requests

from bridge.sim.apis import all_operations
from bridge.sim.config import SimConfig
from bridge.sim.server import SimServer
from bridge.spapi_models import validate_response

CLIENT = {"client_id": "amzn1.application-oa2-client.abc", "client_secret": "s3cret"}


def token(base_url: str, fields: dict, as_json: bool = False) -> requests.Response:
    url = base_url + "/auth/o2/token"
    return requests.post(url, json=fields) if as_json else requests.post(url, data=fields)


@pytest.mark.parametrize("as_json", [False, True])
def test_refresh_token_grant(sim, as_json):
    response = token(sim.base_url, {"grant_type": "refresh_token", "refresh_token": "Atzr|abc",
                                    **CLIENT}, as_json)
    assert response.status_code == 200
    body = response.json()
    assert body["access_token"].startswith("Atza|")
    assert (body["token_type"], body["expires_in"], body["refresh_token"]) == \
        ("bearer", 3600, "Atzr|abc")
    api = requests.get(sim.base_url + "/fba/outbound/2020-07-01/fulfillmentOrders",
                       headers={"x-amz-access-token": body["access_token"]})
    assert api.status_code == 200


def test_client_credentials_and_authorization_code(sim):
    grantless = token(sim.base_url, {"grant_type": "client_credentials",
                                     "scope": "sellingpartnerapi::notifications", **CLIENT})
    assert grantless.status_code == 200 and "refresh_token" not in grantless.json()
    code = token(sim.base_url, {"grant_type": "authorization_code", "code": "ANxyz", **CLIENT})
    assert code.status_code == 200 and code.json()["refresh_token"].startswith("Atzr|")


@pytest.mark.parametrize("fields, status, error", [
    ({}, 400, "invalid_request"),
    ({"grant_type": "password"}, 400, "unsupported_grant_type"),
    ({"grant_type": "refresh_token", "refresh_token": "x"}, 400, "invalid_request"),
    ({"grant_type": "refresh_token", **CLIENT}, 400, "invalid_request"),
    ({"grant_type": "refresh_token", "refresh_token": "has space", **CLIENT}, 400,
     "invalid_grant"),
    ({"grant_type": "client_credentials", **CLIENT}, 400, "invalid_request"),
])
def test_token_errors(sim, fields, status, error):
    response = token(sim.base_url, fields)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.json()["error_description"]


def test_strict_mode_accepts_only_configured_credentials():
    config = SimConfig(clock_factor=0, strict_auth=True, client_id=CLIENT["client_id"],
                       client_secret=CLIENT["client_secret"], refresh_tokens=("Atzr|good",))
    with SimServer(config) as server:
        good = {"grant_type": "refresh_token", "refresh_token": "Atzr|good", **CLIENT}
        assert token(server.base_url, good).status_code == 200
        assert token(server.base_url, {**good, "refresh_token": "Atzr|other"}).json()["error"] \
            == "invalid_grant"
        wrong_client = token(server.base_url, {**good, "client_secret": "nope"})
        assert (wrong_client.status_code, wrong_client.json()["error"]) == (401, "invalid_client")
        # A refresh token from an authorization code is then accepted too.
        issued = token(server.base_url, {"grant_type": "authorization_code", "code": "c",
                                         **CLIENT}).json()["refresh_token"]
        assert token(server.base_url, {**good, "refresh_token": issued}).status_code == 200


def test_every_operation_needs_an_access_token(sim):
    """No operation answers without x-amz-access-token: each says 403 in its model's shape."""
    session = requests.Session()
    for op in all_operations():
        path = re.sub(r"\{[^}]+\}", "X1", op.path)
        response = session.request(op.method, sim.base_url + path, json={}, timeout=10)
        assert response.status_code == 403, op.operation_id
        assert response.headers["x-amzn-RequestId"]
        validate_response(op.operation_id, 403, response.json())
    assert sim.admin.stats()["createFulfillmentOrder"]["statuses"] == {"403": 1}
