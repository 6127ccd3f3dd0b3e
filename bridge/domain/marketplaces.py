"""Amazon's marketplaces, and which one ships an order: a storefront's routing table
from ship-to country to marketplace.

One seller account per SP-API region reaches every marketplace of that region (North
America: US, CA, MX, BR; Europe: UK, DE, FR, IT, ES, ...), and Amazon keeps inventory per
marketplace. An order goes to the marketplace its country routes to; a country the table
does not name goes to the default; `refuse` (as a route or the default) stops the order
with the typed reason `no_marketplace` instead of sending it where it cannot ship.
Pure: no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bridge.errors import NeedsAttentionError

REFUSE = "refuse"
DEFAULT_KEY = "default"


@dataclass(frozen=True)
class Marketplace:
    marketplace_id: str
    code: str       # the marketplace's own short name (UK, not GB)
    country: str    # ISO 3166-1 code of its home country
    region: str     # the SP-API region whose endpoint serves it: NA, EU or FE


# Amazon's marketplace ids (SP-API "Marketplace IDs" reference), by region.
KNOWN = tuple(Marketplace(*row) for row in (
    ("ATVPDKIKX0DER", "US", "US", "NA"),
    ("A2EUQ1WTGCTBG2", "CA", "CA", "NA"),
    ("A1AM78C64UM0Y8", "MX", "MX", "NA"),
    ("A2Q3Y263D00KWC", "BR", "BR", "NA"),
    ("A1F83G8C2ARO7P", "UK", "GB", "EU"),
    ("A1PA6795UKMFR9", "DE", "DE", "EU"),
    ("A13V1IB3VIYZZH", "FR", "FR", "EU"),
    ("APJ6JRA9NG5V4", "IT", "IT", "EU"),
    ("A1RKKUPIHCS9HS", "ES", "ES", "EU"),
    ("A1805IZSGTT6HS", "NL", "NL", "EU"),
    ("A2NODRKZP88ZB9", "SE", "SE", "EU"),
    ("A1C3SOZRARQ6R3", "PL", "PL", "EU"),
    ("AMEN7PMS3EDWL", "BE", "BE", "EU"),
    ("A28R8C7NBKEWEA", "IE", "IE", "EU"),
    ("A33AVAJ2PDY3EV", "TR", "TR", "EU"),
    ("A21TJRUUN4KGV", "IN", "IN", "EU"),
    ("A1VC38T7YXB528", "JP", "JP", "FE"),
    ("A39IBJ37TRP1C6", "AU", "AU", "FE"),
    ("A19VAU5U5O7RUS", "SG", "SG", "FE"),
))
BY_ID = {m.marketplace_id: m for m in KNOWN}
_BY_CODE = {**{m.country: m for m in KNOWN}, **{m.code: m for m in KNOWN}}


def find(name: str) -> Marketplace | None:
    """A marketplace by its id, or by its short name (US, CA, UK or GB, DE, ...)."""
    name = name.strip()
    return BY_ID.get(name) or _BY_CODE.get(name.upper())


def resolve_id(name: str) -> str:
    """The id a configured name stands for (an id, or a short name); an unknown name
    stays as written, so it matches nothing routed."""
    known = find(name)
    return known.marketplace_id if known else name.strip()


def label(marketplace_id: str) -> str:
    """`A2EUQ1WTGCTBG2 (CA)` for a known marketplace, the id alone otherwise."""
    known = BY_ID.get(marketplace_id)
    return f"{marketplace_id} ({known.code})" if known else marketplace_id


@dataclass(frozen=True)
class Routing:
    """Ship-to country → marketplace id. Without a table every order goes home."""

    home: str
    table: Mapping[str, str] = field(default_factory=dict)  # country → id or REFUSE
    default: str = ""  # id or REFUSE; "" means home

    def marketplace_for(self, country: str) -> str:
        """The marketplace that ships to `country`; NeedsAttentionError `no_marketplace`
        when the routing refuses it."""
        country = country.strip().upper()
        chosen = self.table.get(country) or self.default or self.home
        if chosen == REFUSE:
            named = country in self.table
            raise NeedsAttentionError(
                "no_marketplace",
                f"no marketplace of this seller account ships to {country or 'an empty country'}: "
                + ("the storefront's routing refuses it" if named else
                   "it is not in the storefront's [fulfillment.routing] and the default is "
                   "refuse")
                + "; ship it another way, or route the country to a marketplace that serves "
                "it and `bridge orders retry` it")
        return chosen

    def key(self, marketplace_id: str) -> str:
        """How the ledger and requests name a marketplace: "" for home (rows written
        before routing existed are home's), the id for any other."""
        return "" if marketplace_id in ("", self.home) else marketplace_id

    def marketplace_id(self, key: str) -> str:
        return key or self.home

    @property
    def marketplaces(self) -> tuple[str, ...]:
        """Every marketplace orders can go to, home first."""
        routed = [m for m in (*self.table.values(), self.default) if m and m != REFUSE]
        return tuple(dict.fromkeys([self.home, *routed]))

    @property
    def routed(self) -> bool:
        return len(self.marketplaces) > 1 or bool(self.table) or self.default == REFUSE
