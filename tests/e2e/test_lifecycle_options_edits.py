"""Amazon's options and edits after submission, end to end on the simulator's clock with
the SQL demo store as the shop: the order path's services (poll, submit, the update flow)
run in this process against the simulator over HTTP, as the worker runs them. An order
of a storefront asking for BLANK_BOX reaches the simulator with the feature; with the
seller unenrolled it is held (or sent without, per the setting); an address edited in
the shop before Amazon picks reaches the simulator's order, and one edited after is held
as `edit_too_late` with a note in the shop."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from processes import Daemons, wait_for

from bridge import demo_store
from bridge.carts.registry import adapter_class
from bridge.config import StorefrontConfig, load_config
from bridge.demo import write_config
from bridge.demo_store import DemoLine
from bridge.fba.client import FbaClient
from bridge.fba.ratelimit import NoLimiter
from bridge.ledger.db import make_engine
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import Base, Event, Order
from bridge.services.ingest import ingest_orders
from bridge.services.submit import submit_ready
from bridge.services.update import process_updates
from bridge.sim.config import SimConfig
from bridge.sim.server import SimServer

pytestmark = pytest.mark.e2e

TO_PROCESSING = 30 + 60 + 1  # Received, then Planning, on the simulator's clock
PORTLAND = {"ship_address1": "9 Elm St", "ship_city": "Portland", "ship_state": "OR",
            "ship_zip": "97201"}


@dataclass
class World:
    sim: SimServer
    ledger: Ledger
    storefront: StorefrontConfig
    cart: object
    fba: FbaClient
    store_url: str

    def poll(self):
        return ingest_orders(self.ledger, self.cart, self.storefront)  # type: ignore[arg-type]

    def submit(self):
        return submit_ready(self.ledger, self.fba, self.cart, self.storefront, 10)  # type: ignore[arg-type]

    def updates(self):
        return process_updates(self.ledger, self.fba, self.cart, self.storefront)  # type: ignore[arg-type]

    def row(self, order_id: str) -> Order:
        with self.ledger.transaction() as session:
            return session.scalar(sa.select(Order).where(Order.cart_order_id == order_id))

    def at_amazon(self, order_id: str) -> dict:
        """The simulator's stored order, as its getFulfillmentOrder shows it."""
        payload = self.fba.get_fulfillment_order(self.row(order_id).seller_fulfillment_order_id)
        assert payload is not None
        return payload["fulfillmentOrder"]

    def notes(self, order_id: str) -> list[str]:
        return [n["note"] for n in demo_store.read_notes(self.store_url, order_id=order_id)]

    def edit_address(self, order_id: str, columns: dict[str, str]) -> None:
        """What the shop does when the merchant edits the ship-to address."""
        engine = make_engine(self.store_url)
        try:
            with engine.begin() as conn:
                conn.execute(sa.update(demo_store.orders)
                             .where(demo_store.orders.c.id == int(order_id))
                             .values(updated_at=datetime.now(UTC).replace(tzinfo=None),
                                     **columns))
        finally:
            engine.dispose()


@contextmanager
def make_world(tmp_path: Path, policy: str, rules: str = "") -> Iterator[World]:
    ledger_url = f"sqlite:///{tmp_path / 'ledger.db'}"
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    with SimServer(SimConfig(clock_factor=0, rate_limits=False)) as sim:
        sim.admin.set_stock({"MUG-BLUE": 20, "TEE-M": 20})
        config_dir = write_config(tmp_path, sim.base_url, database_url=ledger_url,
                                  store_url=store_url)
        path = config_dir / "storefronts" / "demo.toml"
        path.write_text(path.read_text().replace("[policy]\n", "[policy]\n" + policy, 1) + rules)
        demo_store.create_schema(store_url)
        engine = make_engine(ledger_url)
        Base.metadata.create_all(engine)
        storefront = load_config(config_dir).storefront("demo")
        cart = adapter_class("sql").from_settings(storefront.cart.settings(), storefront.secret)
        fba = FbaClient.from_account(storefront.fulfillment, storefront.secret, NoLimiter())
        try:
            yield World(sim, Ledger(engine), storefront, cart, fba, store_url)
        finally:
            fba.close()
            cart.close()
            engine.dispose()


@pytest.fixture
def blank_box(tmp_path) -> Iterator[World]:
    with make_world(tmp_path, 'features = ["BLANK_BOX"]\n') as world:
        yield world


@pytest.fixture
def plain(tmp_path) -> Iterator[World]:
    with make_world(tmp_path, "") as world:
        yield world


def test_a_storefront_option_reaches_the_simulator_with_the_order(blank_box):
    order_id = demo_store.insert_order(blank_box.store_url, "#F1", [DemoLine("MUG-BLUE", 1)])
    assert blank_box.poll().ready == 1
    assert blank_box.submit().accepted == 1

    assert blank_box.at_amazon(order_id)["featureConstraints"] == [
        {"featureName": "BLANK_BOX", "featureFulfillmentPolicy": "Required"}]
    [stored] = blank_box.sim.admin.orders()
    assert stored["sellerFulfillmentOrderId"] == blank_box.row(order_id).seller_fulfillment_order_id


GIFT_RULE = """
[[rules]]
name = "gifts"
action = "override"
tags = ["gift"]
features = ["BLANK_BOX"]
"""


def test_a_rule_matched_order_reaches_the_simulator_with_blank_box(tmp_path):
    with make_world(tmp_path, "", rules=GIFT_RULE) as world:
        gift = demo_store.insert_order(world.store_url, "#G1", [DemoLine("MUG-BLUE", 1)],
                                       tags=("gift",))
        plain = demo_store.insert_order(world.store_url, "#G2", [DemoLine("MUG-BLUE", 1)])
        assert world.poll().ready == 2
        assert world.submit().accepted == 2

        assert world.at_amazon(gift)["featureConstraints"] == [
            {"featureName": "BLANK_BOX", "featureFulfillmentPolicy": "Required"}]
        assert not world.at_amazon(plain).get("featureConstraints")
        with world.ledger.transaction() as session:
            applied = session.scalars(sa.select(Event.message).where(
                Event.order_id == world.row(gift).id, Event.kind == "rules_applied")).all()
        assert applied and "gifts" in applied[0]


@pytest.mark.parametrize("setting", ["hold", "send_without"])
def test_an_option_the_seller_lost_holds_the_order_or_goes_without_it(setting, tmp_path):
    policy = f'features = ["BLANK_BOX"]\nwhen_feature_unavailable = "{setting}"\n'
    with make_world(tmp_path, policy) as world:
        world.sim.admin.set_feature_enrollment("BLANK_BOX", False)
        order_id = demo_store.insert_order(world.store_url, "#F2", [DemoLine("TEE-M", 1)])
        world.poll()
        world.submit()

        row = world.row(order_id)
        [note] = world.notes(order_id)
        if setting == "hold":
            assert (row.state, row.attention_reason) == ("needs_attention", "feature_unavailable")
            assert world.sim.admin.orders() == []
            assert "BLANK_BOX" in note and "not enrolled" in note
        else:
            assert row.state == "accepted"
            assert "featureConstraints" not in world.at_amazon(order_id)
            assert "sent to Amazon without BLANK_BOX" in note


def test_an_address_edit_before_processing_reaches_the_simulator(plain):
    order_id = demo_store.insert_order(plain.store_url, "#E1", [DemoLine("MUG-BLUE", 2)])
    plain.poll()
    assert plain.submit().accepted == 1
    assert plain.at_amazon(order_id)["fulfillmentOrderStatus"] == "Received"

    plain.edit_address(order_id, PORTLAND)
    plain.poll()
    assert plain.row(order_id).state == "update_requested"
    assert plain.updates().updated == 1

    address = plain.at_amazon(order_id)["destinationAddress"]
    assert (address["addressLine1"], address["city"], address["postalCode"]) == (
        "9 Elm St", "Portland", "97201")
    assert plain.row(order_id).state == "accepted"
    assert plain.notes(order_id) == []


def test_an_address_edit_after_processing_is_too_late_with_a_note_in_the_shop(plain):
    order_id = demo_store.insert_order(plain.store_url, "#E2", [DemoLine("MUG-BLUE", 1)])
    plain.poll()
    assert plain.submit().accepted == 1
    city = plain.at_amazon(order_id)["destinationAddress"]["city"]
    plain.sim.admin.advance(TO_PROCESSING)
    assert plain.at_amazon(order_id)["fulfillmentOrderStatus"] == "Processing"

    plain.edit_address(order_id, PORTLAND)
    plain.poll()
    assert plain.updates().too_late == 1

    row = plain.row(order_id)
    assert (row.state, row.attention_reason) == ("needs_attention", "edit_too_late")
    assert plain.at_amazon(order_id)["destinationAddress"]["city"] == city
    [note] = plain.notes(order_id)
    assert "no longer takes changes" in note and "Processing" in note


def test_the_daemon_sends_an_edit_before_processing_and_holds_one_after(tmp_path):
    """The same through the real daemon (`bridge run`): the status sync's timer sends the
    waiting edit; once the ledger knows Amazon is picking, an edit is held at once."""
    ledger_url = f"sqlite:///{tmp_path / 'ledger.db'}"
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    with SimServer(SimConfig(clock_factor=0, rate_limits=False)) as sim:
        sim.admin.set_stock({"MUG-BLUE": 20})
        config_dir = write_config(tmp_path, sim.base_url, database_url=ledger_url,
                                  store_url=store_url, poll_seconds=1, stock_seconds=30)
        path = config_dir / "storefronts" / "demo.toml"
        path.write_text(path.read_text().replace("[policy]\n", '[policy]\nfeatures = ["BLANK_BOX"]\n', 1))
        demo_store.create_schema(store_url)
        daemons = Daemons(tmp_path, config_dir)
        engine = make_engine(ledger_url)
        storefront = load_config(config_dir).storefront("demo")
        fba = FbaClient.from_account(storefront.fulfillment, storefront.secret, NoLimiter())
        world = World(sim, Ledger(engine), storefront, None, fba, store_url)
        try:
            migrated = daemons.run("db", "upgrade")
            assert migrated.returncode == 0, migrated.stdout + migrated.stderr
            daemons.bridge("run", "run")
            order_id = demo_store.insert_order(store_url, "#D1", [DemoLine("MUG-BLUE", 1)])

            def state() -> str:
                daemons.check_alive()
                row = world.row(order_id)
                return row.state if row is not None else ""

            wait_for(lambda: state() == "accepted", "the order at Amazon", 60, daemons.logs)
            assert world.at_amazon(order_id)["featureConstraints"] == [
                {"featureName": "BLANK_BOX", "featureFulfillmentPolicy": "Required"}]

            world.edit_address(order_id, PORTLAND)
            wait_for(lambda: world.at_amazon(order_id)["destinationAddress"]["city"] == "Portland",
                     "the edited address at Amazon", 60, daemons.logs)
            wait_for(lambda: state() == "accepted", "the edit settled", 30, daemons.logs)

            sim.admin.advance(TO_PROCESSING)
            wait_for(lambda: state() == "processing", "Amazon picking", 60, daemons.logs)
            world.edit_address(order_id, {"ship_address1": "1 Late St"})
            wait_for(lambda: state() == "needs_attention", "the late edit held", 60, daemons.logs)
            assert world.row(order_id).attention_reason == "edit_too_late"
            assert world.at_amazon(order_id)["destinationAddress"]["addressLine1"] == "9 Elm St"
            wait_for(lambda: any("after Amazon started picking" in n for n in world.notes(order_id)),
                     "the note in the shop", 30, daemons.logs)
        finally:
            daemons.stop()
            fba.close()
            engine.dispose()
