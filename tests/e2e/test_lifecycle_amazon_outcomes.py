"""What Amazon did not ship reaching the shop, end to end through the real daemon on the
simulator's clock, with the SQL demo store as the shop: an order Amazon cancels by itself
and an order it finds Unfulfillable are held for a person or cancelled in the shop, as
the storefront's setting says; a partial shipment (FillAllAvailable, one SKU short) has
its missing units cancelled on their line in the shop and named in a note."""

from __future__ import annotations

from pathlib import Path

import pytest
from processes import Daemons, wait_for
from sqlalchemy import select

from bridge import demo_store
from bridge.demo import write_config
from bridge.demo_store import DemoLine
from bridge.ledger.db import make_engine
from bridge.ledger.repo import Ledger
from bridge.ledger.tables import Order
from bridge.sim.config import SimConfig
from bridge.sim.server import SimServer

pytestmark = pytest.mark.e2e

# TEE-M is one short for the partial order (FillAllAvailable accepts it and ships what
# there is); CAP-01's two units go missing after Amazon accepted the order (Unfulfillable:
# an order short of stock at create would be Invalid instead).
AMAZON = {"MUG-BLUE": 10, "TEE-M": 1, "CAP-01": 2}
THROUGH_TO_SHIPPED = 30 + 60 + 120 + 1


def set_policy(config_dir: Path, setting: str) -> None:
    path = config_dir / "storefronts" / "demo.toml"
    path.write_text(path.read_text().replace("[policy]\n", (
        "[policy]\n"
        'fulfillment_policy = "FillAllAvailable"\n'
        f'when_amazon_cancels = "{setting}"\n'
        f'when_unfulfillable = "{setting}"\n'), 1))


@pytest.mark.parametrize("setting", ["hold", "cancel_in_shop"])
def test_what_amazon_does_not_ship_reaches_the_shop(setting, tmp_path):
    ledger_url = f"sqlite:///{tmp_path / 'ledger.db'}"
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    with SimServer(SimConfig(clock_factor=0, rate_limits=False)) as sim:
        sim.admin.set_stock(AMAZON)
        config_dir = write_config(tmp_path, sim.base_url, database_url=ledger_url,
                                  store_url=store_url, poll_seconds=1, stock_seconds=30)
        set_policy(config_dir, setting)
        demo_store.create_schema(store_url)
        daemons = Daemons(tmp_path, config_dir)
        engine = make_engine(ledger_url)
        ledger = Ledger(engine)
        try:
            migrated = daemons.run("db", "upgrade")
            assert migrated.returncode == 0, migrated.stdout + migrated.stderr
            daemons.bridge("run", "run")
            cancelled = demo_store.insert_order(store_url, "#C1", [DemoLine("MUG-BLUE", 1)])
            unfulfillable = demo_store.insert_order(store_url, "#U1", [DemoLine("CAP-01", 2)])
            partial = demo_store.insert_order(
                store_url, "#P1", [DemoLine("MUG-BLUE", 2), DemoLine("TEE-M", 3)])

            def row(order_id: str) -> tuple[str, str, str]:
                with ledger.transaction() as session:
                    found = session.execute(
                        select(Order.state, Order.attention_reason,
                               Order.seller_fulfillment_order_id)
                        .where(Order.cart_order_id == order_id)).one_or_none()
                return tuple(found) if found else ("", "", "")

            def all_at_amazon() -> bool:
                daemons.check_alive()
                return all(row(o)[0] == "accepted" for o in (cancelled, unfulfillable, partial))

            wait_for(all_at_amazon, "the three orders at Amazon", 90, daemons.logs)

            # Amazon cancels #C1 by itself; #U1 finds no stock at planning; #P1 ships short.
            sim.admin.cancel_by_amazon(row(cancelled)[2])
            assert sim.admin.lose_stock("CAP-01", 2)["lost"] == 2
            sim.admin.advance(THROUGH_TO_SHIPPED)
            statuses = {o["sellerFulfillmentOrderId"]: o["status"] for o in sim.admin.orders()}
            assert [statuses[row(o)[2]] for o in (cancelled, unfulfillable, partial)] == [
                "Cancelled", "Unfulfillable", "CompletePartialled"]
            # #C1's mug went back on the shelf; only #P1's two mugs left it.
            mugs = sim.admin.inventory()["MUG-BLUE"]
            assert (mugs["fulfillable"], mugs["reserved"]) == (AMAZON["MUG-BLUE"] - 2, 0)

            def notes_of(order_id: str) -> list[str]:
                return [n["note"] for n in demo_store.read_notes(store_url, order_id=order_id)]

            if setting == "hold":
                def held() -> bool:
                    daemons.check_alive()
                    return (row(cancelled)[:2] == ("needs_attention", "cancelled_at_amazon")
                            and row(unfulfillable)[:2] == ("needs_attention",
                                                           "amazon_unfulfillable"))
                wait_for(held, "both orders held for a person", 60, daemons.logs)
                for order_id in (cancelled, unfulfillable):
                    assert demo_store.read_cancellation(store_url, order_id)[0] is False
                wait_for(lambda: any("Amazon cancelled" in n for n in notes_of(cancelled)),
                         "the hold's note in the shop", 30, daemons.logs)
            else:
                def cancelled_in_shop() -> bool:
                    daemons.check_alive()
                    return all(row(o)[0] == "cancelled"
                               and demo_store.read_cancellation(store_url, o)[0]
                               for o in (cancelled, unfulfillable))
                wait_for(cancelled_in_shop, "both orders cancelled in the ledger and the shop",
                         60, daemons.logs)
                assert any("Amazon cancelled the fulfillment order, so none of it ships. "
                           "The order is cancelled in the shop; nothing was refunded." in n
                           for n in notes_of(cancelled))
                assert any("Amazon cannot fulfill the order" in n for n in notes_of(unfulfillable))

            # The partial shipment, whatever the setting: two of the three tees cancelled on
            # their line, and the shop's note names what shipped and what did not.
            # The store numbers lines in the order they were inserted: the mugs, then the tees.
            tee_line = sorted(demo_store.read_cancellation(store_url, partial)[1], key=int)[1]

            def partial_in_shop() -> bool:
                daemons.check_alive()
                return (demo_store.read_cancellation(store_url, partial)[1].get(tee_line) == 2
                        and any("Not shipped" in n for n in notes_of(partial)))
            wait_for(partial_in_shop, "the partial shipment's lines in the shop", 60,
                     daemons.logs)
            assert demo_store.read_cancellation(store_url, partial)[0] is False
            [note] = [n for n in notes_of(partial) if "Not shipped" in n]
            assert "Shipped: 2 × Mug Blue (SKU MUG-BLUE); 1 × Tee M (SKU TEE-M)." in note
            assert ("Not shipped (Amazon cancelled them or found them unfulfillable): "
                    "2 × Tee M (SKU TEE-M).") in note
            assert "Those lines are cancelled in the shop; nothing was refunded." in note
            assert row(partial)[0] in ("shipped", "complete")
        finally:
            daemons.stop()
            engine.dispose()
