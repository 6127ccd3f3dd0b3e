"""createInboundPlan and the other inbound request bodies are checked against the model
(lengths, ranges, patterns, enums) and the rules it states in words; every refusal is a
400 in the errors shape. The Hypothesis property: whatever body a client sends,
createInboundPlan answers 202 or a 4xx, never a 5xx."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sim_helpers import MARKETPLACE
from test_sim_inbound_helpers import IN24, SOURCE, InboundApi, plan_body


@pytest.fixture
def api_inbound(sim) -> InboundApi:
    return InboundApi(sim.base_url, sim.access_token())


def item(**overrides) -> dict:
    return {"msku": "SKU-A", "quantity": 1, "prepOwner": "NONE", "labelOwner": "SELLER",
            **overrides}


BAD_BODIES = {
    "no items": plan_body(items=[]),
    "2001 items": plan_body(items=[item(msku=f"S{n}") for n in range(2001)]),
    "quantity 0": plan_body(items=[item(quantity=0)]),
    "quantity 500001": plan_body(items=[item(quantity=500001)]),
    "quantity not an integer": plan_body(items=[item(quantity="3")]),
    "empty msku": plan_body(items=[item(msku="")]),
    "msku of 256": plan_body(items=[item(msku="m" * 256)]),
    "blank msku": plan_body(items=[item(msku="   ")]),
    "unknown prep owner": plan_body(items=[item(prepOwner="ME")]),
    "missing label owner": plan_body(items=[{"msku": "A", "quantity": 1, "prepOwner": "NONE"}]),
    "Amazon labels in the US": plan_body(items=[item(labelOwner="AMAZON")]),
    "bad expiration": plan_body(items=[item(expiration="2026-13-01")]),
    "the same msku twice": plan_body(items=[item(), item()]),
    "no marketplace": plan_body(destinationMarketplaces=[]),
    "two marketplaces": plan_body(destinationMarketplaces=[MARKETPLACE, "A2EUQ1WTGCTBG2"]),
    "unknown marketplace": plan_body(destinationMarketplaces=["NOPE"]),
    "self-ship marketplace": plan_body(destinationMarketplaces=["A21TJRUUN4KGV"]),
    "empty name": plan_body(name=""),
    "name of 41": plan_body(name="n" * 41),
    "lower-case country": plan_body(sourceAddress={**SOURCE, "countryCode": "us"}),
    "three-letter country": plan_body(sourceAddress={**SOURCE, "countryCode": "USA"}),
    "addressLine1 of 181": plan_body(sourceAddress={**SOURCE, "addressLine1": "a" * 181}),
    "addressLine2 of 61": plan_body(sourceAddress={**SOURCE, "addressLine2": "a" * 61}),
    "city of 31": plan_body(sourceAddress={**SOURCE, "city": "c" * 31}),
    "companyName of 51": plan_body(sourceAddress={**SOURCE, "companyName": "c" * 51}),
    "name of 51": plan_body(sourceAddress={**SOURCE, "name": "n" * 51}),
    "phone of 21": plan_body(sourceAddress={**SOURCE, "phoneNumber": "1" * 21}),
    "postal code of 33": plan_body(sourceAddress={**SOURCE, "postalCode": "9" * 33}),
    "no phone": plan_body(sourceAddress={k: v for k, v in SOURCE.items() if k != "phoneNumber"}),
    "blank city": plan_body(sourceAddress={**SOURCE, "city": " "}),
    "no source address": {k: v for k, v in plan_body().items() if k != "sourceAddress"},
}


@pytest.mark.parametrize("case", sorted(BAD_BODIES))
def test_create_refuses_bad_bodies(sim, api_inbound, case):
    answer = api_inbound.create_plan(BAD_BODIES[case])
    assert answer.status == 400, answer.body
    assert answer.body["errors"][0]["code"] == "BadRequest"


def test_messages_name_the_field(sim, api_inbound):
    answer = api_inbound.create_plan(plan_body(items=[item(quantity=500001)]))
    assert answer.body["errors"][0]["message"] == \
        "The value of items[0].quantity must be at most 500000."
    answer = api_inbound.create_plan(plan_body(destinationMarketplaces=["NOPE"]))
    assert answer.body["errors"][0]["message"] == "Invalid destinationMarketplace provided."


def test_create_accepts_the_limits_and_ignores_unknown_fields(sim, api_inbound):
    body = plan_body(items=[item(quantity=500000, msku="m" * 255, futureField=1)],
                     name="n" * 40, somethingNew={"x": 1})
    answer = api_inbound.create_plan(body)
    assert answer.status == 202, answer.body
    assert len(answer.body["inboundPlanId"]) == 38 and len(answer.body["operationId"]) == 36
    plan = api_inbound.plan_call("getInboundPlan", "GET", answer.body["inboundPlanId"]).body
    assert plan["name"] == "n" * 40


def test_create_needs_a_json_body(sim, api_inbound):
    answer = api_inbound.call("createInboundPlan", "POST", f"{IN24}/inboundPlans",
                              data=b"not json", headers={"content-type": "application/json"})
    assert answer.status == 400


def test_other_bodies_are_checked_too(sim, api_inbound):
    api = api_inbound
    answer = api.create_plan(plan_body())
    plan_id = answer.body["inboundPlanId"]
    assert api.plan_call("updateInboundPlanName", "PUT", plan_id, "/name",
                         json={"name": "n" * 41}).status == 400
    assert api.plan_call("generateTransportationOptions", "POST", plan_id,
                         "/transportationOptions", json={"placementOptionId": "short"}
                         ).status == 400
    assert api.call("setPrepDetails", "POST", f"{IN24}/items/prepDetails", json={
        "marketplaceId": MARKETPLACE, "mskuPrepDetails": [
            {"msku": "SKU-A", "prepCategory": "NONE", "prepTypes": ["ITEM_POLYBAGGING"]}]}
                    ).status == 400
    assert api.call("listPrepDetails", "GET", f"{IN24}/items/prepDetails",
                    params={"marketplaceId": MARKETPLACE, "mskus": "NEVER-SEEN"}).status == 400
    assert api.call("createMarketplaceItemLabels", "POST", f"{IN24}/items/labels", json={
        "marketplaceId": MARKETPLACE, "labelType": "STANDARD_FORMAT",
        "mskuQuantities": [{"msku": "SKU-A", "quantity": 10001}]}).status == 400


text = st.text(max_size=50)
junk = st.one_of(st.none(), st.booleans(), st.integers(),
                 st.floats(allow_nan=False, allow_infinity=False), text,
                 st.lists(st.integers(), max_size=3),
                 st.dictionaries(text, st.integers(), max_size=2))
owners = st.one_of(st.sampled_from(["AMAZON", "SELLER", "NONE", "seller"]), junk)
items = st.fixed_dictionaries(
    {"msku": st.one_of(st.sampled_from(["SKU-A", "SKU-B", " "]), text, junk),
     "quantity": st.one_of(st.integers(min_value=-2, max_value=500002), junk),
     "prepOwner": owners, "labelOwner": owners},
    optional={"expiration": st.one_of(st.just("2027-01-31"), text, junk),
              "manufacturingLotCode": st.one_of(text, junk)})
address = st.fixed_dictionaries(
    {}, optional={field: st.one_of(st.just(SOURCE[field]), text, junk) for field in SOURCE})


@st.composite
def create_bodies(draw) -> dict:
    body = plan_body(
        items=draw(st.one_of(st.lists(items, max_size=4), junk)),
        name=draw(st.one_of(st.just("Restock"), text, junk)),
        destinationMarketplaces=draw(st.one_of(
            st.just([MARKETPLACE]), st.lists(st.sampled_from([MARKETPLACE, "A1PA6795UKMFR9",
                                                              "A21TJRUUN4KGV", "X"]),
                                             max_size=2), junk)),
        sourceAddress=draw(st.one_of(st.just(dict(SOURCE)), address, junk)))
    for field in draw(st.lists(st.sampled_from(sorted(body)), max_size=2)):
        body.pop(field, None)
    return body


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=create_bodies())
def test_create_never_fails_with_5xx(sim, api_inbound, body):
    answer = api_inbound.create_plan(body)  # checks the model schema and the errors shape
    assert answer.status in (202, 400), answer.body
