"""Marketplaces the simulator knows: the country MCF ships to from each, its currency and
language. Used to price previews, check destinations and answer per-country features."""

from __future__ import annotations

from dataclasses import dataclass

from bridge.sim.wire import invalid_input


@dataclass(frozen=True)
class Marketplace:
    marketplace_id: str
    country: str
    currency: str
    locale: str


MARKETPLACES = {m.marketplace_id: m for m in (
    Marketplace("ATVPDKIKX0DER", "US", "USD", "en_US"),
    Marketplace("A2EUQ1WTGCTBG2", "CA", "CAD", "en_CA"),
    Marketplace("A1AM78C64UM0Y8", "MX", "MXN", "es_MX"),
    Marketplace("A1F83G8C2ARO7P", "GB", "GBP", "en_GB"),
    Marketplace("A1PA6795UKMFR9", "DE", "EUR", "de_DE"),
    Marketplace("A13V1IB3VIYZZH", "FR", "EUR", "fr_FR"),
    Marketplace("APJ6JRA9NG5V4", "IT", "EUR", "it_IT"),
    Marketplace("A1RKKUPIHCS9HS", "ES", "EUR", "es_ES"),
    Marketplace("A1VC38T7YXB528", "JP", "JPY", "ja_JP"),
)}


def marketplace(marketplace_id: str | None, default_id: str) -> Marketplace | None:
    """The marketplace asked for (the simulator's own when None); None if unknown."""
    return MARKETPLACES.get(marketplace_id or default_id)


def resolve(marketplace_id: str | None, default_id: str) -> Marketplace:
    """The marketplace a request names, or InvalidInput. The simulator's own marketplace
    is always known (as a US-like one if it is not in the table)."""
    wanted = marketplace_id or default_id
    found = MARKETPLACES.get(wanted)
    if found is None and wanted == default_id:
        return Marketplace(wanted, "US", "USD", "en_US")
    if found is None:
        raise invalid_input(f"Value {wanted!r} for parameter marketplaceId is invalid.")
    return found
