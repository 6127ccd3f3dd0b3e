"""The BigCommerce adapter through the contract suite against a stateful fake store over
real HTTP, plus what only BigCommerce has: 204 pages, the X-Rate-Limit-* quota, the
2,000-item stock batch, requests checked against the published OpenAPI specs, and a
replay of a long, throttled order walk."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import jsonschema
import pytest
import requests
import yaml
from cart_suite import (
    SHIP_TO,
    CartContract,
    CartHarness,
    LineSpec,
    RecordedShipment,
    at,
    fetch_all,
    ids_in,
    shipment,
)
from fakes.bigcommerce_fake import BigCommerceFake, location_record
from fakes.server import FakeServer

from bridge import secrets
from bridge.carts.bigcommerce import BigCommerceAdapter
from bridge.carts.bigcommerce.stock import READ_PAGE, sku_chunks
from bridge.carts.contract import (
    CancelRequest,
    DeliveryUpdate,
    Milestone,
    ReturnStage,
    ReturnUpdate,
)
from bridge.domain.model import Address, PaymentStatus, ShippedLine, StockLevel
from bridge.errors import FatalError, NeedsAttentionError

SPEC_DIR = Path(__file__).parents[1] / "fakes" / "bigcommerce" / "spec"
TOKEN_ENV = "BRIDGE_TEST_BIGCOMMERCE_TOKEN"
TOKEN = "bc-test-token-5f2a9e"
# The key that ends each line bridge writes about an order's later life.
MARK = re.compile(r"\[bridge:(delivery|return):(\S+?):(\w+)\]$", re.MULTILINE)


def address_fields(address: Address) -> dict[str, str]:
    first, _, last = address.name.partition(" ")
    return {"first_name": first, "last_name": last, "company": "", "street_1": address.line1,
            "street_2": address.line2, "city": address.city, "state": address.state,
            "zip": address.postal_code, "country_iso2": address.country_code,
            "phone": address.phone, "email": "ava@example.com"}


class BigCommerceHarness(CartHarness):
    def __init__(self, fake: BigCommerceFake, server: FakeServer) -> None:
        self.fake, self.server = fake, server
        self.settings = {
            "platform": "bigcommerce",
            "store_hash": fake.store_hash,
            "access_token": f"env:{TOKEN_ENV}",
            "api_base": server.base_url + "/stores/{store_hash}",
        }

    def adapter(self, **options) -> BigCommerceAdapter:
        return BigCommerceAdapter.from_settings(self.settings, secrets.resolve, **options)

    def create_order(self, number: str, lines: Sequence[LineSpec], *, updated_at: datetime,
                     paid: bool = True, address: Address = SHIP_TO) -> str:
        specs = [{"sku": line.sku, "quantity": line.quantity,
                  "type": "physical" if line.requires_shipping else "digital"} for line in lines]
        order_id = self.fake.add_order(int(number.lstrip("#")), modified=updated_at,
                                       status_id=11 if paid else 7, lines=specs,
                                       address=address_fields(address))
        return str(order_id)

    def edit_order(self, order_id: str, *, address: Address, updated_at: datetime) -> None:
        self.fake.edit_address(int(order_id), address_fields(address), updated_at)

    def cancel_order(self, order_id: str, *, updated_at: datetime) -> None:
        self.fake.set_status(int(order_id), 5, updated_at)

    def shipments(self) -> list[RecordedShipment]:
        return [RecordedShipment(str(order_id), s["tracking_number"],
                                 s["shipping_provider_display_name"] or s["tracking_carrier"])
                for order_id, rows in self.fake.shipments.items() for s in rows]

    def stock(self) -> dict[str, int]:
        return self.fake.stock()

    def edit_stock(self, sku: str, quantity: int) -> None:
        with self.fake.lock:
            holder, key = self.fake.stock_key(sku)
            holder[key] = quantity

    def notes(self) -> list[tuple[str, str]]:
        return [(str(order_id), line) for order_id, order in self.fake.orders.items()
                for line in order["staff_notes"].splitlines()]

    def prepare_skus(self, skus: Sequence[str]) -> None:
        # Half with options (stock per variant), half option-less (stock on the product).
        for i, sku in enumerate(skus):
            self.fake.add_catalog_sku(sku, with_options=i % 2 == 0)

    # -- what rules read, and the lifecycle writes (BigCommerce has no order tags)

    def create_detailed_order(self, number: str, lines: Sequence[LineSpec], *,
                              updated_at: datetime, total: str, currency: str,
                              customer_note: str, tags: Sequence[str] = (),
                              payment: str = PaymentStatus.PAID) -> str:
        order_id = self.create_order(number, lines, updated_at=updated_at)
        # V2 states money with four decimals; an authorize-only gateway leaves the order
        # Awaiting Fulfillment with the payment `authorized`, as in the spec's example.
        self.fake.orders[int(order_id)].update(
            total_inc_tax=f"{Decimal(total):.4f}", currency_code=currency,
            customer_message=customer_note,
            payment_status="authorized" if payment == PaymentStatus.AUTHORIZED else "captured")
        return order_id

    def cancellation(self, order_id: str) -> tuple[bool, dict[str, int]]:
        # V2 cancels whole orders; no line carries a cancelled quantity.
        return self.fake.orders[int(order_id)]["status_id"] == 5, {}

    def delivery_marks(self, order_id: str) -> list[tuple[str, str]]:
        """Milestones in the comments of the order's shipments (and, for a shipment gone
        since, its staff notes), as the control panel shows them."""
        marks = [m.groups() for s in self.fake.shipments[int(order_id)]
                 for m in MARK.finditer(s["comments"]) if m.group(1) == "delivery"]
        marks += [m.groups() for m in MARK.finditer(self.fake.orders[int(order_id)]["staff_notes"])
                  if m.group(1) == "delivery"]
        return [(number, value) for _kind, number, value in marks]

    def return_marks(self, order_id: str) -> list[tuple[str, str]]:
        return [(m.group(2), m.group(3))
                for m in MARK.finditer(self.fake.orders[int(order_id)]["staff_notes"])
                if m.group(1) == "return"]

    def adapter_with_bad_credentials(self) -> BigCommerceAdapter:
        settings = {**self.settings, "access_token": f"env:{TOKEN_ENV}_WRONG"}
        return BigCommerceAdapter.from_settings(settings, secrets.resolve)

    def adapter_for_unreachable_store(self) -> BigCommerceAdapter:
        # Port 1 on the loopback: refused at once; no backoff sleeps in the test.
        settings = {**self.settings, "api_base": "http://127.0.0.1:1/stores/{store_hash}"}
        return BigCommerceAdapter.from_settings(settings, secrets.resolve,
                                                sleep=lambda _: None, max_retries=1)


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    monkeypatch.setenv(f"{TOKEN_ENV}_WRONG", "bc-wrong-token-000")
    store = BigCommerceFake(token=TOKEN)
    # A small quota, so that the contract tests run into the store's limit too.
    store.limit.quota = store.limit.left = 40
    store.limit.window_ms = 150
    # Changes made through the API are stamped inside the suite's windows.
    store.clock = lambda: at(600)
    return store


@pytest.fixture
def harness(fake):
    with FakeServer(fake.app) as server:
        yield BigCommerceHarness(fake, server)


class TestBigCommerceCart(CartContract):
    pass


# -- requests against the published specs ----------------------------------------------


def spec_validator(spec_file: str, schema: str) -> jsonschema.Draft7Validator:
    document = yaml.load((SPEC_DIR / spec_file).read_text(),
                         Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    root = {"$ref": f"#/components/schemas/{schema}", "components": document["components"]}
    return jsonschema.Draft7Validator(root)


def test_written_bodies_match_the_published_specs(harness, fake):
    harness.prepare_skus(["MUG-BLUE", "TEE-M", "CAP"])
    order_id = harness.create_order("#2001", [LineSpec("MUG-BLUE", 2)], updated_at=at(0))
    adapter = harness.adapter()
    [order] = [o for page in fetch_all(adapter, at(0), at(1), 10) for o in page]
    assert adapter.push_shipment(order, shipment(1, "1ZSPEC1", order), notify=True)
    adapter.set_stock([StockLevel("MUG-BLUE", 3), StockLevel("TEE-M", 0), StockLevel("CAP", 9)])
    adapter.close()

    [posted] = fake.requests("POST", f"/v2/orders/{order_id}/shipments")
    spec_validator("orders.v2.oas2.yml", "orderShipment_Post").validate(posted.body)
    assert {"order_address_id", "items"} <= set(posted.body)  # required by the description
    assert posted.body["shipping_provider"] == "ups"
    assert posted.body["items"] == [{"order_product_id": int(order.lines[0].line_id), "quantity": 1}]

    [adjusted] = fake.requests("PUT", "/v3/inventory/adjustments/absolute")
    spec_validator("inventory.v3.yml", "AdjustmentsAbsoluteRequest").validate(adjusted.body)
    assert all(set(i) in ({"location_id", "variant_id", "quantity"},
                          {"location_id", "product_id", "quantity"}) for i in adjusted.body["items"])
    assert harness.stock() == {"MUG-BLUE": 3, "TEE-M": 0, "CAP": 9}


def test_auth_header_and_accept_on_every_request(harness, fake):
    adapter = harness.adapter()
    adapter.fetch_orders(at(0), at(1), None, 10)
    adapter.close()
    assert fake.log and all(r.status != 401 and r.accept == "application/json" for r in fake.log)
    assert TOKEN not in repr(adapter)


def test_refused_token_is_fatal_and_never_shown(harness):
    adapter = harness.adapter_with_bad_credentials()
    with pytest.raises(FatalError) as caught:
        adapter.fetch_orders(at(0), at(10), None, 10)
    adapter.close()
    assert "bc-wrong-token" not in str(caught.value) and TOKEN not in str(caught.value)


def test_settings_refuse_an_inline_token_and_plain_http(harness):
    bad = {**harness.settings, "access_token": TOKEN, "api_base": "http://example.com/x"}
    problems = dict(BigCommerceAdapter.check_settings(bad))
    assert "access_token" in problems and "api_base" in problems
    assert all(TOKEN not in what for what in problems.values())
    overlap = {**harness.settings, "ready_status_ids": [11, 5]}
    assert "cancelled_status_ids" in dict(BigCommerceAdapter.check_settings(overlap))


# -- the online check -------------------------------------------------------------------


def probe_with(harness, **settings) -> list[tuple[str, str]]:
    adapter = BigCommerceAdapter.from_settings({**harness.settings, **settings}, secrets.resolve)
    try:
        return adapter.probe()
    finally:
        adapter.close()


def test_probe_names_a_wrong_location_and_lists_the_stores_locations(harness, fake):
    fake.locations[2] = location_record(2, "Amazon FBA")
    problems = probe_with(harness, location_id=7)
    assert [key for key, _what in problems] == ["location_id"]
    assert "7 is not a location of this store; locations are: Default location (1), Amazon FBA (2)" \
        in problems[0][1]
    assert probe_with(harness, location_id=2) == []


def test_probe_names_a_disabled_location(harness, fake):
    fake.locations[1]["enabled"] = False
    [(key, what)] = probe_with(harness)
    assert key == "location_id" and "is disabled" in what


def test_probe_names_a_refused_token_without_it(harness):
    [(key, what)] = probe_with(harness, access_token=f"env:{TOKEN_ENV}_WRONG")
    assert key == "access_token" and "bc-wrong-token" not in what and TOKEN not in what


# -- pages -----------------------------------------------------------------------------


def test_no_orders_is_a_204_and_one_empty_page(harness, fake):
    adapter = harness.adapter()
    page = adapter.fetch_orders(at(0), at(10), None, 50)
    adapter.close()
    assert page.orders == [] and page.next_page is None
    assert [r.status for r in fake.requests("GET", "/v2/orders")] == [204]


def test_order_in_a_second_that_straddles_the_window_edge(harness):
    # Bounds with fractions of a second: the store filters whole seconds, inclusively.
    inside = harness.create_order("#2101", [LineSpec("MUG-BLUE")], updated_at=at(1))
    harness.create_order("#2102", [LineSpec("MUG-BLUE")], updated_at=at(0))
    adapter = harness.adapter()
    start, end = at(0) + timedelta(milliseconds=500), at(1) + timedelta(milliseconds=500)
    assert ids_in(fetch_all(adapter, start, end, 10)) == [inside]
    adapter.close()


def test_order_calls_per_page(harness, fake):
    for i in range(5):
        harness.create_order(f"#22{i:02d}", [LineSpec("MUG-BLUE"), LineSpec("TEE-M")],
                             updated_at=at(i))
    harness.create_order("#2299", [LineSpec("E-BOOK", requires_shipping=False)], updated_at=at(6))
    adapter = harness.adapter()
    before = adapter.http.calls
    page = adapter.fetch_orders(at(0), at(100), None, 50)
    adapter.close()
    assert len(page.orders) == 6 and page.next_page is None
    # 1 list + per order its products + its address (none for the digital-only order).
    assert adapter.http.calls - before == 1 + 5 * 2 + 1


def test_split_ship_to_order_has_no_address(harness, fake):
    order_id = int(harness.create_order("#2301", [LineSpec("MUG-BLUE"), LineSpec("TEE-M")],
                                        updated_at=at(0)))
    second = fake.new_id()
    fake.addresses[order_id].append(fake._address_row(order_id, second, address_fields(SHIP_TO)))
    fake.products[order_id][1]["order_address_id"] = second
    adapter = harness.adapter()
    [order] = [o for page in fetch_all(adapter, at(0), at(1), 10) for o in page]
    adapter.close()
    assert order.address is None  # the mapping sends it to a person


def test_orders_shipped_by_bridge_stay_paid_and_merchant_shipped_do_not(harness, fake):
    ours = harness.create_order("#2401", [LineSpec("MUG-BLUE")], updated_at=at(0))
    theirs = harness.create_order("#2402", [LineSpec("MUG-BLUE")], updated_at=at(0))
    adapter = harness.adapter()
    before = {o.order_id: o for page in fetch_all(adapter, at(0), at(1), 10) for o in page}
    assert adapter.push_shipment(before[ours], shipment(1, "1ZOURS", before[ours]), notify=True)
    order = int(theirs)
    fake.shipments[order].append({"tracking_number": "MERCHANT1", "comments": ""})
    fake.set_status(order, 2, at(20))
    fake.orders[int(ours)]["date_modified"] = fake.orders[order]["date_modified"]
    after = {o.order_id: o for page in fetch_all(adapter, at(10), at(30), 10) for o in page}
    adapter.close()
    assert after[ours].paid and after[ours].content_hash() == before[ours].content_hash()
    assert after[theirs].paid is False


# -- rate limits -----------------------------------------------------------------------


def test_the_quota_headers_are_obeyed_before_any_429(harness, fake):
    fake.limit.quota = fake.limit.left = 5
    fake.limit.window_ms = 200
    for i in range(8):
        harness.create_order(f"#25{i:02d}", [LineSpec("MUG-BLUE")], updated_at=at(i))
    adapter = harness.adapter()
    pages = fetch_all(adapter, at(0), at(10), 3)
    adapter.close()
    assert len(ids_in(pages)) == 8
    assert fake.throttled == 0
    assert adapter.http.waited > 0


def test_a_429_waits_the_reset_time_then_succeeds(harness, fake):
    fake.limit.window_ms = 400
    fake.limit.forced_429 = 1  # another app spent the store's budget
    harness.create_order("#2601", [LineSpec("MUG-BLUE")], updated_at=at(0))
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    adapter = harness.adapter(sleep=sleep)
    assert len(ids_in(fetch_all(adapter, at(0), at(1), 10))) == 1
    adapter.close()
    assert fake.throttled == 1
    assert slept and slept[0] >= 0.2  # X-Rate-Limit-Time-Reset-Ms of the 429, not a guess


# -- stock -----------------------------------------------------------------------------


def test_2500_skus_cost_two_writes_and_nothing_else_once_resolved(harness, fake):
    fake.limit.quota = fake.limit.left = 1000
    skus = [f"SKU-{i:05d}" for i in range(2500)]
    harness.prepare_skus(skus)
    adapter = harness.adapter()
    adapter.set_stock([StockLevel(s, 1) for s in skus])
    lookups = len(fake.requests("GET", "/v3/catalog/variants"))
    assert len(fake.requests("PUT", "/v3/inventory/adjustments/absolute")) == 2
    assert lookups <= -(-2500 // 140)  # SKUs resolved in URL-sized chunks, not one by one
    before = adapter.http.calls
    adapter.set_stock([StockLevel(s, 2) for s in skus])  # cache warm
    adapter.close()
    assert adapter.http.calls - before == 2
    sizes = [len(r.body["items"]) for r in fake.requests("PUT", "/v3/inventory/adjustments/absolute")]
    assert sizes == [2000, 500, 2000, 500]
    assert set(harness.stock().values()) == {2}


def stock_reads(fake: BigCommerceFake) -> list:
    return fake.requests("GET", "/v3/inventory/locations/1/items")


def test_stock_reads_match_the_published_spec(harness, fake):
    harness.prepare_skus(["MUG-BLUE", "TEE-M"])
    adapter = harness.adapter()
    adapter.set_stock([StockLevel("MUG-BLUE", 3), StockLevel("TEE-M", 0)])
    assert adapter.get_stock(["MUG-BLUE", "TEE-M", "NOT-IN-SHOP"]) == {"MUG-BLUE": 3, "TEE-M": 0}
    adapter.close()
    document = yaml.load((SPEC_DIR / "inventory.v3.yml").read_text(),
                         Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    operation = document["paths"]["/inventory/locations/{location_id}/items"]["get"]
    names = {p["name"] for ref in operation["parameters"]
             for p in [document["components"]["parameters"][ref["$ref"].rsplit("/", 1)[1]]]
             if p["in"] == "query"}
    [read] = stock_reads(fake)
    assert set(read.query) <= names and read.accept == "application/json"
    # The fake answers in the documented shape, so the adapter is tested against it.
    answer = requests.get(f"{harness.settings['api_base'].format(store_hash=fake.store_hash)}"
                          "/v3/inventory/locations/1/items", params=read.query,
                          headers={"X-Auth-Token": TOKEN}).json()
    item_schema = spec_validator("inventory.v3.yml", "LocationItemsResponse")
    for item in answer["data"]:
        item_schema.validate(item)
    spec_validator("inventory.v3.yml", "Meta").validate(answer["meta"])


def test_reading_needs_no_catalog_lookup_and_fits_the_url(harness, fake):
    fake.limit.quota = fake.limit.left = 1000
    skus = [f"LONG-SKU-FOR-URL-{i:05d}" for i in range(1200)]
    harness.prepare_skus(skus)
    for i, sku in enumerate(skus):
        harness.edit_stock(sku, i % 9)
    adapter = harness.adapter()
    assert adapter.get_stock(skus) == {sku: i % 9 for i, sku in enumerate(skus)}
    adapter.close()
    assert fake.requests("GET", "/v3/catalog/variants") == []
    asked = [r.query["sku:in"].split(",") for r in stock_reads(fake)]
    assert sorted(s for chunk in asked for s in chunk) == skus  # each SKU asked once
    assert all(len(quote(",".join(chunk), safe="")) <= 1800 for chunk in asked)
    assert len(asked) == len(list(sku_chunks(skus, READ_PAGE)))


def test_stock_read_is_on_hand_whatever_the_safety_stock(harness, fake):
    harness.prepare_skus(["MUG-BLUE"])
    fake.safety_stock["MUG-BLUE"] = 2
    adapter = harness.adapter()
    adapter.set_stock([StockLevel("MUG-BLUE", 10)])
    # What an absolute adjustment set, not the 8 a shopper can buy.
    assert adapter.get_stock(["MUG-BLUE"]) == {"MUG-BLUE": 10}
    adapter.close()


def test_stock_read_at_an_unknown_location_needs_attention(harness, fake):
    harness.prepare_skus(["MUG-BLUE"])
    adapter = BigCommerceAdapter.from_settings({**harness.settings, "location_id": 7},
                                               secrets.resolve)
    with pytest.raises(NeedsAttentionError) as caught:
        adapter.get_stock(["MUG-BLUE"])
    adapter.close()
    assert "404" in str(caught.value)


def test_a_malformed_inventory_answer_needs_attention(harness, fake):
    harness.prepare_skus(["MUG-BLUE"])
    harness.edit_stock("MUG-BLUE", "lots")
    adapter = harness.adapter()
    with pytest.raises(NeedsAttentionError) as caught:
        adapter.get_stock(["MUG-BLUE"])
    adapter.close()
    assert "MUG-BLUE" in str(caught.value)


def test_unknown_skus_are_skipped_not_sent(harness, fake):
    harness.prepare_skus(["KNOWN-1"])
    adapter = harness.adapter()
    adapter.set_stock([StockLevel("KNOWN-1", 4), StockLevel("NOT-IN-SHOP", 7)])
    adapter.close()
    [put] = fake.requests("PUT", "/v3/inventory/adjustments/absolute")
    assert len(put.body["items"]) == 1 and harness.stock() == {"KNOWN-1": 4}


# -- replay ----------------------------------------------------------------------------


class VirtualClock:
    """The store's clock, moved only by the adapter's waits."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_replay_of_a_long_throttled_walk_sees_each_order_once(harness, fake):
    # ~760 calls against 50 per 0.5 s of the store's own (virtual) clock: the quota runs
    # out after every 50 calls, however busy the machine is.
    clock = VirtualClock()
    fake.limit.clock, fake.limit.window_start = clock, None
    fake.limit.quota = fake.limit.left = 50
    fake.limit.window_ms = 500
    fake.limit.forced_429 = 1
    created = []
    for i in range(360):
        # Bursts: groups of up to 70 orders share one second.
        second = (i // 70) * 7 + (i % 3 if i % 70 > 60 else 0)
        created.append(harness.create_order(f"{30000 + i}", [LineSpec("MUG-BLUE"), LineSpec("TEE-M")],
                                            updated_at=at(second)))
    past_end = harness.create_order("39999", [LineSpec("MUG-BLUE")], updated_at=at(100))
    adapter = harness.adapter(sleep=clock.sleep, clock=clock)
    seen, token, pages = [], None, 0
    while True:
        page = adapter.fetch_orders(at(0), at(100), token, 50)
        pages += 1
        seen += [o.order_id for o in page.orders]
        if pages == 2:
            # Orders change while the walk runs: one not yet read moves later in the window.
            unread = next(o for o in created if o not in seen)
            fake.orders[int(unread)]["date_modified"] = fake.orders[int(created[-1])]["date_modified"]
        token = page.next_page
        if token is None:
            break
    adapter.close()
    assert sorted(seen) == sorted(created) and len(seen) == len(set(seen))
    assert past_end not in seen
    assert pages == -(-len(created) // 50)
    assert fake.throttled == 1 and adapter.http.waited > 0


# -- the order's later life ------------------------------------------------------------


def read_one(adapter: BigCommerceAdapter, order_id: str):
    [order] = [o for page in fetch_all(adapter, at(-10), at(10), 10) for o in page
               if o.order_id == order_id]
    return order


def test_a_cancel_is_one_spec_shaped_write_of_status_and_reason(harness, fake):
    order_id = harness.create_order("#2701", [LineSpec("MUG-BLUE", 2)], updated_at=at(0))
    fake.orders[int(order_id)]["staff_notes"] = "Gift: no invoice in the box"
    adapter = harness.adapter()
    order = read_one(adapter, order_id)
    request = CancelRequest("Amazon has no stock of MUG-BLUE.")
    assert adapter.cancel_order(order, request) is True
    assert adapter.cancel_order(order, request) is False
    adapter.close()
    [put] = fake.requests("PUT", f"/v2/orders/{order_id}")
    spec_validator("orders.v2.oas2.yml", "order_Put").validate(put.body)
    assert put.body["status_id"] == 5
    notes = fake.orders[int(order_id)]["staff_notes"].splitlines()
    assert notes[0] == "Gift: no invoice in the box" and len(notes) == 2
    assert "Amazon has no stock of MUG-BLUE." in notes[1] and "No refund" in notes[1]
    assert fake.orders[int(order_id)]["status"] == "Cancelled"


def test_a_cancel_retried_after_the_status_was_undone_writes_the_reason_once(harness, fake):
    order_id = harness.create_order("#2702", [LineSpec("MUG-BLUE")], updated_at=at(0))
    adapter = harness.adapter()
    order = read_one(adapter, order_id)
    request = CancelRequest("Amazon could not reach the address.")
    assert adapter.cancel_order(order, request) is True
    fake.set_status(int(order_id), 11, at(700))  # reopened: the next cancel is a new write
    assert adapter.cancel_order(order, request) is True
    adapter.close()
    assert len(fake.orders[int(order_id)]["staff_notes"].splitlines()) == 1
    assert fake.orders[int(order_id)]["status_id"] == 5


def test_refunded_or_declined_orders_and_line_cancels_are_left_alone(harness, fake):
    refunded = harness.create_order("#2703", [LineSpec("MUG-BLUE")], updated_at=at(0))
    split = harness.create_order("#2704", [LineSpec("MUG-BLUE"), LineSpec("TEE-M")],
                                 updated_at=at(0))
    adapter = harness.adapter()
    orders = {o.order_id: o for page in fetch_all(adapter, at(0), at(1), 10) for o in page}
    fake.set_status(int(refunded), 4, at(5))
    assert adapter.cancel_order(orders[refunded], CancelRequest("Amazon cancelled it.")) is False
    tee = orders[split].lines[1]
    lines = (ShippedLine(tee.line_id, tee.sku, 1),)
    assert adapter.cancel_order(orders[split], CancelRequest("Partly shipped.", lines=lines)) is False
    adapter.close()
    assert [r for r in fake.log if r.method == "PUT"] == []


def test_a_milestone_goes_into_its_shipments_comments(harness, fake):
    order_id = harness.create_order("#2705", [LineSpec("MUG-BLUE", 2)], updated_at=at(0))
    adapter = harness.adapter()
    order = read_one(adapter, order_id)
    first, second = shipment(1, "1ZCOMMENT1", order), shipment(2, "1ZCOMMENT2", order)
    adapter.push_shipment(order, first, notify=False)
    adapter.push_shipment(order, second, notify=False)
    failed = DeliveryUpdate(second, Milestone.DELIVERY_FAILED, at(9000), "Address not found")
    assert adapter.push_delivery(order, failed) is True
    [put] = fake.requests("PUT", f"/v2/orders/{order_id}/shipments/"
                          f"{fake.shipments[int(order_id)][1]['id']}")
    spec_validator("orders.v2.oas2.yml", "orderShipment_Put").validate(put.body)
    assert set(put.body) == {"comments"}
    untouched, written = fake.shipments[int(order_id)]
    assert untouched["comments"] == "bridge: package 1"
    assert written["comments"].splitlines() == [
        "bridge: package 2",
        "Could not be delivered on 2024-05-01 14:30 UTC (Address not found). "
        "[bridge:delivery:1ZCOMMENT2:delivery_failed]"]
    # The order still reads as shipped by bridge, and nothing else changed.
    after = [o for page in fetch_all(adapter, at(500), at(700), 10) for o in page]
    adapter.close()
    assert [o.paid for o in after] == [True]
    assert fake.orders[int(order_id)]["staff_notes"] == ""


def test_a_milestone_for_a_shipment_gone_since_is_a_staff_note(harness, fake):
    order_id = harness.create_order("#2706", [LineSpec("MUG-BLUE")], updated_at=at(0))
    adapter = harness.adapter()
    order = read_one(adapter, order_id)
    package = shipment(1, "1ZDELETED", order)
    adapter.push_shipment(order, package, notify=False)
    fake.shipments[int(order_id)].clear()  # the merchant deleted the shipment
    delivered = DeliveryUpdate(package, Milestone.DELIVERED, at(7200))
    assert adapter.push_delivery(order, delivered) is True
    assert adapter.push_delivery(order, delivered) is False
    adapter.close()
    [note] = fake.orders[int(order_id)]["staff_notes"].splitlines()
    assert note.startswith("Package 1 (UPS tracking 1ZDELETED) was delivered on ")
    assert harness.delivery_marks(order_id) == [("1ZDELETED", "delivered")]


def test_return_notes_name_the_shops_products(harness, fake):
    order_id = harness.create_order("#2707", [LineSpec("MUG-BLUE", 2)], updated_at=at(0))
    fake.products[int(order_id)][0]["name"] = "Blue Enamel Mug"
    adapter = harness.adapter()
    order = read_one(adapter, order_id)
    line = order.lines[0]
    update = ReturnUpdate("RMA-2707", ReturnStage.AUTHORIZED, (ShippedLine(line.line_id, line.sku, 1),),
                          label_url="https://example.com/label/RMA-2707", reason="Damaged")
    assert adapter.push_return(order, update) is True
    adapter.close()
    [note] = fake.orders[int(order_id)]["staff_notes"].splitlines()
    assert "RMA-2707 authorized by Amazon for Blue Enamel Mug (MUG-BLUE) × 1. Reason: Damaged." in note
    assert "https://example.com/label/RMA-2707" in note
    [put] = fake.requests("PUT", f"/v2/orders/{order_id}")
    spec_validator("orders.v2.oas2.yml", "order_Put").validate(put.body)
