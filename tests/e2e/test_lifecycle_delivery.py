"""Delivery milestones end to end through the real daemon, on the simulator's clock: two
orders ship, one package is delivered and the other refused and returned to Amazon;
each package is looked at while on its way, each milestone reaches the shop once and
the event log, and once final no package is looked at again (the simulator counts the
getPackageTrackingDetails calls)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from processes import Daemons, wait_for
from sqlalchemy import select

from bridge import demo_store
from bridge.demo import write_config
from bridge.demo_store import DemoLine
from bridge.ledger.db import make_engine
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import Order, Package, PackageDelivery, Schedule
from bridge.sim.config import SimConfig
from bridge.sim.server import SimServer

pytestmark = pytest.mark.e2e

TO_COMPLETE = 30 + 60 + 120 + 1  # the simulator's Received → Planning → Processing → Complete
# A short carrier transit, so that bridge's wait for the estimated arrival (laid on its
# own clock) is seconds; Amazon's side moves only when the test advances its clock.
TRANSIT = 6.0
LOOKS = "getPackageTrackingDetails"


def follow_deliveries_every_second(config_dir: Path) -> None:
    path = config_dir / "storefronts" / "demo.toml"
    path.write_text(path.read_text().replace("[poll]\n", (
        "[poll]\ndelivery_seconds = 1\n"
        f"delivery_recheck_hours = {2 / 3600}\n")))


@pytest.mark.parametrize("production", [False, True], ids=["embedded", "postgres-redis"])
def test_delivered_and_returned_to_sender_reach_the_shop_and_following_stops(
        production, tmp_path, request):
    if production:
        ledger_url = request.getfixturevalue("postgres_schema_factory")()
        store_url = request.getfixturevalue("postgres_schema_factory")()
        broker = request.getfixturevalue("redis_url")
    else:
        ledger_url = f"sqlite:///{tmp_path / 'ledger.db'}"
        store_url = f"sqlite:///{tmp_path / 'store.db'}"
        broker = None
    with SimServer(SimConfig(clock_factor=0, rate_limits=False, transit_seconds=TRANSIT)) as sim:
        sim.admin.set_stock({"MUG-BLUE": 10, "TEE-M": 10})
        config_dir = write_config(tmp_path, sim.base_url, database_url=ledger_url,
                                  broker_url=broker, store_url=store_url, poll_seconds=1)
        follow_deliveries_every_second(config_dir)
        demo_store.create_schema(store_url)
        daemons = Daemons(tmp_path, config_dir)
        engine = make_engine(ledger_url)
        ledger = Ledger(engine)
        try:
            migrated = daemons.run("db", "upgrade")
            assert migrated.returncode == 0, migrated.stdout + migrated.stderr
            if production:  # the worker lanes and the scheduler, as deployed
                daemons.lanes()
                daemons.bridge("beat", "beat", "--loglevel", "INFO")
            else:
                daemons.bridge("run", "run")
            delivered = demo_store.insert_order(store_url, "#D1", [DemoLine("MUG-BLUE", 1)])
            refused = demo_store.insert_order(store_url, "#D2", [DemoLine("TEE-M", 1)])
            orders = (delivered, refused)

            def rows() -> dict[str, Order]:
                daemons.check_alive()
                with ledger.transaction() as session:
                    return {row.cart_order_id: row for row in session.scalars(
                        select(Order).where(Order.cart_order_id.in_(orders)))}

            wait_for(lambda: [row.state for row in rows().values()] == ["accepted"] * 2,
                     "both orders at Amazon", 90, daemons.logs)
            sim.admin.set_tracking_outcome(rows()[refused].seller_fulfillment_order_id, "RETURNED")
            sim.admin.advance(TO_COMPLETE)
            wait_for(lambda: [row.state for row in rows().values()] == ["complete"] * 2,
                     "both shipped, tracking in the shop", 90, daemons.logs)

            def deliveries() -> dict[str, tuple[PackageDelivery, Package]]:
                daemons.check_alive()
                with ledger.transaction() as session:
                    return {order.cart_order_id: (delivery, package)
                            for delivery, package, order in session.execute(
                                select(PackageDelivery, Package, Order)
                                .join(Package, Package.id == PackageDelivery.package_id)
                                .join(Order, Order.id == Package.order_id))}

            # Looked at while on its way (Amazon's clock still at the shipment).
            wait_for(lambda: len(deliveries()) == 2 and all(
                d.amazon_status == "IN_TRANSIT" for d, _ in deliveries().values()),
                "each package looked at in transit", 90, daemons.logs)
            assert demo_store.read_event_keys(store_url, delivered, "delivery") == []

            # Past the arrival, and past the refused package's way back to Amazon.
            sim.admin.advance(2 * TRANSIT + 1)

            def milestones(order_id: str) -> list[tuple[str, str]]:
                return demo_store.read_event_keys(store_url, order_id, "delivery")

            wait_for(lambda: milestones(delivered) and milestones(refused),
                     "both milestones in the shop", 90, daemons.logs)
            final = deliveries()
            assert milestones(delivered) == [(final[delivered][1].tracking_number, "delivered")]
            assert milestones(refused) == [(final[refused][1].tracking_number,
                                            "returned_to_sender")]
            for delivery, _package in final.values():
                assert delivery.next_poll_at is None and delivery.pushed_at is not None
                assert delivery.polls >= 2  # at least once in transit, once final
            looks_when_final = sim.admin.calls(LOOKS)
            assert looks_when_final == sum(d.polls for d, _ in final.values())

            # Several more delivery periods: no package is looked at again.
            def delivery_due() -> datetime:
                daemons.check_alive()
                with ledger.transaction() as session:
                    return session.scalar(select(Schedule.next_due_at).where(
                        Schedule.storefront == "demo", Schedule.flow == "delivery"))

            settled = delivery_due()

            def periods_passed() -> bool:
                return delivery_due() > settled + timedelta(seconds=4)

            wait_for(periods_passed, "more delivery periods", 60, daemons.logs)
            assert sim.admin.calls(LOOKS) == looks_when_final
            assert len(milestones(delivered)) == len(milestones(refused)) == 1

            daemons.env["COLUMNS"] = "400"  # the event table unabridged
            shown = daemons.run("orders", "show", "#D2")
            assert shown.returncode == 0, shown.stdout + shown.stderr
            assert "delivery_returned_to_sender" in shown.stdout
            assert "delivery_written" in shown.stdout
            assert "delivery: returned_to_sender" in shown.stdout  # the package's own line
        finally:
            daemons.stop()
            engine.dispose()
