"""Stock per seller SKU in the simulated fulfillment centers.

Each SKU is a "sku" document: fulfillable units, units reserved for customer orders
(reported as pendingCustomerOrderQuantity), unfulfillable units, and the simulated time
its quantities last changed (what getInventorySummaries' startDateTime filters on).
Callers hold the store's transaction.
"""

from __future__ import annotations

import hashlib

from bridge.sim.state import Store

KIND = "sku"


def _code(prefix: str, sku: str, length: int) -> str:
    digest = hashlib.sha256(sku.encode()).hexdigest().upper()
    return prefix + digest[: length - len(prefix)]


class StockBook:
    def __init__(self, store: Store, marketplace_id: str) -> None:
        self._store = store
        self._marketplace_id = marketplace_id

    def get(self, sku: str) -> dict | None:
        return self._store.get(KIND, sku)

    def all(self) -> list[dict]:
        return sorted(self._store.all(KIND), key=lambda item: item["sellerSku"])

    def ensure(self, sku: str, now: float, product_name: str | None = None,
               marketplace_id: str | None = None) -> dict:
        item = self.get(sku)
        if item is None:
            item = {
                "sellerSku": sku,
                "marketplaceId": marketplace_id or self._marketplace_id,
                "productName": product_name or sku,
                # Stable made-up catalogue identifiers, shaped like Amazon's.
                "asin": _code("B0", sku, 10),
                "fnSku": _code("X00", sku, 10),
                "fulfillable": 0,
                "reserved": 0,
                "unfulfillable": 0,
                "lastUpdated": now,
            }
            self._store.put(KIND, sku, item)
        elif product_name:
            item["productName"] = product_name
            self._store.touch(KIND, sku)
        return item

    def _changed(self, item: dict, now: float) -> None:
        item["lastUpdated"] = max(now, item["lastUpdated"])
        self._store.touch(KIND, item["sellerSku"])

    def set_fulfillable(self, sku: str, quantity: int, now: float) -> dict:
        item = self.ensure(sku, now)
        item["fulfillable"] = int(quantity)
        self._changed(item, now)
        return item

    def add(self, sku: str, quantity: int, now: float) -> dict:
        item = self.ensure(sku, now)
        item["fulfillable"] += int(quantity)
        self._changed(item, now)
        return item

    def remove(self, sku: str) -> bool:
        if self.get(sku) is None:
            return False
        self._store.delete(KIND, sku)
        return True

    def reserve(self, sku: str, wanted: int, now: float) -> int:
        """Move up to `wanted` fulfillable units to reserved; returns how many moved."""
        item = self.get(sku)
        if item is None or wanted <= 0:
            return 0
        taken = min(wanted, item["fulfillable"])
        if taken:
            item["fulfillable"] -= taken
            item["reserved"] += taken
            self._changed(item, now)
        return taken

    def release(self, sku: str, quantity: int, now: float) -> None:
        """Reserved units go back to fulfillable (order cancelled or unfulfillable)."""
        item = self.get(sku)
        quantity = min(quantity, item["reserved"]) if item else 0
        if quantity > 0:
            item["reserved"] -= quantity
            item["fulfillable"] += quantity
            self._changed(item, now)

    def consume(self, sku: str, quantity: int, now: float) -> None:
        """Reserved units shipped: they leave the inventory."""
        item = self.get(sku)
        quantity = min(quantity, item["reserved"]) if item else 0
        if quantity > 0:
            item["reserved"] -= quantity
            self._changed(item, now)
