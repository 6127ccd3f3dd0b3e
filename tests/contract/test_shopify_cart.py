"""The Shopify cart adapter through the contract suite, against a stateful fake of the
GraphQL Admin API over real HTTP, plus what only Shopify has: fulfillment orders per
location, the query cost cap and the leaky bucket, expiring tokens, and requests checked
against Shopify's published schema."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from datetime import datetime

import pytest
from cart_suite import (
    SHIP_TO,
    CartContract,
    CartHarness,
    LineSpec,
    RecordedShipment,
    at,
    fetch_all,
)
from fakes.server import FakeServer
from fakes.shopify_fake import DEFAULT_LOCATION, ShopifyFake
from fakes.shopify_graphql import admin_schema
from graphql import parse, validate

from bridge import secrets
from bridge.carts.contract import (
    CancelRequest,
    DeliveryUpdate,
    Milestone,
    ReturnStage,
    ReturnUpdate,
)
from bridge.carts.shopify import ShopifyAdapter
from bridge.carts.shopify import queries as q
from bridge.carts.shopify.client import ShopifyHttp
from bridge.carts.shopify.settings import ShopifySettings
from bridge.domain.model import Address, PackageShipment, PaymentStatus, ShippedLine, StockLevel
from bridge.errors import FatalError, IndeterminateError, NeedsAttentionError, TransientError

TOKEN = "shpat_fake_admin_token"
# How a return reads in the order's note.
RETURN_LINE = re.compile(r"^bridge: Return (?P<rma>\S+) (?P<stage>authorized|received) by Amazon")
OTHER_LOCATION = "gid://shopify/Location/2002"


def mailing_address(address: Address) -> dict:
    first, _, last = address.name.partition(" ")
    return {
        "firstName": first, "lastName": last, "company": None,
        "address1": address.line1, "address2": address.line2, "city": address.city,
        "provinceCode": address.state, "zip": address.postal_code,
        "countryCodeV2": address.country_code, "phone": address.phone,
    }


class ShopifyHarness(CartHarness):
    def __init__(self, fake: ShopifyFake, base_url: str, monkeypatch) -> None:
        self.fake, self.base_url = fake, base_url
        monkeypatch.setenv("SHOPIFY_TEST_TOKEN", TOKEN)
        monkeypatch.setenv("SHOPIFY_WRONG_TOKEN", "shpat_revoked_long_ago")
        monkeypatch.setenv("SHOPIFY_CLIENT_SECRET", "fake-client-secret")
        self.settings = {
            "platform": "shopify",
            "shop": base_url,
            "api_version": "2026-07",
            "access_token": "env:SHOPIFY_TEST_TOKEN",
            "location_id": DEFAULT_LOCATION,
        }

    def adapter(self, sleep=time.sleep, **overrides) -> ShopifyAdapter:
        settings = ShopifySettings.from_settings({**self.settings, **overrides}, secrets.resolve)
        return ShopifyAdapter(settings, ShopifyHttp(settings, sleep=sleep))

    def create_order(self, number: str, lines: Sequence[LineSpec], *, updated_at: datetime,
                     paid: bool = True, address: Address = SHIP_TO) -> str:
        items = [(line.sku, line.quantity, line.requires_shipping) for line in lines]
        return self.fake.add_order(
            number, updated_at=updated_at, financial_status="PAID" if paid else "PENDING",
            address=mailing_address(address),
            fulfillment_orders=[(DEFAULT_LOCATION, "OPEN", items)],
        )

    def edit_order(self, order_id: str, *, address: Address, updated_at: datetime) -> None:
        self.fake.edit_order(order_id, updated_at=updated_at, address=mailing_address(address))

    def cancel_order(self, order_id: str, *, updated_at: datetime) -> None:
        self.fake.cancel_order(order_id, updated_at=updated_at)

    def shipments(self) -> list[RecordedShipment]:
        return [RecordedShipment(f.order_id, f.number, f.company) for f in self.fake.all_fulfillments()]

    def stock(self) -> dict[str, int]:
        return self.fake.stock_by_sku()

    def edit_stock(self, sku: str, quantity: int) -> None:
        self.fake.set_available(sku, quantity)

    def notes(self) -> list[tuple[str, str]]:
        return [(order.id, line) for order in self.fake.orders.values()
                for line in (order.note or "").splitlines()]

    def prepare_skus(self, skus: Sequence[str]) -> None:
        for sku in skus:
            self.fake.ensure_variant(sku)

    has_tags = True

    def create_detailed_order(self, number: str, lines: Sequence[LineSpec], *, updated_at: datetime,
                              total: str, currency: str, customer_note: str, tags: Sequence[str] = (),
                              payment: str = PaymentStatus.PAID) -> str:
        items = [(line.sku, line.quantity, line.requires_shipping) for line in lines]
        status = {PaymentStatus.PAID: "PAID", PaymentStatus.AUTHORIZED: "AUTHORIZED"}[payment]
        return self.fake.add_order(
            number, updated_at=updated_at, financial_status=status, address=mailing_address(SHIP_TO),
            fulfillment_orders=[(DEFAULT_LOCATION, "OPEN", items)],
            total=total, currency=currency, note=customer_note or None, tags=list(tags))

    def cancellation(self, order_id: str) -> tuple[bool, dict[str, int]]:
        # The merchant looks once Shopify's cancel job has run.
        if not self.fake.hold_jobs:
            self.fake.run_jobs()
        order = self.fake.orders[order_id]
        removed = {line.id: line.ordered - line.current
                   for fo in order.fulfillment_orders for line in fo.lines}
        return order.cancelled_at is not None, removed

    def delivery_marks(self, order_id: str) -> list[tuple[str, str]]:
        """Read as a merchant reads the fulfillment's timeline: DELIVERED, or a FAILURE
        whose message says the package came back."""
        marks = []
        for fulfillment in self.fake.orders[order_id].fulfillments:
            for event in fulfillment.events:
                if event["status"] == "DELIVERED":
                    marks.append((fulfillment.number, "delivered"))
                elif event["status"] == "FAILURE":
                    back = (event["message"] or "").lower().startswith("returned to sender")
                    marks.append((fulfillment.number, "returned_to_sender" if back else "delivery_failed"))
        return marks

    def return_marks(self, order_id: str) -> list[tuple[str, str]]:
        marks = []
        for line in (self.fake.orders[order_id].note or "").splitlines():
            found = RETURN_LINE.match(line)
            if found:
                marks.append((found["rma"], found["stage"]))
        return marks

    def adapter_with_bad_credentials(self) -> ShopifyAdapter:
        return self.adapter(access_token="env:SHOPIFY_WRONG_TOKEN")

    def adapter_for_unreachable_store(self) -> ShopifyAdapter:
        # Port 1 on the loopback refuses at once; backoff sleeps are skipped.
        return self.adapter(sleep=lambda _s: None, shop="http://127.0.0.1:1")


@pytest.fixture
def fake():
    # Shopify Plus's restore rate keeps the suite quick; bucket tests set their own.
    fake = ShopifyFake(client_id="fake-client-id", client_secret="fake-client-secret",
                       restore_rate=1000.0)
    # The shop stamps bridge's writes on its own clock, inside the suite's windows.
    fake.clock = lambda: at(600)
    return fake


@pytest.fixture
def harness(fake, monkeypatch):
    with FakeServer(fake.app) as server:
        yield ShopifyHarness(fake, server.base_url, monkeypatch)


def one_order(adapter, order_id):
    orders = [o for page in fetch_all(adapter, at(-3600), at(3600), 100) for o in page]
    [order] = [o for o in orders if o.order_id == order_id]
    return order


class TestShopifyCart(CartContract):
    """The shared contract; `harness` comes from the module's fixture."""


# -- what Shopify orders look like to bridge ----------------------------------------------


def test_only_open_fulfillment_orders_at_the_amazon_location_are_work(harness):
    order_id = harness.fake.add_order(
        "#2001", updated_at=at(0), address=mailing_address(SHIP_TO),
        fulfillment_orders=[
            (DEFAULT_LOCATION, "OPEN", [("MUG-BLUE", 2, True)]),
            (OTHER_LOCATION, "OPEN", [("TEE-M", 1, True)]),
            (DEFAULT_LOCATION, "ON_HOLD", [("HAT", 1, True)]),
            (DEFAULT_LOCATION, "CLOSED", [("SOCK", 1, True)]),
            (DEFAULT_LOCATION, "IN_PROGRESS", [("SCARF", 3, True)]),
        ],
    )
    adapter = harness.adapter()
    order = one_order(adapter, order_id)
    adapter.close()
    assert sorted((line.sku, line.quantity) for line in order.lines) == [("MUG-BLUE", 2), ("SCARF", 3)]
    assert all(line.line_id.startswith("gid://shopify/FulfillmentOrderLineItem/") for line in order.lines)
    assert order.number == "#2001" and order.shipping_method == "Standard"
    assert order.address.state == "WA" and order.address.country_code == "US"


def test_orders_larger_than_a_page_nesting_are_completed(harness):
    many = [(f"PART-{i:03d}", 1, True) for i in range(60)]
    fulfillment_orders = [(OTHER_LOCATION, "OPEN", [("X", 1, True)])] * 4
    fulfillment_orders.append((DEFAULT_LOCATION, "OPEN", many))
    order_id = harness.fake.add_order("#2002", updated_at=at(0), fulfillment_orders=fulfillment_orders)
    adapter = harness.adapter()
    order = one_order(adapter, order_id)
    adapter.close()
    assert sorted(line.sku for line in order.lines) == [sku for sku, _q, _s in many]
    assert {r.operation for r in harness.fake.requests} >= {
        "BridgeOrderFulfillmentOrders", "BridgeFulfillmentOrderLines"}


def test_every_query_stays_within_the_cost_cap(harness):
    harness.fake.restore_rate = 5000.0
    for i in range(40):
        harness.create_order(f"#30{i:02d}", [LineSpec("MUG-BLUE", 2)], updated_at=at(i))
    adapter = harness.adapter()
    pages = fetch_all(adapter, at(0), at(100), 250)
    order = pages[0][0]
    line = order.lines[0]
    package = PackageShipment(1, "UPS", "1ZCOST", lines=(ShippedLine(line.line_id, line.sku, 1),))
    adapter.push_shipment(order, package, notify=False)
    adapter.set_stock([StockLevel("MUG-BLUE", 3)])
    adapter.get_stock(["MUG-BLUE"])
    adapter.add_note(order, "cost check")
    adapter.close()
    costs = [r.requested_cost for r in harness.fake.requests]
    assert costs and max(costs) <= 1000
    assert all(r.outcome == "ok" for r in harness.fake.requests)
    # The page size follows from the cost: as many orders as the cap allows, no more.
    assert max(len(page) for page in pages) == q.MAX_ORDERS_PER_PAGE
    assert q.orders_page_cost(q.MAX_ORDERS_PER_PAGE + 1) > 1000


# -- the leaky bucket -------------------------------------------------------------------


@pytest.mark.parametrize("status", [200, 429])
def test_a_throttled_answer_is_waited_out_and_sent_again(harness, status):
    order_id = harness.create_order("#4001", [LineSpec("MUG-BLUE")], updated_at=at(0))
    harness.fake._available = 500  # the THROTTLED answers report it
    harness.fake.forced_throttles = [status, status]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    adapter = harness.adapter(sleep=sleep)
    order = one_order(adapter, order_id)
    adapter.close()
    assert order.order_id == order_id
    outcomes = [r.outcome for r in harness.fake.requests]
    assert outcomes == ["throttled", "throttled", "ok"]
    # (requested − available) / restore rate, from the throttled answer's cost.
    assert max(waits) >= (q.orders_page_cost(q.MAX_ORDERS_PER_PAGE) - 520) / 1000.0


def test_waits_for_the_bucket_before_sending_an_expensive_query(harness):
    harness.fake.restore_rate = 2000.0
    order_id = harness.create_order("#4002", [LineSpec("MUG-BLUE")], updated_at=at(0))
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    adapter = harness.adapter(sleep=sleep)
    order = one_order(adapter, order_id)
    harness.fake._available = 40  # nearly empty: the answers to the cheap calls say so
    adapter.add_note(order, "a cheap read, then a mutation")
    fetch_all(adapter, at(-3600), at(3600), 100)
    adapter.close()
    assert [r.outcome for r in harness.fake.requests].count("throttled") == 0
    # It waited for most of a page's cost to come back at 2,000 points a second.
    assert slept and max(slept) > 0.3


def test_endless_throttling_ends_as_a_transient_error(harness):
    harness.fake.throttle_every = 1
    adapter = harness.adapter(sleep=lambda _s: None)
    with pytest.raises(TransientError):
        adapter.fetch_orders(at(0), at(10), None, 10)
    adapter.close()


def test_a_lost_query_is_asked_again_but_a_lost_mutation_is_indeterminate(harness):
    order_id = harness.create_order("#4003", [LineSpec("MUG-BLUE")], updated_at=at(0))
    adapter = harness.adapter(sleep=lambda _s: None)
    harness.fake.lost_answers = {"BridgeOrdersUpdated": 502}
    order = one_order(adapter, order_id)
    line = order.lines[0]
    package = PackageShipment(1, "UPS", "1ZLOST", lines=(ShippedLine(line.line_id, line.sku, 1),))
    harness.fake.lost_answers = {"BridgeFulfillmentCreate": 502}
    with pytest.raises(IndeterminateError):
        adapter.push_shipment(order, package, notify=False)
    # Shopify did create it; the next attempt finds the tracking and creates nothing.
    assert adapter.push_shipment(order, package, notify=False) is False
    adapter.close()
    assert [f.number for f in harness.fake.all_fulfillments()] == ["1ZLOST"]


# -- credentials ------------------------------------------------------------------------


def grant_settings() -> dict:
    return {"access_token": "", "client_id": "fake-client-id", "client_secret": "env:SHOPIFY_CLIENT_SECRET"}


def test_expired_grant_token_is_renewed_once_and_the_call_sent_again(harness):
    harness.create_order("#5001", [LineSpec("MUG-BLUE")], updated_at=at(0))
    adapter = harness.adapter(**grant_settings())
    assert len(fetch_all(adapter, at(0), at(10), 10)[0]) == 1
    assert adapter.http.tokens.grants == 1
    harness.fake.expire_granted_tokens()
    assert len(fetch_all(adapter, at(0), at(10), 10)[0]) == 1
    assert adapter.http.tokens.grants == 2
    outcomes = [r.outcome for r in harness.fake.requests]
    assert outcomes == ["ok", "unauthorized", "ok"]
    adapter.close()


def test_grant_token_is_renewed_before_it_expires(harness):
    adapter = harness.adapter(**grant_settings())
    adapter.fetch_orders(at(0), at(10), None, 10)
    started = time.monotonic()
    adapter.http.tokens.clock = lambda: started + 86_400
    adapter.fetch_orders(at(0), at(10), None, 10)
    adapter.close()
    assert adapter.http.tokens.grants == 2
    assert [r.outcome for r in harness.fake.requests] == ["ok", "ok"]


@pytest.mark.parametrize("grant", [False, True])
def test_revoked_access_is_fatal_and_names_no_secret(harness, grant):
    adapter = harness.adapter(**(grant_settings() if grant else {}))
    adapter.fetch_orders(at(0), at(10), None, 10)
    harness.fake.uninstall_app()
    with pytest.raises(FatalError) as caught:
        adapter.fetch_orders(at(0), at(10), None, 10)
    adapter.close()
    text = repr(caught.value.args)
    assert caught.value.reason == "cart_credentials"
    assert TOKEN not in text and "fake-client-secret" not in text and "shpat_cc_" not in text


def test_missing_scope_is_fatal(harness):
    harness.fake.ensure_variant("MUG-BLUE")
    harness.fake.denied_fields = {"inventorySetQuantities"}
    adapter = harness.adapter()
    with pytest.raises(FatalError):
        adapter.set_stock([StockLevel("MUG-BLUE", 4)])
    adapter.close()


# -- the online check -------------------------------------------------------------------


def probe_of(harness, **overrides) -> list[tuple[str, str]]:
    adapter = harness.adapter(**overrides)
    try:
        return adapter.probe()
    finally:
        adapter.close()


def test_probe_names_a_wrong_location_and_lists_the_shops_locations(harness):
    problems = probe_of(harness, location_id="gid://shopify/Location/9999")
    assert [key for key, _what in problems] == ["location_id"]
    what = problems[0][1]
    assert "gid://shopify/Location/9999 is not a location of this shop; locations are:" in what
    assert f"Amazon MCF ({DEFAULT_LOCATION})" in what and "Back room" in what


@pytest.mark.parametrize("field, wanted", [("isActive", "deactivated"),
                                           ("fulfillsOnlineOrders", "does not fulfil online orders")])
def test_probe_names_a_location_that_cannot_ship(harness, field, wanted):
    harness.fake.locations[DEFAULT_LOCATION][field] = False
    [(key, what)] = probe_of(harness)
    assert key == "location_id" and wanted in what and "Amazon MCF" in what


def test_probe_names_each_missing_scope(harness):
    harness.fake.access_scopes = ["read_orders", "read_products", "read_inventory"]
    problems = probe_of(harness)
    assert {key for key, _what in problems} == {"scopes"}
    text = " | ".join(what for _key, what in problems)
    for scope in ("write_orders", "write_order_edits", "write_merchant_managed_fulfillment_orders",
                  "write_inventory"):
        assert scope in text
    assert "read_products" not in text


def test_probe_accepts_the_assigned_fulfillment_orders_scope_and_write_for_read(harness):
    harness.fake.access_scopes = ["write_orders", "write_order_edits", "write_assigned_fulfillment_orders",
                                  "write_products", "write_inventory"]
    assert probe_of(harness) == []


@pytest.mark.parametrize("grant", [False, True])
def test_probe_names_refused_credentials_without_a_secret(harness, grant):
    harness.fake.uninstall_app()
    problems = probe_of(harness, **(grant_settings() if grant else {}))
    assert [key for key, _what in problems] == ["client_secret" if grant else "access_token"]
    assert TOKEN not in problems[0][1] and "fake-client-secret" not in problems[0][1]


# -- writing back -----------------------------------------------------------------------


def test_partial_shipments_close_the_fulfillment_order(harness):
    order_id = harness.create_order("#6001", [LineSpec("MUG-BLUE", 2), LineSpec("TEE-M", 1)], updated_at=at(0))
    adapter = harness.adapter()
    order = one_order(adapter, order_id)
    mug = next(line for line in order.lines if line.sku == "MUG-BLUE")
    tee = next(line for line in order.lines if line.sku == "TEE-M")
    first = PackageShipment(1, "UPS", "1ZA", lines=(ShippedLine(mug.line_id, "MUG-BLUE", 1),),
                            tracking_url="https://www.ups.com/track?tracknum=1ZA")
    second = PackageShipment(2, "USPS", "9400B", lines=(ShippedLine(mug.line_id, "MUG-BLUE", 1),
                                                         ShippedLine(tee.line_id, "TEE-M", 1)))
    assert adapter.push_shipment(order, first, notify=True) is True
    [fo] = harness.fake.orders[order_id].fulfillment_orders
    assert fo.status == "IN_PROGRESS"
    assert adapter.push_shipment(order, second, notify=False) is True
    assert adapter.push_shipment(order, second, notify=False) is False
    adapter.close()
    assert fo.status == "CLOSED"
    recorded = harness.fake.orders[order_id].fulfillments
    assert [(f.company, f.number, f.url, f.notify_customer) for f in recorded] == [
        ("UPS", "1ZA", "https://www.ups.com/track?tracknum=1ZA", True),
        ("USPS", "9400B", None, False),
    ]


def test_notify_customer_setting_overrides_the_policy(harness):
    order_id = harness.create_order("#6002", [LineSpec("MUG-BLUE")], updated_at=at(0))
    adapter = harness.adapter(notify_customer=False)
    order = one_order(adapter, order_id)
    line = order.lines[0]
    adapter.push_shipment(order, PackageShipment(1, "UPS", "1ZN", lines=(ShippedLine(line.line_id, line.sku, 1),)),
                          notify=True)
    adapter.close()
    assert [f.notify_customer for f in harness.fake.all_fulfillments()] == [False]


def test_a_moved_fulfillment_order_is_matched_by_sku(harness):
    order_id = harness.create_order("#6003", [LineSpec("MUG-BLUE", 2)], updated_at=at(0))
    adapter = harness.adapter()
    order = one_order(adapter, order_id)
    stored = harness.fake.orders[order_id]
    old = stored.fulfillment_orders[0]
    old.status = "CLOSED"  # split away from, into a new fulfillment order with new ids
    stored.fulfillment_orders.append(type(old)(harness.fake.gid("FulfillmentOrder"), DEFAULT_LOCATION, "OPEN",
                                               [type(old.lines[0])(harness.fake.gid("FulfillmentOrderLineItem"),
                                                                   "MUG-BLUE", 2, 2)]))
    line = order.lines[0]
    package = PackageShipment(1, "UPS", "1ZMOVED", lines=(ShippedLine(line.line_id, "MUG-BLUE", 2),))
    assert adapter.push_shipment(order, package, notify=False) is True
    adapter.close()
    assert stored.fulfillment_orders[1].status == "CLOSED"


def test_nothing_left_to_fulfil_needs_attention(harness):
    order_id = harness.create_order("#6004", [LineSpec("MUG-BLUE")], updated_at=at(0))
    adapter = harness.adapter()
    order = one_order(adapter, order_id)
    harness.fake.orders[order_id].fulfillment_orders[0].status = "CLOSED"
    line = order.lines[0]
    with pytest.raises(NeedsAttentionError):
        adapter.push_shipment(order, PackageShipment(1, "UPS", "1ZX", lines=(ShippedLine(line.line_id, line.sku, 1),)),
                              notify=False)
    adapter.close()


def test_shopify_user_errors_need_attention(harness):
    harness.fake.ensure_variant("MUG-BLUE")
    adapter = harness.adapter(location_id="gid://shopify/Location/9999")
    with pytest.raises(NeedsAttentionError) as caught:
        adapter.set_stock([StockLevel("MUG-BLUE", 4)])
    adapter.close()
    assert "location could not be found" in caught.value.message


def test_stock_resolves_skus_once_and_sends_a_fresh_idempotency_key(harness):
    harness.prepare_skus(["A", "B", "C D"])
    harness.fake.ensure_variant("A-LONGER")  # a loose search match that must not count
    adapter = harness.adapter()
    adapter.set_stock([StockLevel("A", 1), StockLevel("B", 2), StockLevel("C D", 3), StockLevel("NOPE", 9)])
    adapter.set_stock([StockLevel("A", 5), StockLevel("NOPE", 9)])
    adapter.close()
    assert harness.fake.stock_by_sku() == {"A": 5, "B": 2, "C D": 3}
    lookups = harness.fake.graphql_requests("BridgeVariantsBySku")
    # Found SKUs are cached; an unknown one is asked again (it may have been added since).
    assert [r.variables["query"] for r in lookups][1:] == ['sku:"NOPE"']
    writes = harness.fake.graphql_requests("BridgeInventorySetQuantities")
    keys = [r.variables["key"] for r in writes]
    assert len(set(keys)) == 2 and all(keys)
    for entry in writes[0].variables["input"]["quantities"]:
        assert "changeFromQuantity" in entry and entry["changeFromQuantity"] is None


# -- stock read back and written conditionally ---------------------------------------------


def stock_writes(fake) -> list:
    return fake.graphql_requests("BridgeInventorySetQuantities")


def sent_change_from(request) -> list:
    return [entry["changeFromQuantity"] for entry in request.variables["input"]["quantities"]]


def test_stock_capabilities_follow_the_read_query_and_the_input_limit():
    caps = ShopifyAdapter.capabilities
    assert caps.conditional_stock_writes is True
    assert caps.stock_read_batch_size == q.SKUS_PER_STOCK_READ == q.STOCK_READ_PAGE == 250
    assert caps.stock_batch_size == 250
    assert q.STOCK_READ_COST == 752 <= q.MAX_QUERY_COST


def test_a_stale_change_from_quantity_holds_back_only_that_sku(harness):
    harness.prepare_skus(["ST-A", "ST-B", "ST-C"])
    adapter = harness.adapter()
    adapter.set_stock([StockLevel("ST-A", 10), StockLevel("ST-B", 3), StockLevel("ST-C", 7)])
    read = adapter.get_stock(["ST-A", "ST-B", "ST-C"])
    harness.edit_stock("ST-B", 2)  # sold between bridge's read and its write
    stale = adapter.set_stock([StockLevel(sku, 5, expected=read[sku]) for sku in ("ST-A", "ST-B", "ST-C")])
    adapter.close()
    assert stale == ["ST-B"]
    assert harness.stock() == {"ST-A": 5, "ST-B": 2, "ST-C": 5}
    first, refused, resent = stock_writes(harness.fake)
    assert sent_change_from(refused) == [10, 3, 7]
    assert sent_change_from(resent) == [10, 7]
    # The resend is another change: a new key.
    assert len({first.variables["key"], refused.variables["key"], resent.variables["key"]}) == 3


def test_stale_is_read_from_the_user_error_and_nothing_of_that_call_is_written(harness):
    harness.prepare_skus(["SW-1", "SW-2"])
    adapter = harness.adapter()
    adapter.set_stock([StockLevel("SW-1", 4), StockLevel("SW-2", 4)])
    harness.edit_stock("SW-1", 3)
    payload = {"name": "available", "reason": "correction", "quantities": [
        {"inventoryItemId": harness.fake.ensure_variant(sku)["inventory_item_id"], "locationId": DEFAULT_LOCATION,
         "quantity": 1, "changeFromQuantity": 4} for sku in ("SW-1", "SW-2")]}
    data = adapter.http.graphql(q.INVENTORY_SET_QUANTITIES, {"input": payload, "key": "k-stale"},
                                cost=q.MUTATION_COST, write=True)
    adapter.close()
    result = data["inventorySetQuantities"]
    assert result["inventoryAdjustmentGroup"] is None
    assert result["userErrors"] == [{"code": "CHANGE_FROM_QUANTITY_STALE",
                                     "field": ["input", "quantities", "0", "changeFromQuantity"],
                                     "message": "The changeFromQuantity value does not match persisted value."}]
    assert harness.stock() == {"SW-1": 3, "SW-2": 4}


def test_the_idempotency_key_is_kept_on_a_transport_retry_of_the_same_body(harness):
    harness.prepare_skus(["IK-1"])
    adapter = harness.adapter(sleep=lambda _s: None)
    adapter.set_stock([StockLevel("IK-1", 2)])
    harness.fake.forced_throttles = [429]
    assert adapter.set_stock([StockLevel("IK-1", 6, expected=2)]) == []
    adapter.close()
    _first, throttled, done = stock_writes(harness.fake)
    assert (throttled.outcome, done.outcome) == ("throttled", "ok")
    assert throttled.variables == done.variables and done.variables["key"]
    assert harness.stock() == {"IK-1": 6}


def test_a_write_whose_answer_was_lost_is_sent_again_under_its_key(harness):
    harness.prepare_skus(["LOST-1"])
    adapter = harness.adapter(sleep=lambda _s: None)
    adapter.set_stock([StockLevel("LOST-1", 10)])
    harness.fake.lost_answers = {"BridgeInventorySetQuantities": 502}
    with pytest.raises(IndeterminateError):
        adapter.set_stock([StockLevel("LOST-1", 4, expected=10)])
    # Shopify did write it; the same change under the same key is answered, not redone.
    assert adapter.set_stock([StockLevel("LOST-1", 4, expected=10)]) == []
    adapter.close()
    _first, lost, retried = stock_writes(harness.fake)
    assert lost.variables == retried.variables
    assert harness.fake.replays == 1 and harness.stock() == {"LOST-1": 4}


def test_a_lost_stale_write_is_sent_again_under_a_new_key(harness):
    harness.prepare_skus(["LS-1", "LS-2"])
    adapter = harness.adapter(sleep=lambda _s: None)
    adapter.set_stock([StockLevel("LS-1", 10), StockLevel("LS-2", 10)])
    harness.edit_stock("LS-1", 8)
    levels = [StockLevel("LS-1", 1, expected=10), StockLevel("LS-2", 2, expected=10)]
    harness.fake.lost_answers = {"BridgeInventorySetQuantities": 502}
    with pytest.raises(IndeterminateError):
        adapter.set_stock(levels)
    assert adapter.set_stock(levels) == ["LS-1"]
    adapter.close()
    lost, same_key, new_key, resent = stock_writes(harness.fake)[1:]
    # Shopify had refused the lost body as stale: its key is spent, so it goes again under a new one.
    assert same_key.variables == lost.variables
    assert harness.fake.idempotency_keys[lost.variables["key"]]["failed"]
    assert new_key.variables["input"] == lost.variables["input"]
    assert new_key.variables["key"] != lost.variables["key"]
    assert sent_change_from(resent) == [10]
    assert harness.stock() == {"LS-1": 8, "LS-2": 2}


def test_the_fake_refuses_a_key_reused_for_other_quantities(harness):
    harness.prepare_skus(["KR-1"])
    adapter = harness.adapter()
    item = harness.fake.ensure_variant("KR-1")["inventory_item_id"]

    def send(quantity: int) -> dict:
        payload = {"name": "available", "reason": "correction", "quantities": [
            {"inventoryItemId": item, "locationId": DEFAULT_LOCATION, "quantity": quantity,
             "changeFromQuantity": None}]}
        return adapter.http.graphql(q.INVENTORY_SET_QUANTITIES, {"input": payload, "key": "k-1"},
                                    cost=q.MUTATION_COST, write=True)["inventorySetQuantities"]

    assert send(3)["userErrors"] == []
    assert send(3)["userErrors"] == []  # a duplicate: answered again, not redone
    [mismatch] = send(4)["userErrors"]
    adapter.close()
    assert mismatch["code"] == "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"
    assert harness.stock() == {"KR-1": 3} and harness.fake.replays == 1


def test_a_sku_on_several_variants_is_read_at_its_highest_and_written_per_item(harness):
    first = harness.fake.ensure_variant("TWIN")
    second = harness.fake.add_variant("TWIN")
    adapter = harness.adapter()
    adapter.set_stock([StockLevel("TWIN", 6)])
    assert harness.fake.levels_of("TWIN") == [6, 6]
    harness.fake.levels[(second["inventory_item_id"], DEFAULT_LOCATION)] = 9
    assert adapter.get_stock(["TWIN"]) == {"TWIN": 9}
    # Written back from that read, each item is compared with its own reading.
    assert adapter.set_stock([StockLevel("TWIN", 6, expected=9)]) == []
    assert sent_change_from(stock_writes(harness.fake)[-1]) == [6, 9]
    assert harness.fake.levels_of("TWIN") == [6, 6]
    # One of the items sold in between: the SKU is stale and neither item is written.
    harness.fake.levels[(first["inventory_item_id"], DEFAULT_LOCATION)] = 5
    assert adapter.set_stock([StockLevel("TWIN", 2, expected=6)]) == ["TWIN"]
    adapter.close()
    assert harness.fake.levels_of("TWIN") == [5, 6]


def test_stock_reads_page_within_the_cost_cap_across_batches(harness):
    size = q.SKUS_PER_STOCK_READ
    skus = [f"PG-{i:04d}" for i in range(size + 10)]
    harness.prepare_skus(skus)
    for _extra in range(2):
        harness.fake.add_variant(skus[0])  # three items for one SKU: the first batch overflows a page
    harness.fake.add_variant("PG-UNTRACKED", tracked=False)
    adapter = harness.adapter()
    adapter.set_stock([StockLevel(sku, i % 7) for i, sku in enumerate(skus)])
    harness.fake.set_available("PG-UNTRACKED", 4)
    harness.fake.requests.clear()
    assert adapter.get_stock([]) == {}
    assert harness.fake.requests == []
    read = adapter.get_stock(skus + ["PG-UNTRACKED", "PG-NONE"])
    adapter.close()
    assert read == {sku: i % 7 for i, sku in enumerate(skus)}
    reads = harness.fake.graphql_requests("BridgeInventoryLevels")
    assert [r.variables["after"] is None for r in reads] == [True, False, True]
    assert all(r.requested_cost == q.STOCK_READ_COST <= 1000 and r.outcome == "ok" for r in reads)
    assert [r.variables["query"].count(" OR ") + 1 for r in reads] == [size, size, 12]


def test_note_is_appended_to_the_merchants_note(harness):
    order_id = harness.create_order("#6005", [LineSpec("MUG-BLUE")], updated_at=at(0))
    harness.fake.orders[order_id].note = "Gift wrap please"
    adapter = harness.adapter()
    order = one_order(adapter, order_id)
    adapter.add_note(order, "bridge: on hold")
    adapter.add_note(order, "bridge: on hold")
    adapter.close()
    assert harness.fake.orders[order_id].note == "Gift wrap please\nbridge: on hold"


# -- what rules read, and the lifecycle writes ----------------------------------------------


def test_tags_total_risk_and_the_customers_note_are_read(harness):
    order_id = harness.fake.add_order(
        "#7001", updated_at=at(0), address=mailing_address(SHIP_TO),
        fulfillment_orders=[(DEFAULT_LOCATION, "OPEN", [("MUG-BLUE", 1, True)])],
        total="120.50", currency="CAD", tags=["wholesale"], note="Ring twice",
        risk={"recommendation": "INVESTIGATE", "assessments": [{"riskLevel": "LOW"}]})
    adapter = harness.adapter()
    order = one_order(adapter, order_id)
    adapter.add_note(order, "bridge: on hold for approval")
    again = one_order(adapter, order_id)
    adapter.close()
    assert (order.total, order.currency, order.tags, order.risk) == ("120.50", "CAD", ("wholesale",), "medium")
    assert order.lines[0].title == "Mug Blue"
    # bridge's own note line is not the customer's: the order does not look edited.
    assert again.customer_note == order.customer_note == "Ring twice"
    assert again.content_hash() == order.content_hash()


@pytest.mark.parametrize(("status", "expected"), [
    ("PARTIALLY_PAID", PaymentStatus.PENDING), ("EXPIRED", PaymentStatus.VOIDED),
    ("PARTIALLY_REFUNDED", PaymentStatus.PAID), ("VOIDED", PaymentStatus.VOIDED)])
def test_financial_statuses_read_through_the_schema(harness, status, expected):
    order_id = harness.fake.add_order("#7002", updated_at=at(0), financial_status=status,
                                      fulfillment_orders=[(DEFAULT_LOCATION, "OPEN", [("MUG-BLUE", 1, True)])])
    adapter = harness.adapter()
    order = one_order(adapter, order_id)
    adapter.close()
    assert order.payment_status == expected


def test_cancel_is_reason_other_without_refund_restock_or_e_mail(harness):
    order_id = harness.create_order("#7010", [LineSpec("MUG-BLUE")], updated_at=at(0))
    adapter = harness.adapter()
    order = one_order(adapter, order_id)
    assert adapter.cancel_order(order, CancelRequest("Amazon cancelled the order: out of stock")) is True
    adapter.close()
    assert harness.fake.orders[order_id].cancellation == {
        "reason": "OTHER", "restock": False, "refund": None,
        "refundMethod": {"originalPaymentMethodsRefund": False}, "notifyCustomer": False,
        "staffNote": "bridge: Amazon cancelled the order: out of stock"}


def test_a_cancel_whose_answer_was_lost_is_read_back_not_sent_again(harness):
    order_id = harness.create_order("#7011", [LineSpec("MUG-BLUE")], updated_at=at(0))
    adapter = harness.adapter(sleep=lambda _s: None)
    order = one_order(adapter, order_id)
    harness.fake.lost_answers = {"BridgeOrderCancel": 502}
    with pytest.raises(IndeterminateError):
        adapter.cancel_order(order, CancelRequest("Amazon cancelled the order"))
    # The job ran meanwhile: the retry finds the order cancelled.
    assert adapter.cancel_order(order, CancelRequest("Amazon cancelled the order")) is False
    adapter.close()
    assert len(harness.fake.graphql_requests("BridgeOrderCancel")) == 1
    assert harness.cancellation(order_id)[0] is True


def test_a_fulfilled_order_cannot_be_cancelled_and_needs_attention(harness):
    order_id = harness.create_order("#7012", [LineSpec("MUG-BLUE", 2)], updated_at=at(0))
    adapter = harness.adapter()
    order = one_order(adapter, order_id)
    adapter.push_shipment(order, PackageShipment(1, "UPS", "1ZPART", lines=(
        ShippedLine(order.lines[0].line_id, "MUG-BLUE", 1),)), notify=False)
    with pytest.raises(NeedsAttentionError) as caught:
        adapter.cancel_order(order, CancelRequest("Amazon could not ship the rest"))
    adapter.close()
    assert caught.value.reason == "cart_rejected"
    assert harness.cancellation(order_id)[0] is False


def test_line_cancel_is_an_order_edit_of_the_unshipped_units_only(harness):
    order_id = harness.create_order("#7020", [LineSpec("MUG-BLUE", 3), LineSpec("TEE-M", 1)],
                                    updated_at=at(0))
    adapter = harness.adapter()
    order = one_order(adapter, order_id)
    mug = next(line for line in order.lines if line.sku == "MUG-BLUE")
    adapter.push_shipment(order, PackageShipment(1, "UPS", "1ZONE", lines=(
        ShippedLine(mug.line_id, "MUG-BLUE", 1),)), notify=False)
    # Amazon will not ship the other two mugs; asking for three cancels only those two.
    request = CancelRequest("Amazon shipped part of the order",
                            lines=(ShippedLine(mug.line_id, "MUG-BLUE", 3),))
    assert adapter.cancel_order(order, request) is True
    assert adapter.cancel_order(order, request) is False
    after = one_order(adapter, order_id)
    adapter.close()
    assert harness.cancellation(order_id) == (False, {mug.line_id: 2, order.lines[1].line_id: 0})
    assert [(line.sku, line.quantity) for line in after.lines] == [("TEE-M", 1)]
    # No restock, no e-mail to the customer, a staff note saying why.
    assert harness.fake.orders[order_id].edits == [(False, "bridge: Amazon shipped part of the order", False)]
    assert len(harness.fake.graphql_requests("BridgeOrderEditCommit")) == 1


def test_lines_of_a_cancelled_order_are_left_alone(harness):
    order_id = harness.create_order("#7021", [LineSpec("MUG-BLUE", 2)], updated_at=at(0))
    adapter = harness.adapter()
    order = one_order(adapter, order_id)
    harness.cancel_order(order_id, updated_at=at(30))
    line = order.lines[0]
    request = CancelRequest("Amazon shipped part", lines=(ShippedLine(line.line_id, line.sku, 1),))
    assert adapter.cancel_order(order, request) is False
    adapter.close()
    assert harness.fake.graphql_requests("BridgeOrderEditBegin") == []


def test_delivery_event_lands_on_the_fulfillment_of_that_tracking_number(harness):
    order_id = harness.create_order("#7030", [LineSpec("MUG-BLUE", 2)], updated_at=at(0))
    adapter = harness.adapter()
    order = one_order(adapter, order_id)
    line = order.lines[0]
    for package, number in ((1, "1ZFIRST"), (2, "1ZSECOND")):
        adapter.push_shipment(order, PackageShipment(package, "UPS", number, lines=(
            ShippedLine(line.line_id, line.sku, 1),)), notify=False)
    second = PackageShipment(2, "UPS", "1ZSECOND", lines=(ShippedLine(line.line_id, line.sku, 1),))
    failed = DeliveryUpdate(second, Milestone.DELIVERY_FAILED, at(9000), "Damaged in transit")
    assert adapter.push_delivery(order, failed) is True
    adapter.close()
    first, other = harness.fake.orders[order_id].fulfillments
    assert first.events == []
    [event] = other.events
    assert (event["status"], event["message"]) == ("FAILURE", "Delivery failed: Damaged in transit")
    assert event["happenedAt"] == at(9000).isoformat()


def test_a_delivery_the_carrier_already_reported_is_not_written_again(harness):
    order_id = harness.create_order("#7031", [LineSpec("MUG-BLUE")], updated_at=at(0))
    adapter = harness.adapter()
    order = one_order(adapter, order_id)
    package = PackageShipment(1, "UPS", "1ZCARRIER", lines=(ShippedLine(order.lines[0].line_id, "MUG-BLUE", 1),))
    adapter.push_shipment(order, package, notify=False)
    [fulfillment] = harness.fake.orders[order_id].fulfillments
    fulfillment.events.append({"id": "gid://shopify/FulfillmentEvent/1", "status": "DELIVERED",
                               "message": None, "happenedAt": "2024-05-01T15:00:00Z",
                               "createdAt": "2024-05-01T15:00:00Z"})
    assert adapter.push_delivery(order, DeliveryUpdate(package, Milestone.DELIVERED, at(7200))) is False
    adapter.close()
    assert harness.fake.graphql_requests("BridgeFulfillmentEventCreate") == []


def test_a_delivery_for_an_unknown_tracking_number_needs_attention(harness):
    order_id = harness.create_order("#7032", [LineSpec("MUG-BLUE")], updated_at=at(0))
    adapter = harness.adapter()
    order = one_order(adapter, order_id)
    package = PackageShipment(1, "UPS", "1ZNEVERWRITTEN", lines=())
    with pytest.raises(NeedsAttentionError) as caught:
        adapter.push_delivery(order, DeliveryUpdate(package, Milestone.DELIVERED, at(7200)))
    adapter.close()
    assert caught.value.reason == "cart_package_missing"


def test_a_return_is_told_in_the_note_with_lines_reason_and_label(harness):
    order_id = harness.create_order("#7040", [LineSpec("MUG-BLUE", 2)], updated_at=at(0))
    harness.fake.orders[order_id].note = "Gift wrap please"
    adapter = harness.adapter()
    order = one_order(adapter, order_id)
    lines = (ShippedLine(order.lines[0].line_id, "MUG-BLUE", 1),)
    adapter.push_return(order, ReturnUpdate("RMA-7040", ReturnStage.AUTHORIZED, lines,
                                            label_url="https://example.com/label/RMA-7040",
                                            reason="Item defective"))
    adapter.push_return(order, ReturnUpdate("RMA-7040", ReturnStage.RECEIVED, lines, condition="Defective"))
    after = one_order(adapter, order_id)
    adapter.close()
    assert harness.fake.orders[order_id].note.splitlines() == [
        "Gift wrap please",
        "bridge: Return RMA-7040 authorized by Amazon for Mug Blue (MUG-BLUE) × 1. Reason: Item defective. "
        "Return label: https://example.com/label/RMA-7040 No refund has been issued.",
        "bridge: Return RMA-7040 received by Amazon: Mug Blue (MUG-BLUE) × 1, condition Defective. "
        "No refund or restock has been made: refund in Shopify if it is due.",
    ]
    assert after.customer_note == "Gift wrap please"


def test_lifecycle_requests_stay_within_the_cost_cap(harness):
    order_id = harness.create_order("#7050", [LineSpec("MUG-BLUE", 2), LineSpec("TEE-M", 1)],
                                    updated_at=at(0))
    adapter = harness.adapter()
    order = one_order(adapter, order_id)
    mug, tee = order.lines
    package = PackageShipment(1, "UPS", "1ZCAP", lines=(ShippedLine(mug.line_id, mug.sku, 2),))
    adapter.push_shipment(order, package, notify=False)
    adapter.push_delivery(order, DeliveryUpdate(package, Milestone.DELIVERED, at(7200)))
    adapter.cancel_order(order, CancelRequest("partial", lines=(ShippedLine(tee.line_id, tee.sku, 1),)))
    adapter.push_return(order, ReturnUpdate("RMA-CAP", ReturnStage.AUTHORIZED, package.lines))
    adapter.close()
    operations = {r.operation for r in harness.fake.requests}
    assert operations >= {"BridgeOrderLinesForCancel", "BridgeOrderEditBegin", "BridgeOrderEditSetQuantity",
                          "BridgeOrderEditCommit", "BridgeFulfillmentEvents", "BridgeFulfillmentEventCreate"}
    assert all(r.outcome == "ok" and r.requested_cost <= 1000 for r in harness.fake.requests)


# -- the published schema ---------------------------------------------------------------


def test_every_document_validates_against_the_published_schema():
    for name, document in q.ALL.items():
        assert validate(admin_schema(), parse(document)) == [], name


def test_requests_sent_during_the_suite_all_passed_schema_checks(harness):
    """The fake coerces every request's variables with the schema (input field names,
    required fields, types); a request it refused would show as an error."""
    order_id = harness.create_order("#7001", [LineSpec("MUG-BLUE")], updated_at=at(0))
    adapter = harness.adapter()
    order = one_order(adapter, order_id)
    line = order.lines[0]
    adapter.push_shipment(order, PackageShipment(1, "UPS", "1ZS", tracking_url="https://ups.example/1ZS",
                                                 lines=(ShippedLine(line.line_id, line.sku, 1),)), notify=True)
    adapter.set_stock([StockLevel("MUG-BLUE", 1)])
    assert adapter.get_stock(["MUG-BLUE"]) == {"MUG-BLUE": 1}
    adapter.set_stock([StockLevel("MUG-BLUE", 2, expected=1)])
    adapter.add_note(order, "schema")
    adapter.close()
    operations = {r.operation for r in harness.fake.requests}
    assert operations >= {"BridgeOrdersUpdated", "BridgeFulfillmentCreate", "BridgeInventorySetQuantities",
                          "BridgeOrderNoteUpdate", "BridgeVariantsBySku", "BridgeOrderTracking",
                          "BridgeInventoryLevels"}
    assert all(r.outcome == "ok" for r in harness.fake.requests)


# -- settings ---------------------------------------------------------------------------


@pytest.mark.parametrize("change, key", [
    ({"shop": "my-shop.example.com"}, "shop"),
    ({"shop": "http://shop.example.com"}, "shop"),
    ({"api_version": "2026-05"}, "api_version"),
    ({"api_version": "2025-07"}, "api_version"),
    ({"access_token": "shpat_inline"}, "access_token"),
    ({"access_token": ""}, "access_token"),
    ({"client_id": "abc"}, "client_secret"),
    ({"location_id": "Warehouse"}, "location_id"),
    ({"paid_statuses": ["PAID", "SETTLED"]}, "paid_statuses"),
    ({"notify_customer": "yes"}, "notify_customer"),
    ({"colour": "blue"}, "colour"),
])
def test_settings_problems_are_named(change, key):
    settings = {"platform": "shopify", "shop": "https://my-shop.myshopify.com", "api_version": "2026-07",
                "access_token": "env:SHOPIFY_TOKEN", "location_id": DEFAULT_LOCATION}
    assert ShopifyAdapter.check_settings(settings) == []
    problems = ShopifyAdapter.check_settings({**settings, **change})
    assert key in [k for k, _what in problems]


def test_settings_accept_a_shop_domain_and_a_numeric_location():
    settings = {"shop": "my-shop.myshopify.com", "access_token": "env:X", "location_id": 123}
    assert ShopifyAdapter.check_settings(settings) == []


# -- replay: a long window, many pages, throttled along the way ---------------------------


def test_replay_of_hundreds_of_orders_sees_each_once_and_reaches_the_window_end(harness):
    fake = harness.fake
    fake.restore_rate = 20_000.0
    fake.throttle_every = 5
    created = []
    for i in range(450):
        stamp = at(i // 3)  # three orders share each second
        created.append(fake.add_order(f"#9{i:03d}", updated_at=stamp,
                                      fulfillment_orders=[(DEFAULT_LOCATION, "OPEN", [("MUG-BLUE", 1, True)])]))
    # The bucket restores 1,000 points in 50 ms here, so backoff sleeps are capped there.
    adapter = harness.adapter(sleep=lambda seconds: time.sleep(min(seconds, 0.05)))
    seen, pages = [], 0
    for start in range(0, 150, 50):
        token = None
        while True:
            page = adapter.fetch_orders(at(start), at(start + 50), token, 100)
            pages += 1
            assert all(at(start) <= o.updated_at < at(start + 50) for o in page.orders)
            seen.extend(o.order_id for o in page.orders)
            token = page.next_page
            if token is None:
                break
    adapter.close()
    assert sorted(seen) == sorted(created) and len(seen) == len(set(seen))
    assert pages >= 450 // q.MAX_ORDERS_PER_PAGE
    assert [r.outcome for r in fake.requests].count("throttled") >= 5
