"""Where the simulator follows Amazon's words rather than convenience: an order its stock
cannot cover is Invalid at validation (and Unfulfillable only when stock goes missing
after acceptance, or FillAll's wait runs out); x-amzn-RateLimit-Limit on every status
the models declare it for; default rate limits from Amazon's documentation, with the
models' usage-plan tables as the other profile."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sim_helpers import SpApi, order_body
from starlette.testclient import TestClient
from test_sim_inbound_helpers import IN24, InboundApi, created_plan, plan_body

from bridge.sim.app import RATE_LIMIT_HEADER, build_app
from bridge.sim.cli import sim as sim_group
from bridge.sim.config import SimConfig
from bridge.sim.limits import DOCUMENTED, UnknownProfile, default_limits
from bridge.sim.operations import Operation
from bridge.sim.server import SimServer
from bridge.sim.simulator import Simulator
from bridge.sim.wire import Reply
from bridge.spapi_models import MODEL_FILES, model_operations

RECEIVED = SimConfig().received_seconds
PLANNING = SimConfig().planning_seconds
FILL_ALL_WAIT = SimConfig().fill_all_wait_seconds


def line(sku: str, quantity: int, item_id: str) -> dict:
    return {"sellerSku": sku, "sellerFulfillmentOrderItemId": item_id, "quantity": quantity}


def order_of(api: SpApi, order_id: str) -> dict:
    return api.get(order_id).body["payload"]


def status(api: SpApi, order_id: str) -> str:
    return order_of(api, order_id)["fulfillmentOrder"]["fulfillmentOrderStatus"]


def unfulfillable(api: SpApi, order_id: str) -> dict[str, int]:
    return {i["sellerFulfillmentOrderItemId"]: i["unfulfillableQuantity"]
            for i in order_of(api, order_id)["fulfillmentOrderItems"]}


# -- insufficient stock at create ------------------------------------------------------------

def test_an_order_short_of_stock_is_received_but_invalid_at_once(sim, api):
    sim.admin.set_stock({"SKU-A": 1, "SKU-B": 5})
    answer = api.create(order_body("short", items=[line("SKU-A", 3, "a"), line("SKU-B", 2, "b")]))

    # The create call succeeds (the order was received); validation finds it invalid.
    assert (answer.status, answer.body) == (200, {})
    order = order_of(api, "short")["fulfillmentOrder"]
    assert order["fulfillmentOrderStatus"] == "Invalid"
    assert order["statusUpdatedDate"] == order["receivedDate"]
    assert unfulfillable(api, "short") == {"a": 3, "b": 2}
    stock = sim.admin.inventory()
    assert [(stock[s]["fulfillable"], stock[s]["reserved"]) for s in ("SKU-A", "SKU-B")] == [
        (1, 0), (5, 0)]

    sim.admin.advance(RECEIVED + PLANNING)
    assert status(api, "short") == "Invalid"  # final: nothing ships


def test_what_validation_asks_depends_on_the_policy(sim, api):
    sim.admin.set_stock({"SKU-A": 1, "SKU-Z": 0})
    items = [line("SKU-A", 3, "a")]
    api.create(order_body("kill", items=items, fulfillmentPolicy="FillOrKill"))
    api.create(order_body("some", items=items, fulfillmentPolicy="FillAllAvailable"))
    api.create(order_body("none", items=[line("SKU-Z", 1, "z")],
                          fulfillmentPolicy="FillAllAvailable"))
    api.create(order_body("wait", items=[line("SKU-Z", 1, "z")], fulfillmentPolicy="FillAll"))
    api.create(order_body("held", items=[line("SKU-Z", 1, "z")], fulfillmentAction="Hold"))

    assert {o: status(api, o) for o in ("kill", "some", "none", "wait", "held")} == {
        "kill": "Invalid",      # every unit needed
        "some": "Received",     # ships what there is
        "none": "Invalid",      # nothing at all to ship
        "wait": "Received",     # FillAll waits for stock, as the model says
        "held": "Invalid",      # a hold is validated like any order
    }


def test_unfulfillable_comes_from_stock_lost_after_acceptance(sim, api):
    sim.admin.set_stock({"SKU-A": 3})
    api.create(order_body("older", items=[line("SKU-A", 2, "a")]))
    api.create(order_body("newer", items=[line("SKU-A", 1, "a")]))
    assert (status(api, "older"), status(api, "newer")) == ("Received", "Received")

    # All three units are reserved. Two go missing: the newest order's unit first, then
    # one of the older order's.
    assert sim.admin.lose_stock("SKU-A", 2) == {"sellerSku": "SKU-A", "lost": 2}
    stock = sim.admin.inventory()["SKU-A"]
    assert (stock["fulfillable"], stock["reserved"]) == (0, 1)
    summary = api.summaries(details="true", sellerSku="SKU-A").body["payload"]
    researching = summary["inventorySummaries"][0]["inventoryDetails"]["researchingQuantity"]
    assert researching["totalResearchingQuantity"] == 2

    # Planning starts in creation order: the older order finds one unit of two and, under
    # FillOrKill, becomes Unfulfillable, its unit back on the shelf; the newer order then
    # finds that unit and goes on.
    sim.admin.advance(RECEIVED)
    assert (status(api, "older"), status(api, "newer")) == ("Unfulfillable", "Planning")
    assert unfulfillable(api, "older") == {"a": 2}
    stock = sim.admin.inventory()["SKU-A"]
    assert (stock["fulfillable"], stock["reserved"]) == (0, 1)


def test_stock_lost_from_a_fill_all_available_order_ships_the_rest(sim, api):
    sim.admin.set_stock({"SKU-A": 3})
    api.create(order_body("avail", items=[line("SKU-A", 3, "a")],
                          fulfillmentPolicy="FillAllAvailable"))
    sim.admin.lose_stock("SKU-A", 1)
    sim.admin.advance(RECEIVED + PLANNING + SimConfig().processing_seconds)
    payload = order_of(api, "avail")
    assert payload["fulfillmentOrder"]["fulfillmentOrderStatus"] == "CompletePartialled"
    assert payload["fulfillmentOrderItems"][0]["cancelledQuantity"] == 1


def test_stock_lost_while_planning_is_found_missing_before_picking(sim, api):
    sim.admin.set_stock({"SKU-A": 2})
    api.create(order_body("planned", items=[line("SKU-A", 2, "a")]))
    sim.admin.advance(RECEIVED)
    assert status(api, "planned") == "Planning"
    sim.admin.lose_stock("SKU-A", 1)
    sim.admin.advance(PLANNING)
    assert status(api, "planned") == "Unfulfillable"
    assert order_of(api, "planned")["fulfillmentShipments"][0]["fulfillmentShipmentStatus"] == (
        "CANCELLED_BY_FULFILLER")


def test_fill_all_short_at_create_waits_then_becomes_unfulfillable(sim, api):
    sim.admin.set_stock({"SKU-A": 0})
    api.create(order_body("wait", items=[line("SKU-A", 2, "a")], fulfillmentPolicy="FillAll"))
    sim.admin.advance(RECEIVED)
    assert status(api, "wait") == "Planning"
    sim.admin.advance(FILL_ALL_WAIT)
    assert status(api, "wait") == "Unfulfillable"


def test_losing_stock_from_the_command_line(sim):
    sim.admin.set_stock({"SKU-A": 5}, fulfillment_center="PHX6")
    result = CliRunner().invoke(sim_group, ["lose", "SKU-A", "2", "--center", "PHX6",
                                            "--url", sim.base_url])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"sellerSku": "SKU-A", "lost": 2}
    assert sim.admin.inventory()["SKU-A"]["fulfillable"] == 3
    refused = CliRunner().invoke(sim_group, ["lose", "NEVER-STOCKED", "1", "--url", sim.base_url])
    assert refused.exit_code != 0 and "no SKU" in refused.output


def test_the_switch_keeps_the_lenient_way_received_then_unfulfillable():
    config = SimConfig(clock_factor=0, rate_limits=False, invalid_when_short=False)
    with SimServer(config) as lenient:
        api = SpApi(lenient.base_url, lenient.access_token())
        lenient.admin.set_stock({"SKU-A": 1})
        assert api.create(order_body("short", items=[line("SKU-A", 3, "a")])).status == 200
        assert status(api, "short") == "Received"
        lenient.admin.advance(RECEIVED)
        assert status(api, "short") == "Unfulfillable"


def test_serve_flags_pick_the_limits_and_the_stock_check(monkeypatch):
    started = []
    monkeypatch.setattr("bridge.sim.server.serve", lambda **kwargs: started.append(kwargs))
    runner = CliRunner()
    assert runner.invoke(sim_group, ["serve"]).exit_code == 0
    default = started.pop()["config"]
    assert (default.rate_limit_profile, default.invalid_when_short) == ("docs", True)
    result = runner.invoke(sim_group, ["serve", "--limits", "model", "--accept-short-orders"])
    assert result.exit_code == 0, result.output
    chosen = started.pop()["config"]
    assert (chosen.rate_limit_profile, chosen.invalid_when_short) == ("model", False)
    assert runner.invoke(sim_group, ["serve", "--limits", "guess"]).exit_code != 0
    assert not started


# -- x-amzn-RateLimit-Limit on every declared status ----------------------------------------

def _declared(op_id: str) -> dict[int, bool]:
    """Every numbered status of the operation's model -> whether it declares the header."""
    responses = model_operations()[op_id].spec["responses"]
    return {int(status): RATE_LIMIT_HEADER in (response.get("headers") or {})
            for status, response in responses.items() if status.isdigit()}


def test_every_status_a_model_declares_the_header_for_carries_it():
    """Each served operation answers each status its model lists (a stub handler stands in
    for the operation; the wire layer adds the headers): the header is there exactly where
    the model declares it, for every operation that has a limit."""
    simulator = Simulator(SimConfig(clock_factor=0, rate_limits=False))
    served = simulator.operations

    def answer_as_asked(_sim, call) -> Reply:
        return Reply(int(call.headers["x-test-status"]), {})

    simulator.operations = [Operation(op.operation_id, answer_as_asked) for op in served]
    token = simulator.lwa.issue_access_token()
    checked = 0
    with TestClient(build_app(simulator)) as client:
        for op in served:
            limit = simulator.limiter.limit_of(op.operation_id)
            path = op.path.replace("{", "").replace("}", "")  # any value fills a placeholder
            for code, declared in _declared(op.operation_id).items():
                if code in (403, 429):
                    continue  # answered before the operation runs (covered below)
                response = client.request(op.method, path, headers={
                    "x-amz-access-token": token, "x-test-status": str(code)})
                assert response.status_code == code, (op.operation_id, code)
                expected = str(float(limit[0])) if declared and limit is not None else None
                assert response.headers.get(RATE_LIMIT_HEADER) == expected, (
                    op.operation_id, code)
                checked += declared and limit is not None
        forbidden = client.get(served[0].path.replace("{", "").replace("}", ""))
        assert forbidden.status_code == 403 and RATE_LIMIT_HEADER not in forbidden.headers
    # Every model the simulator serves, not a few operations.
    assert {op.model.model_file for op in served} == set(MODEL_FILES)
    assert checked > 200  # (the app closed the simulator when the client left)


def test_inbound_202_and_204_answers_carry_the_header(sim, api):
    inbound = InboundApi(sim.base_url, sim.access_token())
    created = inbound.create_plan(plan_body())
    assert created.status == 202 and created.headers[RATE_LIMIT_HEADER] == "2.0"
    plan_id = created_plan(sim, inbound)
    renamed = inbound.call("updateInboundPlanName", "PUT", f"{IN24}/inboundPlans/{plan_id}/name",
                           json={"name": "Renamed"})
    assert renamed.status == 204 and renamed.headers[RATE_LIMIT_HEADER] == "2.0"


# -- rate-limit profiles -------------------------------------------------------------------

def limits_of(profile: str) -> dict[str, tuple[float, int]]:
    simulator = Simulator(SimConfig(clock_factor=0, rate_limit_profile=profile))
    try:
        return {op.operation_id: simulator.limiter.limit_of(op.operation_id)
                for op in simulator.operations}
    finally:
        simulator.close()


def test_docs_and_model_profiles():
    docs, model = limits_of("docs"), limits_of("model")
    assert (docs["deliveryOffers"], model["deliveryOffers"]) == ((10.0, 30), (5.0, 30))
    assert (docs["getInboundOperationStatus"], model["getInboundOperationStatus"]) == (
        (5.0, 6), (2.0, 6))
    assert (docs["getLabels"], model["getLabels"]) == ((5.0, 30), (2.0, 30))
    assert docs["createFulfillmentOrder"] == model["createFulfillmentOrder"] == (2.0, 30)
    assert docs["getInventorySummaries"] == model["getInventorySummaries"] == (2.0, 2)
    # Every difference is one the documentation states, with its source.
    differ = {op for op in docs if docs[op] != model[op]}
    assert differ == set(DOCUMENTED)
    assert all(DOCUMENTED[op].source.startswith("https://developer-docs.amazon.com/")
               for op in differ)
    # No plan in the model ("n | n"): no limit in either profile.
    assert docs["listPrepDetails"] is None and model["listPrepDetails"] is None


def test_the_profile_is_what_the_header_reports():
    config = SimConfig(clock_factor=0, rate_limits=False, rate_limit_profile="model")
    with SimServer(config) as by_model:
        api = SpApi(by_model.base_url, by_model.access_token())
        by_model.admin.set_stock({"SKU-A": 1})
        body = {"product": {"productIdentifier": {"merchantSku": "SKU-A"},
                            "amount": {"unitOfMeasure": "Eaches", "value": "1"}},
                "terms": {"origin": {"countryCode": "US"},
                          "destination": {"deliveryAddress": {"countryCode": "US",
                                                              "postalCode": "98101"}}}}
        answer = api.call("deliveryOffers", "POST", "/fba/outbound/2020-07-01/deliveryOffers",
                          json=body)
        assert answer.headers[RATE_LIMIT_HEADER] == "5.0"


def test_an_unknown_profile_is_refused():
    with pytest.raises(UnknownProfile):
        default_limits([], "guess")
