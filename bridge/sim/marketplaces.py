"""Marketplaces the simulator knows: their region, the country MCF ships from, the
destination countries its network serves, the currency and language. Used to price
previews, refuse destinations a marketplace does not serve, keep stock per marketplace
and answer per-country features.

Served countries follow Amazon's "Using MCF in multiple countries" page
(https://buywithprime.amazon.com/knowledge-center/multichannel-fulfillment-app-for-shopify/using-mcf-in-multiple-countries):
each marketplace ships within its own country, the EU ones (Germany, France, Italy, Spain)
across the EU through the European Fulfillment Network."""

from __future__ import annotations

from dataclasses import dataclass

from bridge.sim.wire import invalid_input

# The 27 EU member states (ISO 3166-1 alpha-2).
EU_COUNTRIES = frozenset("""
AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK
""".split())


@dataclass(frozen=True)
class Marketplace:
    marketplace_id: str
    country: str
    currency: str
    locale: str
    region: str  # NA, EU or FE: the seller account's SP-API region
    serves: frozenset[str]  # destination countries MCF orders may ship to

    def ships_to(self, country: str) -> bool:
        return country.upper() in self.serves

    def label(self) -> str:
        return f"{self.marketplace_id} ({self.country})"


MARKETPLACES = {m.marketplace_id: m for m in (
    Marketplace("ATVPDKIKX0DER", "US", "USD", "en_US", "NA", frozenset({"US", "PR"})),
    Marketplace("A2EUQ1WTGCTBG2", "CA", "CAD", "en_CA", "NA", frozenset({"CA"})),
    Marketplace("A1AM78C64UM0Y8", "MX", "MXN", "es_MX", "NA", frozenset({"MX"})),
    # The UK network serves Great Britain and the Crown Dependencies.
    Marketplace("A1F83G8C2ARO7P", "GB", "GBP", "en_GB", "EU",
                frozenset({"GB", "IM", "JE", "GG"})),
    Marketplace("A1PA6795UKMFR9", "DE", "EUR", "de_DE", "EU", EU_COUNTRIES),
    Marketplace("A13V1IB3VIYZZH", "FR", "EUR", "fr_FR", "EU", EU_COUNTRIES),
    Marketplace("APJ6JRA9NG5V4", "IT", "EUR", "it_IT", "EU", EU_COUNTRIES),
    Marketplace("A1RKKUPIHCS9HS", "ES", "EUR", "es_ES", "EU", EU_COUNTRIES),
    Marketplace("A1VC38T7YXB528", "JP", "JPY", "ja_JP", "FE", frozenset({"JP"})),
)}


def _us_like(marketplace_id: str) -> Marketplace:
    """A simulator configured with an id outside the table still has a marketplace."""
    return Marketplace(marketplace_id, "US", "USD", "en_US", "NA", frozenset({"US", "PR"}))


def marketplace(marketplace_id: str | None, default_id: str) -> Marketplace | None:
    """The marketplace asked for (the simulator's own when None); None if unknown."""
    return MARKETPLACES.get(marketplace_id or default_id)


def resolve(marketplace_id: str | None, default_id: str) -> Marketplace:
    """The marketplace a request names, or InvalidInput. The simulator's own marketplace
    is always known (as a US-like one if it is not in the table)."""
    wanted = marketplace_id or default_id
    found = MARKETPLACES.get(wanted)
    if found is None and wanted == default_id:
        return _us_like(wanted)
    if found is None:
        raise invalid_input(f"Value {wanted!r} for parameter marketplaceId is invalid.")
    return found


def of_country(country: str) -> Marketplace | None:
    """The marketplace whose fulfillment network ships from `country`, if any."""
    wanted = country.upper()
    return next((m for m in MARKETPLACES.values() if m.country == wanted), None)


def check_serves(market: Marketplace, country: str) -> None:
    """Refuse, as Amazon refuses bad input, a destination the marketplace does not serve."""
    country = country.strip().upper()
    if not market.ships_to(country):
        raise invalid_input(f"Destination country {country} is not served by marketplace "
                            f"{market.label()}.")
