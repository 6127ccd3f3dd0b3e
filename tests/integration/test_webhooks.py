"""The webhook receivers and their registration, over real HTTP: each platform's fake
registers bridge's subscriptions (`bridge webhooks register`) and then delivers to the
receiver served on the loopback, signed as the platform signs. The receiver's nudge is
recorded instead of sent, so every outcome is counted exactly: a verified delivery
nudges once, a retry or replay never again, a forged one is refused with nothing
recorded, and the ledger keeps the delivery ids."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from fakes.bigcommerce_fake import BigCommerceFake
from fakes.server import FakeServer
from fakes.shopify_fake import DEFAULT_LOCATION, ShopifyFake
from fakes.webhooks import new_id, post
from fakes.woocommerce_fake import WooStore, create_app
from sqlalchemy import func, select

from bridge.bootstrap import Runtime, build_runtime
from bridge.carts.bigcommerce.webhooks import SECRET_HEADER
from bridge.cli import main
from bridge.demo import write_config
from bridge.ledger import migrate
from bridge.ledger.tables import WebhookDelivery
from bridge.web import webhooks as receiver_module
from bridge.web.app import create_app as create_web_app
from bridge.web.webhooks import MAX_BODY, WebhookReceiver, subscriptions_of

APP_SECRET = "shopify-app-secret-0001"
WOO_SECRET = "woo-webhook-secret-0001"
BC_SECRET = "bc-webhook-secret-0001"


def secret_file(folder: Path, name: str, value: str) -> str:
    path = folder / name
    path.write_text(value + "\n")
    return f"file:{path.resolve()}"


def storefront_toml(name: str, cart: dict) -> str:
    table = "\n".join(f"{key} = {json.dumps(value)}" for key, value in cart.items())
    return f'''name = "{name}"

[cart]
{table}

[fulfillment]
region = "NA"
marketplace_id = "ATVPDKIKX0DER"
endpoint = "http://127.0.0.1:9"
client_id = "amzn1.application-oa2-client.hooks"
client_secret = "env:UNUSED_LWA_SECRET"
refresh_token = "env:UNUSED_LWA_TOKEN"

[policy]
shipping_speeds = {{ Standard = "Standard" }}
default_speed = "Standard"
'''


@dataclass
class Shops:
    shopify: ShopifyFake
    woo: WooStore
    bigcommerce: BigCommerceFake
    runtime: Runtime
    config_dir: Path
    base_url: str = ""
    nudges: list[str] = field(default_factory=list)
    broker_down: bool = False

    def nudge(self, storefront: str) -> None:
        if self.broker_down:
            raise ConnectionError("broker unreachable")
        self.nudges.append(storefront)

    def deliveries(self) -> int:
        with self.runtime.ledger.transaction() as session:
            return session.scalar(select(func.count()).select_from(WebhookDelivery)) or 0

    def register(self, storefront: str):
        return subscriptions_of(self.runtime, storefront, f"{self.base_url}/webhooks/{storefront}/"
                                + self.runtime.storefront(storefront).cart.platform)


@pytest.fixture
def shops(tmp_path: Path, monkeypatch) -> Iterator[Shops]:
    monkeypatch.setenv("UNUSED_LWA_SECRET", "x" * 16)
    monkeypatch.setenv("UNUSED_LWA_TOKEN", "Atzr|" + "x" * 16)
    shopify = ShopifyFake(access_tokens=("shpat_hooks_0001",), restore_rate=1000.0)
    shopify.app_secret = APP_SECRET
    woo = WooStore()
    bigcommerce = BigCommerceFake(token="bc-hooks-token")
    secrets = tmp_path / "secrets"
    database_url = f"sqlite:///{(tmp_path / 'ledger.db').resolve()}"
    with FakeServer(shopify.app) as s, FakeServer(create_app(woo)) as w, \
            FakeServer(bigcommerce.app) as b:
        config_dir = write_config(tmp_path, "http://127.0.0.1:9", database_url=database_url)
        (config_dir / "storefronts" / "demo.toml").unlink()
        carts = {
            "shop": {"platform": "shopify", "shop": s.base_url, "location_id": DEFAULT_LOCATION,
                     "access_token": secret_file(secrets, "shop-token", "shpat_hooks_0001"),
                     "webhook_secret": secret_file(secrets, "shop-app", APP_SECRET)},
            "woo": {"platform": "woocommerce", "url": w.base_url,
                    "consumer_key": secret_file(secrets, "woo-key", woo.consumer_key),
                    "consumer_secret": secret_file(secrets, "woo-secret", woo.consumer_secret),
                    "webhook_secret": secret_file(secrets, "woo-hook", WOO_SECRET)},
            "bc": {"platform": "bigcommerce", "store_hash": bigcommerce.store_hash,
                   "api_base": b.base_url + "/stores/{store_hash}",
                   "access_token": secret_file(secrets, "bc-token", "bc-hooks-token"),
                   "webhook_secret": secret_file(secrets, "bc-hook", BC_SECRET)},
        }
        for name, cart in carts.items():
            (config_dir / "storefronts" / f"{name}.toml").write_text(storefront_toml(name, cart))
        migrate.upgrade(database_url)
        runtime = build_runtime(config_dir, configure_logging=False)
        shops = Shops(shopify, woo, bigcommerce, runtime, config_dir)
        receiver = WebhookReceiver(runtime, nudge=shops.nudge)
        app = create_web_app(runtime, sources=[lambda rt: receiver_module.routes(rt, receiver)])
        with FakeServer(app) as bridge_server:
            shops.base_url = bridge_server.base_url
            try:
                yield shops
            finally:
                runtime.close()


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def shopify_order(shops: Shops) -> str:
    return shops.shopify.add_order("#1001", updated_at=now(), financial_status="PAID",
                                   fulfillment_orders=[(DEFAULT_LOCATION, "OPEN", [("MUG", 1, True)])])


def woo_order(shops: Shops) -> int:
    return shops.woo.add_order("1001", [("MUG", 1)], modified=now(), status="processing")


def bc_order(shops: Shops) -> int:
    return shops.bigcommerce.add_order(101, modified=now(), status_id=11,
                                       lines=[{"sku": "MUG", "quantity": 1, "type": "physical"}])


# ------------------------------------------------------------------ registration

def test_registration_creates_each_topic_once_per_platform(shops):
    expected = {"shop": {"ORDERS_PAID", "ORDERS_UPDATED", "ORDERS_CANCELLED"},
                "woo": {"order.created", "order.updated"},
                "bc": {"store/order/created", "store/order/updated", "store/order/statusUpdated"}}
    for storefront, topics in expected.items():
        first = shops.register(storefront)
        again = shops.register(storefront)
        assert {s.topic for s, created in first if created} == topics
        assert [created for _s, created in again] == [False] * len(topics)
        assert {s.address for s, _c in again} == {f"{shops.base_url}/webhooks/{storefront}/"
                                                  + shops.runtime.storefront(storefront).cart.platform}
    assert len(shops.shopify.webhook_subscriptions) == 3
    assert {h["secret"] for h in shops.woo.webhooks.values()} == {WOO_SECRET}
    assert [h["headers"] for h in shops.bigcommerce.hooks.values()] == [{SECRET_HEADER: BC_SECRET}] * 3


def test_a_deactivated_bigcommerce_hook_is_switched_back_on(shops):
    shops.register("bc")
    hook = next(iter(shops.bigcommerce.hooks.values()))
    hook["is_active"], hook["headers"] = False, {}
    again = shops.register("bc")
    assert sum(created for _s, created in again) == 1
    assert len(shops.bigcommerce.hooks) == 3 and hook["is_active"]
    assert hook["headers"] == {SECRET_HEADER: BC_SECRET}


def test_the_command_lists_and_registers(shops):
    def bridge(*args: str):
        return CliRunner().invoke(main, ["-c", str(shops.config_dir), "webhooks", "register", *args],
                                  catch_exceptions=False)

    created = bridge("--storefront", "woo", "--url", shops.base_url)
    assert created.exit_code == 0, created.output
    assert created.output.count("│ created") == 2
    listed = bridge("--storefront", "woo", "--list")
    assert listed.exit_code == 0 and "order.updated" in listed.output and "│ created" not in listed.output
    again = bridge("--storefront", "woo", "--url", shops.base_url)
    assert again.output.count("already there") == 2 and len(shops.woo.webhooks) == 2
    unknown = bridge("--storefront", "nosuchshop")
    assert unknown.exit_code == 2 and "unknown storefront" in unknown.output


def test_registration_without_a_secret_says_what_to_set(shops):
    path = shops.config_dir / "storefronts" / "woo.toml"
    path.write_text("\n".join(line for line in path.read_text().splitlines()
                              if not line.startswith("webhook_secret")))
    result = CliRunner().invoke(main, ["-c", str(shops.config_dir), "webhooks", "register",
                                       "--storefront", "woo"], catch_exceptions=False)
    assert result.exit_code == 2 and "webhook_secret" in result.output
    assert shops.woo.webhooks == {}


# ------------------------------------------------------------------ receiving

def test_shopify_paid_order_nudges_once_and_a_retry_does_not(shops):
    shops.register("shop")
    order = shopify_order(shops)
    [sent] = shops.shopify.deliver_webhook("orders/paid", order)
    assert sent.status == 200
    assert shops.nudges == ["shop"]
    assert sent.resend() == 200  # Shopify's retry: same ids
    assert shops.nudges == ["shop"]
    assert shops.deliveries() == 2  # its webhook id and its event id
    # The same event delivered for another topic (a new X-Shopify-Webhook-Id, the same
    # X-Shopify-Event-Id) nudges nothing; only its webhook id is new to the ledger.
    other_topic = {**sent.headers, "X-Shopify-Topic": "orders/updated",
                   "X-Shopify-Webhook-Id": new_id()}
    assert post(sent.address, sent.body, other_topic) == 200
    assert shops.nudges == ["shop"]
    assert shops.deliveries() == 3


def test_woocommerce_delivery_nudges_once_and_its_ping_is_answered(shops):
    shops.register("woo")
    hook_id = next(h["id"] for h in shops.woo.webhooks.values() if h["topic"] == "order.updated")
    assert shops.woo.ping_webhook(hook_id) == 200
    assert shops.nudges == [] and shops.deliveries() == 0
    [sent] = shops.woo.deliver_webhook("order.updated", woo_order(shops))
    assert sent.status == 200 and sent.resend() == 200
    assert shops.nudges == ["woo"] and shops.deliveries() == 1


def test_bigcommerce_delivery_nudges_once(shops):
    shops.register("bc")
    order = bc_order(shops)
    [sent] = shops.bigcommerce.deliver_webhook("store/order/statusUpdated", order)
    assert sent.status == 200 and sent.resend() == 200
    [other] = shops.bigcommerce.deliver_webhook("store/order/updated", order)  # another hash
    assert other.status == 200
    assert shops.nudges == ["bc", "bc"] and shops.deliveries() == 2


@pytest.mark.parametrize("storefront", ["shop", "woo", "bc"])
def test_a_forged_delivery_is_refused_and_nothing_recorded(shops, storefront, caplog):
    shops.register(storefront)
    if storefront == "shop":
        sent = shops.shopify.deliver_webhook("orders/paid", shopify_order(shops), secret="guessed")
    elif storefront == "woo":
        sent = shops.woo.deliver_webhook("order.created", woo_order(shops), secret="guessed")
    else:
        sent = shops.bigcommerce.deliver_webhook("store/order/created", bc_order(shops),
                                                 headers={SECRET_HEADER: "guessed"})
    assert [s.status for s in sent] == [401]
    assert shops.nudges == [] and shops.deliveries() == 0
    unsigned = requests.post(sent[0].address, data=sent[0].body, timeout=10)
    assert unsigned.status_code == 401 and shops.deliveries() == 0


def test_refusals_are_logged_without_secrets(shops):
    from bridge import logging as bridge_logging

    stream = io.StringIO()
    bridge_logging.configure("json", "info", stream)
    shops.register("woo")
    [sent] = shops.woo.deliver_webhook("order.created", woo_order(shops), secret="guessed")
    assert sent.status == 401
    text = stream.getvalue()
    assert "webhook_refused" in text
    for secret in (WOO_SECRET, "guessed", sent.headers["X-WC-Webhook-Signature"]):
        assert secret not in text


def test_unknown_storefront_wrong_platform_and_oversized_bodies(shops):
    base = shops.base_url
    assert requests.post(f"{base}/webhooks/nosuchshop/shopify", data=b"{}", timeout=10).status_code == 404
    assert requests.post(f"{base}/webhooks/woo/shopify", data=b"{}", timeout=10).status_code == 404
    assert requests.get(f"{base}/webhooks/woo/woocommerce", timeout=10).status_code == 405
    big = requests.post(f"{base}/webhooks/woo/woocommerce", data=b"x" * (MAX_BODY + 1), timeout=30)
    assert big.status_code == 413

    def chunks():  # no Content-Length: the cap holds on the bytes read
        for _ in range(MAX_BODY // 65536 + 2):
            yield b"x" * 65536

    streamed = requests.post(f"{base}/webhooks/woo/woocommerce", data=chunks(), timeout=30)
    assert streamed.status_code == 413
    assert shops.nudges == [] and shops.deliveries() == 0


def test_a_stale_shopify_delivery_is_acknowledged_but_ignored(shops):
    shops.register("shop")
    long_ago = datetime.now(UTC) - receiver_module.STALE_AFTER - timedelta(minutes=1)
    [sent] = shops.shopify.deliver_webhook("orders/paid", shopify_order(shops), triggered_at=long_ago)
    assert sent.status == 200
    assert shops.nudges == [] and shops.deliveries() == 0


def test_a_nudge_the_broker_cannot_take_is_retried_by_the_platform(shops):
    shops.register("woo")
    shops.broker_down = True
    [sent] = shops.woo.deliver_webhook("order.created", woo_order(shops))
    assert sent.status == 503 and shops.deliveries() == 0
    shops.broker_down = False
    assert sent.resend() == 200
    assert shops.nudges == ["woo"] and shops.deliveries() == 1


def test_webhooks_are_public_when_the_rest_needs_credentials(shops):
    from bridge.web.app import Credentials

    receiver = WebhookReceiver(shops.runtime, nudge=shops.nudge)
    app = create_web_app(shops.runtime, host="0.0.0.0", credentials=Credentials(token="t" * 20),
                         sources=[lambda rt: receiver_module.routes(rt, receiver)])
    shops.register("bc")
    with FakeServer(app) as server:
        address = f"{server.base_url}/webhooks/bc/bigcommerce"
        for hook in shops.bigcommerce.hooks.values():
            hook["destination"] = address
        [sent] = shops.bigcommerce.deliver_webhook("store/order/created", bc_order(shops))
    assert sent.status == 200 and shops.nudges == ["bc"]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_delivery_ids_are_claimed_once_and_forgotten_after_a_day(backend, tmp_path, request):
    from bridge.ledger.db import make_engine
    from bridge.ledger.repo import Ledger
    from bridge.ledger.webhooks import KEEP_DELIVERIES, claim_delivery, prune_deliveries

    url = request.getfixturevalue("postgres_url") if backend == "postgres" \
        else f"sqlite:///{tmp_path / 'ledger.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    request.addfinalizer(engine.dispose)
    ledger = Ledger(engine)
    then = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    with ledger.transaction() as session:
        assert claim_delivery(session, "woo", "delivery:a", "order.created", then)
        assert not claim_delivery(session, "woo", "delivery:a", "order.created", then)
        assert claim_delivery(session, "bc", "delivery:a", "order.created", then)  # per storefront
    with ledger.transaction() as session:
        assert prune_deliveries(session, then + KEEP_DELIVERIES) == 0
        assert prune_deliveries(session, then + KEEP_DELIVERIES + timedelta(seconds=1)) == 2
        assert claim_delivery(session, "woo", "delivery:a", "order.created", then)
