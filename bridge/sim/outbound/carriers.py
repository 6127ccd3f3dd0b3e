"""Made-up but realistic carrier facts: carrier codes with their contact details,
tracking numbers and Amazon shipment ids. Everything derives from a hash or a counter,
so a given package always looks the same."""

from __future__ import annotations

import hashlib

CARRIERS = ("UPS", "USPS", "AMZL_US")
_CARRIER_PHONES = {"UPS": "1-800-742-5877", "USPS": "1-800-275-8777", "AMZL_US": "1-877-234-0411"}
_CARRIER_URLS = {"UPS": "https://www.ups.com/track",
                 "USPS": "https://tools.usps.com/go/TrackConfirmAction",
                 "AMZL_US": "https://track.amazon.com"}


def _digest(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


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
