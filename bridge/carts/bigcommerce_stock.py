"""Stock into BigCommerce: SKU → inventory item through the V3 catalog, then absolute
adjustments in batches.

`PUT /v3/inventory/adjustments/absolute` takes up to 2,000 items and names each item by
`sku`, `variant_id` or `product_id`. bridge names it by id, looked up once and cached:
an item BigCommerce does not know would fail the whole batch, while a looked-up list
lets bridge skip SKUs the shop does not sell (Amazon often holds more SKUs than one
storefront). A product without options keeps its stock on the product (its base
variant is refused with 422 "tracked by product"), so it is set by `product_id`."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from bridge.carts.bigcommerce_http import BigCommerceHttp
from bridge.logging import get_logger

log = get_logger(__name__)

ADJUSTMENT_LIMIT = 2000  # items per absolute adjustment (inventory.v3.yml)
LOOKUP_PAGE = 250  # the catalog's largest page
LOOKUP_QUERY_CHARS = 1800  # keeps each lookup URL well under common 8 KB limits
MISS_TTL_SECONDS = 900  # a SKU added to the catalog later is found again after this
REASON = "bridge: sellable quantity at Amazon FBA"


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
        for chunk in _lookup_chunks(wanted):
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


def _lookup_chunks(skus: list[str]) -> Iterator[list[str]]:
    chunk: list[str] = []
    length = 0
    for sku in skus:
        size = len(quote(sku, safe="")) + 3  # the comma, encoded
        if chunk and (len(chunk) == LOOKUP_PAGE or length + size > LOOKUP_QUERY_CHARS):
            yield chunk
            chunk, length = [], 0
        chunk.append(sku)
        length += size
    if chunk:
        yield chunk


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


def set_absolute(http: BigCommerceHttp, resolver: SkuResolver, levels: Sequence, location_id: int):
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
