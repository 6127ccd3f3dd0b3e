"""Helpers shared by the inbound tests (this module holds no tests): a caller for the
Fulfillment Inbound APIs that checks every answer against the models, request bodies,
and steps that walk a plan through the workflow."""

from __future__ import annotations

from sim_helpers import MARKETPLACE, Answer, SpApi, assert_errors_shape

from bridge.sim.config import SimConfig
from bridge.spapi_models import validate_response

IN24 = "/inbound/fba/2024-03-20"
V0 = "/fba/inbound/v0"
OPERATION_SECONDS = SimConfig().inbound_operation_seconds
SOURCE = {"name": "Ada Lovelace", "companyName": "Analytical Engines", "addressLine1": "1 Main St",
          "city": "Seattle", "stateOrProvinceCode": "WA", "postalCode": "98101",
          "countryCode": "US", "phoneNumber": "2065550100"}
BOX = {"contentInformationSource": "BOX_CONTENT_PROVIDED",
       "dimensions": {"length": 12, "width": 10, "height": 8, "unitOfMeasurement": "IN"},
       "weight": {"value": 10, "unit": "LB"}}


class InboundApi(SpApi):
    """SpApi for the inbound operations: 204 answers have no body at all."""

    def call(self, operation_id: str, method: str, path: str, **kwargs) -> Answer:
        kwargs.setdefault("timeout", 10)
        response = self.session.request(method, self.base_url + path, **kwargs)
        assert response.headers.get("x-amzn-RequestId"), "every answer has a request id"
        if response.status_code == 204:
            assert response.content == b""
            return Answer(204, {}, response.headers)
        body = response.json()
        validate_response(operation_id, response.status_code, body)
        if response.status_code >= 400:
            assert_errors_shape(body)
        return Answer(response.status_code, body, response.headers)

    def plan_call(self, operation_id: str, method: str, plan_id: str, tail: str = "",
                  **kwargs) -> Answer:
        return self.call(operation_id, method, f"{IN24}/inboundPlans/{plan_id}{tail}", **kwargs)

    def create_plan(self, body: dict) -> Answer:
        return self.call("createInboundPlan", "POST", f"{IN24}/inboundPlans", json=body)

    def operation(self, operation_id: str) -> Answer:
        return self.call("getInboundOperationStatus", "GET", f"{IN24}/operations/{operation_id}")


def plan_body(items=None, **overrides) -> dict:
    body = {"destinationMarketplaces": [MARKETPLACE], "name": "Spring restock",
            "sourceAddress": dict(SOURCE),
            "items": items if items is not None else [
                {"msku": "SKU-A", "quantity": 24, "prepOwner": "NONE", "labelOwner": "SELLER"},
                {"msku": "SKU-B", "quantity": 10, "prepOwner": "NONE", "labelOwner": "SELLER"}]}
    body.update(overrides)
    return body


def finish(sim, api: InboundApi, answer: Answer, expect: str = "SUCCESS") -> dict:
    """A 202 answer's operation, after the clock moved past its completion."""
    assert answer.status == 202, answer.body
    operation_id = answer.body["operationId"]
    assert api.operation(operation_id).body["operationStatus"] == "IN_PROGRESS"
    sim.admin.advance(OPERATION_SECONDS)
    status = api.operation(operation_id).body
    assert status["operationStatus"] == expect, status
    return status


def fail_next(sim, operation: str, **fields) -> dict:
    return sim.admin.fail_next_inbound(operation, **fields)


def created_plan(sim, api: InboundApi, body: dict | None = None) -> str:
    answer = api.create_plan(body or plan_body())
    finish(sim, api, answer)
    return answer.body["inboundPlanId"]


def packed_plan(sim, api: InboundApi, body: dict | None = None) -> tuple[str, dict]:
    """A plan with its one-group packing option confirmed and every box described."""
    plan_id = created_plan(sim, api, body)
    finish(sim, api, api.plan_call("generatePackingOptions", "POST", plan_id, "/packingOptions"))
    options = api.plan_call("listPackingOptions", "GET", plan_id, "/packingOptions").body
    option = next(o for o in options["packingOptions"] if len(o["packingGroups"]) == 1)
    finish(sim, api, api.plan_call("confirmPackingOption", "POST", plan_id,
                                   f"/packingOptions/{option['packingOptionId']}/confirmation"))
    group_id = option["packingGroups"][0]
    items = api.plan_call("listPackingGroupItems", "GET", plan_id,
                          f"/packingGroups/{group_id}/items").body["items"]
    boxes = [{**BOX, "quantity": 2, "items": [
        {"msku": i["msku"], "quantity": i["quantity"] // 2, "prepOwner": "NONE",
         "labelOwner": i["labelOwner"]} for i in items]}]
    finish(sim, api, api.plan_call("setPackingInformation", "POST", plan_id,
                                   "/packingInformation", json={"packageGroupings": [
                                       {"packingGroupId": group_id, "boxes": boxes}]}))
    return plan_id, option


def placed_plan(sim, api: InboundApi, body: dict | None = None) -> tuple[str, dict]:
    """A packed plan with its first placement option (the split one) confirmed."""
    plan_id, _ = packed_plan(sim, api, body)
    finish(sim, api, api.plan_call("generatePlacementOptions", "POST", plan_id,
                                   "/placementOptions", json={}))
    placement = api.plan_call("listPlacementOptions", "GET", plan_id,
                              "/placementOptions").body["placementOptions"][0]
    finish(sim, api, api.plan_call("confirmPlacementOption", "POST", plan_id,
                                   f"/placementOptions/{placement['placementOptionId']}"
                                   "/confirmation"))
    return plan_id, placement


def ready_to_ship_start(sim) -> str:
    return sim.admin.clock()["now"]


def transport_options(sim, api: InboundApi, plan_id: str, placement: dict) -> list[dict]:
    configs = [{"shipmentId": s, "readyToShipWindow": {"start": ready_to_ship_start(sim)}}
               for s in placement["shipmentIds"]]
    finish(sim, api, api.plan_call("generateTransportationOptions", "POST", plan_id,
                                   "/transportationOptions", json={
                                       "placementOptionId": placement["placementOptionId"],
                                       "shipmentTransportationConfigurations": configs}))
    return api.plan_call("listTransportationOptions", "GET", plan_id, "/transportationOptions",
                         params={"placementOptionId": placement["placementOptionId"]}
                         ).body["transportationOptions"]


def partnered_parcel(options: list[dict], shipment_id: str) -> dict:
    return next(o for o in options if o["shipmentId"] == shipment_id
                and o["shippingSolution"] == "AMAZON_PARTNERED_CARRIER"
                and o["shippingMode"] == "GROUND_SMALL_PARCEL")


def shipped_plan(sim, api: InboundApi, body: dict | None = None) -> tuple[str, dict]:
    """A placed plan with partnered small-parcel transportation confirmed."""
    plan_id, placement = placed_plan(sim, api, body)
    options = transport_options(sim, api, plan_id, placement)
    selections = [{"shipmentId": s, "transportationOptionId":
                   partnered_parcel(options, s)["transportationOptionId"]}
                  for s in placement["shipmentIds"]]
    finish(sim, api, api.plan_call("confirmTransportationOptions", "POST", plan_id,
                                   "/transportationOptions/confirmation",
                                   json={"transportationSelections": selections}))
    return plan_id, placement
