"""Fulfillment Outbound v2026-07-04 over real HTTP: every operation, its happy path and
main error paths. Each request body is checked against the model's request schema before
it is sent, and SpApi checks every answer against the model for its status. Orders live in
one book: what one version creates, the other reads."""

from __future__ import annotations

import pytest
import requests
from sim_helpers import LIFECYCLE, OUTBOUND, V2026, SpApi, order_body

from bridge.sim.apis import all_operations
from bridge.spapi_models import definition_validator, load_model, operation

MODEL = "fulfillmentOutbound_2026-07-04.json"
TRANSIT = 5 * 86400  # Standard, with room to spare
ADDRESS = {"name": "Ada Lovelace", "addressLine1": "1 Main St", "city": "Seattle",
           "stateOrRegion": "WA", "postalCode": "98101", "countryCode": "US"}


def sent(definition: str, body: dict) -> dict:
    """`body`, after checking that it is a valid request per the model."""
    errors = list(definition_validator(MODEL, definition, closed=True).iter_errors(body))
    assert not errors, [e.message for e in errors]
    return body


def create_body(order_id: str, lines: dict[str, int], **configuration) -> dict:
    return sent("CreateOrderRequest", {
        "orderId": order_id,
        "origin": {"countryCode": "US"},
        "destination": {"deliveryAddress": dict(ADDRESS, email="ada@example.com")},
        "fulfillmentConfiguration": {"serviceLevel": {"serviceTiers": ["STANDARD"]},
                                     "policy": "FILL_OR_KILL", **configuration},
        "lineItems": [{"lineItemId": f"l-{sku}",
                       "product": {"productIdentifier": {"amazonSku": sku}},
                       "amount": {"unit": "EACHES", "value": f"{units}.0"}}
                      for sku, units in lines.items()],
    })


def create(api: SpApi, body: dict):
    return api.call("createOrder", "POST", f"{V2026}/orders", json=body)


def get(api: SpApi, order_id: str, **params):
    return api.call("getOrder", "GET", f"{V2026}/orders/{order_id}", params=params)


def list_orders(api: SpApi, **params):
    return api.call("listOrders", "GET", f"{V2026}/orders", params=params)


def test_every_operation_of_the_model_is_served():
    model = load_model(MODEL)
    served = {op.operation_id for op in all_operations()}
    declared = {spec["operationId"] for item in model["paths"].values()
                for spec in item.values() if isinstance(spec, dict) and "operationId" in spec}
    assert declared <= served
    assert operation("getOffers").usage_plan == (5.0, 30)


def test_create_then_get_in_v2026_terms(sim, api):
    sim.admin.set_stock({"SKU-A": 10})
    created = create(api, create_body("v26-1", {"SKU-A": 2}))
    assert created.status == 200
    assert created.headers["x-amzn-RateLimit-Limit"] == "2.0"
    order = created.body["order"]
    assert order["orderId"] == "v26-1" and order["status"] == "PROCESSING"
    answer = get(api, "v26-1")
    assert answer.status == 200
    read = answer.body["order"]
    assert read["lineItems"][0]["amount"] == {"unit": "EACHES", "value": "2.0"}
    assert read["lineItems"][0]["product"]["productIdentifier"]["amazonSku"] == "SKU-A"
    assert read["fulfillmentConfiguration"]["action"] == "SHIP"
    assert read["fulfillmentConfiguration"]["policy"] == "FILL_OR_KILL"
    assert read["destination"]["deliveryAddress"]["email"] == "ada@example.com"
    assert read["origin"] == {"countryCode": "US"}
    assert sim.admin.inventory()["SKU-A"]["reserved"] == 2


def test_one_order_book_for_both_versions(sim, api):
    sim.admin.set_stock({"SKU-A": 10})
    assert create(api, create_body("made-in-2026", {"SKU-A": 1})).status == 200
    assert api.create(order_body("made-in-2020")).status == 200
    old = api.get("made-in-2026").body["payload"]
    assert old["fulfillmentOrder"]["fulfillmentOrderStatus"] == "Received"
    assert old["fulfillmentOrderItems"][0]["sellerFulfillmentOrderItemId"] == "l-SKU-A"
    assert get(api, "made-in-2020").body["order"]["orderId"] == "made-in-2020"
    listed = {o["orderId"] for o in list_orders(api).body["orders"]}
    assert listed == {"made-in-2026", "made-in-2020"}
    # The same id cannot be created twice, whichever version asks.
    again = api.create(order_body("made-in-2026"))
    assert again.status == 400


def test_shipped_order_has_shipments_packages_and_tracking(sim, api):
    sim.admin.set_stock({"SKU-A": 10})
    create(api, create_body("v26-ship", {"SKU-A": 3}))
    sim.admin.advance(LIFECYCLE + TRANSIT)
    order = get(api, "v26-ship").body["order"]
    assert order["status"] == "COMPLETE"
    shipment = order["shipments"][0]
    assert shipment["status"] == "SHIPPED" and shipment["shipTime"]
    package = shipment["packages"][0]
    assert package["packageId"].isdigit()
    assert package["tracking"]["carrier"]["trackingNumber"]
    assert sum(float(i["amount"]["value"]) for i in shipment["items"]) == 3
    without = get(api, "v26-ship", shipments="EXCLUDE").body["order"]
    assert "shipments" not in without
    assert get(api, "v26-ship", shipments="SOMETIMES").status == 400


def test_hold_then_release_with_update_order(sim, api):
    sim.admin.set_stock({"SKU-A": 10})
    create(api, create_body("v26-held", {"SKU-A": 1}, action="HOLD"))
    sim.admin.advance(LIFECYCLE + TRANSIT)
    held = get(api, "v26-held").body["order"]
    assert held["status"] == "PROCESSING"
    assert held["fulfillmentConfiguration"]["action"] == "HOLD"
    body = sent("UpdateOrderRequest", {"fulfillmentConfiguration": {"action": "SHIP"}})
    released = api.call("updateOrder", "PUT", f"{V2026}/orders/v26-held", json=body)
    assert released.status == 202
    sim.admin.advance(LIFECYCLE + TRANSIT)
    assert get(api, "v26-held").body["order"]["status"] == "COMPLETE"
    missing = api.call("updateOrder", "PUT", f"{V2026}/orders/nobody", json=body)
    assert missing.status == 404


def test_cancel_order(sim, api):
    sim.admin.set_stock({"SKU-A": 10})
    create(api, create_body("v26-cancel", {"SKU-A": 1}))
    answer = api.call("cancelOrder", "PUT", f"{V2026}/orders/v26-cancel/cancel")
    assert answer.status == 202
    assert get(api, "v26-cancel").body["order"]["status"] == "CANCELLED"
    assert api.get("v26-cancel").body["payload"]["fulfillmentOrder"][
        "fulfillmentOrderStatus"] == "Cancelled"
    assert api.call("cancelOrder", "PUT", f"{V2026}/orders/nobody/cancel").status == 404
    create(api, create_body("v26-late", {"SKU-A": 1}))
    sim.admin.advance(LIFECYCLE + TRANSIT)
    late = api.call("cancelOrder", "PUT", f"{V2026}/orders/v26-late/cancel")
    assert late.status == 400


@pytest.mark.parametrize("breakage", [
    lambda b: b.pop("lineItems"),
    lambda b: b.pop("destination"),
    lambda b: b["lineItems"][0]["amount"].update(value="1.5"),
    lambda b: b["lineItems"][0]["amount"].update(value="0"),
    lambda b: b["fulfillmentConfiguration"].update(action="SOON"),
    lambda b: b["fulfillmentConfiguration"]["serviceLevel"].update(serviceTiers=["WARP"]),
    lambda b: b["fulfillmentConfiguration"].update(policy="FILL_SOME"),
    lambda b: b["lineItems"][0]["product"]["productIdentifier"].update(amazonSku="GHOST"),
    lambda b: b.update(orderId="has spaces"),
    lambda b: b.update(origin={"countryCode": "ZZ"}),
])
def test_bad_create_bodies_are_refused(sim, api, breakage):
    sim.admin.set_stock({"SKU-A": 10})
    body = create_body("v26-bad", {"SKU-A": 1})
    breakage(body)
    answer = create(api, body)
    assert answer.status == 400
    assert answer.body["errors"][0]["code"] == "InvalidInput"
    assert get(api, "v26-bad").status == 404


def test_unknown_order_is_404(sim, api):
    answer = get(api, "nobody")
    assert answer.status == 404 and answer.body["errors"][0]["code"] == "NotFound"


def test_list_orders_pages_and_filters(sim, api, monkeypatch):
    monkeypatch.setattr(sim.simulator.config, "orders_page_size", 3)
    sim.admin.set_stock({"SKU-A": 100})
    for n in range(7):
        create(api, create_body(f"v26-list-{n}", {"SKU-A": 1}))
    seen, token, pages = [], None, 0
    while True:
        answer = list_orders(api, **({"pageToken": token} if token else {}))
        assert answer.status == 200
        seen += [o["orderId"] for o in answer.body["orders"]]
        pages += 1
        token = (answer.body.get("pagination") or {}).get("nextToken")
        if not token:
            break
    assert pages == 3
    assert seen == [f"v26-list-{n}" for n in range(7)]
    assert list_orders(api, updatedAfter="2999-01-01T00:00:00Z").body["orders"] == []
    assert list_orders(api, pageToken="%%%garbage").status == 400
    assert list_orders(api, updatedAfter="yesterday").status == 400


def test_update_order_status_is_the_sandbox_shortcut(sim, api):
    sim.admin.set_stock({"SKU-A": 10})
    create(api, create_body("v26-forced", {"SKU-A": 1}))
    response = api.session.put(f"{api.base_url}{V2026}/orders/v26-forced/status",
                               json=sent("UpdateOrderStatusRequest", {"status": "CANCELLED"}),
                               timeout=10)
    assert response.status_code == 204
    assert get(api, "v26-forced").body["order"]["status"] == "CANCELLED"


def test_update_package_steers_tracking(sim, api):
    sim.admin.set_stock({"SKU-A": 10})
    create(api, create_body("v26-pkg", {"SKU-A": 1}))
    sim.admin.advance(LIFECYCLE + TRANSIT)
    package = get(api, "v26-pkg").body["order"]["shipments"][0]["packages"][0]["packageId"]
    url = f"{api.base_url}{V2026}/orders/v26-pkg/packages"
    body = sent("UpdatePackageRequest", {"status": "UNDELIVERABLE"})
    assert api.session.put(f"{url}/{package}", json=body, timeout=10).status_code == 204
    assert sim.admin.orders()[0]["trackingOutcome"] == "UNDELIVERABLE"
    assert api.session.put(f"{url}/999999", json=body, timeout=10).status_code == 404


def test_order_preview(sim, api):
    sim.admin.set_stock({"SKU-A": 2})
    body = sent("GetOrderPreviewRequest", {
        "origin": {"countryCode": "US"},
        "destination": {"deliveryAddress": ADDRESS},
        "fulfillmentConfiguration": {"serviceLevel": {"serviceTiers": ["STANDARD",
                                                                       "EXPEDITED"]}},
        "lineItems": [{"product": {"productIdentifier": {"amazonSku": "SKU-A"}},
                       "amount": {"unit": "EACHES", "value": "3"}}]})
    answer = api.call("getOrderPreview", "POST", f"{V2026}/previews", json=body)
    assert answer.status == 200
    planned = answer.body["plannedShipments"]
    assert planned[0]["items"][0]["amount"]["value"] == "2.0"
    tiers = [o["fulfillmentConfiguration"]["serviceLevel"]["serviceTier"]
             for o in planned[0]["offers"]]
    assert tiers == ["STANDARD", "EXPEDITED"]
    assert planned[0]["offers"][0]["estimatedPrice"]["totalPrice"]["currencyCode"] == "USD"
    assert any(c["code"] == "ITEM_UNFULFILLABLE" for c in answer.body["constraints"])
    assert sim.admin.inventory()["SKU-A"]["reserved"] == 0
    bad = api.call("getOrderPreview", "POST", f"{V2026}/previews", json={"lineItems": []})
    assert bad.status == 400


def test_offers(sim, api):
    sim.admin.set_stock({"SKU-A": 2})
    body = sent("GetOffersRequest", {
        "origin": {"countryCode": "US"},
        "destination": {"deliveryAddress": {"countryCode": "US", "postalCode": "98101"}},
        "items": [{"productIdentifier": {"amazonSku": "SKU-A"}},
                  {"productIdentifier": {"amazonSku": "GHOST"}}]})
    answer = api.call("getOffers", "POST", f"{V2026}/offers", json=body)
    assert answer.status == 200
    assert answer.headers["x-amzn-RateLimit-Limit"] == "5.0"
    known, ghost = answer.body["offerResults"]
    assert [o["fulfillmentConfiguration"]["serviceLevel"]["serviceTier"]
            for o in known["offers"]] == ["STANDARD", "EXPEDITED", "PRIORITY"]
    assert ghost["constraints"][0]["code"] == "InvalidInput"
    assert api.call("getOffers", "POST", f"{V2026}/offers", json={"items": []}).status == 400


def test_v2020_paths_stay_as_they_were(sim, api):
    assert api.get("nobody").status == 404
    assert requests.get(f"{api.base_url}{OUTBOUND}/fulfillmentOrders/nobody",
                        timeout=10).status_code == 403  # no token, as before
