"""Shadow mode on every HTTP cart adapter, against the platform fakes over real HTTP:
every flow runs, and each fake receives reads only (counted at the fake), while Amazon
(the in-memory network) sees no write either. Going live, each order is created once,
and the order the shop shows shipped by another system meanwhile is left alone."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contract"))

from cart_suite import LineSpec, at  # noqa: E402
from fakes.bigcommerce_fake import BigCommerceFake  # noqa: E402
from fakes.magento_fake import MagentoFake  # noqa: E402
from fakes.server import FakeServer  # noqa: E402
from fakes.shopify_fake import ShopifyFake  # noqa: E402
from fakes.woocommerce_fake import WooStore, create_app  # noqa: E402
from test_bigcommerce_cart import TOKEN as BC_TOKEN  # noqa: E402
from test_bigcommerce_cart import TOKEN_ENV as BC_TOKEN_ENV  # noqa: E402
from test_bigcommerce_cart import BigCommerceHarness  # noqa: E402
from test_magento_cart import ADMIN_TOKEN, BEARER, INTEGRATION, MagentoHarness  # noqa: E402
from test_shopify_cart import ShopifyHarness  # noqa: E402
from test_woocommerce_cart import WooHarness  # noqa: E402

from bridge.config import CartConnection, FulfillmentAccount, StorefrontConfig  # noqa: E402
from bridge.domain.states import OrderState as S  # noqa: E402
from bridge.fba.fake import FakeFulfillmentNetwork, ManualClock  # noqa: E402
from bridge.ledger.db import make_engine  # noqa: E402
from bridge.ledger.repo import Ledger  # noqa: E402
from bridge.ledger.tables import Base, Order  # noqa: E402
from bridge.services import shadow  # noqa: E402
from bridge.services.cancel import process_cancellations  # noqa: E402
from bridge.services.ingest import ingest_orders  # noqa: E402
from bridge.services.status import sync_status  # noqa: E402
from bridge.services.stock import sync_stock  # noqa: E402
from bridge.services.submit import submit_ready  # noqa: E402
from bridge.services.tracking import push_tracking  # noqa: E402
from bridge.shadow import ReadOnlyCart, ReadOnlyFulfillmentNetwork  # noqa: E402

AMAZON_WRITES = ("create_fulfillment_order", "cancel_order", "update_order", "create_return")
# Shopify's GraphQL root fields bridge may read; any other root field (a mutation) fails.
SHOPIFY_READS = {"orders", "order", "shop", "location", "locations", "fulfillmentOrder",
                 "productVariants", "inventoryItems", "webhookSubscriptions",
                 "currentAppInstallation", "nodes", "node"}
SHIPPED_ELSEWHERE_AT = at(300)


@dataclass
class Platform:
    harness: Any
    writes: Callable[[], list[str]]          # requests that change something at the fake
    reads: Callable[[], int]                 # how many reads the fake answered
    ship_elsewhere: Callable[[str], None]    # another system ships the order in the shop


def _shopify(stack: ExitStack, monkeypatch, tmp_path) -> Platform:
    fake = ShopifyFake(client_id="fake-client-id", client_secret="fake-client-secret",
                       restore_rate=1000.0)
    fake.clock = lambda: at(600)
    server = stack.enter_context(FakeServer(fake.app))
    roots = lambda: [root for r in fake.requests for root in r.root_fields]  # noqa: E731

    def ship(order_id: str) -> None:
        order = fake.orders[order_id]
        for fo in order.fulfillment_orders:
            fo.status = "CLOSED"
            for line in fo.lines:
                line.remaining = 0
        fake.edit_order(order_id, updated_at=SHIPPED_ELSEWHERE_AT)

    return Platform(ShopifyHarness(fake, server.base_url, monkeypatch),
                    lambda: [root for root in roots() if root not in SHOPIFY_READS],
                    lambda: len(roots()), ship)


def _bigcommerce(stack: ExitStack, monkeypatch, tmp_path) -> Platform:
    monkeypatch.setenv(BC_TOKEN_ENV, BC_TOKEN)
    fake = BigCommerceFake(token=BC_TOKEN)
    server = stack.enter_context(FakeServer(fake.app))
    return Platform(BigCommerceHarness(fake, server),
                    lambda: [f"{r.method} {r.path}" for r in fake.log if r.method != "GET"],
                    lambda: len([r for r in fake.log if r.method == "GET"]),
                    lambda order_id: fake.set_status(int(order_id), 2, SHIPPED_ELSEWHERE_AT))


def _magento(stack: ExitStack, monkeypatch, tmp_path) -> Platform:
    fake = MagentoFake(admin_tokens={ADMIN_TOKEN}, integration=INTEGRATION)
    server = stack.enter_context(FakeServer(fake.app))
    harness = MagentoHarness(fake, server.base_url, BEARER)

    def ship(order_id: str) -> None:
        for item in fake.orders[int(order_id)]["items"]:
            item["qty_shipped"] = item["qty_ordered"]
        fake.touch(int(order_id), SHIPPED_ELSEWHERE_AT, state="complete", status="complete")

    # Magento's token endpoint is a POST that writes nothing.
    return Platform(harness,
                    lambda: [f"{r.method} {r.path}" for r in fake.requests if r.method != "GET"],
                    lambda: len([r for r in fake.requests if r.method == "GET"]), ship)


def _woocommerce(stack: ExitStack, monkeypatch, tmp_path) -> Platform:
    store = WooStore(clock=lambda: at(600))
    server = stack.enter_context(FakeServer(create_app(store)))
    return Platform(WooHarness(store, server.base_url, tmp_path),
                    lambda: [f"{m} {p}" for m, p, _q in store.requests if m != "GET"],
                    lambda: len([r for r in store.requests if r[0] == "GET"]),
                    lambda order_id: store.touch(int(order_id), SHIPPED_ELSEWHERE_AT,
                                                 status="completed"))


PLATFORMS = {"shopify": _shopify, "bigcommerce": _bigcommerce, "magento": _magento,
             "woocommerce": _woocommerce}


@pytest.fixture(params=sorted(PLATFORMS))
def platform(request, monkeypatch, tmp_path) -> Iterator[Platform]:
    with ExitStack() as stack:
        yield PLATFORMS[request.param](stack, monkeypatch, tmp_path)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(at(1000))


@pytest.fixture
def ledger(clock) -> Iterator[Ledger]:
    engine = make_engine("sqlite://", poolclass=StaticPool)
    Base.metadata.create_all(engine)
    yield Ledger(engine, clock=clock)
    engine.dispose()


def storefront(mode: str) -> StorefrontConfig:
    return StorefrontConfig(
        name="shop", mode=mode, cart=CartConnection(platform="memory"),
        fulfillment=FulfillmentAccount(client_id="x", client_secret="env:UNUSED",
                                       refresh_token="env:UNUSED"))


def states(ledger: Ledger) -> dict[str, tuple[str, str]]:
    """By the shop's order id (each platform numbers its orders its own way)."""
    with ledger.transaction() as session:
        return {row.cart_order_id: (row.state, row.attention_reason)
                for row in session.scalars(sa.select(Order))}


def sfo_ids(ledger: Ledger, *cart_ids: str) -> set[str]:
    with ledger.transaction() as session:
        return {row.seller_fulfillment_order_id for row in session.scalars(
            sa.select(Order).where(Order.cart_order_id.in_(cart_ids)))}


def test_shadow_reads_the_shop_and_writes_nothing_then_going_live_sends_each_order_once(
        platform, ledger, clock):
    harness = platform.harness
    ids = {number: harness.create_order(number, [LineSpec("MUG-BLUE", qty)], updated_at=at(i))
           for i, (number, qty) in enumerate((("#5101", 1), ("#5102", 2), ("#5103", 1)))}
    amazon = FakeFulfillmentNetwork(clock)
    amazon.set_stock({"MUG-BLUE": 20})
    adapter = harness.adapter()
    shadowed = storefront("shadow")
    cart = ReadOnlyCart(adapter, shadowed.name)
    guarded = ReadOnlyFulfillmentNetwork(amazon, shadowed.name)

    for _ in range(2):
        ingest_orders(ledger, cart, shadowed, now=clock)
        submit_ready(ledger, guarded, cart, shadowed, 50, now=clock)
        sync_stock(ledger, guarded, cart, shadowed, now=clock)
        sync_status(ledger, guarded, cart, shadowed, now=clock)
        push_tracking(ledger, cart, shadowed)
        process_cancellations(ledger, guarded, cart, shadowed)
        clock.advance(60)

    assert platform.writes() == []
    assert platform.reads() > 0
    assert not any(amazon.calls[name] for name in AMAZON_WRITES)
    assert {state for state, _reason in states(ledger).values()} == {S.READY}
    assert set(states(ledger)) == set(ids.values())
    with ledger.transaction() as session:
        assert shadow.would_send_count(session, shadowed.name) == 3

    platform.ship_elsewhere(ids["#5102"])
    live = storefront("live")
    for _ in range(2):
        submit_ready(ledger, amazon, adapter, live, 50, now=clock)
        clock.advance(60)

    assert amazon.calls["create_fulfillment_order"] == 2
    assert set(amazon.order_ids()) == sfo_ids(ledger, ids["#5101"], ids["#5103"])
    assert states(ledger)[ids["#5102"]] == (S.IGNORED, "fulfilled_elsewhere")
    adapter.close()
