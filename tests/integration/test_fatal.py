"""Credentials Login with Amazon refuses are fatal for that storefront only: it is paused
(its orders wait, untouched), and another storefront on the same ledger and the same
fulfillment network carries on."""

from __future__ import annotations

from datetime import timedelta

import pytest
from support import make_cart, with_fulfillment

from bridge import demo_store
from bridge.config import CartConnection, load_config
from bridge.demo import write_config
from bridge.demo_store import DemoLine
from bridge.domain.states import OrderState as S
from bridge.errors import FatalError
from bridge.fba.client import FbaClient
from bridge.fba.ratelimit import NoLimiter
from bridge.ledger import repo
from bridge.services.cancel import process_cancellations
from bridge.services.ingest import ingest_orders
from bridge.services.status import sync_status
from bridge.services.stock import sync_stock
from bridge.services.submit import submit_ready
from bridge.services.sweep import sweep
from bridge.services.tracking import push_tracking
from bridge.sim.config import SimConfig
from bridge.sim.server import SimServer

# What `write_config` puts in the secret files; the strict simulator knows only these.
CLIENT_ID = "amzn1.application-oa2-client.demo"
CLIENT_SECRET = "demo-client-secret-0123456789"
REFRESH_TOKEN = "Atzr|demo-refresh-token-0123456789"


@pytest.fixture
def strict_sim():
    config = SimConfig(clock_factor=0, rate_limits=False, strict_auth=True, client_id=CLIENT_ID,
                       client_secret=CLIENT_SECRET, refresh_tokens=(REFRESH_TOKEN,))
    with SimServer(config) as server:
        yield server


def test_refused_credentials_pause_one_storefront_and_the_other_carries_on(tmp_path, strict_sim, ledger,
                                                                          ledger_url):
    store_of = {name: f"sqlite:///{tmp_path / f'{name}-store.db'}" for name in ("good", "revoked")}
    config_dir = write_config(tmp_path, strict_sim.base_url, database_url=ledger_url,
                              store_url=store_of["good"])
    good = load_config(config_dir).storefront("demo")
    wrong_secret = tmp_path / "secrets" / "revoked-client-secret"
    wrong_secret.write_text("not-the-secret-amazon-knows\n")
    revoked = with_fulfillment(good, client_secret=f"file:{wrong_secret}").model_copy(update={
        "name": "revoked",
        "order_id_prefix": "REVOKED",
        "cart": CartConnection(platform="sql", url=store_of["revoked"]),
    })
    strict_sim.admin.set_stock({"MUG-BLUE": 10})
    for url in store_of.values():
        demo_store.create_schema(url)

    carts = {"good": make_cart(good), "revoked": make_cart(revoked)}
    clients = {
        name: FbaClient.from_account(sf.fulfillment, sf.secret, NoLimiter())
        for name, sf in (("good", good), ("revoked", revoked))
    }
    try:
        cart_ids = {}
        for name, storefront in (("good", good), ("revoked", revoked)):
            cart_ids[name] = demo_store.insert_order(store_of[name], "#F1", [DemoLine("MUG-BLUE")])
            ingest_orders(ledger, carts[name], storefront)

        with pytest.raises(FatalError) as refused:
            submit_ready(ledger, clients["revoked"], carts["revoked"], revoked, limit=10)
        assert refused.value.reason == "credentials_refused"
        with ledger.transaction() as session:
            reason = repo.is_paused(session, "revoked")
            assert reason and "refused the credentials" in reason
            assert not repo.is_paused(session, good.name)
            revoked_row = repo.find_order(session, "revoked", cart_ids["revoked"])
            assert revoked_row.state == S.READY, "nothing was sent, so the order waits as it was"

        # The other storefront works on.
        assert submit_ready(ledger, clients["good"], carts["good"], good, limit=10).accepted == 1
        with ledger.transaction() as session:
            sent = repo.find_order(session, good.name, cart_ids["good"]).seller_fulfillment_order_id
        assert [o["sellerFulfillmentOrderId"] for o in strict_sim.admin.orders()] == [sent]

        # A paused storefront's flows do nothing, and call nothing.
        calls_before = strict_sim.admin.stats()
        assert submit_ready(ledger, clients["revoked"], carts["revoked"], revoked, limit=10).accepted == 0
        assert sync_status(ledger, clients["revoked"], carts["revoked"], revoked).listed == 0
        assert sync_stock(ledger, clients["revoked"], carts["revoked"], revoked).read == 0
        assert push_tracking(ledger, carts["revoked"], revoked).written == 0
        assert process_cancellations(ledger, clients["revoked"], carts["revoked"], revoked).cancelled == 0
        assert strict_sim.admin.stats() == calls_before
        nudges = sweep(ledger, [good, revoked], stale_after=timedelta(0))
        assert "revoked" not in nudges and good.name in nudges
    finally:
        for closeable in (*carts.values(), *clients.values()):
            closeable.close()

