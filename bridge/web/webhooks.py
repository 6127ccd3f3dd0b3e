"""The platforms' webhook receivers: POST /webhooks/<storefront>/<platform>.

A webhook is a nudge, never data: once its origin is verified (each platform's module in
bridge/carts/<platform>/webhooks.py knows how), it starts that storefront's ingest at
once, and ingest reads the order through the platform's API as any poll would. Polling
stays the safety net for a webhook that never comes. `subscriptions_of` subscribes a
shop to the receiver (`bridge webhooks register`).

- unknown storefront, another platform's path, or no webhook secret set → 404
- body over MAX_BODY → 413
- not verified → 401, logged without the secret or the signature, nothing recorded
- a delivery id seen before (a retry, a replay) or older than STALE_AFTER → 200, no nudge
  (a 2xx makes the platform stop retrying; a non-2xx only brings it back)
- otherwise → the delivery id is recorded, ingest is nudged, 200 (503 with the id
  forgotten again when the broker cannot take the nudge, so the retry is acted on)"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bridge.bootstrap import Runtime
from bridge.carts.bigcommerce import webhooks as bigcommerce
from bridge.carts.shopify import webhooks as shopify
from bridge.carts.webhooks import Delivery, Forged, Subscription
from bridge.carts.woocommerce import webhooks as woocommerce
from bridge.config import StorefrontConfig
from bridge.ledger.webhooks import claim_delivery, prune_deliveries, release_delivery
from bridge.logging import get_logger
from bridge.web.bodies import read_capped

log = get_logger("bridge.webhooks")

PLATFORMS: dict[str, ModuleType] = {m.PLATFORM: m for m in (shopify, woocommerce, bigcommerce)}
# An order webhook is a few kilobytes (Shopify's largest orders a few hundred); anything
# far larger is not one, and is not read into memory.
MAX_BODY = 1024 * 1024
# Shopify retries for about 4 hours with the original X-Shopify-Triggered-At; a delivery
# older than this is a replay, and the delivery ids are kept longer than this.
STALE_AFTER = timedelta(hours=6)
# Deliveries older than a day are forgotten at most this often (seconds).
PRUNE_EVERY = 600.0
# A nudge that lands while a poll is running is skipped by it (the running poll may have
# read its window before the order existed), so a second nudge follows a little later.
TRAILING_NUDGE_SECONDS = 3.0

Nudge = Callable[[str], None]


class NotConfigured(Exception):
    """The storefront cannot have webhooks as configured; the text says what to set."""


def secret_of(config: StorefrontConfig) -> str:
    """The secret the storefront's deliveries are signed with; "" when none is set."""
    module = PLATFORMS.get(config.cart.platform)
    reference = module.secret_reference(config.cart.settings()) if module else ""
    return config.secret(reference) if reference else ""


def subscriptions_of(runtime: Runtime, storefront: str,
                     address: str | None) -> list[tuple[Subscription, bool]]:
    """The platform's subscriptions; with `address`, each of bridge's topics subscribed
    there first (created only where missing)."""
    config = runtime.storefront(storefront)
    module = PLATFORMS.get(config.cart.platform)
    if module is None:
        raise NotConfigured(f"{config.cart.platform} sends no webhooks bridge can receive: "
                            "polling only")
    secret = secret_of(config)
    if not secret:
        key = "webhook_secret (or client_secret)" if module is shopify else "webhook_secret"
        raise NotConfigured(f"set [cart] {key} of storefront {storefront} to a secret reference "
                            "(env:NAME or file:PATH): deliveries are verified with it")
    cart: Any = runtime.cart(storefront)  # each HTTP adapter keeps its platform's client
    http = cart.http
    if address is None:
        return [(subscription, False) for subscription in module.subscriptions(http)]
    if module is shopify:  # Shopify signs with the app's secret: nothing to hand over
        return shopify.register(http, address)
    return module.register(http, address, secret)


_broker_ready = threading.Lock()
_broker_prepared: list[str] = []


def _prepare_broker_once(broker_url: str) -> None:
    # The SQLAlchemy transport must open its engine without Celery's transport options
    # (bridge.daemon.prepare_broker does, as `bridge run` does before it sends anything).
    with _broker_ready:
        if broker_url not in _broker_prepared:
            from bridge.daemon import prepare_broker

            prepare_broker(broker_url)
            _broker_prepared.append(broker_url)


def send_ingest(storefront: str) -> None:
    """Ask a worker to poll `storefront` now, and once more shortly after."""
    from bridge.worker.app import app

    _prepare_broker_once(app.conf.broker_url)
    # One publish attempt each (bounded by the broker's connect timeout), not Celery's
    # retries: a platform stops waiting within seconds, and a failure answers 503 so the
    # platform delivers again, instead of a request thread waiting out a broker outage.
    app.send_task("bridge.ingest", args=(storefront,), expires=60, retry=False)
    app.send_task("bridge.ingest", args=(storefront,), countdown=TRAILING_NUDGE_SECONDS,
                  expires=60 + TRAILING_NUDGE_SECONDS, retry=False)


@dataclass(frozen=True)
class Outcome:
    status: int
    text: str


class WebhookReceiver:
    """Verifies, deduplicates and turns a delivery into a nudge; knows nothing of HTTP
    beyond headers and a body."""

    def __init__(self, runtime: Runtime, nudge: Nudge = send_ingest,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.runtime = runtime
        self.nudge = nudge
        self.monotonic = monotonic
        self._secrets: dict[str, str] = {}
        self._pruned_at: float | None = None

    def platform_of(self, storefront: str, platform: str) -> ModuleType | None:
        config = self.runtime.storefronts.get(storefront)
        if config is None or config.cart.platform != platform:
            return None
        return PLATFORMS.get(platform)

    def secret(self, storefront: str) -> str:
        if storefront not in self._secrets:
            self._secrets[storefront] = secret_of(self.runtime.storefront(storefront))
        return self._secrets[storefront]

    def receive(self, storefront: str, platform: str, headers: Mapping[str, str],
                body: bytes) -> Outcome:
        module = self.platform_of(storefront, platform)
        if module is None:
            return Outcome(404, "no such storefront")
        secret = self.secret(storefront)
        if not secret:
            log.warning("webhook_not_configured", storefront=storefront, platform=platform)
            return Outcome(404, "webhooks are not configured for this storefront")
        try:
            delivery: Delivery = module.verify(headers, body, secret)
        except Forged as refused:
            log.warning("webhook_refused", storefront=storefront, platform=platform,
                        reason=str(refused))
            return Outcome(401, "not verified")
        if delivery.ping:
            log.info("webhook_ping", storefront=storefront, platform=platform)
            return Outcome(200, "pong")
        now = self.runtime.ledger.clock()
        if delivery.triggered_at is not None and now - delivery.triggered_at > STALE_AFTER:
            log.warning("webhook_stale", storefront=storefront, topic=delivery.topic,
                        triggered_at=delivery.triggered_at.isoformat())
            return Outcome(200, "stale, ignored")
        if not self._claim(storefront, delivery, now):
            log.info("webhook_duplicate", storefront=storefront, topic=delivery.topic)
            return Outcome(200, "duplicate, ignored")
        try:
            self.nudge(storefront)
        except Exception as exc:  # the broker is out: let the platform retry later
            with self.runtime.ledger.transaction() as session:
                release_delivery(session, storefront, list(delivery.ids))
            log.warning("webhook_nudge_failed", storefront=storefront, error=str(exc))
            return Outcome(503, "try again later")
        log.info("webhook_nudged", storefront=storefront, topic=delivery.topic)
        return Outcome(200, "ok")

    def _claim(self, storefront: str, delivery: Delivery, now: datetime) -> bool:
        """Record every id of the delivery; new only if none was seen before. Without
        ids (a platform that sent none) every delivery is new: a nudge too many costs
        one poll."""
        with self.runtime.ledger.transaction() as session:
            if self._pruned_at is None or self.monotonic() - self._pruned_at >= PRUNE_EVERY:
                prune_deliveries(session, now)
                self._pruned_at = self.monotonic()
            claimed = [claim_delivery(session, storefront, key, delivery.topic, now)
                       for key in delivery.ids]
        return all(claimed)


def routes(runtime: Runtime, receiver: WebhookReceiver | None = None) -> Sequence[BaseRoute]:
    receiver = receiver or WebhookReceiver(runtime)

    async def endpoint(request: Request) -> Response:
        storefront: Any = request.path_params["storefront"]
        platform: Any = request.path_params["platform"]
        if receiver.platform_of(storefront, platform) is None:
            return PlainTextResponse("no such storefront", status_code=404)
        body = await read_capped(request, MAX_BODY)
        if body is None:
            log.warning("webhook_too_large", storefront=storefront, platform=platform)
            return PlainTextResponse("body too large", status_code=413)
        # Ledger and broker calls block: off the event loop.
        outcome = await run_in_threadpool(receiver.receive, storefront, platform,
                                          dict(request.headers), body)
        return PlainTextResponse(outcome.text, status_code=outcome.status)

    return [Route("/webhooks/{storefront}/{platform}", endpoint, methods=["POST"])]
