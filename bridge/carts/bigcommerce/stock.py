"""Stock into BigCommerce: SKU → inventory item through the V3 catalog, then absolute
adjustments in batches; and stock out of it, read at the same location.

`PUT /v3/inventory/adjustments/absolute` takes up to 2,000 items and names each item by
`sku`, `variant_id` or `product_id`. bridge names it by id, looked up once and cached:
an item BigCommerce does not know would fail the whole batch, while a looked-up list
lets bridge skip SKUs the shop does not sell (Amazon often holds more SKUs than one
storefront). A product without options keeps its stock on the product (its base
variant is refused with 422 "tracked by product"), so it is set by `product_id`.

Reading needs no catalog lookup: `GET /v3/inventory/locations/{id}/items` filters by
`sku:in` itself and names each item by its SKU, whichever level tracks it. bridge reads
`total_inventory_onhand`, the quantity an absolute adjustment sets; `available_to_sell`
is that minus the merchant's safety stock, which bridge does not manage."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from bridge.carts.batching import sku_chunks as chunks_under
from bridge.carts.bigcommerce.client import BigCommerceHttp, v3_list, v3_page
from bridge.errors import NeedsAttentionError
from bridge.logging import get_logger

log = get_logger(__name__)

ADJUSTMENT_LIMIT = 2000  # items per absolute adjustment (inventory.v3.yml)
LOOKUP_PAGE = 250  # the catalog's largest page
READ_PAGE = 1000  # items per page of the location's inventory (inventory.v3.yml)
LOOKUP_QUERY_CHARS = 1800  # keeps each lookup URL well under common 8 KB limits
MISS_TTL_SECONDS = 900  # a SKU added to the catalog later is found again after this
REASON = "bridge: sellable quantity at Amazon FBA"
INVENTORY_READ = "an inventory read"  # what a malformed answer's message says was read


@dataclass(frozen=True)
class InventoryItem:
    """How the inventory API names one SKU's stock: ("variant_id" | "product_id", id)."""

    key: str
    id: int


class SkuResolver:
    def __init__(self, http: BigCommerceHttp, clock: Callable[[], float] = time.monotonic):
        self.http = http
        self._clock = clock
        self._known: dict[str, InventoryItem] = {}
        self._missing: dict[str, float] = {}  # SKU → when the catalog last did not know it

    def resolve(self, skus: Sequence[str]) -> dict[str, InventoryItem]:
        now = self._clock()
        wanted = [s for s in dict.fromkeys(skus) if s not in self._known
                  and now - self._missing.get(s, -MISS_TTL_SECONDS) >= MISS_TTL_SECONDS]
        for chunk in sku_chunks(wanted):
            found = self._lookup(chunk)
            self._known.update(found)
            for sku in chunk:
                if sku not in found:
                    self._missing[sku] = now
        return {s: self._known[s] for s in skus if s in self._known}

    def _lookup(self, chunk: list[str]) -> dict[str, InventoryItem]:
        params = {"sku:in": ",".join(chunk), "limit": LOOKUP_PAGE,
                  "include_fields": "sku,product_id,option_values"}
        response = self.http.request("GET", "/v3/catalog/variants", params=params)
        body = self.http.read_json(response) or {}
        asked = set(chunk)
        found: dict[str, InventoryItem] = {}
        for variant in body.get("data") or []:
            sku = variant.get("sku")
            # Only what was asked for: a filter the server ignored must not map anything.
            if sku not in asked:
                continue
            if variant.get("option_values"):
                found[sku] = InventoryItem("variant_id", int(variant["id"]))
            else:
                found[sku] = InventoryItem("product_id", int(variant["product_id"]))
        return found


def sku_chunks(skus: list[str], max_count: int = LOOKUP_PAGE) -> Iterator[list[str]]:
    return chunks_under(skus, max_count, LOOKUP_QUERY_CHARS)


def adjustment_batches(
    levels: dict[str, int], items: dict[str, InventoryItem], location_id: int
) -> Iterator[list[dict]]:
    """Request bodies' `items`, at most ADJUSTMENT_LIMIT each; one entry per item (two
    SKUs of one option-less product cannot both set it, the last one wins)."""
    entries: dict[InventoryItem, dict] = {}
    for sku, quantity in levels.items():
        item = items.get(sku)
        if item is None:
            continue
        entries.pop(item, None)
        entries[item] = {"location_id": location_id, item.key: item.id, "quantity": max(0, quantity)}
    batch = list(entries.values())
    for start in range(0, len(batch), ADJUSTMENT_LIMIT):
        yield batch[start:start + ADJUSTMENT_LIMIT]


def set_absolute(http: BigCommerceHttp, resolver: SkuResolver, levels: Sequence,
                 location_id: int) -> None:
    latest = {level.sku: level.quantity for level in levels}  # last level per SKU wins
    if not latest:
        return
    items = resolver.resolve(list(latest))
    unknown = [sku for sku in latest if sku not in items]
    if unknown:
        log.warning("bigcommerce_stock_unknown_skus", count=len(unknown), sample=unknown[:10])
    for batch in adjustment_batches(latest, items, location_id):
        http.request("PUT", "/v3/inventory/adjustments/absolute",
                     json={"reason": REASON, "items": batch})


def read_levels(http: BigCommerceHttp, skus: Sequence[str], location_id: int) -> dict[str, int]:
    """On-hand quantity at the location of each SKU the inventory knows."""
    # `sku:in` is split on commas, so a SKU holding one cannot be asked for.
    wanted = [s for s in dict.fromkeys(skus) if s and "," not in s]
    found: dict[str, int] = {}
    for chunk in sku_chunks(wanted, READ_PAGE):
        asked = set(chunk)
        for item in _location_items(http, chunk, location_id):
            sku, quantity = _on_hand(item)
            if sku in asked:
                found[sku] = quantity
    return found


def _location_items(http: BigCommerceHttp, chunk: list[str], location_id: int) -> list:
    return v3_list(http, f"/v3/inventory/locations/{location_id}/items",
                   {"sku:in": ",".join(chunk), "limit": READ_PAGE}, INVENTORY_READ)


def _on_hand(item: Any) -> tuple[str, int]:
    identity = item.get("identity") if isinstance(item, dict) else None
    sku = identity.get("sku") if isinstance(identity, dict) else None
    quantity = item.get("total_inventory_onhand") if isinstance(item, dict) else None
    if not isinstance(sku, str):
        raise _malformed(f"an item without a SKU: {str(item)[:120]!r}")
    if not isinstance(quantity, int) or isinstance(quantity, bool):
        raise _malformed(f"total_inventory_onhand {quantity!r} for SKU {sku!r}")
    return sku, quantity


def _malformed(what: str) -> NeedsAttentionError:
    return NeedsAttentionError("cart_rejected", f"BigCommerce answered {INVENTORY_READ} with {what}")


# --- the online check: is the configured location there and enabled ------------------------

LOCATIONS_PAGE = 250  # far more locations than a store has; one page lists them all
LOCATIONS_SHOWN = 20


def location_problems(http: BigCommerceHttp, location_id: int) -> list[tuple[str, str]]:
    """What is wrong with `location_id` on this store: not one of its locations (with the
    ones it has) or disabled; [] when it is an enabled location."""
    body = http.read_json(http.request("GET", "/v3/inventory/locations",
                                       params={"limit": LOCATIONS_PAGE}))
    locations, _pages = v3_page(body, INVENTORY_READ)
    found = next((loc for loc in locations if isinstance(loc, dict) and loc.get("id") == location_id), None)
    if found is None:
        return [("location_id", f"{location_id} is not a location of this store; "
                 f"locations are: {_named(locations)}")]
    if found.get("enabled") is False:
        return [("location_id", f"location {location_id} ({found.get('label')}) is disabled; "
                 "enable it in Settings › Locations or name an enabled location")]
    return []


def _named(locations: list) -> str:
    shown = [f"{loc.get('label')} ({loc.get('id')}{'' if loc.get('enabled', True) else ', disabled'})"
             for loc in locations[:LOCATIONS_SHOWN] if isinstance(loc, dict)]
    more = len(locations) - len(shown)
    return (", ".join(shown) + (f" and {more} more" if more > 0 else "")) if shown else "none"
