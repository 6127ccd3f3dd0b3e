"""CSRF protection for the console's forms: a signed double-submit token.

Each browser gets a random token in a cookie (HttpOnly, SameSite=Strict), signed with
a key this process makes at start; every form carries the same token in a hidden field.
A POST is taken only when the field equals the cookie and the signature holds: another
site can make a browser send the cookie, but cannot read it to fill the field, and
cannot plant a cookie of its own making (it would not carry this process's signature).
A restart makes a new key: a form opened before it is refused once, then re-rendered."""

from __future__ import annotations

import hashlib
import hmac
import secrets

COOKIE = "bridge_csrf"
FIELD = "csrf_token"


class CsrfTokens:
    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def _sign(self, nonce: str) -> str:
        return hmac.new(self._key, nonce.encode(), hashlib.sha256).hexdigest()

    def new(self) -> str:
        nonce = secrets.token_urlsafe(24)
        return f"{nonce}.{self._sign(nonce)}"

    def valid(self, token: str | None) -> bool:
        nonce, _, signature = (token or "").partition(".")
        return bool(nonce and signature) and hmac.compare_digest(signature, self._sign(nonce))

    def accept(self, cookie: str | None, submitted: str | None) -> bool:
        """A POST may go on: the form's token is the cookie's, and it is ours."""
        if not cookie or not submitted or not self.valid(cookie):
            return False
        return hmac.compare_digest(cookie.encode(), submitted.encode())
