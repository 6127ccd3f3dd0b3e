"""The Magento adapter through the contract suite, against the stateful Magento fake over
real HTTP, once with a Bearer token and once with OAuth 1.0a signing; plus what only
Magento shows: requests checked against Adobe's published admin schema, configurable,
bundle and virtual rows, error sentences, stock batches and a throttled replay."""

from __future__ import annotations

import copy
import gzip
import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

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
)
from fakes.magento_fake import Integration, MagentoFake, fixture
from fakes.server import FakeServer

from bridge.carts.contract import (
    CancelRequest,
    DeliveryUpdate,
    Milestone,
    ReturnStage,
    ReturnUpdate,
)
from bridge.carts.magento import MagentoAdapter
from bridge.carts.magento.client import magento_message
from bridge.carts.magento.mapping import changed_orders_params
from bridge.domain.model import Address, PackageShipment, PaymentStatus, ShippedLine, StockLevel
from bridge.errors import FatalError, NeedsAttentionError

FIXTURES = Path(__file__).resolve().parents[1] / "fakes" / "magento"
ADMIN_TOKEN = "adm1n7oken0f4magent0st0reXXXXXXX"
INTEGRATION = Integration(
    consumer_key="ck4n6v0q8wz2m1r5t7y9u3i0o2p4a6s8",
    consumer_secret="cs9d8f7g6h5j4k3l2z1x0c9v8b7n6m5q",
    access_token="at1q2w3e4r5t6y7u8i9o0p1a2s3d4f5g6",
    access_token_secret="ats0z9x8c7v6b5n4m3l2k1j0h9g8f7d6",
)
SECRETS = {
    "env:MAGENTO_ADMIN_TOKEN": ADMIN_TOKEN,
    "env:MAGENTO_CONSUMER_KEY": INTEGRATION.consumer_key,
    "env:MAGENTO_CONSUMER_SECRET": INTEGRATION.consumer_secret,
    "env:MAGENTO_ACCESS_TOKEN": INTEGRATION.access_token,
    "env:MAGENTO_ACCESS_TOKEN_SECRET": INTEGRATION.access_token_secret,
    "env:WRONG_TOKEN": "not-a-token-this-store-issued-000",
}
BEARER = {"access_token": "env:MAGENTO_ADMIN_TOKEN"}
OAUTH = {
    "access_token": "env:MAGENTO_ACCESS_TOKEN",
    "consumer_key": "env:MAGENTO_CONSUMER_KEY",
    "consumer_secret": "env:MAGENTO_CONSUMER_SECRET",
    "access_token_secret": "env:MAGENTO_ACCESS_TOKEN_SECRET",
}


def resolve(reference: str) -> str:
    try:
        return SECRETS[reference]
    except KeyError:
        raise ValueError(f"{reference} is not set") from None


def magento_address(address: Address) -> dict:
    first, _, last = address.name.partition(" ")
    return {
        "firstname": first, "lastname": last,
        "street": [line for line in (address.line1, address.line2) if line],
        "city": address.city, "region_code": address.state, "region": address.state,
        "postcode": address.postal_code, "country_id": address.country_code,
        "telephone": address.phone,
    }


class MagentoHarness(CartHarness):
    def __init__(self, fake: MagentoFake, base_url: str, credentials: dict) -> None:
        self.fake = fake
        self.base_url = base_url
        self.settings = {"platform": "magento", "url": base_url, **credentials}
        # The store stamps its own writes (a cancel, a shipment) a minute after the
        # suite's T0, as a store whose clock runs with the suite's would.
        fake.now = lambda: at(60)

    def adapter(self, **overrides) -> MagentoAdapter:
        return MagentoAdapter.from_settings({**self.settings, **overrides}, resolve)

    def create_order(self, number: str, lines: Sequence[LineSpec], *, updated_at: datetime,
                     paid: bool = True, address: Address = SHIP_TO) -> str:
        rows = [self.fake.item(line.sku, line.quantity, virtual=not line.requires_shipping) for line in lines]
        state = "processing" if paid else "new"
        return str(self.fake.add_order(number, rows, updated_at=updated_at, state=state,
                                       address=magento_address(address)))

    def edit_order(self, order_id: str, *, address: Address, updated_at: datetime) -> None:
        order = self.fake.orders[int(order_id)]
        shipping = order["extension_attributes"]["shipping_assignments"][0]["shipping"]
        shipping["address"].update(magento_address(address))
        self.fake.touch(int(order_id), updated_at)

    def cancel_order(self, order_id: str, *, updated_at: datetime) -> None:
        self.fake.touch(int(order_id), updated_at, state="canceled", status="canceled")

    def shipments(self) -> list[RecordedShipment]:
        return [RecordedShipment(str(oid), t["track_number"], t["title"]) for oid, t in self.fake.tracks()]

    def stock(self) -> dict[str, int]:
        return {sku: item["quantity"] for (sku, source), item in self.fake.source_items.items()
                if source == "default"}

    def edit_stock(self, sku: str, quantity: int) -> None:
        self.fake.set_source_item(sku, quantity)

    def notes(self) -> list[tuple[str, str]]:
        return [(str(oid), text) for oid, text in self.fake.comments()]

    def create_detailed_order(self, number: str, lines: Sequence[LineSpec], *, updated_at: datetime,
                              total: str, currency: str, customer_note: str, tags: Sequence[str] = (),
                              payment: str = PaymentStatus.PAID) -> str:
        rows = [self.fake.item(line.sku, line.quantity, virtual=not line.requires_shipping) for line in lines]
        amount = float(total)  # Magento's JSON numbers
        fields = {"grand_total": amount, "base_grand_total": amount, "order_currency_code": currency,
                  "base_currency_code": currency, "customer_note": customer_note}
        payment_row = copy.deepcopy(fixture("order.json")["payment"])
        if payment == PaymentStatus.PAID:
            # Invoiced and captured: every row invoiced, the money paid.
            for row in rows:
                row["qty_invoiced"] = row["qty_ordered"]
            fields.update(total_paid=amount, base_total_paid=amount, total_invoiced=amount,
                          base_total_invoiced=amount)
            payment_row.update(amount_paid=amount, base_amount_paid=amount)
        else:
            # "Authorize Only": processing, nothing invoiced, the amount authorized.
            payment_row.update(amount_authorized=amount, base_amount_authorized=amount)
        fields["payment"] = payment_row
        return str(self.fake.add_order(number, rows, updated_at=updated_at, state="processing",
                                       address=magento_address(SHIP_TO), fields=fields))

    def cancellation(self, order_id: str) -> tuple[bool, dict[str, int]]:
        order = self.fake.orders[int(order_id)]
        by_line = {str(row["item_id"]): int(row.get("qty_canceled") or 0) for row in order["items"]}
        return order["state"] == "canceled", by_line

    def _marks(self, order_id: str, kind: str) -> list[tuple[str, str]]:
        """(subject, stage) of the order comments carrying a `[bridge:<kind>:…]` key."""
        pattern = re.compile(rf"\[bridge:{kind}:(.+):([a-z_]+)\]")
        return [found.groups() for history in self.fake.orders[int(order_id)]["status_histories"]
                if (found := pattern.search(history["comment"]))]

    def delivery_marks(self, order_id: str) -> list[tuple[str, str]]:
        return self._marks(order_id, "delivery")

    def return_marks(self, order_id: str) -> list[tuple[str, str]]:
        return self._marks(order_id, "return")

    def adapter_with_bad_credentials(self) -> MagentoAdapter:
        if "consumer_key" in self.settings:
            # The right token, signed with a secret the store never issued.
            return self.adapter(access_token_secret="env:WRONG_TOKEN")
        return self.adapter(access_token="env:WRONG_TOKEN")

    def adapter_for_unreachable_store(self) -> MagentoAdapter:
        # Port 1 on the loopback: refused at once, no timeout to wait for.
        adapter = MagentoAdapter.from_settings({**self.settings, "url": "http://127.0.0.1:1"}, resolve)
        adapter.http.sleep = lambda seconds: None
        return adapter


@pytest.fixture
def fake() -> MagentoFake:
    return MagentoFake(admin_tokens={ADMIN_TOKEN}, integration=INTEGRATION)


@pytest.fixture
def server(fake):
    with FakeServer(fake.app) as running:
        yield running


# --- the published schema, loaded once per session ------------------------------------


@pytest.fixture(scope="session")
def admin_schema() -> dict:
    with gzip.open(FIXTURES / "admin-schema-2.4.9.yaml.gz", "rt", encoding="utf-8") as fh:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        return yaml.load(fh, Loader=loader)


def _closed(schema):
    """The schema with unknown properties refused: Magento's input processor rejects a
    field its interface does not have, so a misspelt key must fail here too."""
    if isinstance(schema, dict):
        out = {k: _closed(v) for k, v in schema.items() if k not in ("xml",)}
        if out.get("type") == "object" and "properties" in out:
            out.setdefault("additionalProperties", False)
        return out
    if isinstance(schema, list):
        return [_closed(v) for v in schema]
    return schema


def body_validator(spec: dict, path: str, method: str) -> jsonschema.Draft4Validator:
    operation = spec["paths"][path][method]
    [body] = [p for p in operation["parameters"] if p["in"] == "body"]
    schema = {**_closed(copy.deepcopy(body["schema"])), "definitions": _closed(spec["definitions"])}
    return jsonschema.Draft4Validator(schema)


def query_names(spec: dict, path: str) -> set[str]:
    return {p["name"] for p in spec["paths"][path]["get"]["parameters"] if p["in"] == "query"}


def as_schema_name(name: str) -> str:
    """A sent query name in the schema's spelling: indexes as 0, camelCase keys."""
    name = re.sub(r"\[\d+\]", "[0]", name)
    return name.replace("[filter_groups]", "[filterGroups]").replace("[condition_type]", "[conditionType]")


def assert_valid(validator: jsonschema.Draft4Validator, body) -> None:
    problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
    assert not problems, problems


# --- helpers ---------------------------------------------------------------------------


def package(tracking: str, *lines: tuple[str, str, int], carrier: str = "UPS", number: int = 1) -> PackageShipment:
    return PackageShipment(package_number=number, carrier=carrier, tracking_number=tracking,
                           shipped_at=at(3600), lines=tuple(ShippedLine(*line) for line in lines))


def configurable_pair(fake: MagentoFake, child_sku: str, qty: int) -> list[dict]:
    """A configurable row and its child, as Magento writes them (see invoice.json:
    the parent carries the child's SKU and the price, the child is priced 0)."""
    parent = fake.item(child_sku, qty, product_type="configurable")
    parent["sku"] = child_sku
    child = fake.item(child_sku, qty, parent=parent)
    return [parent, child]


# --- the contract, in both auth modes ---------------------------------------------------


class TestMagentoCartWithBearer(CartContract):
    @pytest.fixture
    def harness(self, fake, server):
        return MagentoHarness(fake, server.base_url, BEARER)


class TestMagentoCartWithOAuth(CartContract):
    @pytest.fixture
    def harness(self, fake, server):
        return MagentoHarness(fake, server.base_url, OAUTH)


# --- Magento specifics -------------------------------------------------------------------


@pytest.fixture
def harness(fake, server):
    return MagentoHarness(fake, server.base_url, BEARER)


@pytest.fixture
def adapter(harness):
    adapter = harness.adapter()
    yield adapter
    adapter.close()


def test_documented_request_samples_pass_the_schema_check(admin_schema):
    """The checker itself accepts Adobe's own sample bodies."""
    ship = body_validator(admin_schema, "/V1/order/{orderId}/ship", "post")
    assert_valid(ship, fixture("order_ship_request.json"))
    msi_sample = fixture("order_ship_msi_source_request.json")
    # Adobe's sample comment leaves out `is_visible_on_front`, which the schema marks
    # required and Magento defaults; bridge sends no shipment comment.
    msi_sample.pop("comment")
    assert_valid(ship, msi_sample)
    assert_valid(body_validator(admin_schema, "/V1/inventory/source-items", "post"),
                 fixture("source_items_save_request.json"))
    assert list(ship.iter_errors({"items": [{"order_item_id": 1, "quantity": 1}]}))


def test_requests_match_the_published_admin_schema(admin_schema, harness, adapter, fake):
    order_id = harness.create_order("#2001", [LineSpec("MUG-BLUE", 2)], updated_at=at(0))
    [order] = [o for page in fetch_all(adapter, at(0), at(10), 5) for o in page]
    line = order.lines[0]
    assert adapter.push_shipment(order, package("1ZSCHEMA1", (line.line_id, line.sku, 1)), notify=True)
    adapter.add_note(order, "held: no stock")
    adapter.set_stock([StockLevel("MUG-BLUE", 4), StockLevel("TEE-M", 0)])

    ship_bodies = fake.bodies("POST", r"order/\d+/ship")
    assert ship_bodies and ship_bodies[0]["tracks"][0]["carrier_code"] == "ups"
    for body in ship_bodies:
        assert_valid(body_validator(admin_schema, "/V1/order/{orderId}/ship", "post"), body)
    for body in fake.bodies("POST", r"inventory/source-items"):
        assert_valid(body_validator(admin_schema, "/V1/inventory/source-items", "post"), body)
    for body in fake.bodies("POST", r"orders/\d+/comments"):
        assert_valid(body_validator(admin_schema, "/V1/orders/{id}/comments", "post"), body)
    assert ship_bodies[0]["arguments"] == {"extension_attributes": {"source_code": "default"}}
    for path, spec_path in (("orders", "/V1/orders"), ("shipments", "/V1/shipments")):
        sent = {as_schema_name(name) for r in fake.requests if r.path == path for name in r.params}
        assert sent and sent <= query_names(admin_schema, spec_path), sent - query_names(admin_schema, spec_path)
    assert str(order_id) in {str(o) for o, _ in fake.tracks()}


def test_tracking_on_lines_already_shipped_goes_to_the_existing_shipment(admin_schema, harness, adapter, fake):
    harness.create_order("#2002", [LineSpec("MUG-BLUE", 1)], updated_at=at(0))
    [order] = [o for page in fetch_all(adapter, at(0), at(10), 5) for o in page]
    line = order.lines[0]
    assert adapter.push_shipment(order, package("1ZFIRST", (line.line_id, line.sku, 1)), notify=False)
    # Amazon split the unit's paperwork: a second package for a line with nothing left.
    second = package("1ZSECOND", (line.line_id, line.sku, 1), number=2)
    assert adapter.push_shipment(order, second, notify=False) is True
    assert adapter.push_shipment(order, second, notify=False) is False
    assert [t["track_number"] for _, t in fake.tracks()] == ["1ZFIRST", "1ZSECOND"]
    assert len(fake.shipments) == 1
    [body] = fake.bodies("POST", r"shipment/track")
    assert_valid(body_validator(admin_schema, "/V1/shipment/track", "post"), body)


def test_configurable_rows_become_one_line_shipped_through_the_parent(harness, adapter, fake):
    parent, child = configurable_pair(fake, "MH01-S-Gray", 2)
    brick = fake.item("24-WG084", 1)
    order_id = fake.add_order("000000050", [parent, child, brick], updated_at=at(0))
    [order] = [o for page in fetch_all(adapter, at(0), at(10), 5) for o in page]
    assert [(line.line_id, line.sku, line.quantity) for line in order.lines] == [
        (str(parent["item_id"]), "MH01-S-Gray", 2), (str(brick["item_id"]), "24-WG084", 1)]
    assert adapter.push_shipment(order, package("1ZCONF", (str(parent["item_id"]), "MH01-S-Gray", 2)), notify=True)
    [body] = fake.bodies("POST", r"order/\d+/ship")
    assert body["items"] == [{"order_item_id": parent["item_id"], "qty": 2}]
    shipped = {r["item_id"]: r["qty_shipped"] for r in fake.orders[order_id]["items"]}
    assert shipped[parent["item_id"]] == 2 and shipped[child["item_id"]] == 2


def test_child_sku_is_used_when_the_parent_row_carries_another(adapter, fake):
    parent, child = configurable_pair(fake, "TEE-RED-M", 1)
    parent["sku"] = "TEE"  # some stores keep the configurable's own SKU on the row
    fake.add_order("000000051", [parent, child], updated_at=at(0))
    [order] = [o for page in fetch_all(adapter, at(0), at(10), 5) for o in page]
    assert [(line.line_id, line.sku) for line in order.lines] == [(str(parent["item_id"]), "TEE-RED-M")]


def test_bundle_children_are_lines_and_ship_through_the_bundle(adapter, fake):
    bundle = fake.item("KIT-BLUE", 1, product_type="bundle")
    ball = fake.item("24-WG082-blue", 1, parent=bundle)
    straps = fake.item("24-WG086", 2, parent=bundle)
    order_id = fake.add_order("000000052", [bundle, ball, straps], updated_at=at(0))
    [order] = [o for page in fetch_all(adapter, at(0), at(10), 5) for o in page]
    assert sorted((line.sku, line.quantity) for line in order.lines) == [("24-WG082-blue", 1), ("24-WG086", 2)]
    lines = [(line.line_id, line.sku, line.quantity) for line in order.lines]
    assert adapter.push_shipment(order, package("1ZKIT", *lines), notify=False)
    [body] = fake.bodies("POST", r"order/\d+/ship")
    assert {"order_item_id": bundle["item_id"], "qty": 1} in body["items"]
    assert fake.orders[order_id]["state"] == "complete"


def test_virtual_rows_need_no_shipping_and_are_not_shipped(adapter, fake):
    fake.add_order("000000053", [fake.item("MUG-BLUE", 1), fake.item("EBOOK-1", 1, product_type="downloadable",
                                                                      virtual=True)], updated_at=at(0))
    [order] = [o for page in fetch_all(adapter, at(0), at(10), 5) for o in page]
    assert [(line.sku, line.requires_shipping) for line in order.lines] == [("MUG-BLUE", True), ("EBOOK-1", False)]
    assert [line.sku for line in order.shippable_lines] == ["MUG-BLUE"]


def test_quantity_is_what_is_left_to_ship(adapter, fake):
    partly = fake.item("MUG-BLUE", 5)
    partly.update(qty_shipped=1, qty_canceled=1, qty_refunded=1)
    done = fake.item("TEE-M", 2)
    done.update(qty_shipped=2)
    fake.add_order("000000054", [partly, done], updated_at=at(0))
    [order] = [o for page in fetch_all(adapter, at(0), at(10), 5) for o in page]
    assert [(line.sku, line.quantity) for line in order.lines] == [("MUG-BLUE", 2)]


def test_sample_order_reads_with_its_documented_fields(adapter, fake):
    """The documented order as Magento sends it, only its change time moved into the window."""
    sample = fixture("order.json")
    sample.update(updated_at="2024-05-01 12:00:00")
    fake.orders[sample["entity_id"]] = sample
    [order] = [o for page in fetch_all(adapter, at(0), at(10), 5) for o in page]
    assert (order.order_id, order.number, order.email) == ("3", "000000003", "jdoe@example.com")
    assert order.shipping_method == "tablerate_bestway"
    assert order.address == Address(name="Jane Doe", line1="123 Oak Ave", city="Purchase", state="NY",
                                    postal_code="10577", country_code="US", phone="512-555-1111")
    assert [(line.line_id, line.sku, line.quantity) for line in order.lines] == [("3", "WS12-M-Orange", 1)]
    assert not order.paid  # the sample is "new": not invoiced yet


def test_states_are_configurable(harness, fake):
    order_id = harness.create_order("#2003", [LineSpec("MUG-BLUE")], updated_at=at(0))
    fake.touch(int(order_id), at(0), state="holded", status="holded")
    adapter = harness.adapter(ready_states=["processing", "holded"], cancelled_states=["canceled"])
    try:
        [order] = [o for page in fetch_all(adapter, at(0), at(10), 5) for o in page]
    finally:
        adapter.close()
    assert order.paid and not order.cancelled


def test_magento_error_sentences_are_filled_in(harness, adapter, fake):
    assert magento_message(fixture("error_400_invalid_product_data.json")) == (
        "Invalid product data: Invalid attribute set entity type")
    order_id = harness.create_order("#2004", [LineSpec("MUG-BLUE")], updated_at=at(0))
    [order] = [o for page in fetch_all(adapter, at(0), at(10), 5) for o in page]
    fake.touch(int(order_id), at(0), state="holded", status="holded")
    line = order.lines[0]
    with pytest.raises(NeedsAttentionError) as caught:
        adapter.push_shipment(order, package("1ZHELD", (line.line_id, line.sku, 1)), notify=False)
    assert caught.value.reason == "cart_rejected"
    assert "A shipment cannot be created when an order has a status of holded" in caught.value.message


@pytest.mark.parametrize("credentials", [BEARER, OAUTH], ids=["bearer", "oauth"])
def test_refusal_names_the_resource_and_never_a_secret(fake, server, credentials):
    bad = {**credentials, "access_token": "env:WRONG_TOKEN"}
    adapter = MagentoAdapter.from_settings({"url": server.base_url, **bad}, resolve)
    with pytest.raises(FatalError) as caught:
        adapter.fetch_orders(at(0), at(10), None, 5)
    adapter.close()
    text = str(caught.value)
    assert "isn't authorized to access Magento_Sales::actions_view" in text
    assert not [s for s in SECRETS.values() if s in text or s in repr(caught.value.args)]


def test_integration_token_as_bearer_is_refused_by_default(fake, server):
    settings = {"url": server.base_url, "access_token": "env:MAGENTO_ACCESS_TOKEN"}
    adapter = MagentoAdapter.from_settings(settings, resolve)
    with pytest.raises(FatalError):
        adapter.fetch_orders(at(0), at(10), None, 5)
    fake.integration_as_bearer = True
    assert adapter.fetch_orders(at(0), at(10), None, 5).orders == []
    adapter.close()


def test_stock_batches_fit_the_input_list_limit(server, fake, harness):
    fake.input_list_limit = 20
    adapter = harness.adapter()
    skus = [f"SKU-{i:03d}" for i in range(45)]
    adapter.set_stock([StockLevel(sku, i) for i, sku in enumerate(skus)])
    assert [len(b["sourceItems"]) for b in fake.bodies("POST", "inventory/source-items")] == [20, 20, 5]
    assert fake.source_items[("SKU-000", "default")]["status"] == 0
    assert fake.source_items[("SKU-044", "default")] == {
        "sku": "SKU-044", "source_code": "default", "quantity": 44, "status": 1}
    wide = harness.adapter(stock_batch_size=100)
    assert wide.capabilities.stock_batch_size == 100
    with pytest.raises(NeedsAttentionError) as caught:
        wide.set_stock([StockLevel(sku, 1) for sku in skus])
    assert "Maximum items of type" in caught.value.message and "is 20" in caught.value.message
    adapter.close(), wide.close()


def test_legacy_stock_items_without_msi(harness, fake, admin_schema):
    fake.add_product("MUG-BLUE", 3)
    adapter = harness.adapter(legacy_stock=True)
    adapter.set_stock([StockLevel("MUG-BLUE", 9), StockLevel("NOT-IN-CATALOG", 4)])
    adapter.set_stock([StockLevel("MUG-BLUE", 0)])
    adapter.close()
    assert fake.stock_items["MUG-BLUE"]["qty"] == 0 and fake.stock_items["MUG-BLUE"]["is_in_stock"] is False
    assert len(fake.bodies("GET", r"stockItems/MUG-BLUE")) == 1  # the item id is remembered
    validator = body_validator(admin_schema, "/V1/products/{productSku}/stockItems/{itemId}", "put")
    for body in fake.bodies("PUT", r"products/.+/stockItems/\d+"):
        # The schema marks every stock field required although Magento merges a partial item.
        problems = [e for e in validator.iter_errors(body) if e.validator != "required"]
        assert not problems, problems
    assert not fake.source_items


def probe_of(harness, **overrides) -> list[tuple[str, str]]:
    adapter = harness.adapter(**overrides)
    try:
        return adapter.probe()
    finally:
        adapter.close()


def test_probe_names_an_unknown_source_and_lists_the_stores_sources(harness, fake):
    fake.sources["eu"] = fake.source("eu", name="EU Warehouse")
    problems = probe_of(harness, source_code="amazon")
    assert [key for key, _what in problems] == ["source_code"]
    assert "'amazon' is not an inventory source of this store; sources are:" in problems[0][1]
    assert "default (Default Source)" in problems[0][1] and "eu (EU Warehouse)" in problems[0][1]
    assert probe_of(harness, source_code="eu") == []


def test_probe_names_a_disabled_source_and_skips_sources_with_legacy_stock(harness, fake):
    fake.sources["default"]["enabled"] = False
    [(key, what)] = probe_of(harness)
    assert key == "source_code" and "disabled" in what
    assert probe_of(harness, source_code="amazon", legacy_stock=True) == []


def test_probe_names_a_refused_token_without_it(harness):
    [(key, what)] = probe_of(harness, access_token="env:WRONG_TOKEN")
    assert key == "access_token" and ADMIN_TOKEN not in what


def test_probe_reads_sources_as_the_published_admin_schema_has_them(admin_schema, harness, fake):
    probe_of(harness, source_code="amazon")
    sent = {r.path: r.params for r in fake.requests if r.path.startswith("inventory/sources")}
    assert set(sent) == {"inventory/sources/amazon", "inventory/sources"}
    assert {as_schema_name(name) for name in sent["inventory/sources"]} <= query_names(
        admin_schema, "/V1/inventory/sources")
    source = {**_closed(copy.deepcopy(admin_schema["definitions"]["inventory-api-data-source-interface"])),
              "definitions": _closed(admin_schema["definitions"])}
    for item in fake.sources.values():
        assert_valid(jsonschema.Draft4Validator(source), item)


def source_item_reads(fake: MagentoFake) -> list:
    return [r for r in fake.requests if r.method == "GET" and r.path == "inventory/source-items"]


def test_stock_reads_match_the_published_admin_schema(admin_schema, harness, adapter, fake):
    adapter.set_stock([StockLevel("MUG-BLUE", 4), StockLevel("TEE-M", 0)])
    fake.set_source_item("MUG-BLUE", 70, source="east")  # another source: not bridge's
    assert adapter.get_stock(["MUG-BLUE", "TEE-M", "NOT-SOURCED"]) == {"MUG-BLUE": 4, "TEE-M": 0}
    [read] = source_item_reads(fake)
    spec_names = query_names(admin_schema, "/V1/inventory/source-items")
    assert {as_schema_name(name) for name in read.params} <= spec_names
    # The fake answers in the documented shape (asked again, the same search).
    answer = requests.get(f"{harness.base_url}/rest/default/V1/inventory/source-items",
                          params=read.params, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).json()
    results = admin_schema["paths"]["/V1/inventory/source-items"]["get"]["responses"]["200"]["schema"]
    assert_valid(jsonschema.Draft4Validator({**_closed(results), "definitions": _closed(admin_schema["definitions"])}),
                 answer)
    sample = fixture("source_items_search_response.json")
    assert set(answer) == set(sample) and set(answer["items"][0]) == set(sample["items"][0])


def test_301_skus_are_read_in_two_searches_within_input_limits(server, fake, harness):
    fake.max_page_size = 300
    adapter = harness.adapter()
    skus = [f"RD-{i:04d}" for i in range(301)]
    adapter.set_stock([StockLevel(sku, i % 4) for i, sku in enumerate(skus)])
    assert adapter.get_stock(skus) == {sku: i % 4 for i, sku in enumerate(skus)}
    reads = source_item_reads(fake)
    assert [len(r.params["searchCriteria[filter_groups][0][filters][0][value]"].split(","))
            for r in reads] == [300, 1]
    assert all(r.params["searchCriteria[pageSize]"] == "300" for r in reads)
    adapter.close()


def test_a_sku_with_a_comma_is_read_through_its_own_filter(adapter, fake):
    fake.set_source_item("KIT,BLUE", 3)
    fake.set_source_item("MUG-BLUE", 8)
    assert adapter.get_stock(["KIT,BLUE", "MUG-BLUE"]) == {"KIT,BLUE": 3, "MUG-BLUE": 8}
    [read] = source_item_reads(fake)
    assert read.params["searchCriteria[filter_groups][0][filters][1][value]"] == "KIT,BLUE"
    assert read.params["searchCriteria[filter_groups][0][filters][1][condition_type]"] == "eq"


def test_an_out_of_stock_source_item_sells_nothing(adapter, fake):
    fake.set_source_item("MUG-BLUE", 12, status=0)
    fake.set_source_item("TEE-M", 2.5)
    assert adapter.get_stock(["MUG-BLUE", "TEE-M"]) == {"MUG-BLUE": 0, "TEE-M": 2}


def test_a_malformed_source_item_needs_attention(adapter, fake):
    fake.set_source_item("MUG-BLUE", 1)
    fake.source_items[("MUG-BLUE", "default")]["quantity"] = "lots"
    with pytest.raises(NeedsAttentionError) as caught:
        adapter.get_stock(["MUG-BLUE"])
    assert "MUG-BLUE" in caught.value.message


def test_legacy_stock_is_read_per_sku(harness, fake):
    fake.add_product("MUG-BLUE", 3)
    fake.add_product("SERVICE", 0, manage_stock=False)
    fake.add_product("SOLD-OUT", 5)
    fake.stock_items["SOLD-OUT"]["is_in_stock"] = False
    adapter = harness.adapter(legacy_stock=True)
    assert adapter.capabilities.stock_read_batch_size == 1
    assert adapter.get_stock(["MUG-BLUE", "SERVICE", "SOLD-OUT", "NOT-IN-CATALOG"]) == {
        "MUG-BLUE": 3, "SOLD-OUT": 0}
    assert len(fake.bodies("GET", r"stockItems/.+")) == 4
    adapter.set_stock([StockLevel("MUG-BLUE", 7)])  # the read learnt the item id
    adapter.close()
    assert len(fake.bodies("GET", r"stockItems/.+")) == 4 and fake.stock_items["MUG-BLUE"]["qty"] == 7


def test_settings_are_checked_before_anything_is_sent():
    good = {"platform": "magento", "url": "https://shop.example.com", **OAUTH}
    assert MagentoAdapter.check_settings(good) == []
    problems = dict(MagentoAdapter.check_settings({
        "url": "http://shop.example.com/rest/V1", "access_token": "a-token-pasted-inline",
        "consumer_key": "env:MAGENTO_CONSUMER_KEY", "stock_batch_size": 0, "colour": "red",
    }))
    assert set(problems) == {"url", "access_token", "consumer_secret, access_token_secret",
                             "stock_batch_size", "colour"}
    assert "https" in dict(MagentoAdapter.check_settings({**good, "url": "http://shop.example.com"}))["url"]
    assert "a-token-pasted-inline" not in repr(problems)


def test_keyset_query_ands_groups_and_ors_inside_the_token_group():
    params = changed_orders_params(at(0.5), at(10), ("2024-05-01 12:00:05", 42), 25)
    assert params["searchCriteria[filter_groups][0][filters][0][value]"] == "2024-05-01 12:00:05"
    assert params["searchCriteria[filter_groups][1][filters][0][value]"] == "2024-05-01 12:00:10"
    assert params["searchCriteria[filter_groups][2][filters][1][field]"] == "entity_id"
    assert params["searchCriteria[sortOrders][1][field]"] == "entity_id"
    first = changed_orders_params(at(0.5), at(10), None, 25)
    assert first["searchCriteria[filter_groups][0][filters][0][value]"] == "2024-05-01 12:00:01"


def test_an_order_changed_between_pages_is_neither_lost_nor_repeated(harness, adapter, fake):
    ids = [harness.create_order(f"#30{i:02d}", [LineSpec("MUG-BLUE")], updated_at=at(i)) for i in range(6)]
    first = adapter.fetch_orders(at(0), at(100), None, 3)
    assert [o.order_id for o in first.orders] == ids[:3]
    fake.touch(int(ids[1]), at(50))  # edited while bridge reads the window
    seen_after = []
    token = first.next_page
    while token:
        page = adapter.fetch_orders(at(0), at(100), token, 3)
        seen_after += [o.order_id for o in page.orders]
        token = page.next_page
    # ids[4] is not skipped although the rows before it changed; ids[1] is read at its new place.
    assert seen_after == [ids[3], ids[4], ids[5], ids[1]]


def test_replay_of_hundreds_of_orders_under_throttling(harness, fake):
    """Several hundred orders, many sharing a second, read page by page while the store
    throttles every fifth request: each order is seen once and the window's end is reached."""
    created = [
        harness.create_order(f"#9{i:04d}", [LineSpec("MUG-BLUE")], updated_at=at(i // 7))
        for i in range(420)
    ]
    fake.faults.throttle_every = 5
    fake.faults.retry_after = "0.25"
    adapter = harness.adapter()
    waits: list[float] = []
    adapter.http.sleep = waits.append
    pages = fetch_all(adapter, at(0), at(60), 50)
    adapter.close()
    seen = ids_in(pages)
    assert len(seen) == len(set(seen)) == len(created) == 420
    assert sorted(seen) == sorted(created)
    changed = [o.updated_at for page in pages for o in page]
    assert changed == sorted(changed) and changed[-1] == at(59)
    assert fake.faults.injected >= 1 and min(waits) >= 0.25
    assert len([p for p in pages if p]) == 9


# --- the lifecycle writes, Magento's way ---------------------------------------------------


def test_an_invoiced_order_is_not_cancelled_and_says_why(harness, adapter, fake):
    order_id = harness.create_detailed_order("#2100", [LineSpec("MUG-BLUE")], updated_at=at(0),
                                             total="20.00", currency="USD", customer_note="")
    [order] = [o for page in fetch_all(adapter, at(0), at(10), 5) for o in page]
    with pytest.raises(NeedsAttentionError) as caught:
        adapter.cancel_order(order, CancelRequest("Amazon could not fulfil the order"))
    assert caught.value.reason == "cart_cannot_cancel"
    assert "#2100" in caught.value.message and "credit memo" in caught.value.message
    assert harness.cancellation(order_id) == (False, {str(order.lines[0].line_id): 0})
    assert harness.notes() == []  # nothing claims a cancel that did not happen


def test_a_held_order_is_not_cancelled_and_says_why(harness, adapter, fake):
    order_id = harness.create_order("#2101", [LineSpec("MUG-BLUE")], updated_at=at(0))
    [order] = [o for page in fetch_all(adapter, at(0), at(10), 5) for o in page]
    fake.touch(int(order_id), at(0), state="holded", status="holded")
    with pytest.raises(NeedsAttentionError, match="on hold"):
        adapter.cancel_order(order, CancelRequest("Amazon could not fulfil the order"))
    assert fake.orders[int(order_id)]["state"] == "holded"


def test_an_authorized_order_is_cancelled_with_a_private_comment(harness, adapter, fake):
    order_id = harness.create_detailed_order("#2102", [LineSpec("MUG-BLUE", 2)], updated_at=at(0),
                                             total="40.00", currency="USD", customer_note="",
                                             payment=PaymentStatus.AUTHORIZED)
    [order] = [o for page in fetch_all(adapter, at(0), at(10), 5) for o in page]
    assert adapter.cancel_order(order, CancelRequest("Amazon cancelled the order.")) is True
    cancelled, by_line = harness.cancellation(order_id)
    assert cancelled and list(by_line.values()) == [2]
    [history] = fake.orders[int(order_id)]["status_histories"]
    assert history["comment"] == "Order cancelled: Amazon cancelled the order. No refund has been issued."
    assert (history["is_customer_notified"], history["is_visible_on_front"]) == (0, 0)
    assert fake.bodies("POST", r"orders/\d+/cancel") == [None]  # the id is the whole request


def test_lines_are_never_cancelled_through_the_api(harness, adapter, fake):
    harness.create_order("#2103", [LineSpec("MUG-BLUE", 2)], updated_at=at(0))
    [order] = [o for page in fetch_all(adapter, at(0), at(10), 5) for o in page]
    line = order.lines[0]
    request = CancelRequest("Amazon shipped one", lines=(ShippedLine(line.line_id, line.sku, 1),))
    assert adapter.cancel_order(order, request) is False
    assert not [r for r in fake.requests if r.method == "POST"]


def test_lifecycle_comments_match_the_published_admin_schema(admin_schema, harness, adapter, fake):
    order_id = harness.create_order("#2104", [LineSpec("MUG-BLUE")], updated_at=at(0))
    [order] = [o for page in fetch_all(adapter, at(0), at(10), 5) for o in page]
    sent = package("1ZSCHEMA", (order.lines[0].line_id, "MUG-BLUE", 1))
    adapter.push_delivery(order, DeliveryUpdate(sent, Milestone.DELIVERY_FAILED, at(7200), "Damaged"))
    lines = (ShippedLine(order.lines[0].line_id, "MUG-BLUE", 1),)
    adapter.push_return(order, ReturnUpdate("RMA-2104", ReturnStage.AUTHORIZED, lines,
                                            label_url="https://example.com/label", reason="Defective"))
    bodies = fake.bodies("POST", r"orders/\d+/comments")
    assert len(bodies) == 2
    for body in bodies:
        assert_valid(body_validator(admin_schema, "/V1/orders/{id}/comments", "post"), body)
        assert body["statusHistory"]["is_customer_notified"] == 0
    assert harness.delivery_marks(order_id) == [("1ZSCHEMA", "delivery_failed")]
    assert bodies[0]["statusHistory"]["comment"] == (
        "Package 1 (UPS tracking 1ZSCHEMA) could not be delivered on 2024-05-01 14:00 UTC: Damaged."
        " [bridge:delivery:1ZSCHEMA:delivery_failed]")


def test_a_milestone_written_by_another_process_is_not_written_again(harness, fake):
    order_id = harness.create_order("#2105", [LineSpec("MUG-BLUE")], updated_at=at(0))
    first, second = harness.adapter(), harness.adapter()
    [order] = [o for page in fetch_all(first, at(0), at(10), 5) for o in page]
    update = DeliveryUpdate(package("1ZTWICE", (order.lines[0].line_id, "MUG-BLUE", 1)),
                            Milestone.DELIVERED, at(7200))
    try:
        assert first.push_delivery(order, update) is True
        assert second.push_delivery(order, update) is False  # read from the order's comments
    finally:
        first.close()
        second.close()
    assert harness.delivery_marks(order_id) == [("1ZTWICE", "delivered")]


def test_sample_order_reads_total_currency_payment_and_titles(adapter, fake):
    sample = fixture("order.json")
    fake.orders[3] = {**sample, "updated_at": "2024-05-01 12:00:00", "customer_note": " Ring twice "}
    [order] = [o for page in fetch_all(adapter, at(0), at(10), 5) for o in page]
    assert (order.total, order.currency, order.customer_note) == ("165.00", "USD", "Ring twice")
    assert order.payment_status == PaymentStatus.PENDING  # "new", bank transfer not yet received
    assert [line.title for line in order.lines] == ["Radiant Tee-M-Orange"]
    assert order.tags == () and order.risk == ""
