"""What the platform fakes share to deliver webhooks: the body signed as the platform
signs it, posted to the subscribed address over real HTTP."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass

import requests


@dataclass(frozen=True)
class SentWebhook:
    """A delivery as it went out, so a test can send it again (a retry, a replay)."""

    address: str
    body: bytes
    headers: dict[str, str]
    status: int

    def resend(self) -> int:
        return post(self.address, self.body, self.headers)


def hmac_base64(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def new_id() -> str:
    return str(uuid.uuid4())


def post(address: str, body: bytes, headers: dict[str, str]) -> int:
    return requests.post(address, data=body, headers=headers, timeout=30).status_code


def send(address: str, body: bytes, headers: dict[str, str]) -> SentWebhook:
    return SentWebhook(address, body, headers, post(address, body, headers))
