"""Reading WooCommerce product rows for stock: where a SKU's stock lives and how much
the shop can sell of it.

`GET /products?sku=A,B,…` answers with products and variations alike (type
`variation`, `parent_id` set). A row's `manage_stock` is `true` when the row keeps its
own stock, `false` when the shop keeps none for it, and `"parent"` for a variation
that sells from its parent's stock: that quantity is shared with the other variations,
so it is not this SKU's to report."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bridge.errors import NeedsAttentionError


@dataclass(frozen=True)
class StockTarget:
    """Where one SKU's stock lives: a product, or a variation of a parent product."""

    product_id: int
    parent_id: int = 0


@dataclass(frozen=True)
class StockRow:
    sku: str
    target: StockTarget
    quantity: int | None  # None: the row keeps no stock of its own


def searchable(sku: str) -> bool:
    """WooCommerce splits the `sku` filter on commas, so such SKUs cannot be looked up."""
    return bool(sku) and "," not in sku


def stock_row(product: Any) -> StockRow:
    """One row of a SKU lookup; anything not shaped like a product is refused."""
    if not isinstance(product, Mapping):
        raise _malformed(f"a product row that is not an object: {str(product)[:80]!r}")
    try:
        product_id = int(product["id"])
        parent = int(product.get("parent_id") or 0) if product.get("type") == "variation" else 0
    except (KeyError, TypeError, ValueError):
        raise _malformed(f"a product row without a numeric id: {str(product)[:120]!r}") from None
    sku = str(product.get("sku") or "")
    return StockRow(sku, StockTarget(product_id, parent), _sellable(product, sku))


def _sellable(product: Mapping[str, Any], sku: str) -> int | None:
    if product.get("manage_stock") is not True:
        return None
    value = product.get("stock_quantity")
    if value is None:
        return None
    if isinstance(value, bool):
        raise _malformed(f"stock_quantity {value!r} for SKU {sku!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _malformed(f"stock_quantity {value!r} for SKU {sku!r}") from None
    if not math.isfinite(number):
        raise _malformed(f"stock_quantity {value!r} for SKU {sku!r}")
    # Decimal stock (a plugin's) sells whole units only.
    return math.floor(number)


def _malformed(what: str) -> NeedsAttentionError:
    return NeedsAttentionError("cart_rejected", f"WooCommerce answered a SKU lookup with {what}")
