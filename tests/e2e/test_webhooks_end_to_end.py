"""Webhooks end to end, per platform: the platform's fake registers bridge's
subscriptions through `bridge webhooks register`, then delivers to a real `bridge serve`
beside a real `bridge run` (and once beside PostgreSQL + Redis workers and beat), with
the order poll at 10 minutes, so an order reaches Amazon soon only if the webhook nudged
it there. A forged delivery is refused and
recorded nowhere; the same delivery sent twice nudges once and sends one order."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from fakes.bigcommerce_fake import BigCommerceFake
from fakes.server import FakeServer
from processes import Daemons, free_port, wait_for
from sqlalchemy import func, select, update
from test_platforms import (
    PREFIX,
    SHOPS,
    Line,
    PlannedOrder,
    Shop,
    secret_file,
    seed_amazon,
    write_storefront,
)

from bridge.carts.bigcommerce.webhooks import SECRET_HEADER
from bridge.config import load_config
from bridge.demo import write_config
from bridge.domain.ids import seller_fulfillment_order_id
from bridge.ledger.db import make_engine
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import Schedule, WebhookDelivery
from bridge.sim.config import SimConfig
from bridge.sim.server import SimServer

pytestmark = pytest.mark.e2e

SLOW_POLL_SECONDS = 600
# How far the first timed order poll is put off, so that only a webhook can bring the order.
POLL_PUT_OFF = timedelta(hours=1)
WEBHOOK_SECRET = "e2e-webhook-secret-7f3a"
# Generous: the goal is seconds (see docs/benchmarks.md); a loaded machine may be slower.
ARRIVAL_TIMEOUT = 60
PAID = PlannedOrder("2001", (Line("MUG-BLUE", 1),))


def deliver(shop: Shop, order_id: str, *, forged: bool = False):
    """The platform's own delivery of "this order was paid", as its fake sends it."""
    if shop.platform == "shopify":
        return shop.fake.deliver_webhook("orders/paid", order_id,  # type: ignore[attr-defined]
                                         secret="not-the-app-secret" if forged else None)
    if shop.platform == "woocommerce":
        return shop.store.deliver_webhook("order.created", int(order_id),  # type: ignore[attr-defined]
                                          secret="not-the-secret" if forged else None)
    fake: BigCommerceFake = shop.fake  # type: ignore[attr-defined]
    return fake.deliver_webhook("store/order/created", int(order_id),
                                headers={SECRET_HEADER: "not-the-secret"} if forged else None)


def configure(shop: Shop, workdir: Path, shop_url: str, sim_url: str, **urls: str) -> Path:
    config_dir = write_config(workdir, sim_url, stale_after_seconds=10, **urls)
    secrets_dir = workdir / "secrets"
    cart = shop.cart_settings(shop_url, secrets_dir)
    if shop.platform == "shopify":
        shop.fake.app_secret = WEBHOOK_SECRET  # type: ignore[attr-defined]
    cart["webhook_secret"] = secret_file(secrets_dir, "webhook-secret", WEBHOOK_SECRET)
    write_storefront(config_dir, shop.platform, cart, sim_url)
    path = config_dir / "storefronts" / f"{shop.platform}.toml"
    text, count = re.subn(r"(?m)^orders_seconds = .*$", f"orders_seconds = {SLOW_POLL_SECONDS}",
                          path.read_text())
    assert count == 1
    path.write_text(text)
    return config_dir


def ingest_scheduled(ledger: Ledger, storefront: str) -> bool:
    with ledger.transaction() as session:
        return session.get(Schedule, (storefront, "ingest")) is not None


def put_off_ingest(ledger: Ledger, storefront: str) -> None:
    """A new schedule row is first due at a random point within its interval, which
    could fall inside the test's wait. The schedule keeps a row's due time while its
    interval stays the same, so this holds."""
    with ledger.transaction() as session:
        session.execute(update(Schedule)
                        .where(Schedule.storefront == storefront, Schedule.flow == "ingest")
                        .values(next_due_at=ledger.clock() + POLL_PUT_OFF))


def log_events(daemons: Daemons, name: str, event: str) -> int:
    text = (daemons.workdir / f"{name}.log").read_text(errors="replace")
    return sum(1 for line in text.splitlines() if f'"event": "{event}"' in line)


@pytest.fixture(autouse=True)
def children_work_in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize("platform", ["shopify", "woocommerce", "bigcommerce"])
def test_a_signed_webhook_sends_the_order_at_once_and_forgeries_and_replays_do_nothing(
        platform, tmp_path):
    run_webhook_flow(platform, tmp_path)


def test_webhooks_on_postgres_and_redis_workers(tmp_path, postgres_schema_factory, redis_url):
    run_webhook_flow("woocommerce", tmp_path, production=True,
                     database_url=postgres_schema_factory(), broker_url=redis_url)


def run_webhook_flow(platform: str, tmp_path: Path, production: bool = False, **urls: str) -> None:
    shop = SHOPS[platform]()
    shop.prepare_catalog(["MUG-BLUE"])
    with FakeServer(shop.app) as shop_server, \
            SimServer(SimConfig(clock_factor=0, rate_limits=False)) as sim:
        seed_amazon(sim)
        config_dir = configure(shop, tmp_path, shop_server.base_url, sim.base_url, **urls)
        daemons = Daemons(tmp_path, config_dir)
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        for command in (("config", "check"), ("db", "upgrade"),
                        ("webhooks", "register", "--storefront", platform, "--url", base_url)):
            done = daemons.run(*command)
            assert done.returncode == 0, done.stdout + done.stderr
        engine = make_engine(load_config(config_dir).settings.database_url)
        ledger = Ledger(engine)

        def deliveries() -> int:
            with ledger.transaction() as session:
                return session.scalar(select(func.count()).select_from(WebhookDelivery)) or 0

        def at_amazon() -> set[str]:
            daemons.check_alive()
            return {o["sellerFulfillmentOrderId"] for o in sim.admin.orders()}

        def context() -> str:
            return f"at Amazon: {json.dumps(sim.admin.orders())[-2000:]}\n{daemons.logs()}"

        try:
            if production:
                daemons.lanes(1, 2)
                daemons.bridge("beat", "beat", "--loglevel", "INFO")
            else:
                daemons.bridge("run", "run")
            daemons.bridge("serve", "serve", "--port", str(port))

            def serving() -> bool:
                daemons.check_alive()
                try:
                    return requests.post(f"{base_url}/webhooks/none/{platform}", timeout=5).status_code == 404
                except requests.ConnectionError:
                    return False

            wait_for(serving, "bridge serve listening", 60, context)
            wait_for(lambda: ingest_scheduled(ledger, platform), "the order poll scheduled", 60,
                     context)
            put_off_ingest(ledger, platform)
            order_id = shop.place(PAID)
            sfo = seller_fulfillment_order_id(PREFIX, order_id)

            [forged] = deliver(shop, order_id, forged=True)
            assert forged.status == 401
            assert deliveries() == 0

            [sent] = deliver(shop, order_id)
            assert sent.status == 200
            wait_for(lambda: sfo in at_amazon(), "the order accepted at Amazon after its webhook",
                     ARRIVAL_TIMEOUT, context)
            assert sent.resend() == 200  # the platform's retry of the same delivery
            recorded = deliveries()
        finally:
            daemons.stop()
            engine.dispose()

        # Shopify keys a delivery by its webhook id and its event id; the others by one id.
        assert recorded == (2 if platform == "shopify" else 1)
        assert log_events(daemons, "serve", "webhook_refused") == 1
        assert log_events(daemons, "serve", "webhook_nudged") == 1
        assert log_events(daemons, "serve", "webhook_duplicate") == 1
        assert sim.admin.calls("createFulfillmentOrder") == 1
        logs = "".join(path.read_text(errors="replace") for path in tmp_path.glob("*.log"))
        assert WEBHOOK_SECRET not in logs
