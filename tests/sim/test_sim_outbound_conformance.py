"""The outbound operations beyond create/get/list/cancel, over real HTTP: happy paths and
main error paths. SpApi checks every answer against the model for its status."""

from __future__ import annotations

import requests
from sim_helpers import LIFECYCLE, MARKETPLACE, OUTBOUND, order_body

from bridge.sim.clock import parse_iso

ADDRESS = {"name": "Ada Lovelace", "addressLine1": "1 Main St", "city": "Seattle",
           "stateOrRegion": "WA", "postalCode": "98101", "countryCode": "US"}


def preview(api, items, **extra):
    body = {"address": ADDRESS, "items": items, **extra}
    return api.call("getFulfillmentPreview", "POST", f"{OUTBOUND}/fulfillmentOrders/preview",
                    json=body)


def line(sku, quantity, item_id=None):
    return {"sellerSku": sku, "sellerFulfillmentOrderItemId": item_id or f"l-{sku}",
            "quantity": quantity}


def update(api, order_id, body):
    return api.call("updateFulfillmentOrder", "PUT", f"{OUTBOUND}/fulfillmentOrders/{order_id}",
                    json=body)


def set_status(api, order_id, status):
    return api.call("submitFulfillmentOrderStatusUpdate", "PUT",
                    f"{OUTBOUND}/fulfillmentOrders/{order_id}/status",
                    json={"fulfillmentOrderStatus": status})


def create_return(api, order_id, items):
    return api.call("createFulfillmentReturn", "PUT",
                    f"{OUTBOUND}/fulfillmentOrders/{order_id}/return", json={"items": items})


# -- getFulfillmentPreview ------------------------------------------------------------------

def test_preview_per_speed_with_dates_fees_and_weights(sim, api):
    sim.admin.set_stock({"SKU-A": 10})
    now = sim.admin.clock()["timestamp"]
    answer = preview(api, [line("SKU-A", 3)])
    assert answer.status == 200
    assert answer.headers["x-amzn-RateLimit-Limit"] == "2.0"
    previews = answer.body["payload"]["fulfillmentPreviews"]
    assert [p["shippingSpeedCategory"] for p in previews] == ["Standard", "Expedited", "Priority"]
    standard = previews[0]
    assert standard["isFulfillable"] is True and standard["isCODCapable"] is False
    assert standard["marketplaceId"] == MARKETPLACE
    assert standard["unfulfillablePreviewItems"] == []
    fee = standard["estimatedFees"][0]
    assert fee == {"name": "FBAPerUnitFulfillmentFee",
                   "amount": {"currencyCode": "USD", "value": "20.94"}}
    shipment = standard["fulfillmentPreviewShipments"][0]
    assert shipment["fulfillmentPreviewItems"][0]["quantity"] == 3
    assert abs(parse_iso(shipment["earliestShipDate"]) - (now + LIFECYCLE)) < 0.01
    arrivals = [parse_iso(p["fulfillmentPreviewShipments"][0]["earliestArrivalDate"])
                for p in previews]
    assert arrivals[0] > arrivals[1] > arrivals[2]  # faster speeds arrive sooner
    # Nothing was reserved.
    assert sim.admin.inventory()["SKU-A"]["reserved"] == 0


def test_preview_unfulfillable_items(sim, api):
    sim.admin.set_stock({"SKU-A": 1})
    answer = preview(api, [line("SKU-A", 3), line("GHOST", 1)],
                     shippingSpeedCategories=["Standard"])
    only = answer.body["payload"]["fulfillmentPreviews"]
    assert len(only) == 1 and only[0]["isFulfillable"] is False
    reasons = {i["sellerSku"]: (i["quantity"], i["itemUnfulfillableReasons"])
               for i in only[0]["unfulfillablePreviewItems"]}
    assert reasons == {"SKU-A": (2, ["InventoryUnavailable"]), "GHOST": (1, ["InvalidSKU"])}
    assert only[0]["fulfillmentPreviewShipments"][0]["fulfillmentPreviewItems"][0]["quantity"] \
        == 1


def test_preview_order_level_reasons_and_features(sim, api):
    sim.admin.set_stock({"SKU-A": 5})
    abroad = dict(ADDRESS, countryCode="DE")
    answer = api.call("getFulfillmentPreview", "POST", f"{OUTBOUND}/fulfillmentOrders/preview",
                      json={"address": abroad, "items": [line("SKU-A", 1)]})
    assert answer.status == 400  # the US marketplace does not serve Germany
    assert answer.body["errors"][0]["code"] == "InvalidInput"
    scheduled = preview(api, [line("SKU-A", 1)], shippingSpeedCategories=["ScheduledDelivery"])
    only = scheduled.body["payload"]["fulfillmentPreviews"][0]
    assert only["isFulfillable"] is False
    assert only["orderUnfulfillableReasons"] == ["DeliverySLAUnavailable"]
    blocked = preview(api, [line("SKU-A", 2)], shippingSpeedCategories=["Standard"],
                      featureConstraints=[{"featureName": "BLOCK_AMZL",
                                           "featureFulfillmentPolicy": "Required"}])
    first = blocked.body["payload"]["fulfillmentPreviews"][0]
    assert first["featureConstraints"][0]["featureName"] == "BLOCK_AMZL"
    assert {f["name"] for f in first["estimatedFees"]} == {"FBAPerUnitFulfillmentFee",
                                                           "FBATransportationFee"}


def test_preview_cod_and_scheduled_delivery_in_japan(sim, api):
    sim.admin.set_stock({"SKU-A": 5}, marketplace_id="A1VC38T7YXB528")  # Japan's own stock
    tokyo = {"name": "Taro", "addressLine1": "1-1 Chiyoda", "postalCode": "100-0001",
             "countryCode": "JP"}
    answer = api.call("getFulfillmentPreview", "POST", f"{OUTBOUND}/fulfillmentOrders/preview",
                      json={"marketplaceId": "A1VC38T7YXB528", "address": tokyo,
                            "items": [line("SKU-A", 1)], "includeCODFulfillmentPreview": True,
                            "includeDeliveryWindows": True,
                            "shippingSpeedCategories": ["ScheduledDelivery"]})
    previews = answer.body["payload"]["fulfillmentPreviews"]
    assert [p["isCODCapable"] for p in previews] == [False, True]
    assert previews[0]["scheduledDeliveryInfo"]["deliveryTimeZone"] == "Asia/Tokyo"
    assert previews[0]["estimatedFees"][0]["amount"]["currencyCode"] == "JPY"
    assert "FBAFulfillmentCODFee" in {f["name"] for f in previews[1]["estimatedFees"]}


def test_preview_rejects_bad_bodies(sim, api):
    sim.admin.set_stock({"SKU-A": 5})
    bad = {
        "no items": {"address": ADDRESS},
        "no address": {"items": [line("SKU-A", 1)]},
        "empty items": {"address": ADDRESS, "items": []},
        "zero quantity": {"address": ADDRESS, "items": [line("SKU-A", 0)]},
        "too many units": {"address": ADDRESS, "items": [line("SKU-A", 251)]},
        "bad speed": {"address": ADDRESS, "items": [line("SKU-A", 1)],
                      "shippingSpeedCategories": ["Teleport"]},
        "unknown feature": {"address": ADDRESS, "items": [line("SKU-A", 1)],
                            "featureConstraints": [{"featureName": "GIFT_WRAP"}]},
        "unknown marketplace": {"address": ADDRESS, "items": [line("SKU-A", 1)],
                                "marketplaceId": "NOPE"},
    }
    for name, body in bad.items():
        answer = api.call("getFulfillmentPreview", "POST",
                          f"{OUTBOUND}/fulfillmentOrders/preview", json=body)
        assert answer.status == 400, name


# -- deliveryOffers -------------------------------------------------------------------------

def offers_body(sku="SKU-A", amount="1", **terms):
    return {"product": {"productIdentifier": {"merchantSku": sku},
                        "amount": {"unitOfMeasure": "Eaches", "value": amount}},
            "terms": {"origin": {"countryCode": "US"},
                      "destination": {"deliveryAddress": {"countryCode": "US",
                                                          "postalCode": "98101"}},
                      **terms}}


def test_delivery_offers(sim, api):
    sim.admin.set_stock({"SKU-A": 2})
    answer = api.call("deliveryOffers", "POST", f"{OUTBOUND}/deliveryOffers", json=offers_body())
    assert answer.status == 200
    assert answer.headers["x-amzn-RateLimit-Limit"] == "10.0"  # the docs' rate, not the model's
    offers = answer.body["payload"]["deliveryOffers"]
    assert len(offers) == 3
    assert offers[0]["policy"]["message"]["locale"] == "en_US"
    assert offers[0]["dateRange"]["earliest"] < offers[0]["dateRange"]["latest"]
    too_many = api.call("deliveryOffers", "POST", f"{OUTBOUND}/deliveryOffers",
                        json=offers_body(amount="3"))
    assert too_many.body["payload"]["deliveryOffers"] == []
    by_ip = offers_body()
    by_ip["terms"]["destination"] = {"ipAddress": "203.0.113.7"}
    assert api.call("deliveryOffers", "POST", f"{OUTBOUND}/deliveryOffers",
                    json=by_ip).status == 200


def test_delivery_offers_errors(sim, api):
    sim.admin.set_stock({"SKU-A": 2})
    nowhere = offers_body()
    nowhere["terms"]["destination"] = {}
    for body in (offers_body(sku="GHOST"), offers_body(amount="-1"), offers_body(amount="x"),
                 nowhere, {"product": {}}, {"terms": {}}):
        answer = api.call("deliveryOffers", "POST", f"{OUTBOUND}/deliveryOffers", json=body)
        assert answer.status == 400, body


# -- updateFulfillmentOrder -----------------------------------------------------------------

def test_update_changes_fields_and_quantities(sim, api):
    sim.admin.set_stock({"SKU-A": 10})
    api.create(order_body("upd-1"))
    answer = update(api, "upd-1", {"displayableOrderComment": "Changed",
                                   "shippingSpeedCategory": "Expedited",
                                   "items": [{"sellerFulfillmentOrderItemId": "line-1",
                                              "quantity": 5}]})
    assert (answer.status, answer.body) == (200, {})
    payload = api.get("upd-1").body["payload"]
    assert payload["fulfillmentOrder"]["displayableOrderComment"] == "Changed"
    assert payload["fulfillmentOrder"]["shippingSpeedCategory"] == "Expedited"
    assert payload["fulfillmentOrderItems"][0]["quantity"] == 5
    assert sim.admin.inventory()["SKU-A"]["reserved"] == 5
    update(api, "upd-1", {"items": [{"sellerFulfillmentOrderItemId": "line-1", "quantity": 1}]})
    assert sim.admin.inventory()["SKU-A"]["reserved"] == 1


def test_update_errors(sim, api):
    sim.admin.set_stock({"SKU-A": 10})
    api.create(order_body("upd-2", featureConstraints=[
        {"featureName": "BLANK_BOX", "featureFulfillmentPolicy": "Required"}]))
    cases = {
        "unknown item": {"items": [{"sellerFulfillmentOrderItemId": "nope", "quantity": 1}]},
        "other sku": {"items": [{"sellerFulfillmentOrderItemId": "line-1", "sellerSku": "B",
                                 "quantity": 1}]},
        "zero quantity": {"items": [{"sellerFulfillmentOrderItemId": "line-1", "quantity": 0}]},
        "features are fixed": {"featureConstraints": [
            {"featureName": "BLOCK_AMZL", "featureFulfillmentPolicy": "Required"}]},
        "no hold after create": {"fulfillmentAction": "Hold"},
        "bad policy": {"fulfillmentPolicy": "Whatever"},
        "comment too long": {"displayableOrderComment": "c" * 751},
    }
    for name, body in cases.items():
        answer = update(api, "upd-2", body)
        assert answer.status == 400, name
        assert answer.body["errors"][0]["code"] == "InvalidInput", name
    assert update(api, "no-such-order", {}).status == 404
    assert update(api, "a" * 41, {}).status == 400
    sim.admin.advance(30 + 60)  # Processing: nothing can change any more
    refused = update(api, "upd-2", {"displayableOrderComment": "late"})
    assert refused.status == 400 and "Processing" in refused.body["errors"][0]["message"]


# -- getPackageTrackingDetails ----------------------------------------------------------------

def test_tracking_details_fields(sim, api):
    sim.admin.set_stock({"SKU-A": 10})
    api.create(order_body("trk-1"))
    sim.admin.advance(LIFECYCLE)
    number = sim.admin.orders()[0]["packages"][0]["packageNumber"]
    details = api.tracking(number).body["payload"]
    assert details["currentStatus"] == "IN_TRANSIT"
    assert details["currentStatusDescription"]
    assert details["customerTrackingLink"].endswith(details["trackingNumber"])
    assert details["trackingEvents"][0]["eventCode"] == "EVENT_101"


# -- returns ----------------------------------------------------------------------------------

def test_list_return_reason_codes(sim, api):
    sim.admin.set_stock({"SKU-A": 1})
    answer = api.call("listReturnReasonCodes", "GET", f"{OUTBOUND}/returnReasonCodes",
                      params={"sellerSku": "SKU-A", "language": "en_US"})
    assert answer.status == 200
    codes = answer.body["payload"]["reasonCodeDetails"]
    assert {"returnReasonCode": "CR-DEFECTIVE", "description": "Defective/Does not work properly",
            "translatedDescription": "Defective/Does not work properly"} in codes
    for params, status in (({}, 400), ({"sellerSku": "GHOST"}, 400),
                           ({"sellerSku": "SKU-A", "sellerFulfillmentOrderId": "none"}, 404),
                           ({"sellerSku": "SKU-A", "marketplaceId": "NOPE"}, 400)):
        answer = api.call("listReturnReasonCodes", "GET", f"{OUTBOUND}/returnReasonCodes",
                          params=params)
        assert answer.status == status, params


def test_create_fulfillment_return_and_invalid_items(sim, api):
    sim.admin.set_stock({"SKU-A": 10})
    api.create(order_body("ret-1"))  # 2 units of SKU-A, item line-1
    early = create_return(api, "ret-1", [
        {"sellerReturnItemId": "r0", "sellerFulfillmentOrderItemId": "line-1",
         "amazonShipmentId": "T00000000", "returnReasonCode": "CR-DEFECTIVE"}])
    assert early.body["payload"]["invalidReturnItems"][0]["invalidItemReason"][
        "invalidItemReasonCode"] == "InvalidValues"
    sim.admin.advance(30)  # Planning: the shipment is planned, not shipped
    sim.admin.advance(60)
    shipment_id = api.get("ret-1").body["payload"]["fulfillmentShipments"][0]["amazonShipmentId"]
    pending = create_return(api, "ret-1", [
        {"sellerReturnItemId": "r0", "sellerFulfillmentOrderItemId": "line-1",
         "amazonShipmentId": shipment_id, "returnReasonCode": "CR-DEFECTIVE"}])
    assert pending.body["payload"]["invalidReturnItems"][0]["invalidItemReason"][
        "invalidItemReasonCode"] == "NoCompletedShipItems"
    sim.admin.advance(120)

    def item(return_id, reason="CR-UNWANTED_ITEM", item_id="line-1"):
        return {"sellerReturnItemId": return_id, "sellerFulfillmentOrderItemId": item_id,
                "amazonShipmentId": shipment_id, "returnReasonCode": reason,
                "returnComment": "Customer changed their mind"}

    answer = create_return(api, "ret-1", [item("r1"), item("r1"), item("r2", "CR-DEFECTIVE"),
                                          item("r3"), item("r4", "NOT-A-CODE"),
                                          item("r5", item_id="nope")])
    assert answer.status == 200
    payload = answer.body["payload"]
    assert [r["sellerReturnItemId"] for r in payload["returnItems"]] == ["r1", "r2"]
    assert all(r["status"] == "New" for r in payload["returnItems"])
    codes = {i["sellerReturnItemId"]: i["invalidItemReason"]["invalidItemReasonCode"]
             for i in payload["invalidReturnItems"]}
    # r1 twice in one request: the second is a duplicate; only 2 units shipped.
    assert list(codes.values()).count("DuplicateRequest") == 1
    assert codes["r3"] == "NoReturnableQuantity"
    assert codes["r4"] == codes["r5"] == "InvalidValues"
    authorization = payload["returnAuthorizations"][0]
    assert authorization["returnToAddress"]["countryCode"] == "US"
    assert payload["returnItems"][0]["returnAuthorizationId"] == \
        authorization["returnAuthorizationId"]
    again = create_return(api, "ret-1", [item("r1")])
    assert again.body["payload"]["invalidReturnItems"][0]["invalidItemReason"][
        "invalidItemReasonCode"] == "DuplicateRequest"
    order = api.get("ret-1").body["payload"]
    assert len(order["returnItems"]) == 2 and len(order["returnAuthorizations"]) == 1


def test_create_fulfillment_return_errors(sim, api):
    assert create_return(api, "unknown", [
        {"sellerReturnItemId": "r", "sellerFulfillmentOrderItemId": "l",
         "amazonShipmentId": "s", "returnReasonCode": "CR-DEFECTIVE"}]).status == 404
    sim.admin.set_stock({"SKU-A": 1})
    api.create(order_body("ret-2", items=[line("SKU-A", 1)]))
    assert create_return(api, "ret-2", []).status == 400
    assert create_return(api, "ret-2", [{"sellerReturnItemId": "r"}]).status == 400
    too_long = [{"sellerReturnItemId": "r" * 81, "sellerFulfillmentOrderItemId": "l",
                 "amazonShipmentId": "s", "returnReasonCode": "CR-DEFECTIVE"}]
    assert create_return(api, "ret-2", too_long).status == 400


# -- features ---------------------------------------------------------------------------------

def test_get_features_per_marketplace(sim, api):
    answer = api.call("getFeatures", "GET", f"{OUTBOUND}/features",
                      params={"marketplaceId": MARKETPLACE})
    assert answer.status == 200
    names = {f["featureName"] for f in answer.body["payload"]["features"]}
    assert {"BLOCK_AMZL", "BLANK_BOX", "SIGNATURE_CONFIRMATION"} <= names
    japan = api.call("getFeatures", "GET", f"{OUTBOUND}/features",
                     params={"marketplaceId": "A1VC38T7YXB528"}).body["payload"]["features"]
    assert not {"BLOCK_AMZL", "SIGNATURE_CONFIRMATION"} & {f["featureName"] for f in japan}
    assert api.call("getFeatures", "GET", f"{OUTBOUND}/features").status == 400
    assert api.call("getFeatures", "GET", f"{OUTBOUND}/features",
                    params={"marketplaceId": "NOPE"}).status == 400


def test_feature_inventory_and_sku(sim, api):
    requests.post(f"{sim.base_url}/_sim/inventory", timeout=5, json={"items": [
        {"sellerSku": "BOTH", "quantity": 4, "fulfillmentCenterId": "ABE2"},
        {"sellerSku": "BOTH", "quantity": 3, "fulfillmentCenterId": "BFI4"},
        {"sellerSku": "WEST", "quantity": 5, "fulfillmentCenterId": "BFI4"}]})
    params = {"marketplaceId": MARKETPLACE}
    inventory = api.call("getFeatureInventory", "GET", f"{OUTBOUND}/features/inventory/BLANK_BOX",
                         params=params)
    assert inventory.status == 200
    # BFI4 cannot do blank boxes: only BOTH's 4 units at ABE2 count.
    assert inventory.body["payload"]["featureSkus"] == [
        {"sellerSku": "BOTH", "fnSku": inventory.body["payload"]["featureSkus"][0]["fnSku"],
         "asin": inventory.body["payload"]["featureSkus"][0]["asin"], "skuCount": 4}]
    west = api.call("getFeatureSKU", "GET", f"{OUTBOUND}/features/inventory/BLANK_BOX/WEST",
                    params=params).body["payload"]
    assert (west["isEligible"], west["ineligibleReasons"]) == (False, ["SKU_NOT_ELIGIBLE"])
    amzl = api.call("getFeatureSKU", "GET", f"{OUTBOUND}/features/inventory/BLOCK_AMZL/WEST",
                    params=params).body["payload"]
    assert (amzl["isEligible"], amzl["skuCount"]) == (True, 5)
    ghost = api.call("getFeatureSKU", "GET", f"{OUTBOUND}/features/inventory/BLANK_BOX/GHOST",
                     params=params).body["payload"]
    assert ghost["ineligibleReasons"] == ["INVALID_SKU"]

    sim.admin.set_feature_enrollment("BLANK_BOX", False)
    both = api.call("getFeatureSKU", "GET", f"{OUTBOUND}/features/inventory/BLANK_BOX/BOTH",
                    params=params).body["payload"]
    assert both["ineligibleReasons"] == ["MERCHANT_NOT_ENROLLED"]
    refused = api.create(order_body("feat-1", items=[line("BOTH", 1)], featureConstraints=[
        {"featureName": "BLANK_BOX", "featureFulfillmentPolicy": "Required"}]))
    assert refused.status == 400


def test_feature_inventory_pages_and_errors(sim, api, monkeypatch):
    monkeypatch.setattr(sim.simulator.config, "inventory_page_size", 2)
    sim.admin.set_stock({f"S{n}": 1 for n in range(5)})
    seen, token = [], None
    while True:
        params = {"marketplaceId": MARKETPLACE, **({"nextToken": token} if token else {})}
        page = api.call("getFeatureInventory", "GET",
                        f"{OUTBOUND}/features/inventory/PACKING_SLIP", params=params)
        seen += [s["sellerSku"] for s in page.body["payload"]["featureSkus"]]
        token = page.body["payload"].get("nextToken")
        if not token:
            break
    assert seen == [f"S{n}" for n in range(5)]
    base = f"{OUTBOUND}/features/inventory"
    for path, params in ((f"{base}/PACKING_SLIP", {}),
                         (f"{base}/NOT_A_FEATURE", {"marketplaceId": MARKETPLACE}),
                         (f"{base}/BLOCK_AMZL", {"marketplaceId": "A1VC38T7YXB528"}),
                         (f"{base}/PACKING_SLIP", {"marketplaceId": MARKETPLACE,
                                                   "queryStartDate": "soon"}),
                         (f"{base}/PACKING_SLIP", {"marketplaceId": MARKETPLACE,
                                                   "nextToken": "garbage!"})):
        assert api.call("getFeatureInventory", "GET", path, params=params).status == 400, path
    assert api.call("getFeatureSKU", "GET", f"{base}/NOT_A_FEATURE/S1",
                    params={"marketplaceId": MARKETPLACE}).status == 400
    later = api.call("getFeatureInventory", "GET", f"{base}/PACKING_SLIP",
                     params={"marketplaceId": MARKETPLACE,
                             "queryStartDate": "2100-01-01T00:00:00Z"})
    assert later.body["payload"]["featureSkus"] == []


def test_required_feature_refused_where_not_offered(sim, api):
    sim.admin.set_stock({"SKU-A": 5})
    body = order_body("sig-1", destinationAddress=dict(ADDRESS, countryCode="CA"),
                      featureConstraints=[{"featureName": "SIGNATURE_CONFIRMATION",
                                           "featureFulfillmentPolicy": "Required"}])
    assert api.create(body).status == 400
    optional = order_body("sig-2", featureConstraints=[
        {"featureName": "SIGNATURE_CONFIRMATION", "featureFulfillmentPolicy": "NotRequired"}])
    assert api.create(optional).status == 200
    scheduled = order_body("sched-1", shippingSpeedCategory="ScheduledDelivery")
    assert api.create(scheduled).status == 400  # Japan only
    held = order_body("sched-2", shippingSpeedCategory="ScheduledDelivery",
                      fulfillmentAction="Hold")
    assert api.create(held).status == 400


# -- submitFulfillmentOrderStatusUpdate ---------------------------------------------------------

def test_submit_status_update(sim, api):
    sim.admin.set_stock({"SKU-A": 10})
    api.create(order_body("sb-1"))
    assert (set_status(api, "sb-1", "Processing").status,) == (200,)
    payload = api.get("sb-1").body["payload"]
    assert payload["fulfillmentOrder"]["fulfillmentOrderStatus"] == "Processing"
    assert payload["fulfillmentShipments"][0]["fulfillmentShipmentStatus"] == "PENDING"
    assert set_status(api, "sb-1", "Received").status == 400  # no going back
    assert set_status(api, "sb-1", "Complete").status == 200
    assert api.get("sb-1").body["payload"]["fulfillmentShipments"][0][
        "fulfillmentShipmentStatus"] == "SHIPPED"
    assert set_status(api, "sb-1", "Cancelled").status == 400  # already final

    api.create(order_body("sb-2"))
    set_status(api, "sb-2", "Planning")
    set_status(api, "sb-2", "Unfulfillable")
    payload = api.get("sb-2").body["payload"]
    assert payload["fulfillmentOrder"]["fulfillmentOrderStatus"] == "Unfulfillable"
    assert payload["fulfillmentShipments"][0]["fulfillmentShipmentStatus"] == \
        "CANCELLED_BY_FULFILLER"
    assert sim.admin.inventory()["SKU-A"]["reserved"] == 0

    api.create(order_body("sb-3"))
    set_status(api, "sb-3", "CompletePartialled")
    payload = api.get("sb-3").body["payload"]
    assert payload["fulfillmentOrder"]["fulfillmentOrderStatus"] == "CompletePartialled"
    assert payload["fulfillmentOrderItems"][0]["unfulfillableQuantity"] == 1

    assert set_status(api, "missing", "Complete").status == 404
    bad = api.call("submitFulfillmentOrderStatusUpdate", "PUT",
                   f"{OUTBOUND}/fulfillmentOrders/sb-3/status",
                   json={"fulfillmentOrderStatus": "Teleported"})
    assert bad.status == 400
    empty = api.call("submitFulfillmentOrderStatusUpdate", "PUT",
                     f"{OUTBOUND}/fulfillmentOrders/sb-3/status", json={})
    assert empty.status == 400
