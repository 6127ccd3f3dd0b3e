"""The Magento edge: `CartHttp` with Magento's authentication and error messages.

Two ways to authenticate, both against `/rest/<store_code>/V1/`:
- a Bearer token (an admin token, or an integration token where the store still
  accepts integration tokens as Bearer);
- OAuth 1.0a signing with an integration's four credentials (HMAC-SHA256). Since
  2.4.4 this is what an integration needs unless the store sets
  `oauth/consumer/enable_integration_as_bearer`.

Magento reports errors as ``{"message": "... %1 ...", "parameters": [...]}`` (or named
``%resources`` with a parameters object); the placeholders are filled in here so that
a person reads a sentence, not a template."""

from __future__ import annotations

import re
from typing import Any

import requests
from requests_oauthlib import OAuth1

from bridge.carts.http import MAX_ERROR_TEXT, CartHttp
from bridge.errors import FatalError, NeedsAttentionError

_PLACEHOLDER = re.compile(r"%(\w+)")


class BearerAuth(requests.auth.AuthBase):
    """`Authorization: Bearer <token>`; the token never appears in a repr or message."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "BearerAuth(***)"


def oauth1_signer(consumer_key: str, consumer_secret: str, token: str, token_secret: str) -> OAuth1:
    """Signs every request with the integration's credentials, as Magento's
    `Magento\\Framework\\Oauth` verifies them (signature in the Authorization header)."""
    return OAuth1(
        consumer_key,
        client_secret=consumer_secret,
        resource_owner_key=token,
        resource_owner_secret=token_secret,
        signature_method="HMAC-SHA256",
        signature_type="AUTH_HEADER",
    )


def magento_message(body: Any) -> str | None:
    """The human sentence of a Magento error body, placeholders filled; None if the
    body is not Magento's error shape."""
    if not isinstance(body, dict) or not isinstance(body.get("message"), str):
        return None
    text = _fill(body["message"], body.get("parameters"))
    # Validation errors list their own messages under "errors".
    details = [
        _fill(err["message"], err.get("parameters"))
        for err in body.get("errors") or []
        if isinstance(err, dict) and isinstance(err.get("message"), str)
    ]
    return "; ".join([text, *details]) if details else text


def _fill(template: str, parameters: Any) -> str:
    if isinstance(parameters, list):
        named = {str(i + 1): value for i, value in enumerate(parameters)}
    elif isinstance(parameters, dict):
        named = {str(key): value for key, value in parameters.items()}
    else:
        return template
    return _PLACEHOLDER.sub(lambda m: str(named.get(m.group(1), m.group(0))), template)


class MagentoHttp(CartHttp):
    """Rewrites the edge's refusals with Magento's own sentence; everything else (retries,
    throttling, classification) is the shared edge's."""

    def __init__(self, base_url: str, *, auth: requests.auth.AuthBase, timeout: float, **kwargs) -> None:
        super().__init__(base_url, auth=auth, timeout=timeout, **kwargs)
        self._last_refusal: requests.Response | None = None
        self.session.hooks["response"].append(self._remember_refusal)

    def _remember_refusal(self, response: requests.Response, *args, **kwargs) -> None:
        if response.status_code >= 400:
            self._last_refusal = response

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        self._last_refusal = None
        try:
            return super().request(method, path, **kwargs)
        except NeedsAttentionError as exc:
            raise NeedsAttentionError(exc.reason, self._explain(method, path, exc.message)) from None
        except FatalError as exc:
            explained = self._explain(method, path, exc.message, refused=True)
            raise FatalError(explained, reason=exc.reason) from None

    def _explain(self, method: str, path: str, fallback: str, refused: bool = False) -> str:
        response = self._last_refusal
        if response is None:
            return fallback
        try:
            sentence = magento_message(response.json())
        except ValueError:  # not JSON at all
            sentence = None
        if sentence is None:
            return fallback
        sentence = sentence.replace("\n", " ")[:MAX_ERROR_TEXT]
        status = response.status_code
        if refused:
            return f"Magento refused bridge's credentials (HTTP {status} on {method} {path}): {sentence}"
        return f"Magento refused {method} {path} (HTTP {status}): {sentence}"
