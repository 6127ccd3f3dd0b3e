"""Every implemented operation over real HTTP, happy and main error paths; SpApi checks
each answer against the model's schema for its status."""

from __future__ import annotations

import pytest
import requests
from sim_helpers import INVENTORY, LIFECYCLE, MARKETPLACE, OUTBOUND, assert_errors_shape, order_body

from bridge.sim.apis import all_operations
from bridge.sim.clock import parse_iso
from bridge.sim.limits import DOCUMENTED
from bridge.sim.outbound.validation import parse_create_request
from bridge.sim.wire import SimError
from bridge.spapi_models import ResponseMismatch, model_operations, validate_response


def test_every_outbound_and_inventory_operation_is_served(sim):
    served = {op.operation_id: op for op in all_operations()}
    modelled = {op_id: op for op_id, op in model_operations().items()
                if op.model_file in ("fulfillmentOutbound_2020-07-01.json", "fbaInventory.json")}
    assert len(modelled) == 14 + 4
    assert set(modelled) <= set(served)
    for op_id, model in modelled.items():
        assert (served[op_id].method, served[op_id].path) == (model.method, model.path)
        limit = sim.simulator.limiter.limit_of(op_id)
        # The model's rate and burst (None: sandbox-only), unless the docs raise it.
        documented = DOCUMENTED.get(op_id)
        assert limit == ((documented.rate, documented.burst) if documented
                         else model.usage_plan)


def test_create_returns_empty_body_with_headers(sim, api):
    sim.admin.set_stock({"SKU-A": 10})
    answer = api.create(order_body())
    assert (answer.status, answer.body) == (200, {})
    assert answer.headers["x-amzn-RateLimit-Limit"] == "2.0"


def test_create_rejects_bad_bodies(sim, api):
    sim.admin.set_stock({"SKU-A": 10})
    long_id = "x" * 41
    cases = {
        "missing items": {k: v for k, v in order_body().items() if k != "items"},
        "id too long": order_body(long_id),
        "id with a plus": order_body("shop+1"),
        "bad speed": order_body(shippingSpeedCategory="Overnight"),
        "comment too long": order_body(displayableOrderComment="c" * 751),
        "displayable id too long": order_body(displayableOrderId="d" * 41),
        "bad date": order_body(displayableOrderDate="yesterday"),
        "zero quantity": order_body(items=[{"sellerSku": "SKU-A",
                                            "sellerFulfillmentOrderItemId": "l", "quantity": 0}]),
        "sku too long": order_body(items=[{"sellerSku": "S" * 51,
                                           "sellerFulfillmentOrderItemId": "l", "quantity": 1}]),
        "item id too long": order_body(items=[{"sellerSku": "SKU-A",
                                               "sellerFulfillmentOrderItemId": "i" * 51,
                                               "quantity": 1}]),
        "no address name": order_body(destinationAddress={"addressLine1": "1 Main",
                                                          "postalCode": "1", "countryCode": "US",
                                                          "city": "X"}),
        "bad policy": order_body(fulfillmentPolicy="ShipWhatever"),
    }
    for name, body in cases.items():
        answer = api.create(body)
        assert answer.status == 400, name
        assert answer.body["errors"][0]["code"] == "InvalidInput", name


def address(**changes) -> dict:
    return {**order_body()["destinationAddress"], **changes}


def test_create_refuses_hostile_input_naming_the_field(sim, api):
    """The limits docs/simulator.md lists as assumptions: a client bug that lets such an
    order through shows as a refusal, never as an accepted order."""
    sim.admin.set_stock({"SKU-A": 10})
    cases = {
        "destinationAddress.city": order_body(destinationAddress=address(city="c" * 51)),
        "destinationAddress.name": order_body(destinationAddress=address(name="Ada\x00Lovelace")),
        "destinationAddress.addressLine1": order_body(destinationAddress=address(addressLine1="a" * 61)),
        "destinationAddress.addressLine2": order_body(destinationAddress=address(addressLine2="1\r\n2")),
        "destinationAddress.postalCode": order_body(destinationAddress=address(postalCode="9" * 21)),
        "destinationAddress.phone": order_body(destinationAddress=address(phone="5" * 21)),
        "destinationAddress.stateOrRegion": order_body(destinationAddress=address(stateOrRegion="s" * 151)),
        "destinationAddress.countryCode": order_body(destinationAddress=address(countryCode="XX")),
        "displayableOrderId": order_body(displayableOrderId="10\x0001"),
        "displayableOrderComment": order_body(displayableOrderComment="Thanks\x85"),
        "displayableOrderDate": order_body(displayableOrderDate="1900-01-01T00:00:00Z"),
        "notificationEmails[0]": order_body(notificationEmails=["a@example.com\r\nBcc: b@example.com"]),
        "items[0].sellerSku": order_body(items=[{"sellerSku": "SKU-A\x7f",
                                                 "sellerFulfillmentOrderItemId": "l", "quantity": 1}]),
    }
    for field, body in cases.items():
        answer = api.create(body)
        assert answer.status == 400, field
        (error,) = answer.body["errors"]
        assert error["code"] == "InvalidInput", field
        assert f"parameter {field} " in error["message"], (field, error["message"])
    refused_country = order_body(destinationAddress=address(countryCode="ZZ"))
    assert api.create(refused_country).status == 400
    assert api.create(order_body(displayableOrderId="#１００１")).status == 400
    assert api.create(order_body(notificationEmails=["a" * 53 + "@example.com"])).status == 400
    assert sim.admin.orders() == []


def test_create_takes_input_at_the_limits(sim, api):
    sim.admin.set_stock({"SKU-A": 10})
    body = order_body(
        "at-limits", displayableOrderId="d" * 40, displayableOrderDate="2000-01-01T00:00:00Z",
        notificationEmails=["a" * 52 + "@example.com"],
        destinationAddress=address(name="n" * 50, addressLine1="a" * 60, addressLine2="b" * 60,
                                   city="c" * 50, stateOrRegion="s" * 150, postalCode="9" * 20,
                                   phone="5" * 20, countryCode="pr"))
    assert api.create(body).status == 200


def test_an_order_date_more_than_a_day_ahead_of_simulated_time_is_refused():
    now = parse_iso("2026-01-15T10:00:00Z")
    assert parse_create_request(order_body(displayableOrderDate="2026-01-16T10:00:00Z"), now)
    with pytest.raises(SimError) as refused:
        parse_create_request(order_body(displayableOrderDate="2026-01-16T10:00:01Z"), now)
    assert (refused.value.status, refused.value.code) == (400, "InvalidInput")
    assert "displayableOrderDate" in refused.value.message


def test_forty_characters_is_the_id_limit(sim, api):
    sim.admin.set_stock({"SKU-A": 10})
    assert api.create(order_body("x" * 40)).status == 200
    assert api.get("x" * 40).status == 200
    assert api.create(order_body("y" * 41)).status == 400
    assert api.get("y" * 41).status == 400


def test_create_rejects_non_json(sim, api):
    answer = api.call("createFulfillmentOrder", "POST", f"{OUTBOUND}/fulfillmentOrders",
                      data=b"not json", headers={"content-type": "application/json"})
    assert answer.status == 400


def test_unknown_sku_is_invalid_input(sim, api):
    body = order_body(items=[{"sellerSku": "NEVER-STOCKED", "sellerFulfillmentOrderItemId": "L7",
                              "quantity": 1}])
    answer = api.create(body)
    assert answer.status == 400
    assert answer.body["errors"][0] == {"code": "InvalidInput", "details": "",
                                        "message": "The SellerSKU for Item Id: L7 is invalid."}


def test_duplicate_seller_fulfillment_order_id_is_refused(sim, api):
    sim.admin.set_stock({"SKU-A": 10})
    assert api.create(order_body("dup-1")).status == 200
    again = api.create(order_body("dup-1"))
    assert again.status == 400
    assert "already exists" in again.body["errors"][0]["message"]
    assert len(sim.admin.orders()) == 1


def test_get_fulfillment_order(sim, api):
    sim.admin.set_stock({"SKU-A": 10})
    api.create(order_body("get-1"))
    answer = api.get("get-1")
    assert answer.status == 200
    payload = answer.body["payload"]
    assert set(payload) == {"fulfillmentOrder", "fulfillmentOrderItems", "fulfillmentShipments",
                            "returnItems", "returnAuthorizations"}
    assert payload["fulfillmentOrder"]["fulfillmentOrderStatus"] == "Received"
    assert payload["fulfillmentOrder"]["marketplaceId"] == MARKETPLACE
    assert payload["fulfillmentOrderItems"][0]["quantity"] == 2


def test_get_unknown_order_is_404(sim, api):
    answer = api.get("no-such-order")
    assert answer.status == 404


def test_get_with_malformed_id_is_400(sim, api):
    assert api.get("a" * 41).status == 400


def test_list_all_fulfillment_orders_pages(sim, api, monkeypatch):
    monkeypatch.setattr(sim.simulator.config, "orders_page_size", 2)
    sim.admin.set_stock({"SKU-A": 100})
    for n in range(5):
        api.create(order_body(f"list-{n}"))
    seen, token = [], None
    while True:
        answer = api.list_all(**({"nextToken": token} if token else {}))
        assert answer.status == 200
        seen += [o["sellerFulfillmentOrderId"] for o in answer.body["payload"]["fulfillmentOrders"]]
        token = answer.body["payload"].get("nextToken")
        if not token:
            break
    assert seen == [f"list-{n}" for n in range(5)]


def test_list_all_filters_by_query_start_date(sim, api):
    sim.admin.set_stock({"SKU-A": 100})
    api.create(order_body("early"))
    sim.admin.advance(10)
    cutoff = sim.admin.clock()["now"]
    api.create(order_body("late"))
    answer = api.list_all(queryStartDate=cutoff)
    assert [o["sellerFulfillmentOrderId"] for o in answer.body["payload"]["fulfillmentOrders"]] \
        == ["late"]
    # "early" changes status (Received -> Planning) after the cutoff: it is listed again.
    sim.admin.advance(30)
    answer = api.list_all(queryStartDate=cutoff)
    assert {o["sellerFulfillmentOrderId"] for o in answer.body["payload"]["fulfillmentOrders"]} \
        == {"early", "late"}


def test_list_all_rejects_bad_dates_and_tokens(sim, api):
    assert api.list_all(queryStartDate="not-a-date").status == 400
    assert api.list_all(nextToken="%%%garbage").status == 400


def test_cancel_fulfillment_order(sim, api):
    sim.admin.set_stock({"SKU-A": 10})
    api.create(order_body("cancel-1"))
    answer = api.cancel("cancel-1")
    assert (answer.status, answer.body) == (200, {})
    assert api.get("cancel-1").body["payload"]["fulfillmentOrder"]["fulfillmentOrderStatus"] \
        == "Cancelled"
    assert api.cancel("cancel-1").status == 200  # a repeated cancel is harmless


def test_cancel_unknown_order_is_404(sim, api):
    assert api.cancel("nope").status == 404


def test_package_tracking(sim, api):
    sim.admin.set_stock({"SKU-A": 10})
    api.create(order_body("track-1"))
    sim.admin.advance(LIFECYCLE)
    shipment = api.get("track-1").body["payload"]["fulfillmentShipments"][0]
    package = shipment["fulfillmentShipmentPackage"][0]
    answer = api.tracking(package["packageNumber"])
    assert answer.status == 200
    details = answer.body["payload"]
    assert details["trackingNumber"] == package["trackingNumber"]
    assert details["carrierCode"] in ("UPS", "USPS", "AMZL_US")
    assert details["currentStatus"] == "IN_TRANSIT"
    sim.admin.advance(3 * 86400)
    delivered = api.tracking(package["packageNumber"]).body["payload"]
    assert delivered["currentStatus"] == "DELIVERED"
    assert delivered["trackingEvents"][0]["eventCode"] == "EVENT_301"


def test_package_tracking_errors(sim, api):
    assert api.tracking(987654).status == 404
    assert api.tracking("abc").status == 400
    answer = api.call("getPackageTrackingDetails", "GET", f"{OUTBOUND}/tracking")
    assert answer.status == 400


def test_inventory_summaries(sim, api):
    sim.admin.set_stock({"SKU-A": 7, "SKU-B": 3})
    answer = api.summaries(details="TRUE")
    assert answer.status == 200
    assert answer.headers["x-amzn-RateLimit-Limit"] == "2.0"
    summaries = {s["sellerSku"]: s for s in answer.body["payload"]["inventorySummaries"]}
    assert summaries["SKU-A"]["inventoryDetails"]["fulfillableQuantity"] == 7
    assert summaries["SKU-B"]["totalQuantity"] == 3
    plain = api.summaries(details="false").body["payload"]["inventorySummaries"]
    assert all("inventoryDetails" not in s for s in plain)


def test_inventory_summaries_sku_selection(sim, api):
    sim.admin.set_stock({"A": 1, "B": 2, "C": 3})

    def skus(**params):
        summaries = api.summaries(**params).body["payload"]["inventorySummaries"]
        return [s["sellerSku"] for s in summaries]

    assert skus(sellerSkus="A,C") == ["A", "C"]
    assert skus(sellerSkus=["A", "B"]) == ["A", "B"]  # repeated parameter
    assert skus(sellerSku="B") == ["B"]
    assert skus(sellerSkus="A", sellerSku="B") == ["A"]  # sellerSkus wins
    start = sim.admin.clock()["now"]
    assert skus(startDateTime=start, sellerSkus="A") == ["A", "B", "C"]  # startDateTime wins


def test_inventory_summaries_errors(sim, api):
    assert api.summaries(granularityType="Country").status == 400
    assert api.summaries(marketplaceIds=f"{MARKETPLACE},A1F83G8C2ARO7P").status == 400
    assert api.summaries(sellerSkus=",".join(f"S{n}" for n in range(51))).status == 400
    assert api.summaries(details="maybe").status == 400
    assert api.summaries(startDateTime="2001-01-01T00:00:00Z").status == 400
    missing = api.call("getInventorySummaries", "GET", f"{INVENTORY}/summaries",
                       params={"granularityType": "Marketplace"})
    assert missing.status == 400


def test_sandbox_inventory_operations(sim, api):
    item = {"sellerSku": "NEW-1", "marketplaceId": MARKETPLACE, "productName": "A new thing"}
    answer = api.call("createInventoryItem", "POST", f"{INVENTORY}/items", json=item)
    assert (answer.status, answer.body) == (200, {})
    add = {"inventoryItems": [{"sellerSku": "NEW-1", "marketplaceId": MARKETPLACE,
                               "quantity": 5}]}
    for _ in range(2):  # the same idempotency token twice adds once
        answer = api.call("addInventory", "POST", f"{INVENTORY}/items/inventory", json=add,
                          headers={"x-amzn-idempotency-token": "tok-1"})
        assert answer.status == 200
    api.call("addInventory", "POST", f"{INVENTORY}/items/inventory", json=add,
             headers={"x-amzn-idempotency-token": "tok-2"})
    summary = api.summaries(sellerSku="NEW-1").body["payload"]["inventorySummaries"][0]
    assert (summary["productName"], summary["totalQuantity"]) == ("A new thing", 10)

    no_token = api.call("addInventory", "POST", f"{INVENTORY}/items/inventory", json=add)
    assert no_token.status == 400
    bad_item = api.call("createInventoryItem", "POST", f"{INVENTORY}/items",
                        json={"sellerSku": "X"})
    assert bad_item.status == 400

    deleted = api.call("deleteInventoryItem", "DELETE", f"{INVENTORY}/items/NEW-1",
                       params={"marketplaceId": MARKETPLACE})
    assert deleted.status == 200
    again = api.call("deleteInventoryItem", "DELETE", f"{INVENTORY}/items/NEW-1",
                     params={"marketplaceId": MARKETPLACE})
    assert again.status == 404
    no_marketplace = api.call("deleteInventoryItem", "DELETE", f"{INVENTORY}/items/NEW-1")
    assert no_marketplace.status == 400


def test_missing_or_bad_access_token_is_403(sim):
    for headers in ({}, {"x-amz-access-token": "Atza|forged.0000"}):
        response = requests.get(f"{sim.base_url}{OUTBOUND}/fulfillmentOrders/x", headers=headers)
        assert response.status_code == 403
        body = response.json()
        validate_response("getFulfillmentOrder", 403, body)
        assert body == {"errors": [{"code": "Unauthorized",
                                    "message": "Access to requested resource is denied.",
                                    "details": ""}]}


def test_expired_access_token_is_403(sim):
    token = sim.simulator.lwa.issue_access_token(lifetime=-1)
    response = requests.get(f"{sim.base_url}{INVENTORY}/summaries",
                            headers={"x-amz-access-token": token})
    assert response.status_code == 403
    validate_response("getInventorySummaries", 403, response.json())


def test_unknown_path_answers_in_errors_shape(sim, api):
    response = api.session.get(f"{sim.base_url}/fba/outbound/2020-07-01/nothing-here")
    assert response.status_code == 404
    assert_errors_shape(response.json())
    assert response.headers["x-amzn-RequestId"]


def test_broken_bodies_fail_validation():
    with pytest.raises(ResponseMismatch):
        validate_response("getFulfillmentOrder", 200, {"payload": {"fulfillmentOrder": {}}})
    with pytest.raises(ResponseMismatch):  # undeclared fields are caught too
        validate_response("createFulfillmentOrder", 200, {"orderId": "x"})
