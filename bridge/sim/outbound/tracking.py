"""What a shipped package goes through between the fulfillment center and the door, as
getPackageTrackingDetails reports it on the simulated clock.

Every package follows one outcome, chosen per order through the admin API (default
DELIVERED). Each outcome is a timeline of scan events (the model's EventCode values and
their descriptions) at fractions of the transit time; a package's current status is the
status of the latest event that has happened.

    DELIVERED      101, 102, 201, 302 (OUT_FOR_DELIVERY), 301 (DELIVERED at ETA)
    DELAYED        ... 418 (DELAYED) at 90 %, then 302 and 301 one transit time late
    UNDELIVERABLE  ... 201, then 409 lost by carrier (UNDELIVERABLE) at the ETA
    RETURNED       ... 302, 304 (DELIVERY_ATTEMPTED) at the ETA, 407 refused, 408
                   (RETURNING), 309 back at Amazon (RETURNED) one transit time later
"""

from __future__ import annotations

import hashlib

from bridge.sim.clock import iso
from bridge.sim.outbound.carriers import CARRIERS, carrier_contact, tracking_number

__all__ = ["OUTCOMES", "details", "pick_carrier", "progress", "tracking_number"]

OUTCOMES = ("DELIVERED", "DELAYED", "UNDELIVERABLE", "RETURNED")
AMAZON_LOGISTICS = "AMZL_US"
_DESCRIPTIONS = {
    "EVENT_101": "Carrier notified to pick up package.",
    "EVENT_102": "Shipment picked up from seller's facility.",
    "EVENT_201": "Arrival scan.",
    "EVENT_301": "Delivered.",
    "EVENT_302": "Out for delivery.",
    "EVENT_304": "Delivery attempted.",
    "EVENT_309": "Returned to seller.",
    "EVENT_407": "Customer refused delivery.",
    "EVENT_408": "Returning to seller.",
    "EVENT_409": "Lost by carrier.",
    "EVENT_418": "Shipment delayed.",
}
_STATUS_TEXT = {
    "IN_TRANSIT": "In transit to the destination address.",
    "OUT_FOR_DELIVERY": "Out for Delivery.",
    "DELIVERED": "Delivered to the destination address.",
    "DELAYED": "Delayed.",
    "UNDELIVERABLE": "Undeliverable because package was lost or destroyed.",
    "DELIVERY_ATTEMPTED": "Delivery Attempted.",
    "RETURNING": "In the process of being returned to Amazon's fulfillment network.",
    "RETURNED": "Returned to Amazon's fulfillment network.",
}
# (fraction of transit time, event code, where: "fc" or "home", status after it)
_START = ((0.0, "EVENT_101", "fc", "IN_TRANSIT"), (0.1, "EVENT_102", "fc", "IN_TRANSIT"),
          (0.5, "EVENT_201", "home", "IN_TRANSIT"))
_TIMELINES = {
    "DELIVERED": _START + ((0.9, "EVENT_302", "home", "OUT_FOR_DELIVERY"),
                           (1.0, "EVENT_301", "home", "DELIVERED")),
    "DELAYED": _START + ((0.9, "EVENT_418", "home", "DELAYED"),
                         (1.9, "EVENT_302", "home", "OUT_FOR_DELIVERY"),
                         (2.0, "EVENT_301", "home", "DELIVERED")),
    "UNDELIVERABLE": _START + ((1.0, "EVENT_409", "home", "UNDELIVERABLE"),),
    "RETURNED": _START + ((0.9, "EVENT_302", "home", "OUT_FOR_DELIVERY"),
                          (1.0, "EVENT_304", "home", "DELIVERY_ATTEMPTED"),
                          (1.05, "EVENT_407", "home", "DELIVERY_ATTEMPTED"),
                          (1.1, "EVENT_408", "home", "RETURNING"),
                          (2.0, "EVENT_309", "fc", "RETURNED")),
}


def _digest(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def pick_carrier(order_id: str, fc_id: str, block_amazon_logistics: bool) -> str:
    """A carrier per (order, center), stable; never Amazon Logistics when BLOCK_AMZL is
    required."""
    choices = [c for c in CARRIERS if not (block_amazon_logistics and c == AMAZON_LOGISTICS)]
    return choices[int(_digest("carrier", order_id, fc_id), 16) % len(choices)]


def expected_arrival(package: dict, outcome: str, now: float) -> float:
    """The ETA as the carrier states it by `now`: a delay, once scanned, pushes it back."""
    shipped, due = package["shippedAt"], package["deliveredAt"]
    span = due - shipped
    if outcome == "DELAYED" and now >= shipped + span * 0.9:
        return shipped + span * 2.0
    return due


def progress(package: dict, outcome: str, now: float) -> tuple[str, list[dict]]:
    """The package's current status and the events that have happened by `now`, newest
    first, as the model's TrackingEvent objects."""
    shipped = package["shippedAt"]
    span = package["deliveredAt"] - shipped
    places = {"fc": package["fcPlace"], "home": package["shipTo"]}
    happened = [(shipped + span * fraction, code, places[where], status)
                for fraction, code, where, status in _TIMELINES[outcome]
                if shipped + span * fraction <= now]
    status = happened[-1][3] if happened else "IN_TRANSIT"
    events = [{"eventDate": iso(at), "eventAddress": dict(place), "eventCode": code,
               "eventDescription": _DESCRIPTIONS[code]}
              for at, code, place, _ in reversed(happened)]
    return status, events


def details(package: dict, outcome: str, now: float) -> dict:
    """The PackageTrackingDetails payload."""
    status, events = progress(package, outcome, now)
    phone, url = carrier_contact(package["carrierCode"])
    body = {
        "packageNumber": package["packageNumber"],
        "trackingNumber": package["trackingNumber"],
        "customerTrackingLink": f"https://www.swiship.com/track?id={package['trackingNumber']}",
        "carrierCode": package["carrierCode"],
        "carrierPhoneNumber": phone,
        "carrierURL": url,
        "shipDate": iso(package["shippedAt"]),
        "estimatedArrivalDate": iso(expected_arrival(package, outcome, now)),
        "shipToAddress": dict(package["shipTo"]),
        "currentStatus": status,
        "currentStatusDescription": _STATUS_TEXT[status],
        "trackingEvents": events,
    }
    if status == "DELIVERED":
        body["additionalLocationInfo"] = "FRONT_DOOR"
        if package.get("signatureRequired"):
            body["signedForBy"] = package["recipient"]
    return body
