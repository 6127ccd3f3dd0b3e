"""The `FulfillmentNetwork` port's contract, run against the in-memory fake and against
`FbaClient` on the simulator: every case passes on both, so the unit tests that use the
fake test the services against what the wire really does."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import requests

from bridge.domain.fulfillment import (
    CancelVerdict,
    FulfillmentOrderRequest,
    FulfillmentOrderUpdate,
    RequestedItem,
    UpdateVerdict,
)
from bridge.domain.model import Address
from bridge.errors import IndeterminateError, NeedsAttentionError, TransientError
from bridge.fba.auth import LwaAuth
from bridge.fba.client import FbaClient
from bridge.fba.errors import NotFound
from bridge.fba.fake import FakeFulfillmentNetwork, Fault
from bridge.fba.port import FulfillmentNetwork
from bridge.fba.ratelimit import NoLimiter
from bridge.fba.returns import ReturnUnit
from bridge.fba.v2026.client import FbaV2026Client
from bridge.sim.config import SimConfig
from bridge.sim.server import SimServer

TO_PLANNING, TO_PROCESSING, TO_COMPLETE = 31, 60, 120  # each step from the one before

# Longer than the client waits for an answer, so an answer held back is lost to it.
CLIENT_TIMEOUT, DROP_SECONDS = 0.8, 1.5


def create_body(order_id: str = "CT-1001", quantity: int = 2,
                sku: str = "SKU-1") -> FulfillmentOrderRequest:
    return FulfillmentOrderRequest(
        seller_fulfillment_order_id=order_id,
        displayable_id=order_id,
        displayable_date=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
        comment="Thank you for your order.",
        shipping_speed="Standard",
        destination=Address(name="Jane Doe", line1="1 Main St", city="Seattle", state="WA",
                            postal_code="98101", country_code="US"),
        fulfillment_policy="FillOrKill",
        items=(RequestedItem(sku, f"{order_id}-1", quantity),),
    )


class OnTheFake:
    """Drives the in-memory network."""

    def __init__(self) -> None:
        self.network = FakeFulfillmentNetwork()

    def set_stock(self, levels: dict[str, int], marketplace_id: str = "") -> None:
        self.network.set_stock(levels, marketplace_id=marketplace_id)

    def set_feature_enrollment(self, feature: str, eligible: bool) -> None:
        self.network.set_feature_enrollment(feature, eligible)

    def advance(self, seconds: float) -> None:
        self.network.advance(seconds)

    def fail_next_create(self, fault: Fault) -> None:
        self.network.inject("create_fulfillment_order", fault)

    def set_tracking_outcome(self, order_id: str, outcome: str) -> None:
        self.network.set_tracking_outcome(order_id, outcome)


class OnTheSimulator:
    """Drives the simulator through its admin API; `network` is bridge's SP-API client."""

    _FAULTS = {
        Fault.TIMEOUT: {"status": 503},  # no usable answer, nothing done
        Fault.THROTTLED: {"status": 429},
        Fault.ACT_THEN_DROP: {"status": None, "drop_after_act": True},
    }

    def __init__(self, sim: SimServer, client_class: type[FbaClient] = FbaClient) -> None:
        self.sim = sim
        # The operation that creates orders in the client's Outbound version.
        self.create_operation = ("createOrder" if client_class is FbaV2026Client
                                 else "createFulfillmentOrder")
        session = requests.Session()
        auth = LwaAuth(f"{sim.base_url}/auth/o2/token", "client", "secret", "refresh",
                       session, 5.0)
        # No retries: a fault shows as the error the services see after the client's retries.
        self.network = client_class(sim.base_url, sim.config.marketplace_id, auth, NoLimiter(),
                                 "contract", timeout=CLIENT_TIMEOUT, max_retries=0,
                                 session=session)

    def set_stock(self, levels: dict[str, int], marketplace_id: str = "") -> None:
        self.sim.admin.set_stock(levels, marketplace_id=marketplace_id or None)

    def set_feature_enrollment(self, feature: str, eligible: bool) -> None:
        self.sim.admin.set_feature_enrollment(feature, eligible)

    def advance(self, seconds: float) -> None:
        self.sim.admin.advance(seconds)

    def set_tracking_outcome(self, order_id: str, outcome: str) -> None:
        self.sim.admin.set_tracking_outcome(order_id, outcome)

    def fail_next_create(self, fault: Fault) -> None:
        self.sim.admin.add_fault(self.create_operation, count=1, **self._FAULTS[fault])


@pytest.fixture(scope="module")
def sim_server():
    config = SimConfig(clock_factor=0, rate_limits=False, drop_seconds=DROP_SECONDS)
    with SimServer(config) as server:
        yield server


@pytest.fixture(params=["fake", "simulator", "simulator-v2026"])
def world(request):
    if request.param == "fake":
        yield OnTheFake()
        return
    sim = request.getfixturevalue("sim_server")
    sim.admin.reset()
    client_class = FbaV2026Client if request.param == "simulator-v2026" else FbaClient
    driver = OnTheSimulator(sim, client_class)
    yield driver
    driver.network.close()


def test_both_implement_the_port(world):
    assert isinstance(world.network, FulfillmentNetwork)


def test_a_created_order_is_received(world):
    world.set_stock({"SKU-1": 10})
    world.network.create_fulfillment_order(create_body())

    order = world.network.fulfillment_order("CT-1001")
    assert (order.seller_fulfillment_order_id, order.status, order.packages) == (
        "CT-1001", "Received", ())
    assert order.status_updated_at is not None
    listed = world.network.changed_orders(order.status_updated_at).orders
    assert [(o.seller_fulfillment_order_id, o.status) for o in listed] == [("CT-1001", "Received")]


def test_an_order_moves_to_complete_with_its_packages(world):
    world.set_stock({"SKU-1": 10})
    world.network.create_fulfillment_order(create_body(quantity=3))
    received = world.network.fulfillment_order("CT-1001")

    seen = []
    for seconds in (TO_PLANNING, TO_PROCESSING, TO_COMPLETE):
        world.advance(seconds)
        seen.append(world.network.fulfillment_order("CT-1001").status)
    assert seen == ["Planning", "Processing", "Complete"]

    done = world.network.fulfillment_order("CT-1001")
    assert done.status_updated_at > received.status_updated_at
    assert len(done.packages) == 1
    package = done.packages[0]
    assert package.carrier and package.tracking_number and package.shipment_id
    assert package.shipped_at is not None
    assert [(i.seller_sku, i.item_id, i.quantity) for i in package.items] == [
        ("SKU-1", "CT-1001-1", 3)]
    listing = world.network.changed_orders(done.status_updated_at)
    assert [o.status for o in listing.orders] == ["Complete"]
    assert listing.newest_update == done.status_updated_at
    assert world.network.changed_orders(done.status_updated_at + timedelta(seconds=1)).orders == ()


# Standard's carrier transit on both: shipped → at the door.
TRANSIT = 2 * 86400


@pytest.mark.parametrize("outcome, final_status, final_event", [
    ("DELIVERED", "DELIVERED", "EVENT_301"),
    ("UNDELIVERABLE", "UNDELIVERABLE", "EVENT_409"),
    ("RETURNED", "RETURNED", "EVENT_309"),
])
def test_a_package_is_tracked_to_its_outcome(world, outcome, final_status, final_event):
    world.set_stock({"SKU-1": 10})
    world.network.create_fulfillment_order(create_body())
    world.set_tracking_outcome("CT-1001", outcome)
    world.advance(TO_PLANNING + TO_PROCESSING + TO_COMPLETE)
    [package] = world.network.fulfillment_order("CT-1001").packages

    on_the_way = world.network.package_tracking(package.package_number)
    assert (on_the_way.status, on_the_way.outcome) == ("IN_TRANSIT", None)
    assert on_the_way.tracking_number == package.tracking_number
    assert on_the_way.estimated_arrival - on_the_way.shipped_at == timedelta(seconds=TRANSIT)

    world.advance(2 * TRANSIT + 1)  # a return takes a second transit back
    final = world.network.package_tracking(package.package_number)
    assert final.status == final_status and final.outcome is not None
    event = final.outcome_event()
    assert event is not None and event.code == final_event
    assert world.network.package_tracking(package.package_number + 1000) is None


def test_an_order_is_cancelled_while_received(world):
    world.set_stock({"SKU-1": 10})
    world.network.create_fulfillment_order(create_body())

    assert world.network.cancel_order("CT-1001").verdict == CancelVerdict.CANCELLED
    assert world.network.fulfillment_order("CT-1001").status == "Cancelled"
    # Cancelling again is harmless.
    assert world.network.cancel_order("CT-1001").verdict == CancelVerdict.CANCELLED
    assert {lvl.seller_sku: lvl.fulfillable for lvl in world.network.inventory_levels()} == {
        "SKU-1": 10}


def test_a_cancel_once_amazon_is_picking_is_refused(world):
    world.set_stock({"SKU-1": 10})
    world.network.create_fulfillment_order(create_body())
    world.advance(TO_PLANNING + TO_PROCESSING)

    outcome = world.network.cancel_order("CT-1001")
    assert outcome.verdict == CancelVerdict.REFUSED
    assert "Processing" in outcome.reason
    assert world.network.fulfillment_order("CT-1001").status == "Processing"


def test_inventory_levels_after_stock_is_set_and_after_an_order(world):
    world.set_stock({"SKU-1": 10, "SKU-2": 4})
    levels = {lvl.seller_sku: lvl for lvl in world.network.inventory_levels()}
    assert {sku: (lvl.fulfillable, lvl.reserved) for sku, lvl in levels.items()} == {
        "SKU-1": (10, 0), "SKU-2": (4, 0)}
    assert all(lvl.updated_at is not None for lvl in levels.values())

    world.advance(60)
    world.network.create_fulfillment_order(create_body(quantity=2))
    reserved = {lvl.seller_sku: lvl for lvl in world.network.inventory_levels()}
    assert (reserved["SKU-1"].fulfillable, reserved["SKU-1"].reserved) == (8, 2)
    changed_at = reserved["SKU-1"].updated_at
    assert changed_at > levels["SKU-1"].updated_at
    # Incremental reads list only what changed since.
    assert [lvl.seller_sku for lvl in world.network.inventory_levels(since=changed_at)] == ["SKU-1"]
    assert world.network.inventory_levels(since=changed_at + timedelta(seconds=1)) == []

    world.advance(TO_PLANNING + TO_PROCESSING + TO_COMPLETE)
    shipped = {lvl.seller_sku: lvl for lvl in world.network.inventory_levels()}
    assert (shipped["SKU-1"].fulfillable, shipped["SKU-1"].reserved) == (8, 0)


def test_an_order_short_of_stock_is_invalid_at_once(world):
    # Received means validated with enough sellable stock; FillOrKill needs every unit.
    world.set_stock({"SKU-1": 1})
    world.network.create_fulfillment_order(create_body(quantity=2))
    assert world.network.fulfillment_order("CT-1001").status == "Invalid"
    assert [(lvl.fulfillable, lvl.reserved) for lvl in world.network.inventory_levels()] == [(1, 0)]
    world.advance(TO_PLANNING)
    assert world.network.fulfillment_order("CT-1001").status == "Invalid"


def item_quantities(order) -> list[tuple[str, str, int, int, int]]:
    return sorted((i.seller_sku, i.item_id, i.quantity, i.cancelled, i.unfulfillable)
                  for i in order.items)


def test_a_partial_shipment_reports_what_each_item_did_not_ship(world):
    world.set_stock({"SKU-1": 5, "SKU-2": 1})
    world.network.create_fulfillment_order(replace(
        create_body(), fulfillment_policy="FillAllAvailable",
        items=(RequestedItem("SKU-1", "CT-1001-1", 2), RequestedItem("SKU-2", "CT-1001-2", 3))))
    world.advance(TO_PLANNING + TO_PROCESSING + TO_COMPLETE)

    done = world.network.fulfillment_order("CT-1001")
    assert done.status == "CompletePartialled"
    # FillAllAvailable cancels what it cannot fill; the package holds what shipped.
    assert item_quantities(done) == [("SKU-1", "CT-1001-1", 2, 0, 0),
                                     ("SKU-2", "CT-1001-2", 3, 2, 0)]
    assert sorted((i.seller_sku, i.quantity) for p in done.packages for i in p.items) == [
        ("SKU-1", 2), ("SKU-2", 1)]


def test_orders_closed_unshipped_report_every_unit_cancelled_or_unfulfillable(world):
    world.set_stock({"SKU-1": 1})
    world.network.create_fulfillment_order(create_body("CT-1001", quantity=2))
    world.network.create_fulfillment_order(create_body("CT-1002", quantity=1))
    world.network.cancel_order("CT-1002")
    world.advance(TO_PLANNING)

    assert item_quantities(world.network.fulfillment_order("CT-1001")) == [
        ("SKU-1", "CT-1001-1", 2, 0, 2)]
    assert item_quantities(world.network.fulfillment_order("CT-1002")) == [
        ("SKU-1", "CT-1002-1", 1, 1, 0)]


def test_an_unknown_order_is_not_found(world):
    assert world.network.fulfillment_order("CT-NOPE") is None
    assert world.network.cancel_order("CT-NOPE").verdict == CancelVerdict.NOT_FOUND


def test_a_second_create_and_an_unknown_sku_are_refused(world):
    world.set_stock({"SKU-1": 10})
    world.network.create_fulfillment_order(create_body())
    with pytest.raises(NeedsAttentionError):
        world.network.create_fulfillment_order(create_body())
    with pytest.raises(NeedsAttentionError):
        world.network.create_fulfillment_order(create_body("CT-1002", sku="NO-SUCH-SKU"))
    assert world.network.fulfillment_order("CT-1002") is None


@pytest.mark.parametrize("fault, error, created", [
    (Fault.TIMEOUT, IndeterminateError, False),
    (Fault.ACT_THEN_DROP, IndeterminateError, True),
    (Fault.THROTTLED, TransientError, False),
])
def test_a_faulted_create_is_settled_by_a_read_back(world, fault, error, created):
    world.set_stock({"SKU-1": 10})
    world.fail_next_create(fault)
    with pytest.raises(error) as raised:
        world.network.create_fulfillment_order(create_body())
    if fault == Fault.THROTTLED:
        assert not isinstance(raised.value, IndeterminateError), "nothing was sent"

    found = world.network.fulfillment_order("CT-1001")
    assert (found is not None) == created
    if created:
        assert found.status == "Received"
    else:
        # Creating again with the same id works once nothing was created.
        world.network.create_fulfillment_order(create_body())
        assert world.network.fulfillment_order("CT-1001").status == "Received"


RETURN_BACK_AND_PROCESSED = 4 * 86400 + 1  # return transit (3 days) + inspection (1 day)


def test_a_shipped_unit_is_returned_once_and_processed(world):
    world.set_stock({"SKU-1": 10})
    world.network.create_fulfillment_order(create_body(quantity=2))
    assert world.network.create_return("CT-1001", [
        ReturnUnit("CT-1001-R0-1", "CT-1001-1", "none-yet", "CR-UNWANTED_ITEM")
    ]).invalid[0].code in ("InvalidValues", "NoCompletedShipItems")
    for seconds in (TO_PLANNING, TO_PROCESSING, TO_COMPLETE):
        world.advance(seconds)
    codes = [r.code for r in world.network.return_reasons("SKU-1", "CT-1001")]
    assert {"CR-UNWANTED_ITEM", "CR-DEFECTIVE"} <= set(codes)
    shipped = world.network.order_returns("CT-1001")
    assert [(s.item_id, s.seller_sku, s.quantity) for s in shipped.shipped] == [
        ("CT-1001-1", "SKU-1", 2)]
    shipment = shipped.shipped[0].shipment_id

    def unit(n: int, reason: str = "CR-UNWANTED_ITEM") -> ReturnUnit:
        return ReturnUnit(f"CT-1001-R1-{n}", "CT-1001-1", shipment, reason)

    created = world.network.create_return("CT-1001", [unit(1), unit(2, "CR-MADE-UP")])
    [accepted] = created.accepted
    assert (accepted.return_item_id, accepted.status) == ("CT-1001-R1-1", "New")
    assert [(i.return_item_id, i.code) for i in created.invalid] == [
        ("CT-1001-R1-2", "InvalidValues")]
    [authorization] = created.authorizations
    assert authorization.label_url and authorization.rma_id
    assert accepted.authorization_id == authorization.authorization_id

    # The same id again is a duplicate; one unit more than shipped has nothing to return.
    again = world.network.create_return("CT-1001", [unit(1), unit(3), unit(4)])
    assert [(i.return_item_id, i.code) for i in again.invalid] == [
        ("CT-1001-R1-1", "DuplicateRequest"), ("CT-1001-R1-4", "NoReturnableQuantity")]
    assert [u.return_item_id for u in again.accepted] == ["CT-1001-R1-3"]

    read = world.network.order_returns("CT-1001")
    assert sorted((u.return_item_id, u.status) for u in read.units) == [
        ("CT-1001-R1-1", "New"), ("CT-1001-R1-3", "New")]
    assert {a.authorization_id for a in read.authorizations} == {
        authorization.authorization_id, again.authorizations[0].authorization_id}

    world.advance(RETURN_BACK_AND_PROCESSED)
    done = world.network.order_returns("CT-1001")
    assert sorted((u.return_item_id, u.status, u.condition) for u in done.units) == [
        ("CT-1001-R1-1", "Processed", "Sellable"), ("CT-1001-R1-3", "Processed", "Sellable")]
    with pytest.raises(NotFound):
        world.network.create_return("CT-404", [unit(9)])


# -- Amazon's options (featureConstraints) and updates ------------------------------------

ELSEWHERE = Address(name="Jane Doe", line1="9 Elm St", city="Portland", state="OR",
                    postal_code="97201", country_code="US")


def test_features_name_what_the_marketplace_offers_and_the_enrolment(world):
    offered = world.network.features()
    assert offered["BLANK_BOX"] is True and offered["BLOCK_AMZL"] is True
    world.set_feature_enrollment("BLANK_BOX", False)
    assert world.network.features()["BLANK_BOX"] is False


def test_feature_sku_says_whether_a_sku_can_ship_with_it_and_why_not(world):
    world.set_stock({"SKU-1": 5, "SKU-0": 0})
    assert world.network.feature_sku("BLANK_BOX", "SKU-1").eligible is True
    empty = world.network.feature_sku("BLANK_BOX", "SKU-0")
    assert (empty.eligible, empty.reasons) == (False, ("SKU_NOT_ELIGIBLE",))
    assert world.network.feature_sku("BLANK_BOX", "NO-SUCH-SKU").reasons == ("INVALID_SKU",)
    world.set_feature_enrollment("BLANK_BOX", False)
    assert "MERCHANT_NOT_ENROLLED" in world.network.feature_sku("BLANK_BOX", "SKU-1").reasons


def test_an_order_keeps_its_required_features(world):
    world.set_stock({"SKU-1": 10})
    world.network.create_fulfillment_order(replace(create_body(), features=("BLANK_BOX",)))
    assert world.network.fulfillment_order("CT-1001").features == ("BLANK_BOX",)


def test_a_feature_the_seller_is_not_enrolled_in_is_refused_at_create(world):
    world.set_stock({"SKU-1": 10})
    world.set_feature_enrollment("BLOCK_AMZL", False)
    with pytest.raises(NeedsAttentionError):
        world.network.create_fulfillment_order(replace(create_body(), features=("BLOCK_AMZL",)))
    assert world.network.fulfillment_order("CT-1001") is None


def test_an_order_is_updated_while_received_and_reads_back_so(world):
    world.set_stock({"SKU-1": 10})
    world.network.create_fulfillment_order(create_body(quantity=2))
    outcome = world.network.update_order(FulfillmentOrderUpdate(
        "CT-1001", destination=ELSEWHERE, shipping_speed="Expedited",
        items=(RequestedItem("SKU-1", "CT-1001-1", 3),)))
    assert outcome.verdict == UpdateVerdict.UPDATED

    order = world.network.fulfillment_order("CT-1001")
    assert (order.destination, order.shipping_speed) == (ELSEWHERE, "Expedited")
    assert [(i.seller_sku, i.item_id, i.quantity) for i in order.items] == [
        ("SKU-1", "CT-1001-1", 3)]
    again = world.network.update_order(FulfillmentOrderUpdate("CT-1001", destination=ELSEWHERE))
    assert again.verdict == UpdateVerdict.UPDATED, "the same update twice is harmless"


@pytest.mark.parametrize("item", [
    RequestedItem("SKU-1", "CT-1001-9", 1),  # an item the order was not created with
    RequestedItem("SKU-2", "CT-1001-1", 1),  # another SKU for an item
    RequestedItem("SKU-1", "CT-1001-1", 0),  # an item dropped
])
def test_an_update_amazon_cannot_make_is_refused(world, item):
    world.set_stock({"SKU-1": 10, "SKU-2": 10})
    world.network.create_fulfillment_order(create_body())
    outcome = world.network.update_order(FulfillmentOrderUpdate("CT-1001", items=(item,)))
    assert outcome.verdict == UpdateVerdict.REFUSED and outcome.reason
    assert [i.quantity for i in world.network.fulfillment_order("CT-1001").items] == [2]


def test_an_update_once_amazon_is_picking_is_refused(world):
    world.set_stock({"SKU-1": 10})
    world.network.create_fulfillment_order(create_body())
    world.advance(TO_PLANNING)
    world.advance(TO_PROCESSING)
    assert world.network.fulfillment_order("CT-1001").status == "Processing"

    outcome = world.network.update_order(FulfillmentOrderUpdate("CT-1001", destination=ELSEWHERE))
    assert outcome.verdict == UpdateVerdict.REFUSED and "Processing" in outcome.reason
    assert world.network.fulfillment_order("CT-1001").destination.city == "Seattle"


def test_an_update_of_an_unknown_order_is_not_found(world):
    outcome = world.network.update_order(FulfillmentOrderUpdate("NOPE-1", destination=ELSEWHERE))
    assert outcome.verdict == UpdateVerdict.NOT_FOUND


def test_an_order_routed_to_another_marketplace_draws_on_that_marketplaces_stock(world):
    canada = "A2EUQ1WTGCTBG2"
    world.set_stock({"SKU-1": 10})
    world.set_stock({"SKU-1": 3}, marketplace_id=canada)
    to_canada = replace(create_body("CT-CA-1", quantity=2), marketplace_id=canada,
                        destination=Address(name="Jane Doe", line1="1 King St", city="Toronto",
                                            state="ON", postal_code="M5V 2T6", country_code="CA"))
    world.network.create_fulfillment_order(to_canada)

    assert world.network.fulfillment_order("CT-CA-1").status == "Received"
    canadian = {lvl.seller_sku: lvl for lvl in world.network.inventory_levels(marketplace_id=canada)}
    home = {lvl.seller_sku: lvl for lvl in world.network.inventory_levels()}
    assert (canadian["SKU-1"].fulfillable, canadian["SKU-1"].reserved) == (1, 2)
    assert (home["SKU-1"].fulfillable, home["SKU-1"].reserved) == (10, 0)

    # Short in Canada, however much the home marketplace holds: Invalid at once.
    world.network.create_fulfillment_order(replace(to_canada, seller_fulfillment_order_id="CT-CA-2",
                                                   displayable_id="CT-CA-2"))
    assert world.network.fulfillment_order("CT-CA-2").status == "Invalid"
