"""A simulator given a SQLite file carries on after a restart."""

from __future__ import annotations

from sim_helpers import SpApi, order_body

from bridge.sim.config import SimConfig
from bridge.sim.server import SimServer


def test_state_survives_restart(tmp_path):
    db = str(tmp_path / "sim.sqlite")
    config = SimConfig(db_path=db, clock_factor=0, rate_limits=False)
    with SimServer(config) as first:
        token = first.access_token()
        api = SpApi(first.base_url, token)
        first.admin.set_stock({"SKU-A": 10})
        api.create(order_body("keep-1"))
        api.create(order_body("keep-2"))
        first.admin.advance(30)
        clock_before = first.admin.clock()["timestamp"]

    with SimServer(config) as second:
        api = SpApi(second.base_url, token)  # tokens stay valid: same signing secret
        assert second.admin.clock()["timestamp"] == clock_before
        statuses = {o["sellerFulfillmentOrderId"]: o["status"] for o in second.admin.orders()}
        assert statuses == {"keep-1": "Planning", "keep-2": "Planning"}
        assert second.admin.inventory()["SKU-A"]["reserved"] == 4
        # The schedule survives too: the orders finish on the restarted clock.
        second.admin.advance(180)
        assert api.get("keep-1").body["payload"]["fulfillmentOrder"][
            "fulfillmentOrderStatus"] == "Complete"
        assert api.create(order_body("keep-1")).status == 400  # still known
        numbers = [p["packageNumber"] for o in second.admin.orders() for p in o["packages"]]
        assert sorted(numbers) == [1, 2]

    with SimServer(config) as third:
        third.admin.reset()
        assert third.admin.orders() == []
    with SimServer(config) as fourth:
        assert fourth.admin.orders() == []
        assert SpApi(fourth.base_url, token).list_all().status == 200
