"""Reading Magento stock back, from the same records bridge writes.

MSI: `GET /V1/inventory/source-items`, searched for `sku in (…)` AND the configured
`source_code`. A SKU and a source make one source item, so a page of `READ_PAGE` rows
answers a batch of as many SKUs. `in` splits its value on commas; a SKU holding one is
asked with its own `eq` filter in the same (ORed) group. A source item whose status is
out of stock sells nothing, whatever its quantity.

Legacy stock (no MSI): `GET /V1/stockItems/{sku}`, one SKU a request: the product list
does not carry stock items, so nothing cheaper reads them."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import quote

import requests

from bridge.carts.batching import sku_chunks as chunks_under
from bridge.carts.magento.client import MagentoHttp
from bridge.carts.magento.mapping import search_params
from bridge.errors import NeedsAttentionError

# A store with Web API input limits refuses pages above 300 rows; one without has no cap.
READ_PAGE = 300
READ_QUERY_CHARS = 4000  # the encoded SKU list, well inside an 8 KB request line


def sku_chunks(skus: Sequence[str]) -> Iterator[list[str]]:
    """Chunks of at most READ_PAGE SKUs whose encoded filter stays under READ_QUERY_CHARS."""
    return chunks_under(skus, READ_PAGE, READ_QUERY_CHARS)


def source_items_params(skus: list[str], source_code: str, page: int) -> dict[str, str]:
    plain = [sku for sku in skus if "," not in sku]
    by_sku = [("sku", "in", ",".join(plain))] if plain else []
    by_sku += [("sku", "eq", sku) for sku in skus if "," in sku]
    return search_params([by_sku, [("source_code", "eq", source_code)]],
                         page_size=READ_PAGE, current_page=page)


def source_item_rows(body: Any) -> tuple[list[Any], int]:
    """The items of one search page and the search's total count."""
    items = body.get("items") if isinstance(body, dict) else None
    total = body.get("total_count") if isinstance(body, dict) else None
    if not isinstance(items, list) or not isinstance(total, int):
        raise malformed("a source-item search without `items` and `total_count`")
    return items, total


def source_item_level(item: Any) -> tuple[str, int]:
    """(SKU, sellable quantity) of one source item."""
    sku = item.get("sku") if isinstance(item, dict) else None
    if not isinstance(sku, str):
        raise malformed(f"a source item without a SKU: {str(item)[:120]!r}")
    quantity = whole_units(item.get("quantity"), sku)
    return sku, quantity if item.get("status") == 1 else 0


def stock_item_level(item: Any, sku: str) -> int | None:
    """Sellable quantity of a legacy stock item; None where the shop keeps no stock."""
    if not isinstance(item, dict):
        raise malformed(f"a stock item that is not an object for SKU {sku!r}")
    if item.get("manage_stock") is False:
        return None
    quantity = whole_units(item.get("qty"), sku)
    return quantity if item.get("is_in_stock") is not False else 0


def whole_units(value: Any, sku: str) -> int:
    # Decimal quantities are allowed for some products; only whole units can be sold.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise malformed(f"quantity {value!r} for SKU {sku!r}")
    return math.floor(value)


def json_body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise malformed(f"a body that is not JSON (HTTP {response.status_code})") from None


def asked_spelling(skus: Sequence[str]) -> dict[str, str]:
    """Magento compares SKUs case-blind: map any spelling back to the one asked for."""
    spelling = {sku.casefold(): sku for sku in skus}
    spelling.update({sku: sku for sku in skus})
    return spelling


def malformed(what: str) -> NeedsAttentionError:
    return NeedsAttentionError("cart_rejected", f"Magento answered a stock read with {what}")


# --- the online check: does the configured MSI source exist ------------------------------

SOURCES_SHOWN = 20


def source_problems(http: MagentoHttp, source_code: str) -> list[tuple[str, str]]:
    """What is wrong with `source_code` on this store: unknown (with the codes there
    are) or disabled; [] when it is an enabled source."""
    response = http.request("GET", f"inventory/sources/{quote(source_code, safe='')}", allow_404=True)
    if response.status_code == 404:
        return [("source_code", f"{source_code!r} is not an inventory source of this store; "
                 f"sources are: {_known_sources(http)}")]
    source = json_body(response)
    if isinstance(source, dict) and source.get("enabled") is False:
        return [("source_code", f"source {source_code!r} is disabled: MSI neither ships from it "
                 "nor sells its stock; enable it in Stores › Inventory › Sources")]
    return []


def _known_sources(http: MagentoHttp) -> str:
    params = search_params([], page_size=SOURCES_SHOWN, current_page=1)
    body = json_body(http.request("GET", "inventory/sources", params=params))
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        return "none"
    shown = [f"{item.get('source_code')} ({item.get('name')}"
             f"{'' if item.get('enabled', True) else ', disabled'})" for item in items if isinstance(item, dict)]
    total = body.get("total_count")
    more = total - len(shown) if isinstance(total, int) else 0
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")
