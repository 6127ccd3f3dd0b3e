"""getPackageTrackingDetails, read strictly: the PackageTrackingDetails payload as a
`PackageTracking`, and what each of the model's `CurrentStatus` values means for a
package bridge follows to the door.

Fields that decide something (packageNumber, currentStatus, the events' codes and dates,
shipDate, estimatedArrivalDate) must have the model's type, or the answer is a
MalformedAnswer; descriptive fields are checked for their type when present. A status
or event code the model does not list is kept as it came: it is not final, and the
delivery flow logs it once per package."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from bridge.errors import MalformedAnswer
from bridge.fba import fields

OPERATION = "getPackageTrackingDetails"


class Outcome(StrEnum):
    """Where a package ended up (the values of the cart contract's `Milestone`)."""

    DELIVERED = "delivered"
    DELIVERY_FAILED = "delivery_failed"
    RETURNED_TO_SENDER = "returned_to_sender"


# Every CurrentStatus of the model, decided. Final ones end the following.
FINAL_STATUSES: dict[str, Outcome] = {
    "DELIVERED": Outcome.DELIVERED,
    # "Undeliverable because package was lost or destroyed."
    "UNDELIVERABLE": Outcome.DELIVERY_FAILED,
    # "Returned to Amazon's fulfillment network."
    "RETURNED": Outcome.RETURNED_TO_SENDER,
    # The stages of a customer return (a pickup from the customer, the unit back, the
    # refund): only a package that reached the customer gets there.
    "PICKUP_SCHEDULED": Outcome.DELIVERED,
    "PICKUP_ATTEMPTED": Outcome.DELIVERED,
    "PICKUP_CANCELLED": Outcome.DELIVERED,
    "PICKUP_SUCCESSFUL": Outcome.DELIVERED,
    "RETURN_REQUEST_ACCEPTED": Outcome.DELIVERED,
    "REFUND_ISSUED": Outcome.DELIVERED,
    "RETURN_RECEIVED_IN_FC": Outcome.DELIVERED,
}
# Still on the way (or on the way back): followed on.
OPEN_STATUSES = frozenset({
    "IN_TRANSIT", "OUT_FOR_DELIVERY", "DELAYED", "DELIVERY_ATTEMPTED",
    "AVAILABLE_FOR_PICKUP", "CUSTOMER_ACTION",
    "RETURNING",  # refused or unclaimed, on its way back: RETURNED ends it
    "UNKNOWN",    # "Unknown Status Code was returned": nothing to conclude yet
})
KNOWN_STATUSES = frozenset(FINAL_STATUSES) | OPEN_STATUSES

# The events that mark when a final outcome happened (its time is the milestone's).
OUTCOME_EVENTS: dict[Outcome, frozenset[str]] = {
    Outcome.DELIVERED: frozenset({"EVENT_301", "EVENT_801", "EVENT_804"}),
    Outcome.DELIVERY_FAILED: frozenset({"EVENT_405", "EVENT_409", "EVENT_416"}),
    Outcome.RETURNED_TO_SENDER: frozenset({"EVENT_309"}),
}


@dataclass(frozen=True)
class TrackingEvent:
    code: str              # the model's EventCode (EVENT_101 …)
    at: datetime
    description: str
    city: str = ""
    state: str = ""
    country: str = ""


@dataclass(frozen=True)
class PackageTracking:
    package_number: int
    status: str                 # the model's CurrentStatus, as Amazon sent it ("" if none)
    status_description: str = ""
    tracking_number: str = ""
    carrier: str = ""
    shipped_at: datetime | None = None
    estimated_arrival: datetime | None = None
    events: tuple[TrackingEvent, ...] = ()  # newest first

    @property
    def outcome(self) -> Outcome | None:
        """The final outcome, or None while the package is on its way (or unknown)."""
        return FINAL_STATUSES.get(self.status)

    @property
    def known_status(self) -> bool:
        return self.status in KNOWN_STATUSES

    def outcome_event(self) -> TrackingEvent | None:
        """The newest event that marks the outcome (else the newest event at all)."""
        outcome = self.outcome
        codes = OUTCOME_EVENTS.get(outcome, frozenset()) if outcome else frozenset()
        marking = [event for event in self.events if event.code in codes] or list(self.events)
        return marking[0] if marking else None


def parse_tracking_details(payload: dict[str, Any], package_number: int) -> PackageTracking:
    """A PackageTrackingDetails payload of the package asked for, or MalformedAnswer."""
    number = payload.get("packageNumber")
    if isinstance(number, bool) or not isinstance(number, int):
        raise fields.malformed(OPERATION, "packageNumber", "an integer", number)
    if number != package_number:
        raise MalformedAnswer(f"Amazon answered {OPERATION} for package {package_number} "
                              f"with package {number}")
    events = tuple(_event(raw, index) for index, raw
                   in enumerate(fields.array(payload, "trackingEvents", OPERATION)))
    for key in ("customerTrackingLink", "carrierPhoneNumber", "carrierURL", "signedForBy",
                "additionalLocationInfo"):
        fields.text(payload, key, OPERATION)
    fields.optional_object(payload, "shipToAddress", OPERATION)
    return PackageTracking(
        package_number=number,
        status=fields.text(payload, "currentStatus", OPERATION),
        status_description=fields.text(payload, "currentStatusDescription", OPERATION),
        tracking_number=fields.text(payload, "trackingNumber", OPERATION),
        carrier=fields.text(payload, "carrierCode", OPERATION),
        shipped_at=fields.time(payload, "shipDate", OPERATION),
        estimated_arrival=fields.time(payload, "estimatedArrivalDate", OPERATION),
        # Newest first, whatever order Amazon lists them in.
        events=tuple(sorted(events, key=lambda event: event.at, reverse=True)),
    )


def _event(raw: Any, index: int) -> TrackingEvent:
    where = f"trackingEvents[{index}]"
    if not isinstance(raw, dict):
        raise fields.malformed(OPERATION, where, "an object", raw)
    code = raw.get("eventCode")
    if not isinstance(code, str) or not code:
        raise fields.malformed(OPERATION, f"{where}.eventCode", "a string", code)
    at = fields.time(raw, "eventDate", OPERATION, where=where)
    if at is None:
        raise fields.malformed(OPERATION, f"{where}.eventDate", "a date-time string", None)
    address = fields.optional_object(raw, "eventAddress", OPERATION, where=where)
    return TrackingEvent(
        code=code, at=at, description=fields.text(raw, "eventDescription", OPERATION, where=where),
        city=fields.text(address, "city", OPERATION, where=where),
        state=fields.text(address, "state", OPERATION, where=where),
        country=fields.text(address, "country", OPERATION, where=where),
    )
