"""The cart adapter contract suite: the behaviour every adapter must show, whatever its
platform. A platform's test module subclasses `CartContract` and provides a `harness`
fixture (a `CartHarness`) that works the platform's store (a real database or an HTTP
fake): it creates, edits and cancels orders and reads back what the adapter wrote.

Decision recorded here: adapters return unpaid orders with `paid=False`; the ingest
service, not the adapter, ignores them."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from fakes.inventory import InventoryStandIn

from bridge.carts.contract import (
    CancelRequest,
    CartAdapter,
    DeliveryUpdate,
    Milestone,
    ReturnStage,
    ReturnUpdate,
)
from bridge.config import CartConnection, FulfillmentAccount, StorefrontConfig
from bridge.domain.model import (
    Address,
    CartOrder,
    PackageShipment,
    PaymentStatus,
    ShippedLine,
    StockLevel,
)
from bridge.errors import FatalError, TransientError
from bridge.ledger import migrate
from bridge.ledger.db import make_engine
from bridge.ledger.repo import Ledger
from bridge.services.stock import sync_stock

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
SHIP_TO = Address(
    name="Ava Johnson",
    line1="1200 Pine St",
    line2="Apt 4",
    city="Seattle",
    state="WA",
    postal_code="98101",
    country_code="US",
    phone="+12065550100",
)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@dataclass(frozen=True)
class LineSpec:
    sku: str
    quantity: int = 1
    requires_shipping: bool = True


@dataclass(frozen=True)
class RecordedShipment:
    """One tracking entry as the store holds it."""

    order_id: str
    tracking_number: str
    carrier: str = ""


class CartHarness(abc.ABC):
    """What the suite needs from a platform's store. Timestamps are UTC-aware."""

    settings: dict

    @abc.abstractmethod
    def adapter(self) -> CartAdapter:
        """A fresh adapter for the store."""

    @abc.abstractmethod
    def create_order(
        self,
        number: str,
        lines: Sequence[LineSpec],
        *,
        updated_at: datetime,
        paid: bool = True,
        address: Address = SHIP_TO,
    ) -> str:
        """Place an order last changed at `updated_at`; return the cart's order id."""

    @abc.abstractmethod
    def edit_order(self, order_id: str, *, address: Address, updated_at: datetime) -> None:
        """Change the ship-to address, as a customer service edit would."""

    @abc.abstractmethod
    def cancel_order(self, order_id: str, *, updated_at: datetime) -> None: ...

    @abc.abstractmethod
    def shipments(self) -> list[RecordedShipment]: ...

    @abc.abstractmethod
    def stock(self) -> dict[str, int]:
        """Current sellable quantity per SKU."""

    @abc.abstractmethod
    def edit_stock(self, sku: str, quantity: int) -> None:
        """Change a SKU's quantity in the store behind bridge's back (a manual edit,
        another app, a restock on refund)."""

    @abc.abstractmethod
    def notes(self) -> list[tuple[str, str]]:
        """(order id, text) of every note bridge added."""

    # -- what rules read, and the lifecycle writes

    # The platform has order tags (Shopify) / a fraud verdict bridge reads.
    has_tags: bool = False

    @abc.abstractmethod
    def create_detailed_order(
        self,
        number: str,
        lines: Sequence[LineSpec],
        *,
        updated_at: datetime,
        total: str,
        currency: str,
        customer_note: str,
        tags: Sequence[str] = (),
        payment: str = PaymentStatus.PAID,
    ) -> str:
        """Place an order with a grand total, a customer's note, tags (where the platform
        has them) and a payment state: `paid` or `authorized` (approved, not captured)."""

    @abc.abstractmethod
    def cancellation(self, order_id: str) -> tuple[bool, dict[str, int]]:
        """(the order is cancelled in the shop, cancelled quantity per cart line id)."""

    @abc.abstractmethod
    def delivery_marks(self, order_id: str) -> list[tuple[str, str]]:
        """(tracking number, Milestone value) of every delivery milestone the shop shows
        for the order, read from where the adapter writes them (events, comments, notes)."""

    @abc.abstractmethod
    def return_marks(self, order_id: str) -> list[tuple[str, str]]:
        """(return authorization id, ReturnStage value) the shop shows for the order."""

    def prepare_skus(self, skus: Sequence[str]) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Make SKUs known to the store before stock is set (platforms that need it)."""

    def adapter_with_bad_credentials(self) -> CartAdapter | None:
        """An adapter whose credentials the store refuses; None where there are none."""
        return None

    def adapter_for_unreachable_store(self) -> CartAdapter | None:
        """An adapter pointed at a store that does not answer; None if not possible."""
        return None


def fetch_all(
    adapter: CartAdapter, since: datetime, until: datetime, limit: int
) -> list[list[CartOrder]]:
    """Every page of one window, asserting each page stays within `limit`."""
    pages, token = [], None
    for _ in range(1000):
        page = adapter.fetch_orders(since, until, token, limit)
        assert len(page.orders) <= limit
        pages.append(page.orders)
        token = page.next_page
        if token is None:
            return pages
    raise AssertionError("fetch_orders never returned a last page")


def ids_in(pages: list[list[CartOrder]]) -> list[str]:
    return [order.order_id for page in pages for order in page]


def shipment(package: int, tracking: str, order: CartOrder) -> PackageShipment:
    line = order.lines[0]
    return PackageShipment(
        package_number=package,
        carrier="UPS",
        tracking_number=tracking,
        shipped_at=at(3600),
        lines=(ShippedLine(line.line_id, line.sku, 1),),
        tracking_url=f"https://www.ups.com/track?tracknum={tracking}",
    )


class CartContract:
    """Subclass and provide a `harness` fixture returning a `CartHarness`."""

    @pytest.fixture
    def adapter(self, harness: CartHarness):
        adapter = harness.adapter()
        yield adapter
        adapter.close()

    def only_order(self, adapter: CartAdapter, order_id: str) -> CartOrder:
        orders = [o for page in fetch_all(adapter, at(-3600), at(3600), 100) for o in page]
        found = [o for o in orders if o.order_id == order_id]
        assert len(found) == 1, f"order {order_id} seen {len(found)} times"
        return found[0]

    # -- shape

    def test_adapter_meets_the_protocol(self, harness, adapter):
        assert isinstance(adapter, CartAdapter)
        assert type(adapter).check_settings(harness.settings) == []
        assert adapter.capabilities.stock_batch_size >= 1

    def test_new_paid_order_has_lines_and_address(self, harness, adapter):
        order_id = harness.create_order(
            "#1001", [LineSpec("MUG-BLUE", 2), LineSpec("TEE-M", 1)], updated_at=at(0)
        )
        order = self.only_order(adapter, order_id)
        assert order.paid and not order.cancelled
        assert order.number.lstrip("#") == "1001"
        assert sorted((line.sku, line.quantity) for line in order.lines) == [
            ("MUG-BLUE", 2),
            ("TEE-M", 1),
        ]
        assert all(line.requires_shipping for line in order.lines)
        assert len({line.line_id for line in order.lines}) == 2
        assert order.address is not None
        for field in ("name", "line1", "city", "state", "postal_code", "country_code"):
            assert getattr(order.address, field) == getattr(SHIP_TO, field)

    def test_timestamps_are_utc_aware(self, harness, adapter):
        order_id = harness.create_order("#1002", [LineSpec("MUG-BLUE")], updated_at=at(5))
        order = self.only_order(adapter, order_id)
        for stamp in (order.created_at, order.updated_at):
            assert stamp.utcoffset() == timedelta(0)
        assert order.updated_at == at(5)

    def test_unpaid_order_is_returned_as_unpaid(self, harness, adapter):
        order_id = harness.create_order("#1003", [LineSpec("MUG-BLUE")], updated_at=at(0), paid=False)
        order = self.only_order(adapter, order_id)
        assert order.paid is False

    def test_digital_line_does_not_require_shipping(self, harness, adapter):
        order_id = harness.create_order(
            "#1004",
            [LineSpec("MUG-BLUE"), LineSpec("GIFT-CARD", requires_shipping=False)],
            updated_at=at(0),
        )
        order = self.only_order(adapter, order_id)
        flags = {line.sku: line.requires_shipping for line in order.lines}
        assert flags == {"MUG-BLUE": True, "GIFT-CARD": False}
        assert [line.sku for line in order.shippable_lines] == ["MUG-BLUE"]

    # -- windows and pages

    def test_empty_window_is_one_empty_page(self, harness, adapter):
        harness.create_order("#1005", [LineSpec("MUG-BLUE")], updated_at=at(0))
        page = adapter.fetch_orders(at(100), at(200), None, 10)
        assert page.orders == [] and page.next_page is None

    def test_window_is_half_open(self, harness, adapter):
        at_start = harness.create_order("#1006", [LineSpec("MUG-BLUE")], updated_at=at(0))
        at_end = harness.create_order("#1007", [LineSpec("MUG-BLUE")], updated_at=at(10))
        first = ids_in(fetch_all(adapter, at(0), at(10), 10))
        second = ids_in(fetch_all(adapter, at(10), at(20), 10))
        assert first == [at_start]
        assert second == [at_end]

    def test_edited_order_appears_again_in_a_later_window(self, harness, adapter):
        order_id = harness.create_order("#1008", [LineSpec("MUG-BLUE")], updated_at=at(0))
        assert ids_in(fetch_all(adapter, at(0), at(10), 10)) == [order_id]
        moved = Address(**{**vars(SHIP_TO), "line1": "77 Lake Rd", "line2": ""})
        harness.edit_order(order_id, address=moved, updated_at=at(20))
        later = [o for page in fetch_all(adapter, at(10), at(30), 10) for o in page]
        assert [o.order_id for o in later] == [order_id]
        assert later[0].address is not None and later[0].address.line1 == "77 Lake Rd"
        assert later[0].updated_at == at(20)
        assert ids_in(fetch_all(adapter, at(0), at(10), 10)) == []

    def test_cancellation_is_visible(self, harness, adapter):
        order_id = harness.create_order("#1009", [LineSpec("MUG-BLUE")], updated_at=at(0))
        harness.cancel_order(order_id, updated_at=at(30))
        orders = [o for page in fetch_all(adapter, at(10), at(60), 10) for o in page]
        assert [(o.order_id, o.cancelled) for o in orders] == [(order_id, True)]

    @pytest.mark.parametrize("limit", [1, 2, 3, 50])
    def test_pages_sharing_one_updated_at_see_each_order_once(self, harness, adapter, limit):
        stamps = [0, 1, 1, 1, 1, 1, 2]
        created = [
            harness.create_order(f"#12{i:02d}", [LineSpec("MUG-BLUE")], updated_at=at(s))
            for i, s in enumerate(stamps)
        ]
        pages = fetch_all(adapter, at(0), at(3), limit)
        seen = ids_in(pages)
        assert sorted(seen) == sorted(created)
        assert len(seen) == len(set(seen))
        changed = [o.updated_at for page in pages for o in page]
        assert changed == sorted(changed)
        assert len([p for p in pages if p]) == -(-len(created) // limit)

    # -- writing back

    def test_partial_shipment_writes_one_entry_per_package(self, harness, adapter):
        order_id = harness.create_order("#1010", [LineSpec("MUG-BLUE", 2)], updated_at=at(0))
        order = self.only_order(adapter, order_id)
        assert adapter.push_shipment(order, shipment(1, "1ZPKG1", order), notify=False) is True
        assert adapter.push_shipment(order, shipment(2, "1ZPKG2", order), notify=True) is True
        written = [(s.order_id, s.tracking_number) for s in harness.shipments()]
        assert sorted(written) == [(order_id, "1ZPKG1"), (order_id, "1ZPKG2")]

    def test_tracking_is_written_once_on_replay(self, harness, adapter):
        order_id = harness.create_order("#1011", [LineSpec("MUG-BLUE")], updated_at=at(0))
        order = self.only_order(adapter, order_id)
        package = shipment(1, "1ZREPLAY", order)
        assert adapter.push_shipment(order, package, notify=True) is True
        assert adapter.push_shipment(order, package, notify=True) is False
        written = [s for s in harness.shipments() if s.order_id == order_id]
        assert [(s.tracking_number, s.carrier) for s in written] == [("1ZREPLAY", "UPS")]

    def test_stock_larger_than_one_batch(self, harness, adapter):
        size = adapter.capabilities.stock_batch_size
        skus = [f"SKU-{i:05d}" for i in range(size + 7)]
        harness.prepare_skus(skus)
        adapter.set_stock([StockLevel(sku, i % 13) for i, sku in enumerate(skus)])
        adapter.set_stock([StockLevel(skus[0], 40), StockLevel(skus[-1], 0)])
        stored = harness.stock()
        expected = {sku: i % 13 for i, sku in enumerate(skus)} | {skus[0]: 40, skus[-1]: 0}
        assert {sku: stored.get(sku) for sku in skus} == expected

    def test_stock_is_read_back_across_batches(self, harness, adapter):
        size = adapter.capabilities.stock_read_batch_size
        assert size >= 1
        skus = [f"RD-{i:05d}" for i in range(2 * size + 3)]
        harness.prepare_skus(skus)
        adapter.set_stock([StockLevel(sku, (i * 7) % 11) for i, sku in enumerate(skus)])
        read = adapter.get_stock(skus + ["NOT-IN-THE-SHOP"])
        assert read == {sku: (i * 7) % 11 for i, sku in enumerate(skus)}
        assert adapter.get_stock([]) == {}

    def test_stock_changed_behind_bridge_is_read_as_the_shop_has_it(self, harness, adapter):
        harness.prepare_skus(["DRIFT-1", "DRIFT-2"])
        adapter.set_stock([StockLevel("DRIFT-1", 5), StockLevel("DRIFT-2", 8)])
        harness.edit_stock("DRIFT-1", 999)
        assert adapter.get_stock(["DRIFT-1", "DRIFT-2"]) == {"DRIFT-1": 999, "DRIFT-2": 8}
        # Written back from what was just read, the correction lands whatever the platform.
        stale = adapter.set_stock([StockLevel("DRIFT-1", 5, expected=999)])
        assert stale == []
        assert harness.stock()["DRIFT-1"] == 5

    # -- the stock cycle against this shop

    @pytest.fixture
    def stock_cycle(self, tmp_path, adapter):
        """Run bridge's stock cycle against this shop, Amazon's side in memory."""
        url = f"sqlite:///{tmp_path / 'ledger.db'}"
        migrate.upgrade(url)
        engine = make_engine(url)
        ledger, amazon = Ledger(engine), InventoryStandIn()
        storefront = StorefrontConfig(
            name="shop", cart=CartConnection(platform=adapter.platform),
            fulfillment=FulfillmentAccount(client_id="x", client_secret="env:UNUSED",
                                           refresh_token="env:UNUSED"))

        def cycle(**options):
            return sync_stock(ledger, amazon, adapter, storefront, **options)

        cycle.amazon = amazon
        yield cycle
        engine.dispose()

    def test_a_change_in_the_shop_is_corrected_within_one_stock_cycle(self, harness, stock_cycle):
        harness.prepare_skus(["REC-1", "REC-2", "REC-3"])
        stock_cycle.amazon.set({"REC-1": 0, "REC-2": 945, "REC-3": 12})
        stock_cycle()
        assert {k: harness.stock()[k] for k in ("REC-1", "REC-2", "REC-3")} == {
            "REC-1": 0, "REC-2": 945, "REC-3": 12}

        harness.edit_stock("REC-1", 999)   # set by hand while Amazon has none
        harness.edit_stock("REC-2", 5)     # lowered by another app
        result = stock_cycle()
        assert {k: harness.stock()[k] for k in ("REC-1", "REC-2", "REC-3")} == {
            "REC-1": 0, "REC-2": 945, "REC-3": 12}
        assert (result.written, result.drift) == (2, 2)
        assert stock_cycle().written == 0  # and it stays put

    def test_conditional_write_refuses_a_stale_expectation(self, harness, adapter):
        if not adapter.capabilities.conditional_stock_writes:
            pytest.skip("the platform has no conditional stock writes")
        harness.prepare_skus(["COND-1", "COND-2"])
        adapter.set_stock([StockLevel("COND-1", 10), StockLevel("COND-2", 3)])
        harness.edit_stock("COND-1", 9)  # a sale between bridge's read and its write
        stale = adapter.set_stock([StockLevel("COND-1", 4, expected=10),
                                   StockLevel("COND-2", 2, expected=3)])
        assert stale == ["COND-1"]
        assert harness.stock()["COND-1"] == 9  # not overwritten
        assert harness.stock()["COND-2"] == 2

    def test_note_is_added(self, harness, adapter):
        if not adapter.capabilities.notes:
            pytest.skip("the platform has no order notes")
        order_id = harness.create_order("#1012", [LineSpec("MUG-BLUE")], updated_at=at(0))
        order = self.only_order(adapter, order_id)
        adapter.add_note(order, "On hold: SKU MUG-BLUE has no stock at Amazon.")
        assert (order_id, "On hold: SKU MUG-BLUE has no stock at Amazon.") in harness.notes()

    # -- what rules read

    def test_detailed_order_carries_total_note_and_payment(self, harness, adapter):
        order_id = harness.create_detailed_order(
            "#1020", [LineSpec("MUG-BLUE", 2)], updated_at=at(0), total="59.90",
            currency="USD", customer_note="Leave it with the neighbour",
            tags=("vip", "gift"))
        order = self.only_order(adapter, order_id)
        assert order.paid and order.payment_status == PaymentStatus.PAID
        assert order.total == "59.90" and order.currency == "USD"
        assert order.customer_note == "Leave it with the neighbour"
        if harness.has_tags:
            assert sorted(order.tags) == ["gift", "vip"]

    def test_authorized_order_is_authorized_not_paid(self, harness, adapter):
        order_id = harness.create_detailed_order(
            "#1021", [LineSpec("MUG-BLUE")], updated_at=at(0), total="20.00", currency="USD",
            customer_note="", payment=PaymentStatus.AUTHORIZED)
        order = self.only_order(adapter, order_id)
        assert not order.paid
        assert order.payment_status == PaymentStatus.AUTHORIZED

    def test_line_titles_are_read(self, harness, adapter):
        order_id = harness.create_order("#1022", [LineSpec("MUG-BLUE")], updated_at=at(0))
        order = self.only_order(adapter, order_id)
        assert all(line.title for line in order.lines)

    # -- lifecycle writes

    def test_cancel_whole_order_in_the_shop_once(self, harness, adapter):
        order_id = harness.create_order("#1030", [LineSpec("MUG-BLUE", 2)], updated_at=at(0))
        order = self.only_order(adapter, order_id)
        request = CancelRequest("Amazon could not fulfil the order")
        assert adapter.cancel_order(order, request) is True
        assert harness.cancellation(order_id)[0] is True
        assert adapter.cancel_order(order, request) is False  # replay: nothing more
        again = self.only_order(adapter, order_id)
        assert again.cancelled

    def test_cancel_lines_cancels_only_those_lines(self, harness, adapter):
        order_id = harness.create_order(
            "#1031", [LineSpec("MUG-BLUE", 2), LineSpec("TEE-M", 1)], updated_at=at(0))
        order = self.only_order(adapter, order_id)
        tee = next(line for line in order.lines if line.sku == "TEE-M")
        request = CancelRequest("Amazon shipped part of the order",
                                lines=(ShippedLine(tee.line_id, tee.sku, 1),))
        written = adapter.cancel_order(order, request)
        cancelled, by_line = harness.cancellation(order_id)
        assert not cancelled  # the rest of the order stands
        if not adapter.capabilities.cancel_lines:
            assert written is False and not any(by_line.values())
            return
        assert written is True and by_line.get(tee.line_id) == 1
        assert adapter.cancel_order(order, request) is False
        assert harness.cancellation(order_id)[1].get(tee.line_id) == 1

    def test_delivery_milestone_is_written_once_per_package(self, harness, adapter):
        order_id = harness.create_order("#1032", [LineSpec("MUG-BLUE", 2)], updated_at=at(0))
        order = self.only_order(adapter, order_id)
        first, second = shipment(1, "1ZDELIVERED1", order), shipment(2, "1ZRETURNED02", order)
        adapter.push_shipment(order, first, notify=False)
        adapter.push_shipment(order, second, notify=False)
        delivered = DeliveryUpdate(first, Milestone.DELIVERED, at(7200), "Delivered to front door")
        returned = DeliveryUpdate(second, Milestone.RETURNED_TO_SENDER, at(9000), "Refused")
        assert adapter.push_delivery(order, delivered) is True
        assert adapter.push_delivery(order, returned) is True
        assert adapter.push_delivery(order, delivered) is False
        assert sorted(harness.delivery_marks(order_id)) == [
            ("1ZDELIVERED1", "delivered"), ("1ZRETURNED02", "returned_to_sender")]

    def test_return_is_written_once_per_stage(self, harness, adapter):
        order_id = harness.create_order("#1033", [LineSpec("MUG-BLUE", 2)], updated_at=at(0))
        order = self.only_order(adapter, order_id)
        line = order.lines[0]
        lines = (ShippedLine(line.line_id, line.sku, 1),)
        authorized = ReturnUpdate("RMA-1033-A", ReturnStage.AUTHORIZED, lines,
                                  label_url="https://example.com/label/RMA-1033-A",
                                  reason="No longer needed/wanted")
        received = ReturnUpdate("RMA-1033-A", ReturnStage.RECEIVED, lines, condition="Sellable")
        assert adapter.push_return(order, authorized) is True
        assert adapter.push_return(order, authorized) is False
        assert adapter.push_return(order, received) is True
        assert adapter.push_return(order, received) is False
        assert sorted(harness.return_marks(order_id)) == [
            ("RMA-1033-A", "authorized"), ("RMA-1033-A", "received")]

    # -- failures

    def test_probe_finds_nothing_wrong_with_a_good_store(self, adapter):
        probe = getattr(adapter, "probe", None)
        if probe is None:
            pytest.skip("the adapter has no online check")
        assert probe() == []

    def test_refused_credentials_are_fatal(self, harness):
        adapter = harness.adapter_with_bad_credentials()
        if adapter is None:
            pytest.skip("the store has no credentials to refuse")
        try:
            with pytest.raises(FatalError):
                adapter.fetch_orders(at(0), at(10), None, 10)
        finally:
            adapter.close()

    def test_unreachable_store_is_transient(self, harness):
        adapter = harness.adapter_for_unreachable_store()
        if adapter is None:
            pytest.skip("the store cannot be made unreachable")
        try:
            with pytest.raises(TransientError):
                adapter.fetch_orders(at(0), at(10), None, 10)
        finally:
            adapter.close()
