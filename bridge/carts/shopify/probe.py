"""The Shopify adapter's online check: does the token work, does the app hold the scopes
bridge uses, and is `location_id` a location of this shop that is active and fulfils
online orders. Three small read queries; nothing is written."""

from __future__ import annotations

from bridge.carts.shopify import queries as q
from bridge.carts.shopify.client import ShopifyHttp
from bridge.errors import FatalError

# What bridge does with the shop, and the scopes that allow it: any one of each group.
# A write scope includes its read scope, so either is accepted for a read.
REQUIRED_SCOPES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("read_orders", "write_orders"), "to read orders"),
    (("write_orders",), "to append notes to orders and cancel them"),
    (("write_order_edits",), "to cancel the lines Amazon will not ship, by an order edit"),
    (("write_merchant_managed_fulfillment_orders", "write_assigned_fulfillment_orders"),
     "to read fulfillment orders and create fulfillments"),
    (("read_products", "write_products"), "to find the inventory items of SKUs"),
    (("write_inventory",), "to read and set stock at the location"),
)
LOCATIONS_SHOWN = 10


def probe(http: ShopifyHttp, location_id: str, credential_key: str) -> list[tuple[str, str]]:
    try:
        data = http.graphql(q.PROBE_APP, {}, cost=q.PROBE_APP_COST)
    except FatalError as exc:
        return [(credential_key, f"Shopify refused the credentials: {exc.message}; "
                 "check the token (or client id and secret) and that the app is installed")]
    granted = {scope.get("handle") for scope in
               (data.get("currentAppInstallation") or {}).get("accessScopes") or []}
    return missing_scopes(granted) + _location_problems(http, location_id)


def missing_scopes(granted: set) -> list[tuple[str, str]]:
    problems = []
    for alternatives, purpose in REQUIRED_SCOPES:
        if not granted & set(alternatives):
            wanted = " or ".join(alternatives)
            problems.append(("scopes", f"the app lacks the access scope {wanted} ({purpose}); "
                             "add it to the app's Admin API scopes and install the app again"))
    return problems


def _location_problems(http: ShopifyHttp, location_id: str) -> list[tuple[str, str]]:
    try:
        location = http.graphql(q.PROBE_LOCATION, {"id": location_id},
                                cost=q.PROBE_LOCATION_COST).get("location")
    except FatalError as exc:
        return [("location_id", f"cannot read locations to check it ({exc.message}); "
                 "add the read_locations scope so the location can be checked")]
    if location is None:
        return [("location_id", f"{location_id} is not a location of this shop; "
                 f"locations are: {_known_locations(http)}")]
    named = f"{location_id} ({location.get('name')})"
    if not location.get("isActive"):
        return [("location_id", f"{named} is deactivated: nothing is stocked or fulfilled there; "
                 "activate it in Settings → Locations or name an active location")]
    if not location.get("fulfillsOnlineOrders"):
        return [("location_id", f"{named} does not fulfil online orders, so Shopify routes no "
                 "order to it and bridge ships nothing; turn on \"Fulfill online orders from "
                 "this location\" in Settings → Locations")]
    return []


def _known_locations(http: ShopifyHttp) -> str:
    """The shop's locations, for the merchant to pick the right id from."""
    try:
        nodes = http.graphql(q.PROBE_LOCATIONS, {}, cost=q.PROBE_LOCATIONS_COST)["locations"]["nodes"]
    except (FatalError, KeyError, TypeError):
        return "(the shop's locations could not be listed)"
    shown = [f"{n.get('name')} ({n.get('id')}{'' if n.get('isActive') else ', deactivated'})"
             for n in nodes[:LOCATIONS_SHOWN]]
    more = len(nodes) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "") if shown else "none"
