"""The simulated fulfillment centers: where stock sits, where shipments leave from and
where returns go back to. Real US FC codes with made-up but well-formed addresses.

Some centers cannot do every packaging feature (a blank-box line, an overbox line), so a
SKU stocked only there is not eligible for it: that is how getFeatureSKU answers
SKU_NOT_ELIGIBLE and how a Required feature narrows where an order can ship from."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Center:
    fc_id: str
    city: str
    state: str
    postal_code: str
    address_line: str
    country: str = "US"

    def address(self) -> dict:
        """The Address object of the model (a return goes back here)."""
        return {"name": f"Amazon Fulfillment Center {self.fc_id}",
                "addressLine1": self.address_line, "city": self.city,
                "stateOrRegion": self.state, "postalCode": self.postal_code,
                "countryCode": self.country}

    def tracking_place(self) -> dict:
        return {"city": self.city, "state": self.state, "country": self.country}


CENTERS = {c.fc_id: c for c in (
    Center("ABE2", "Breinigsville", "PA", "18031", "705 Boulder Dr"),
    Center("PHX6", "Phoenix", "AZ", "85043", "4750 W Mohave St"),
    Center("ONT8", "Moreno Valley", "CA", "92551", "24300 Nandina Ave"),
    Center("MDW2", "Joliet", "IL", "60436", "250 Emerald Dr"),
    Center("BFI4", "Kent", "WA", "98032", "21005 64th Ave S"),
)}
DEFAULT_CENTER = "ABE2"

# Packaging features a center's lines cannot do.
_FEATURE_GAPS = {
    "BLANK_BOX": frozenset({"BFI4"}),
    "OVERBOX": frozenset({"BFI4", "ONT8"}),
}


def center(fc_id: str) -> Center:
    """The center with this id; an id the catalogue does not know still gets a place."""
    return CENTERS.get(fc_id) or Center(fc_id, "Seattle", "WA", "98109", "410 Terry Ave N")


def supports(fc_id: str, feature_name: str) -> bool:
    return fc_id not in _FEATURE_GAPS.get(feature_name, frozenset())
