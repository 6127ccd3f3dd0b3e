"""The `FulfillmentNetwork` port's contract, run against the in-memory fake and against
`FbaClient` on the simulator: every case passes on both, so the unit tests that use the
fake test the services against what the wire really does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from bridge.domain.fulfillment import CancelVerdict, FulfillmentOrderRequest, RequestedItem
from bridge.domain.model import Address
from bridge.errors import IndeterminateError, NeedsAttentionError, TransientError
from bridge.fba.auth import LwaAuth
from bridge.fba.client import FbaClient
from bridge.fba.fake import FakeFulfillmentNetwork, Fault
from bridge.fba.port import FulfillmentNetwork
from bridge.fba.ratelimit import NoLimiter
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

    def set_stock(self, levels: dict[str, int]) -> None:
        self.network.set_stock(levels)

    def advance(self, seconds: float) -> None:
        self.network.advance(seconds)

    def fail_next_create(self, fault: Fault) -> None:
        self.network.inject("create_fulfillment_order", fault)


class OnTheSimulator:
    """Drives the simulator through its admin API; `network` is bridge's SP-API client."""

    _FAULTS = {
        Fault.TIMEOUT: {"status": 503},  # no usable answer, nothing done
        Fault.THROTTLED: {"status": 429},
        Fault.ACT_THEN_DROP: {"status": None, "drop_after_act": True},
    }

    def __init__(self, sim: SimServer) -> None:
        self.sim = sim
        session = requests.Session()
        auth = LwaAuth(f"{sim.base_url}/auth/o2/token", "client", "secret", "refresh",
                       session, 5.0)
        # No retries: a fault shows as the error the services see after the client's retries.
        self.network = FbaClient(sim.base_url, sim.config.marketplace_id, auth, NoLimiter(),
                                 "contract", timeout=CLIENT_TIMEOUT, max_retries=0,
                                 session=session)

    def set_stock(self, levels: dict[str, int]) -> None:
        self.sim.admin.set_stock(levels)

    def advance(self, seconds: float) -> None:
        self.sim.admin.advance(seconds)

    def fail_next_create(self, fault: Fault) -> None:
        self.sim.admin.add_fault("createFulfillmentOrder", count=1, **self._FAULTS[fault])


@pytest.fixture(scope="module")
def sim_server():
    config = SimConfig(clock_factor=0, rate_limits=False, drop_seconds=DROP_SECONDS)
    with SimServer(config) as server:
        yield server


@pytest.fixture(params=["fake", "simulator"])
def world(request):
    if request.param == "fake":
        yield OnTheFake()
        return
    sim = request.getfixturevalue("sim_server")
    sim.admin.reset()
    driver = OnTheSimulator(sim)
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


def test_an_order_short_of_stock_becomes_unfulfillable(world):
    world.set_stock({"SKU-1": 1})
    world.network.create_fulfillment_order(create_body(quantity=2))
    world.advance(TO_PLANNING)
    assert world.network.fulfillment_order("CT-1001").status == "Unfulfillable"
    assert [(lvl.fulfillable, lvl.reserved) for lvl in world.network.inventory_levels()] == [(1, 0)]


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
