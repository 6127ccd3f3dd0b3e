"""Made-up but realistic shipping facts: fulfillment centers, carriers, tracking numbers
and the scan events a package collects between the FC and the customer's door.
Everything derives from a hash of its inputs, so a given order always looks the same."""

from __future__ import annotations

import hashlib

from bridge.sim.clock import iso

# (FC id, city, state): a handful of real US fulfillment center codes.
FULFILLMENT_CENTERS = (
    ("ABE2", "Breinigsville", "PA"),
    ("PHX6", "Phoenix", "AZ"),
    ("ONT8", "Moreno Valley", "CA"),
    ("MDW2", "Joliet", "IL"),
    ("BFI4", "Kent", "WA"),
)
CARRIERS = ("UPS", "USPS", "AMZL_US")
_CARRIER_PHONES = {"UPS": "1-800-742-5877", "USPS": "1-800-275-8777", "AMZL_US": "1-877-234-0411"}
_CARRIER_URLS = {"UPS": "https://www.ups.com/track",
                 "USPS": "https://tools.usps.com/go/TrackConfirmAction",
                 "AMZL_US": "https://track.amazon.com"}


def _digest(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def fulfillment_center(order_id: str) -> tuple[str, str, str]:
    return FULFILLMENT_CENTERS[int(_digest("fc", order_id), 16) % len(FULFILLMENT_CENTERS)]


def carrier_for(order_id: str) -> str:
    return CARRIERS[int(_digest("carrier", order_id), 16) % len(CARRIERS)]


def tracking_number(carrier: str, package_number: int) -> str:
    digits = str(int(_digest("tracking", package_number), 16))
    if carrier == "UPS":
        return "1Z" + _digest("ups", package_number)[:16].upper()
    if carrier == "USPS":
        return "9400" + digits[:18]
    return "TBA" + digits[:12]


def amazon_shipment_id(sequence: int) -> str:
    # Shaped like Amazon's ("T" and 8 letters/digits). Multiplying by a number coprime to
    # 55**8 and reducing is a bijection, so distinct sequences give distinct ids.
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789"
    value, out = (sequence * 2654435761) % len(alphabet) ** 8, ""
    while len(out) < 8:
        value, rest = divmod(value, len(alphabet))
        out += alphabet[rest]
    return "T" + out


def carrier_contact(carrier: str) -> tuple[str, str]:
    return _CARRIER_PHONES.get(carrier, ""), _CARRIER_URLS.get(carrier, "")


def tracking_events(package: dict, now: float) -> tuple[str, list[dict]]:
    """The package's current status and the events that have happened by `now`."""
    shipped, delivered = package["shippedAt"], package["deliveredAt"]
    fc_place = {"city": package["fcCity"], "state": package["fcState"], "country": "US"}
    home = package["shipTo"]
    span = delivered - shipped
    timeline = [
        (shipped, "EVENT_101", "Carrier notified to pick up package.", fc_place, "IN_TRANSIT"),
        (shipped + span * 0.1, "EVENT_102", "Shipment picked up from seller's facility.", fc_place,
         "IN_TRANSIT"),
        (shipped + span * 0.5, "EVENT_201", "Arrival scan.", home, "IN_TRANSIT"),
        (shipped + span * 0.9, "EVENT_302", "Out for delivery.", home, "OUT_FOR_DELIVERY"),
        (delivered, "EVENT_301", "Delivered.", home, "DELIVERED"),
    ]
    happened = [step for step in timeline if step[0] <= now]
    status = happened[-1][4] if happened else "IN_TRANSIT"
    events = [{"eventDate": iso(at), "eventAddress": dict(place), "eventCode": code,
               "eventDescription": text} for at, code, text, place, _ in reversed(happened)]
    return status, events
