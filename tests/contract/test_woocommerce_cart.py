"""The WooCommerce adapter through the contract suite, against the WooCommerce fake over
real HTTP, plus what only WooCommerce shows: HTTPS-only settings, variation stock,
batch limits, tracking through notes, and paging while the store changes under us."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
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
from fakes.server import FakeServer
from fakes.woocommerce_fake import FIXTURES, WooStore, create_app

from bridge import secrets
from bridge.carts.contract import (
    CancelRequest,
    DeliveryUpdate,
    Milestone,
    ReturnStage,
    ReturnUpdate,
)
from bridge.carts.woocommerce import WooCommerceAdapter
from bridge.carts.woocommerce.mapping import ProductFacts, to_cart_order
from bridge.domain.model import Address, PaymentStatus, ShippedLine, StockLevel
from bridge.errors import ConfigError, FatalError, IndeterminateError, NeedsAttentionError


def no_sleep(_seconds: float) -> None:
    """Backoff waits are the fake's Retry-After (0) or jitter; tests need neither."""


class WooHarness(CartHarness):
    def __init__(self, store: WooStore, base_url: str, folder: Path, **settings) -> None:
        self.store = store
        self.base_url = base_url
        self.folder = folder
        self.settings = {
            "platform": "woocommerce",
            "url": base_url,
            "consumer_key": self._secret_file("key", store.consumer_key),
            "consumer_secret": self._secret_file("secret", store.consumer_secret),
            **settings,
        }

    def _secret_file(self, name: str, value: str) -> str:
        path = self.folder / name
        path.write_text(value)
        return f"file:{path}"

    def adapter(self, **overrides) -> WooCommerceAdapter:
        return WooCommerceAdapter.from_settings({**self.settings, **overrides}, secrets.resolve,
                                                sleep=no_sleep)

    def create_order(self, number: str, lines: Sequence[LineSpec], *, updated_at: datetime,
                     paid: bool = True, address: Address = SHIP_TO) -> str:
        for line in lines:
            if self.store.product_by_sku(line.sku) is None:
                digital = not line.requires_shipping
                self.store.add_product(line.sku, virtual=digital, downloadable=digital)
        order_id = self.store.add_order(
            number, [(line.sku, line.quantity) for line in lines], modified=updated_at,
            status="processing" if paid else "pending", shipping=shipping_of(address))
        return str(order_id)

    def edit_order(self, order_id: str, *, address: Address, updated_at: datetime) -> None:
        order = self.store.orders[int(order_id)]
        self.store.touch(int(order_id), updated_at, shipping={**order["shipping"], **shipping_of(address)})

    def cancel_order(self, order_id: str, *, updated_at: datetime) -> None:
        self.store.touch(int(order_id), updated_at, status="cancelled")

    def shipments(self) -> list[RecordedShipment]:
        return [RecordedShipment(str(order_id), item["tracking_number"], item["tracking_provider"])
                for order_id, items in self.store.trackings.items() for item in items]

    def stock(self) -> dict[str, int]:
        return {p["sku"]: p["stock_quantity"] for p in self.store.products.values()
                if p["manage_stock"]}

    def edit_stock(self, sku: str, quantity: int) -> None:
        with self.store.lock:
            product = self.store.product_by_sku(sku)
            product.update(manage_stock=True, stock_quantity=quantity,
                           stock_status="instock" if quantity > 0 else "outofstock")

    def notes(self) -> list[tuple[str, str]]:
        return [(str(order_id), note["note"])
                for order_id, notes in self.store.notes.items() for note in notes]

    def prepare_skus(self, skus: Sequence[str]) -> None:
        for sku in skus:
            if self.store.product_by_sku(sku) is None:
                self.store.add_product(sku)

    # -- what rules read, and the lifecycle writes (WooCommerce has no order tags)

    def create_detailed_order(self, number: str, lines: Sequence[LineSpec], *,
                              updated_at: datetime, total: str, currency: str,
                              customer_note: str, tags: Sequence[str] = (),
                              payment: str = PaymentStatus.PAID) -> str:
        order_id = self.create_order(number, lines, updated_at=updated_at)
        order = self.store.orders[int(order_id)]
        order.update(total=total, currency=currency, customer_note=customer_note)
        if payment == PaymentStatus.AUTHORIZED:
            # What an authorize-only card gateway leaves: on-hold, the charge's id, and
            # its "not captured" flag.
            order.update(status="on-hold", payment_method="stripe",
                         payment_method_title="Credit Card (Stripe)",
                         transaction_id="ch_3PAbCdEfGh", date_paid=None, date_paid_gmt=None)
            order["meta_data"].append({"id": self.store.new_id(),
                                       "key": "_stripe_charge_captured", "value": "no"})
        return order_id

    def cancellation(self, order_id: str) -> tuple[bool, dict[str, int]]:
        # WooCommerce cancels whole orders; a line only leaves through a refund.
        refunded = {str(item["id"]): 0 for item in self.store.orders[int(order_id)]["line_items"]}
        return self.store.orders[int(order_id)]["status"] == "cancelled", refunded

    def delivery_marks(self, order_id: str) -> list[tuple[str, str]]:
        return self._marks(order_id, "delivery")

    def return_marks(self, order_id: str) -> list[tuple[str, str]]:
        return self._marks(order_id, "return")

    def _marks(self, order_id: str, kind: str) -> list[tuple[str, str]]:
        """The keys ending the private notes the merchant sees on the order."""
        pattern = re.compile(rf"\[bridge:{kind}:(\S+):(\w+)\]$")
        return [(m.group(1), m.group(2)) for note in self.store.notes.get(int(order_id), [])
                if not note["customer_note"] and (m := pattern.search(note["note"]))]

    def adapter_with_bad_credentials(self) -> WooCommerceAdapter:
        return self.adapter(consumer_secret=self._secret_file("wrong", "cs_not_the_right_one"))

    def adapter_for_unreachable_store(self) -> WooCommerceAdapter:
        # Port 1 on the loopback: refused at once, no timeout to wait for.
        return self.adapter(url="http://127.0.0.1:1")


def shipping_of(address: Address) -> dict:
    first, _, last = address.name.partition(" ")
    return {"first_name": first, "last_name": last, "company": "", "address_1": address.line1,
            "address_2": address.line2, "city": address.city, "state": address.state,
            "postcode": address.postal_code, "country": address.country_code,
            "phone": address.phone}


@pytest.fixture(scope="module")
def served():
    """One fake server per module; each test gets a fresh store behind it."""
    holder = {}

    async def app(scope, receive, send):
        await holder["app"](scope, receive, send)

    with FakeServer(app) as server:
        yield server, holder


@pytest.fixture
def store(served) -> WooStore:
    _server, holder = served
    # The store stamps bridge's writes on its own clock, inside the suite's windows.
    store = WooStore(clock=lambda: at(600))
    holder["app"] = create_app(store)
    return store


@pytest.fixture
def harness(served, store, tmp_path) -> WooHarness:
    server, _ = served
    return WooHarness(store, server.base_url, tmp_path)


@pytest.fixture
def adapter(harness):
    adapter = harness.adapter()
    yield adapter
    adapter.close()


class TestWooCommerceCart(CartContract):
    pass


# -- settings ---------------------------------------------------------------------------


def test_plain_http_store_is_refused(harness):
    settings = {**harness.settings, "url": "http://shop.example.com"}
    problems = WooCommerceAdapter.check_settings(settings)
    assert [key for key, _ in problems] == ["url"] and "https" in problems[0][1]
    with pytest.raises(ConfigError) as caught:
        WooCommerceAdapter.from_settings(settings, secrets.resolve)
    assert "cart.url" in str(caught.value)


@pytest.mark.parametrize("url", ["https://shop.example.com", "http://localhost:8080",
                                 "http://127.0.0.1:9000/", "http://[::1]:8080"])
def test_https_and_loopback_urls_are_accepted(harness, url):
    assert WooCommerceAdapter.check_settings({**harness.settings, "url": url}) == []


def test_settings_problems_never_echo_a_secret(harness):
    inline = "cs_this_is_the_real_secret_value"
    problems = WooCommerceAdapter.check_settings({**harness.settings, "consumer_secret": inline,
                                                  "tracking": "email", "color": 1})
    assert {key for key, _ in problems} == {"consumer_secret", "tracking", "color"}
    assert inline not in repr(problems)
    wrong_kind = harness._secret_file("swapped", harness.store.consumer_secret)
    with pytest.raises(ConfigError) as caught:
        WooCommerceAdapter.from_settings({**harness.settings, "consumer_key": wrong_kind},
                                         secrets.resolve)
    assert harness.store.consumer_secret not in str(caught.value)


def test_refused_credentials_name_no_secret(harness):
    adapter = harness.adapter_with_bad_credentials()
    with pytest.raises(FatalError) as caught:
        adapter.fetch_orders(at(0), at(10), None, 10)
    adapter.close()
    assert caught.value.reason == "cart_credentials"
    assert "Consumer secret is invalid" in str(caught.value)
    for value in (harness.store.consumer_key, "cs_not_the_right_one"):
        assert value not in str(caught.value)


def test_probe_names_a_bad_key(harness):
    adapter = harness.adapter(consumer_key=harness._secret_file("wrong-key", "ck_not_the_right_one"))
    problems = adapter.probe()
    adapter.close()
    assert [key for key, _what in problems] == ["consumer_key"]
    assert "Consumer key is invalid" in problems[0][1] and "Read/Write" in problems[0][1]
    assert "ck_not_the_right_one" not in problems[0][1]


def test_probe_names_a_missing_tracking_extension_only_when_it_is_used(harness):
    harness.store.tracking_extension = False
    for tracking, expected in (("shipment-tracking", ["tracking"]), ("notes", [])):
        adapter = harness.adapter(tracking=tracking)
        assert [key for key, _what in adapter.probe()] == expected
        adapter.close()


# -- reading ----------------------------------------------------------------------------


def test_documented_order_payload_maps_to_a_cart_order():
    data = json.loads((FIXTURES / "order.json").read_text())
    facts = {93: ProductFacts(requires_shipping=True, sku="WOO-SINGLE-1"),
             23: ProductFacts(requires_shipping=False, sku="Bar3")}
    order = to_cart_order(data, facts, ("processing",), ("cancelled",))
    assert (order.order_id, order.number, order.paid, order.cancelled) == ("727", "727", True, False)
    # The store runs at UTC−3: only the *_gmt fields give the right instant.
    assert order.updated_at == datetime(2017, 3, 22, 19, 28, 8, tzinfo=UTC)
    assert [(line.line_id, line.sku, line.quantity, line.requires_shipping) for line in order.lines] == [
        ("315", "WOO-SINGLE-1", 2, True), ("316", "Bar3", 1, False)]
    assert order.address and (order.address.name, order.address.postal_code) == ("John Doe", "94103")
    assert order.address.phone == "(555) 555-5555"  # billing's, as the shipping block has none
    assert (order.shipping_method, order.email) == ("Flat Rate", "john.doe@example.com")


def test_window_bounds_between_whole_seconds(harness, adapter):
    order_id = harness.create_order("#1500", [LineSpec("MUG-BLUE")], updated_at=at(5))
    assert ids_in(fetch_all(adapter, at(4.5), at(5.5), 10)) == [order_id]
    assert ids_in(fetch_all(adapter, at(5.5), at(9), 10)) == []
    assert ids_in(fetch_all(adapter, at(1), at(4.999), 10)) == []


def test_product_flags_are_fetched_once_per_adapter(harness, adapter):
    harness.store.add_variable_product("TEE", ["TEE-S", "TEE-L"])
    for i in range(5):
        harness.create_order(f"#16{i:02d}", [LineSpec("MUG-BLUE"), LineSpec("TEE-L", 2)],
                             updated_at=at(i))
    orders = [o for page in fetch_all(adapter, at(0), at(10), 2) for o in page]
    assert len(orders) == 5 and all(line.requires_shipping for o in orders for line in o.lines)
    assert harness.store.count("GET", "/products") == 2  # one for products, one for variations


def test_a_crowded_second_is_swept_by_id(harness, adapter):
    created = {harness.create_order(f"#2{i:03d}", [LineSpec("MUG-BLUE")], updated_at=at(7))
               for i in range(130)}
    pages = fetch_all(adapter, at(0), at(10), 10)
    seen = ids_in(pages)
    assert len(seen) == len(set(seen)) and set(seen) == created
    assert any(r[2].get("orderby") == "id" for r in harness.store.requests)
    assert max(int(r[2].get("per_page", 0)) for r in harness.store.requests) <= 100


def test_a_sweep_steps_back_over_orders_edited_away(harness, adapter):
    """While a crowded second is swept by offset, the merchant edits its first orders
    (moving them after the window): the offset steps back, so nothing is jumped over."""
    store = harness.store
    created = [harness.create_order(f"#4{i:03d}", [LineSpec("MUG-BLUE")], updated_at=at(7))
               for i in range(150)]
    store.clock = lambda: at(50)
    edited: set[str] = set()
    sweeps = {"n": 0}

    def edit_first_of_the_second(s: WooStore, query: dict) -> None:
        sweeps["n"] += query.get("orderby") == "id"
        if query.get("orderby") == "id" and sweeps["n"] % 2:
            first = min(i for i, o in s.orders.items() if o["date_modified_gmt"].endswith(":07"))
            s.touch(first)
            edited.add(str(first))

    store.on_order_list = edit_first_of_the_second
    seen = ids_in(fetch_all(adapter, at(0), at(10), 10))
    store.on_order_list = None
    assert len(seen) == len(set(seen))
    assert set(created) - edited <= set(seen)
    assert set(ids_in(fetch_all(adapter, at(10), at(60), 100))) == edited
    assert len(edited) >= 5


# -- writing ----------------------------------------------------------------------------


def test_variation_stock_is_batched_under_its_parent(harness, adapter):
    parent, variations = harness.store.add_variable_product("TEE", ["TEE-S", "TEE-L"])
    harness.prepare_skus(["MUG-BLUE", "CAP"])
    adapter.set_stock([StockLevel("TEE-S", 4), StockLevel("MUG-BLUE", 9), StockLevel("TEE-L", 0),
                       StockLevel("CAP", 2)])
    assert harness.stock() == {"TEE-S": 4, "TEE-L": 0, "MUG-BLUE": 9, "CAP": 2}
    assert harness.store.count("POST", "/products/batch") == 1
    assert harness.store.count("POST", f"/products/{parent}/variations/batch") == 1


def test_250_skus_take_three_batches(harness, adapter):
    skus = [f"BULK-{i:04d}" for i in range(250)]
    harness.prepare_skus(skus)
    adapter.set_stock([StockLevel(sku, i % 7) for i, sku in enumerate(skus)])
    assert harness.store.count("POST", "/products/batch") == 3
    assert harness.stock() == {sku: i % 7 for i, sku in enumerate(skus)}
    adapter.set_stock([StockLevel(skus[0], 11)])  # SKUs are known now: no lookup
    lookups = [r for r in harness.store.requests if r[0] == "GET" and "sku" in r[2]]
    assert len(lookups) == 5 and harness.stock()[skus[0]] == 11


def test_unknown_skus_are_skipped_and_deleted_products_reported(harness, adapter):
    harness.prepare_skus(["MUG-BLUE", "CAP"])
    adapter.set_stock([StockLevel("MUG-BLUE", 3), StockLevel("NOT-IN-STORE", 5)])
    assert harness.stock() == {"MUG-BLUE": 3}
    adapter.set_stock([StockLevel("CAP", 1)])
    del harness.store.products[harness.store.product_by_sku("CAP")["id"]]
    with pytest.raises(NeedsAttentionError) as caught:
        adapter.set_stock([StockLevel("CAP", 2), StockLevel("MUG-BLUE", 4)])
    assert "CAP" in str(caught.value) and harness.stock()["MUG-BLUE"] == 4


def stock_reads(store: WooStore) -> list[dict]:
    return [r[2] for r in store.requests if r[0] == "GET" and "stock_quantity" in r[2].get("_fields", "")]


def test_variation_stock_is_read_with_products_in_one_request(harness, adapter):
    harness.store.add_variable_product("TEE", ["TEE-S", "TEE-L"])
    harness.prepare_skus(["MUG-BLUE"])
    adapter.set_stock([StockLevel("TEE-S", 4), StockLevel("MUG-BLUE", 9), StockLevel("TEE-L", 0)])
    reader = harness.adapter()
    assert reader.get_stock(["TEE-S", "MUG-BLUE", "TEE-L", "TEE"]) == {"TEE-S": 4, "MUG-BLUE": 9,
                                                                       "TEE-L": 0}
    assert len(stock_reads(harness.store)) == 1
    # The read taught the adapter where each SKU lives: writing needs no lookup now.
    before = len(harness.store.requests)
    reader.set_stock([StockLevel("TEE-S", 5)])
    assert [r[0] for r in harness.store.requests[before:]] == ["POST"]
    reader.close()


def test_250_skus_are_read_in_three_requests(harness, adapter):
    skus = [f"READ-{i:04d}" for i in range(250)]
    harness.prepare_skus(skus)
    adapter.set_stock([StockLevel(sku, i % 5) for i, sku in enumerate(skus)])
    assert adapter.get_stock(skus) == {sku: i % 5 for i, sku in enumerate(skus)}
    reads = stock_reads(harness.store)
    assert [len(r["sku"].split(",")) for r in reads] == [100, 100, 50]
    assert all(r["per_page"] == "100" for r in reads)


def test_stock_the_shop_does_not_keep_is_left_out(harness, adapter):
    harness.prepare_skus(["UNMANAGED"])
    parent, _ = harness.store.add_variable_product("HOODIE", ["HOODIE-S", "HOODIE-M"])
    # The parent keeps the stock of every size: no size has a quantity of its own.
    harness.store.products[parent].update(manage_stock=True, stock_quantity=30)
    assert adapter.get_stock(["UNMANAGED", "HOODIE-S", "HOODIE-M", "HOODIE"]) == {"HOODIE": 30}


def test_skus_with_a_comma_are_never_sent(harness, adapter):
    harness.prepare_skus(["CAP", "RED", "CAP,RED"])
    for sku in ("CAP", "RED", "CAP,RED"):
        harness.edit_stock(sku, 6)
    # WooCommerce matches "CAP,RED" for the list of CAP and RED, too: it must not count.
    assert adapter.get_stock(["CAP", "RED", "CAP,RED"]) == {"CAP": 6, "RED": 6}
    assert [r["sku"] for r in stock_reads(harness.store)] == ["CAP,RED"]
    assert adapter.get_stock(["CAP,RED"]) == {} and len(stock_reads(harness.store)) == 1


def test_a_stock_quantity_that_is_no_number_needs_attention(harness, adapter):
    harness.prepare_skus(["MUG-BLUE"])
    harness.edit_stock("MUG-BLUE", 3)
    harness.store.product_by_sku("MUG-BLUE")["stock_quantity"] = "lots"
    with pytest.raises(NeedsAttentionError) as caught:
        adapter.get_stock(["MUG-BLUE"])
    assert "MUG-BLUE" in str(caught.value)


def test_tracking_through_notes(harness):
    adapter = harness.adapter(tracking="notes")
    order_id = harness.create_order("#1700", [LineSpec("MUG-BLUE", 2)], updated_at=at(0))
    [order] = [o for page in fetch_all(adapter, at(0), at(1), 10) for o in page]
    assert adapter.push_shipment(order, shipment(1, "1ZNOTE1", order), notify=True) is True
    assert adapter.push_shipment(order, shipment(1, "1ZNOTE1", order), notify=True) is False
    # A number that merely starts like a written one is a different package.
    assert adapter.push_shipment(order, shipment(2, "1ZNOTE", order), notify=False) is True
    notes = harness.store.notes[int(order_id)]
    assert [(n["customer_note"], "1ZNOTE1" in n["note"]) for n in notes] == [(True, True), (False, False)]
    assert "https://www.ups.com/track?tracknum=1ZNOTE1" in notes[0]["note"]
    assert harness.store.orders[int(order_id)]["status"] == "completed"
    assert harness.store.trackings == {}
    adapter.close()


def test_order_completes_only_when_every_shippable_line_shipped(harness, adapter):
    order_id = harness.create_order(
        "#1701", [LineSpec("MUG-BLUE", 2), LineSpec("GIFT-CARD", requires_shipping=False)],
        updated_at=at(0))
    order = [o for page in fetch_all(adapter, at(0), at(1), 10) for o in page][0]
    assert adapter.push_shipment(order, shipment(1, "1ZHALF", order), notify=True) is True
    stored = harness.store.orders[int(order_id)]
    assert stored["status"] == "processing"
    # A partial shipment tells the customer through a customer note.
    assert [n["customer_note"] for n in harness.store.notes[int(order_id)]] == [True]
    assert adapter.push_shipment(order, shipment(1, "1ZHALF", order), notify=True) is False
    assert stored["status"] == "processing"  # the replay counted the package once
    assert adapter.push_shipment(order, shipment(2, "1ZREST", order), notify=True) is True
    assert stored["status"] == "completed"
    assert len(harness.store.notes[int(order_id)]) == 1  # the Completed email carries it


def test_store_without_the_tracking_extension_needs_attention(harness, adapter):
    harness.store.tracking_extension = False
    harness.create_order("#1702", [LineSpec("MUG-BLUE")], updated_at=at(0))
    order = [o for page in fetch_all(adapter, at(0), at(1), 10) for o in page][0]
    with pytest.raises(NeedsAttentionError) as caught:
        adapter.push_shipment(order, shipment(1, "1ZNOEXT", order), notify=False)
    assert "Shipment Tracking" in str(caught.value) and 'tracking = "notes"' in str(caught.value)


# -- paging while the store changes -----------------------------------------------------


def test_replay_with_throttling_and_edits_during_paging(harness, adapter):
    """Several hundred orders, one crowded second, a host that throttles every 4th request
    and a merchant editing orders between our requests: every order is returned once in
    the window it belongs to, and the window's end is reached."""
    store = harness.store
    rng = random.Random(11)
    stamps = [rng.randrange(0, 600) for _ in range(320)] + [300] * 130
    orders = [harness.create_order(f"#3{i:03d}", [LineSpec("MUG-BLUE")], updated_at=at(s))
              for i, s in enumerate(stamps)]
    crowded = [o for o, s in zip(orders, stamps, strict=True) if s == 300]
    store.clock = lambda: at(700)  # edits land after the window, as "now" always does
    store.throttle.every = 4
    edited: set[str] = set()

    def merchant_edits(s: WooStore, _query: dict) -> None:
        s.throttle.status = 503 if s.throttle.status == 429 else 429
        for order_id in (rng.choice(orders), rng.choice(crowded)):
            s.touch(int(order_id))
            edited.add(order_id)

    store.on_order_list = merchant_edits
    pages = fetch_all(adapter, at(0), at(600), 25)
    store.on_order_list = None
    first = ids_in(pages)
    assert len(first) == len(set(first)), "an order was returned twice"
    assert set(orders) - edited <= set(first), "an unedited order was skipped"
    assert set(first) <= set(orders)
    later = ids_in(fetch_all(adapter, at(600), at(800), 100))
    assert set(later) == edited
    sweeps = [r for r in store.requests if r[2].get("orderby") == "id"]
    assert store.throttle.refused >= 5 and len(edited) > 20 and len(sweeps) >= 3
    assert all(len(page) <= 25 for page in pages)


# -- the order's later life -------------------------------------------------------------


def read_one(adapter, order_id: str):
    [order] = [o for page in fetch_all(adapter, at(-10), at(10), 10) for o in page
               if o.order_id == order_id]
    return order


def test_a_cancel_sets_the_status_once_with_a_private_reason(harness, adapter):
    order_id = harness.create_order("#1800", [LineSpec("MUG-BLUE", 2)], updated_at=at(0))
    order = read_one(adapter, order_id)
    request = CancelRequest("Amazon has no stock of MUG-BLUE.")
    assert adapter.cancel_order(order, request) is True
    assert adapter.cancel_order(order, request) is False
    stored = harness.store.orders[int(order_id)]
    [note] = harness.store.notes[int(order_id)]
    assert stored["status"] == "cancelled" and note["customer_note"] is False
    assert "Amazon has no stock of MUG-BLUE." in note["note"] and "No refund" in note["note"]
    # One note and one status change: nothing else (no refund, no stock) is written.
    writes = [(method, path) for method, path, _query in harness.store.requests if method != "GET"]
    assert writes == [("POST", f"/wp-json/wc/v3/orders/{order_id}/notes"),
                      ("PUT", f"/wp-json/wc/v3/orders/{order_id}")]


def test_a_cancel_retried_after_a_lost_answer_writes_one_note(harness, adapter):
    order_id = harness.create_order("#1801", [LineSpec("MUG-BLUE")], updated_at=at(0))
    order = read_one(adapter, order_id)
    request = CancelRequest("Amazon could not reach the address.", notify_customer=True)
    real_request = adapter.http.request

    def status_answer_lost(method, path, **kwargs):
        response = real_request(method, path, **kwargs)
        if method == "PUT":
            raise IndeterminateError(f"PUT {path}: no answer")
        return response

    adapter.http.request = status_answer_lost
    with pytest.raises(IndeterminateError):
        adapter.cancel_order(order, request)
    harness.store.orders[int(order_id)]["status"] = "processing"  # the PUT never landed
    adapter.http.request = real_request
    assert adapter.cancel_order(order, request) is True
    notes = harness.store.notes[int(order_id)]
    assert [(n["note"], n["customer_note"]) for n in notes] == [
        ("Order cancelled: Amazon could not reach the address.", True)]
    assert harness.store.orders[int(order_id)]["status"] == "cancelled"


def test_an_order_the_merchant_refunded_is_not_cancelled_again(harness, adapter):
    order_id = harness.create_order("#1802", [LineSpec("MUG-BLUE")], updated_at=at(0))
    order = read_one(adapter, order_id)
    harness.store.touch(int(order_id), at(5), status="refunded")
    assert adapter.cancel_order(order, CancelRequest("Amazon cancelled it.")) is False
    assert harness.store.orders[int(order_id)]["status"] == "refunded"
    assert harness.store.notes.get(int(order_id), []) == []


def test_a_line_cancel_touches_nothing(harness, adapter):
    order_id = harness.create_order("#1803", [LineSpec("MUG-BLUE"), LineSpec("TEE-M")],
                                    updated_at=at(0))
    order = read_one(adapter, order_id)
    before = len(harness.store.requests)
    line = order.lines[1]
    request = CancelRequest("Amazon shipped part of it.", lines=(ShippedLine(line.line_id, line.sku, 1),))
    assert adapter.cancel_order(order, request) is False
    assert harness.store.requests[before:] == []


def test_milestones_and_returns_are_private_notes_a_merchant_can_read(harness, adapter):
    order_id = harness.create_order("#1804", [LineSpec("MUG-BLUE", 2)], updated_at=at(0))
    order = read_one(adapter, order_id)
    package = shipment(1, "1ZMILE1", order)
    failed = DeliveryUpdate(package, Milestone.DELIVERY_FAILED, at(9000), "Address not found")
    assert adapter.push_delivery(order, failed) is True
    line = order.lines[0]
    rma = ReturnUpdate("RMA-1804", ReturnStage.AUTHORIZED, (ShippedLine(line.line_id, line.sku, 1),),
                       label_url="https://example.com/label/RMA-1804", reason="Damaged")
    assert adapter.push_return(order, rma) is True
    notes = harness.store.notes[int(order_id)]
    assert [n["customer_note"] for n in notes] == [False, False]
    assert "(UPS tracking 1ZMILE1) could not be delivered" in notes[0]["note"]
    assert "Address not found" in notes[0]["note"]
    assert "MUG-BLUE (MUG-BLUE) × 1" in notes[1]["note"]
    assert "https://example.com/label/RMA-1804" in notes[1]["note"]
    # A different milestone of the same package is a new note; the same one is not.
    assert adapter.push_delivery(order, failed) is False
    delivered = DeliveryUpdate(package, Milestone.DELIVERED, at(9900))
    assert adapter.push_delivery(order, delivered) is True
    assert harness.delivery_marks(order_id) == [("1ZMILE1", "delivery_failed"),
                                                ("1ZMILE1", "delivered")]


def test_a_note_for_a_deleted_order_needs_attention(harness, adapter):
    order_id = harness.create_order("#1805", [LineSpec("MUG-BLUE")], updated_at=at(0))
    order = read_one(adapter, order_id)
    del harness.store.orders[int(order_id)]
    with pytest.raises(NeedsAttentionError) as caught:
        adapter.push_delivery(order, DeliveryUpdate(shipment(1, "1ZGONE", order),
                                                    Milestone.DELIVERED, at(60)))
    assert caught.value.reason == "cart_order_missing"


def test_a_private_cancel_note_is_found_by_its_key_whatever_the_reason(harness, adapter):
    order_id = harness.create_order("#1806", [LineSpec("MUG-BLUE")], updated_at=at(0))
    order = read_one(adapter, order_id)
    assert adapter.cancel_order(order, CancelRequest("Amazon cancelled the order.")) is True
    harness.store.orders[int(order_id)]["status"] = "processing"  # reopened by hand
    assert adapter.cancel_order(order, CancelRequest("Unfulfillable at Amazon.")) is True
    assert len(harness.store.notes[int(order_id)]) == 1
    assert harness.store.orders[int(order_id)]["status"] == "cancelled"
