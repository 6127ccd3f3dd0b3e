"""Several marketplaces in one simulator: stock is kept per marketplace, an order draws on
its own marketplace's stock, and a destination the marketplace does not serve is refused
(2020-07-01 and v2026-07-04 alike). Through the HTTP wire, the admin API and the CLI."""

from __future__ import annotations

import json

from click.testing import CliRunner
from sim_helpers import INVENTORY, LIFECYCLE, OUTBOUND, V2026, SpApi, order_body

from bridge.sim.cli import sim as sim_group
from bridge.sim.config import SimConfig
from bridge.sim.inventory.stock import KIND
from bridge.sim.simulator import Simulator
from bridge.sim.state import Store

US = "ATVPDKIKX0DER"
CA = "A2EUQ1WTGCTBG2"
MX = "A1AM78C64UM0Y8"
UK = "A1F83G8C2ARO7P"
DE = "A1PA6795UKMFR9"
ADDRESSES = {
    "US": {"name": "Ada Lovelace", "addressLine1": "1 Main St", "city": "Seattle",
           "stateOrRegion": "WA", "postalCode": "98101", "countryCode": "US"},
    "CA": {"name": "Ada Lovelace", "addressLine1": "1 King St W", "city": "Toronto",
           "stateOrRegion": "ON", "postalCode": "M5H 1A1", "countryCode": "CA"},
    "ZA": {"name": "Ada Lovelace", "addressLine1": "1 Long St", "city": "Cape Town",
           "stateOrRegion": "WC", "postalCode": "8001", "countryCode": "ZA"},
    "AT": {"name": "Ada Lovelace", "addressLine1": "Ringstrasse 1", "city": "Wien",
           "postalCode": "1010", "countryCode": "AT"},
    "FR": {"name": "Ada Lovelace", "addressLine1": "1 Rue de Rivoli", "city": "Paris",
           "postalCode": "75001", "countryCode": "FR"},
}


def summaries(api: SpApi, marketplace_id: str) -> dict[str, int]:
    answer = api.call("getInventorySummaries", "GET", f"{INVENTORY}/summaries", params={
        "granularityType": "Marketplace", "granularityId": marketplace_id,
        "marketplaceIds": marketplace_id, "details": "true"})
    assert answer.status == 200
    return {s["sellerSku"]: s["inventoryDetails"]["fulfillableQuantity"]
            for s in answer.body["payload"]["inventorySummaries"]}


def order_from(marketplace_id: str, order_id: str, country: str, units: int = 2) -> dict:
    items = [{"sellerSku": "SKU-A", "sellerFulfillmentOrderItemId": "line-1",
              "quantity": units}]
    return order_body(order_id, items, marketplaceId=marketplace_id,
                      destinationAddress=ADDRESSES[country])


def v2026_body(order_id: str, origin: str, country: str) -> dict:
    return {"orderId": order_id, "origin": {"countryCode": origin},
            "destination": {"deliveryAddress": ADDRESSES[country]},
            "lineItems": [{"lineItemId": "l-1",
                           "product": {"productIdentifier": {"amazonSku": "SKU-A"}},
                           "amount": {"unit": "EACHES", "value": "1.0"}}]}


def stock_of(sim, marketplace_id: str) -> dict[str, tuple[int, int]]:
    """sku -> (fulfillable, reserved) in one marketplace, as the admin API reports it."""
    return {sku: (item["fulfillable"], item["reserved"])
            for sku, item in sim.admin.inventory(marketplace_id).items()}


def test_stock_is_kept_per_marketplace(sim, api):
    sim.admin.set_stock({"SKU-A": 5, "SKU-B": 1})
    sim.admin.set_stock({"SKU-A": 3}, marketplace_id=CA)
    sim.admin.set_stock({"SKU-A": 9}, marketplace_id=MX)
    assert summaries(api, US) == {"SKU-A": 5, "SKU-B": 1}
    assert summaries(api, CA) == {"SKU-A": 3}
    assert summaries(api, MX) == {"SKU-A": 9}
    assert summaries(api, UK) == {}
    # The admin client's default is the simulator's own marketplace.
    assert stock_of(sim, US) == {"SKU-A": (5, 0), "SKU-B": (1, 0)}
    assert {sku: i["marketplaceId"] for sku, i in sim.admin.inventory().items()} == {
        "SKU-A": US, "SKU-B": US}
    everywhere = sim.admin.inventory_everywhere()
    assert sorted((i["marketplaceId"], i["sellerSku"]) for i in everywhere) == [
        (MX, "SKU-A"), (CA, "SKU-A"), (US, "SKU-A"), (US, "SKU-B")]


def test_sandbox_inventory_operations_use_their_marketplace(sim, api):
    created = api.call("createInventoryItem", "POST", f"{INVENTORY}/items", json={
        "sellerSku": "SKU-A", "marketplaceId": CA, "productName": "Mug"})
    assert created.status == 200
    added = api.call("addInventory", "POST", f"{INVENTORY}/items/inventory",
                     headers={"x-amzn-idempotency-token": "tok-1"},
                     json={"inventoryItems": [{"sellerSku": "SKU-A", "marketplaceId": CA,
                                               "quantity": 4}]})
    assert added.status == 200
    assert summaries(api, CA) == {"SKU-A": 4} and summaries(api, US) == {}
    deleted_elsewhere = api.call("deleteInventoryItem", "DELETE", f"{INVENTORY}/items/SKU-A",
                                 params={"marketplaceId": US})
    assert deleted_elsewhere.status == 404
    assert api.call("deleteInventoryItem", "DELETE", f"{INVENTORY}/items/SKU-A",
                    params={"marketplaceId": CA}).status == 200
    assert summaries(api, CA) == {}


def test_an_order_from_canada_draws_on_canadian_stock(sim, api):
    sim.admin.set_stock({"SKU-A": 10})
    sim.admin.set_stock({"SKU-A": 4}, marketplace_id=CA)
    assert api.create(order_from(CA, "ca-1", "CA")).status == 200
    assert api.create(order_from(CA, "ca-2", "CA", units=1)).status == 200
    assert stock_of(sim, CA) == {"SKU-A": (1, 3)}
    assert stock_of(sim, US) == {"SKU-A": (10, 0)}
    read = api.get("ca-1").body["payload"]["fulfillmentOrder"]
    assert read["marketplaceId"] == CA
    assert {o["sellerFulfillmentOrderId"]: o["marketplaceId"] for o in sim.admin.orders()} \
        == {"ca-1": CA, "ca-2": CA}

    api.cancel("ca-2")  # released to Canada
    assert stock_of(sim, CA) == {"SKU-A": (2, 2)}
    sim.admin.advance(LIFECYCLE)  # ca-1 ships from Canada
    assert api.get("ca-1").body["payload"]["fulfillmentOrder"]["fulfillmentOrderStatus"] \
        == "Complete"
    assert stock_of(sim, CA) == {"SKU-A": (2, 0)}
    assert stock_of(sim, US) == {"SKU-A": (10, 0)}


def test_an_order_short_in_its_marketplace_is_invalid_whatever_elsewhere(sim, api):
    sim.admin.set_stock({"SKU-A": 10})
    sim.admin.set_stock({"SKU-A": 1}, marketplace_id=CA)
    assert api.create(order_from(CA, "ca-short", "CA")).status == 200
    order = api.get("ca-short").body["payload"]["fulfillmentOrder"]
    assert order["fulfillmentOrderStatus"] == "Invalid"
    assert stock_of(sim, CA) == {"SKU-A": (1, 0)}
    assert stock_of(sim, US) == {"SKU-A": (10, 0)}
    # A SKU the marketplace does not list at all is refused, though the US has it.
    sim.admin.set_stock({"SKU-Z": 10})
    unknown = order_from(CA, "ca-unknown", "CA")
    unknown["items"][0]["sellerSku"] = "SKU-Z"
    assert api.create(unknown).status == 400


def refusal(answer, country: str, marketplace_id: str, label: str) -> None:
    assert answer.status == 400
    error = answer.body["errors"][0]
    assert error["code"] == "InvalidInput"
    assert (f"Destination country {country} is not served by marketplace "
            f"{marketplace_id} ({label})") in error["message"]


def test_an_unserved_destination_is_refused_and_nothing_reserved(sim, api):
    sim.admin.set_stock({"SKU-A": 10})
    sim.admin.set_stock({"SKU-A": 10}, marketplace_id=CA)
    sim.admin.set_stock({"SKU-A": 10}, marketplace_id=UK)
    refusal(api.create(order_from(CA, "to-za", "ZA")), "ZA", CA, "CA")
    refusal(api.create(order_from(US, "us-to-ca", "CA")), "CA", US, "US")
    refusal(api.create(order_from(UK, "uk-to-fr", "FR")), "FR", UK, "GB")
    refusal(api.call("createOrder", "POST", f"{V2026}/orders",
                     json=v2026_body("v26-to-za", "CA", "ZA")), "ZA", CA, "CA")
    refusal(api.call("getFulfillmentPreview", "POST", f"{OUTBOUND}/fulfillmentOrders/preview",
                     json={"marketplaceId": CA, "address": ADDRESSES["ZA"],
                           "items": order_from(CA, "p", "ZA")["items"]}), "ZA", CA, "CA")
    preview_2026 = v2026_body("unused", "CA", "ZA")
    del preview_2026["orderId"]
    refusal(api.call("getOrderPreview", "POST", f"{V2026}/previews", json=preview_2026),
            "ZA", CA, "CA")
    assert sim.admin.orders() == []
    for marketplace_id in (US, CA, UK):
        assert stock_of(sim, marketplace_id) == {"SKU-A": (10, 0)}


def test_an_update_cannot_move_the_destination_out_of_the_marketplace(sim, api):
    sim.admin.set_stock({"SKU-A": 10}, marketplace_id=CA)
    assert api.create(order_from(CA, "ca-1", "CA")).status == 200
    moved = api.call("updateFulfillmentOrder", "PUT", f"{OUTBOUND}/fulfillmentOrders/ca-1",
                     json={"destinationAddress": ADDRESSES["US"]})
    refusal(moved, "US", CA, "CA")


def test_germany_ships_across_the_eu(sim, api):
    sim.admin.set_stock({"SKU-A": 5}, marketplace_id=DE)
    assert api.create(order_from(DE, "de-to-at", "AT")).status == 200
    created = api.call("createOrder", "POST", f"{V2026}/orders",
                       json=v2026_body("de-to-fr", "DE", "FR"))
    assert created.status == 200
    assert stock_of(sim, DE) == {"SKU-A": (2, 3)}
    assert api.get("de-to-fr").body["payload"]["fulfillmentOrder"]["marketplaceId"] == DE
    preview = api.call("getFulfillmentPreview", "POST", f"{OUTBOUND}/fulfillmentOrders/preview",
                       json={"marketplaceId": DE, "address": ADDRESSES["AT"],
                             "shippingSpeedCategories": ["Standard"],
                             "items": order_from(DE, "p", "AT")["items"]})
    assert preview.body["payload"]["fulfillmentPreviews"][0]["isFulfillable"] is True
    assert preview.body["payload"]["fulfillmentPreviews"][0]["estimatedFees"][0]["amount"][
        "currencyCode"] == "EUR"


def test_previews_and_offers_read_their_marketplace(sim, api):
    sim.admin.set_stock({"SKU-A": 10})
    sim.admin.set_stock({"SKU-A": 1}, marketplace_id=CA)
    preview = api.call("getFulfillmentPreview", "POST", f"{OUTBOUND}/fulfillmentOrders/preview",
                       json={"marketplaceId": CA, "address": ADDRESSES["CA"],
                             "shippingSpeedCategories": ["Standard"],
                             "items": order_from(CA, "p", "CA")["items"]})
    only = preview.body["payload"]["fulfillmentPreviews"][0]
    assert only["isFulfillable"] is False
    assert only["unfulfillablePreviewItems"][0]["quantity"] == 1

    def offers(origin: str, country: str, amount: str) -> list:
        body = {"product": {"productIdentifier": {"merchantSku": "SKU-A"},
                            "amount": {"unitOfMeasure": "Eaches", "value": amount}},
                "terms": {"origin": {"countryCode": origin},
                          "destination": {"deliveryAddress": {
                              "countryCode": country,
                              "postalCode": ADDRESSES[country]["postalCode"]}}}}
        answer = api.call("deliveryOffers", "POST", f"{OUTBOUND}/deliveryOffers", json=body)
        return answer.body["payload"]["deliveryOffers"]

    assert len(offers("US", "US", "2")) == 3
    assert offers("CA", "CA", "2") == []  # Canada holds one unit
    assert len(offers("CA", "CA", "1")) == 3


def test_lost_stock_and_returns_stay_in_the_marketplace(sim, api):
    sim.admin.set_stock({"SKU-A": 5})
    sim.admin.set_stock({"SKU-A": 5}, marketplace_id=CA)
    assert sim.admin.lose_stock("SKU-A", 2, marketplace_id=CA)["lost"] == 2
    assert stock_of(sim, CA) == {"SKU-A": (3, 0)} and stock_of(sim, US) == {"SKU-A": (5, 0)}

    assert api.create(order_from(CA, "ca-1", "CA", units=1)).status == 200
    sim.admin.advance(LIFECYCLE)
    shipment = api.get("ca-1").body["payload"]["fulfillmentShipments"][0]["amazonShipmentId"]
    returned = api.call("createFulfillmentReturn", "PUT",
                        f"{OUTBOUND}/fulfillmentOrders/ca-1/return", json={"items": [{
                            "sellerReturnItemId": "r-1", "sellerFulfillmentOrderItemId": "line-1",
                            "amazonShipmentId": shipment,
                            "returnReasonCode": "CR-UNWANTED_ITEM"}]})
    assert returned.status == 200
    sim.admin.advance(5 * 86400)  # arrives and is inspected: back on Canada's shelf
    assert stock_of(sim, CA) == {"SKU-A": (3, 0)} and stock_of(sim, US) == {"SKU-A": (5, 0)}


def test_admin_refuses_an_unknown_marketplace(sim):
    answer = sim.admin._session.post(f"{sim.base_url}/_sim/inventory", json={
        "marketplaceId": "NOPE", "items": [{"sellerSku": "SKU-A", "quantity": 1}]})
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["code"] == "InvalidInput"
    assert sim.admin.inventory_everywhere() == []


def run(*args: str):
    result = CliRunner().invoke(sim_group, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_cli_sets_and_loses_stock_in_one_marketplace(sim):
    url = ["--url", sim.base_url]
    run("stock", "SKU-1=5", "--marketplace", CA, *url)
    run("stock", "SKU-1=7", *url)
    assert run("lose", "SKU-1", "2", "--marketplace", CA, *url)["lost"] == 2
    canada = run("inventory", "--marketplace", CA, *url)
    assert (canada["SKU-1"]["fulfillable"], canada["SKU-1"]["marketplaceId"]) == (3, CA)
    own = run("inventory", *url)
    assert (own["SKU-1"]["fulfillable"], own["SKU-1"]["marketplaceId"]) == (7, US)
    listed = run("inventory", "--all", *url)
    assert sorted((i["marketplaceId"], i["fulfillable"]) for i in listed) == [(CA, 3), (US, 7)]
    refused = CliRunner().invoke(sim_group, ["stock", "SKU-1=1", "--marketplace", "NOPE", *url])
    assert refused.exit_code != 0 and "NOPE" in refused.output


def test_inbound_units_go_to_the_plan_marketplace(sim):
    inbound = sim.simulator.inbound
    assert inbound.stock_for(CA).marketplace_id == CA
    # A marketplace the simulator keeps no outbound stock for counts in its own.
    assert inbound.stock_for("A1805IZSGTT6HS").marketplace_id == US


def test_stock_stored_before_marketplaces_is_rekeyed(tmp_path):
    path = str(tmp_path / "sim.sqlite")
    store = Store(path)
    shaper = Simulator(SimConfig(clock_factor=0))  # only shapes an item as stored
    try:
        legacy = shaper.stock.ensure("SKU-A", 0.0)
    finally:
        shaper.close()
    legacy["fulfillable"] = 4
    store.put(KIND, "SKU-A", legacy)  # keyed by SKU alone, as before
    store.close()
    reopened = Simulator(SimConfig(db_path=path, clock_factor=0))
    try:
        assert reopened.stock.get("SKU-A")["fulfillable"] == 4
        assert reopened.stock.at(CA).get("SKU-A") is None
    finally:
        reopened.close()
