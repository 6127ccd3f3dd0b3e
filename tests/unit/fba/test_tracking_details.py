"""getPackageTrackingDetails read strictly: the model's own example, every CurrentStatus
of the model decided (final with its milestone, or followed on), a status the model does
not list kept and not final, and answers of the wrong shape refused with the field named."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest
import responses

from bridge.errors import MalformedAnswer
from bridge.fba.tracking_details import (
    FINAL_STATUSES,
    KNOWN_STATUSES,
    OPEN_STATUSES,
    OUTCOME_EVENTS,
    Outcome,
    parse_tracking_details,
)
from bridge.spapi_models import load_model

OUT = "fulfillmentOutbound_2020-07-01.json"


def model_example() -> dict:
    """The payload of the model's own 200 example for getPackageTrackingDetails."""
    path = load_model(OUT)["paths"]["/fba/outbound/2020-07-01/tracking"]["get"]
    return copy.deepcopy(path["responses"]["200"]["examples"]["payload"])


def enum(definition: str) -> set[str]:
    return set(load_model(OUT)["definitions"][definition]["enum"])


def test_the_models_example_reads_as_delivered():
    tracking = parse_tracking_details(model_example(), 212794778)

    assert tracking.status == "DELIVERED" and tracking.outcome == Outcome.DELIVERED
    assert (tracking.tracking_number, tracking.carrier) == ("1Z50V7420354708051", "UPS")
    # Newest first, and the milestone's time is the delivery scan's.
    assert [event.code for event in tracking.events] == ["EVENT_301", "EVENT_206"]
    event = tracking.outcome_event()
    assert event is not None and event.at == datetime(2020, 1, 22, 0, 15, 55, tzinfo=UTC)
    assert (event.city, event.state, event.country) == ("Troy", "MI", "US")


def test_every_status_of_the_model_is_decided_once():
    assert KNOWN_STATUSES == enum("CurrentStatus")
    assert not set(FINAL_STATUSES) & OPEN_STATUSES


@pytest.mark.parametrize("status, outcome", [
    ("DELIVERED", Outcome.DELIVERED),
    ("UNDELIVERABLE", Outcome.DELIVERY_FAILED),
    ("RETURNED", Outcome.RETURNED_TO_SENDER),
    ("RETURN_RECEIVED_IN_FC", Outcome.DELIVERED),  # a customer return: it was delivered
    ("IN_TRANSIT", None),
    ("RETURNING", None),           # on its way back: RETURNED ends it
    ("DELIVERY_ATTEMPTED", None),
    ("UNKNOWN", None),
])
def test_a_status_maps_to_its_milestone_or_is_followed_on(status, outcome):
    payload = {**model_example(), "currentStatus": status}
    assert parse_tracking_details(payload, 212794778).outcome == outcome


def test_the_outcome_events_are_codes_of_the_model():
    codes = set().union(*OUTCOME_EVENTS.values())
    assert codes <= enum("EventCode")


def test_a_status_the_model_does_not_list_is_kept_and_not_final():
    payload = {**model_example(), "currentStatus": "TELEPORTED"}
    tracking = parse_tracking_details(payload, 212794778)
    assert tracking.status == "TELEPORTED"
    assert tracking.outcome is None and not tracking.known_status


def test_a_returned_package_is_dated_by_its_return_scan_not_the_newest_event():
    payload = {"packageNumber": 7, "currentStatus": "RETURNED", "trackingEvents": [
        {"eventDate": "2026-03-01T10:00:00Z", "eventCode": "EVENT_309",
         "eventDescription": "Returned to seller.",
         "eventAddress": {"city": "Allentown", "state": "PA", "country": "US"}},
        {"eventDate": "2026-03-01T12:00:00Z", "eventCode": "EVENT_201",
         "eventDescription": "Arrival scan.",
         "eventAddress": {"city": "Allentown", "state": "PA", "country": "US"}},
    ]}
    event = parse_tracking_details(payload, 7).outcome_event()
    assert event is not None and event.code == "EVENT_309"


def test_a_minimal_answer_reads_with_nothing_final():
    tracking = parse_tracking_details({"packageNumber": 7}, 7)
    assert (tracking.status, tracking.events, tracking.outcome) == ("", (), None)
    assert tracking.estimated_arrival is None and tracking.outcome_event() is None


@pytest.mark.parametrize("change, named", [
    ({"packageNumber": "7"}, "packageNumber"),
    ({"packageNumber": True}, "packageNumber"),
    ({"currentStatus": 3}, "currentStatus"),
    ({"estimatedArrivalDate": "next Tuesday"}, "estimatedArrivalDate"),
    ({"shipDate": 1700000000}, "shipDate"),
    ({"trackingEvents": {"eventCode": "EVENT_301"}}, "trackingEvents"),
    ({"trackingEvents": ["EVENT_301"]}, "trackingEvents[0]"),
    ({"trackingEvents": [{"eventDate": "2026-03-01T10:00:00Z"}]}, "trackingEvents[0].eventCode"),
    ({"trackingEvents": [{"eventCode": "EVENT_301"}]}, "trackingEvents[0].eventDate"),
    ({"trackingEvents": [{"eventCode": "EVENT_301", "eventDate": "2026-03-01T10:00:00Z",
                          "eventAddress": "Troy"}]}, "trackingEvents[0].eventAddress"),
    ({"shipToAddress": ["Troy"]}, "shipToAddress"),
    ({"carrierCode": {"name": "UPS"}}, "carrierCode"),
])
def test_a_wrong_shape_is_refused_with_the_field_named(change, named):
    payload = {**model_example(), **change}
    with pytest.raises(MalformedAnswer, match=named.replace("[", r"\[").replace("]", r"\]")):
        parse_tracking_details(payload, 212794778)


def test_an_answer_for_another_package_is_refused():
    with pytest.raises(MalformedAnswer, match="package 1 with package 212794778"):
        parse_tracking_details(model_example(), 1)


def test_the_client_reads_a_package_and_none_when_amazon_has_no_such_package(amazon, make_client):
    amazon.add(responses.GET, f"{amazon.OUTBOUND}/tracking", json={"payload": model_example()})
    amazon.add(responses.GET, f"{amazon.OUTBOUND}/tracking", status=404, json={"errors": [
        {"code": "NotFound", "message": "The package 5 was not found."}]})
    client = make_client()

    tracking = client.package_tracking(212794778)
    assert tracking is not None and tracking.outcome == Outcome.DELIVERED
    assert client.package_tracking(5) is None
