"""Where inbound shipments go: Amazon's marketplaces (country and currency) and the
warehouses the simulator sends shipments to: the simulated US fulfillment centers (where
received stock then sits), made-up ones elsewhere."""

from __future__ import annotations

from bridge.sim.fulfillment_centers import CENTERS

# Marketplace id -> (country code, currency).
MARKETPLACES = {
    "ATVPDKIKX0DER": ("US", "USD"),
    "A2EUQ1WTGCTBG2": ("CA", "CAD"),
    "A1AM78C64UM0Y8": ("MX", "MXN"),
    "A2Q3Y263D00KWC": ("BR", "BRL"),
    "A1F83G8C2ARO7P": ("GB", "GBP"),
    "A1PA6795UKMFR9": ("DE", "EUR"),
    "A13V1IB3VIYZZH": ("FR", "EUR"),
    "APJ6JRA9NG5V4": ("IT", "EUR"),
    "A1RKKUPIHCS9HS": ("ES", "EUR"),
    "A1805IZSGTT6HS": ("NL", "EUR"),
    "A2NODRKZP88ZB9": ("SE", "SEK"),
    "A1C3SOZRARQ6R3": ("PL", "PLN"),
    "AMEN7PMS3EDWL": ("BE", "EUR"),
    "A28R8C7NBKEWEA": ("IE", "EUR"),
    "A33AVAJ2PDY3EV": ("TR", "TRY"),
    "ARBP9OOSHTCHU": ("EG", "EGP"),
    "A17E79C6D8DWNP": ("SA", "SAR"),
    "A2VIGQ35RCS4UG": ("AE", "AED"),
    "A21TJRUUN4KGV": ("IN", "INR"),
    "A1VC38T7YXB528": ("JP", "JPY"),
    "A39IBJ37TRP1C6": ("AU", "AUD"),
    "A19VAU5U5O7RUS": ("SG", "SGD"),
}

# Amazon offers self-ship appointments (and delivery challans, in India) only here. The
# simulator models the other marketplaces, where these operations are not supported.
SELF_SHIP_COUNTRIES = ("MX", "BR", "EG", "SA", "AE", "IN")



def country_of(marketplace_id: str) -> str:
    return MARKETPLACES[marketplace_id][0]


def currency_of(marketplace_id: str) -> str:
    return MARKETPLACES[marketplace_id][1]


def warehouses(marketplace_id: str) -> list[dict]:
    """The fulfillment centers of a marketplace, as ShipmentDestination parts."""
    country = country_of(marketplace_id)
    rows = tuple((c.fc_id, c.address_line, c.city, c.state, c.postal_code)
                 for c in CENTERS.values() if c.country == "US") if country == "US" else tuple(
        (f"{country}X{n}", f"{n} Fulfillment Way", "Logistics Park", country, f"{n}0000")
        for n in (1, 2, 3))
    return [{"warehouseId": wid,
             "address": {"name": f"Amazon Fulfillment Center {wid}",
                         "companyName": "Amazon", "addressLine1": line, "city": city,
                         "stateOrProvinceCode": state, "postalCode": postal,
                         "countryCode": country}}
            for wid, line, city, state, postal in rows]
