"""Login with Amazon (LWA), as far as SP-API clients use it: the token endpoint and the
check of `x-amz-access-token` on every call.

Access tokens are self-contained and signed with a secret kept in the store, so they
stay valid across a restart of a simulator with a database file, and across `reset`.
They expire in real time (not simulated time): clients cache them by the wall clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from urllib.parse import parse_qsl

from bridge.sim.config import SimConfig
from bridge.sim.state import Store

_GRANTS = ("refresh_token", "client_credentials", "authorization_code")
_MAX_CREDENTIAL_LENGTH = 2048


class LwaError(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.body = {"error": error, "error_description": description}


class TokenRejected(Exception):
    """The access token is missing, forged or expired; `message` says which."""


def parse_token_request(raw: bytes, content_type: str) -> dict[str, str]:
    """LWA takes form fields; Amazon's Java client sends the same fields as JSON."""
    text = raw.decode("utf-8", errors="replace")
    if "json" in content_type.lower() or text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            raise LwaError(400, "invalid_request", "The request body is malformed.") from None
        if not isinstance(data, dict):
            raise LwaError(400, "invalid_request", "The request body is malformed.")
        return {str(k): str(v) for k, v in data.items() if v is not None}
    return dict(parse_qsl(text, keep_blank_values=True))


def _well_formed(value: str | None) -> bool:
    return bool(value and len(value) <= _MAX_CREDENTIAL_LENGTH and not any(
        ch.isspace() for ch in value))


class Lwa:
    def __init__(self, config: SimConfig, store: Store, real_time=time.time) -> None:
        self._config = config
        self._store = store
        self._real_time = real_time
        self._secret = self._load_secret()

    def _load_secret(self) -> bytes:
        with self._store.transaction():
            meta = self._store.get("meta", "lwa")
            if meta is None:
                meta = {"secret": secrets.token_hex(32)}
                self._store.put("meta", "lwa", meta)
        return bytes.fromhex(meta["secret"])

    # -- the token endpoint -------------------------------------------------------------

    def grant(self, fields: dict[str, str]) -> dict:
        grant_type = fields.get("grant_type")
        if not grant_type:
            raise LwaError(400, "invalid_request",
                           "The request is missing a required parameter : grant_type")
        if grant_type not in _GRANTS:
            raise LwaError(400, "unsupported_grant_type",
                           f"The authorization grant type is not supported : {grant_type}")
        self._check_client(fields.get("client_id"), fields.get("client_secret"))

        if grant_type == "client_credentials":
            if not fields.get("scope"):
                raise LwaError(400, "invalid_request",
                               "The request is missing a required parameter : scope")
            return self._token_response(refresh_token=None)

        if grant_type == "authorization_code":
            if not _well_formed(fields.get("code")):
                raise LwaError(400, "invalid_request",
                               "The request is missing a required parameter : code")
            issued = "Atzr|" + secrets.token_urlsafe(48)
            self._store.put("refresh_token", hashlib.sha256(issued.encode()).hexdigest(),
                            {"issued": self._real_time()})
            return self._token_response(issued)

        refresh_token = fields.get("refresh_token")
        if not refresh_token:
            raise LwaError(400, "invalid_request",
                           "The request is missing a required parameter : refresh_token")
        if not self._refresh_token_accepted(refresh_token):
            raise LwaError(400, "invalid_grant",
                           "The request has an invalid grant parameter : refresh_token")
        return self._token_response(refresh_token)

    def _check_client(self, client_id: str | None, client_secret: str | None) -> None:
        if not client_id or not client_secret:
            raise LwaError(400, "invalid_request", "The request is missing a required "
                           "parameter : client_id or client_secret")
        if self._config.strict_auth:
            ok = (hmac.compare_digest(client_id, self._config.client_id or "")
                  and hmac.compare_digest(client_secret, self._config.client_secret or ""))
        else:
            ok = _well_formed(client_id) and _well_formed(client_secret)
        if not ok:
            raise LwaError(401, "invalid_client", "Client authentication failed")

    def _refresh_token_accepted(self, token: str) -> bool:
        if not _well_formed(token):
            return False
        if not self._config.strict_auth:
            return True
        if any(hmac.compare_digest(token, known) for known in self._config.refresh_tokens):
            return True
        issued_key = hashlib.sha256(token.encode()).hexdigest()
        return self._store.get("refresh_token", issued_key) is not None

    def _token_response(self, refresh_token: str | None) -> dict:
        lifetime = int(self._config.access_token_seconds)
        body = {"access_token": self.issue_access_token(lifetime),
                "token_type": "bearer", "expires_in": lifetime}
        if refresh_token is not None:
            body["refresh_token"] = refresh_token
        return body

    # -- access tokens ------------------------------------------------------------------

    def issue_access_token(self, lifetime: int | None = None) -> str:
        if lifetime is None:
            lifetime = self._config.access_token_seconds
        claims = {"exp": self._real_time() + lifetime,
                  "n": secrets.token_hex(8)}
        payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
        return f"Atza|{payload}.{self._sign(payload)}"

    def check_access_token(self, token: str | None) -> None:
        if not token:
            raise TokenRejected("Access to requested resource is denied.")
        try:
            prefix, rest = token.split("|", 1)
            payload, signature = rest.rsplit(".", 1)
            valid = prefix == "Atza" and hmac.compare_digest(signature, self._sign(payload))
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except (ValueError, TypeError):
            valid = False
        if not valid:
            raise TokenRejected("Access to requested resource is denied.")
        if float(claims["exp"]) <= self._real_time():
            raise TokenRejected("The access token you provided has expired.")

    def _sign(self, payload: str) -> str:
        return hmac.new(self._secret, payload.encode(), hashlib.sha256).hexdigest()[:32]
