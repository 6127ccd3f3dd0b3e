"""Stock per marketplace and seller SKU, held per fulfillment center.

Amazon keeps inventory per marketplace: the same seller SKU may have units in the US and
none in Canada. A StockBook reads and writes one marketplace's stock (`at` gives another
marketplace's book on the same store). Each (marketplace, SKU) is a "sku" document:

    fcs            {fcId: {"fulfillable": n, "reserved": n}}  units on the shelf / held
                   for customer orders, per center
    fulfillable    total of fcs[*].fulfillable   (kept in step by every writer here)
    reserved       total of fcs[*].reserved      (reported as pendingCustomerOrderQuantity)
    fcProcessing   returned units being inspected (reserved, fcProcessingQuantity)
    unfulfillable  total of unfulfillableBreakdown {customerDamaged, warehouseDamaged,
                   distributorDamaged, carrierDamaged, defective, expired}
    researching    {researchingQuantityInShortTerm|InMidTerm|InLongTerm: n}
    inbound        {"working", "shipped", "receiving"}: units on their way in
    lastUpdated    simulated time its quantities last changed
    marketplaceId  the marketplace whose stock it is (part of the document's key)

`lastUpdated` is what getInventorySummaries' startDateTime filters on. Amazon documents
that changes in the inbound quantities are not detected by that filter, so the inbound
functions here (adjust_inbound) leave it alone; receiving units onto the shelf does not.

Callers hold the store's transaction.
"""

from __future__ import annotations

import hashlib

from bridge.sim.fulfillment_centers import DEFAULT_CENTER
from bridge.sim.state import Store

KIND = "sku"
UNFULFILLABLE_KINDS = ("customerDamaged", "warehouseDamaged", "distributorDamaged",
                       "carrierDamaged", "defective", "expired")
RESEARCHING_TERMS = ("researchingQuantityInShortTerm", "researchingQuantityInMidTerm",
                     "researchingQuantityInLongTerm")
INBOUND_STAGES = ("working", "shipped", "receiving")
# Where a returned unit lands after inspection, by its ReturnItemDisposition.
_DAMAGE_KIND = {"Defective": "defective", "CustomerDamaged": "customerDamaged",
                "CarrierDamaged": "carrierDamaged", "FulfillerDamaged": "warehouseDamaged"}


def stock_key(marketplace_id: str, sku: str) -> str:
    # Marketplace ids hold no "/", so the pair maps to one key and back.
    return f"{marketplace_id}/{sku}"


def rekey_legacy(store: Store) -> None:
    """Documents written before stock was kept per marketplace are keyed by SKU alone:
    move each to its (marketplace, SKU) key."""
    with store.transaction():
        for key, item in store.items(KIND):
            wanted = stock_key(item["marketplaceId"], item["sellerSku"])
            if key != wanted:
                store.delete(KIND, key)
                store.put(KIND, wanted, item)


def _code(prefix: str, sku: str, length: int) -> str:
    digest = hashlib.sha256(sku.encode()).hexdigest().upper()
    return prefix + digest[: length - len(prefix)]


def _new_item(sku: str, marketplace_id: str, product_name: str, now: float) -> dict:
    return {
        "sellerSku": sku,
        "marketplaceId": marketplace_id,
        "productName": product_name,
        # Stable made-up catalogue identifiers, shaped like Amazon's.
        "asin": _code("B0", sku, 10),
        "fnSku": _code("X00", sku, 10),
        "fcs": {},
        "fulfillable": 0,
        "reserved": 0,
        "fcProcessing": 0,
        "unfulfillable": 0,
        "unfulfillableBreakdown": dict.fromkeys(UNFULFILLABLE_KINDS, 0),
        "researching": dict.fromkeys(RESEARCHING_TERMS, 0),
        "inbound": dict.fromkeys(INBOUND_STAGES, 0),
        "lastUpdated": now,
    }


def plan_allocation(available: dict[str, dict[str, int]], needs: list[tuple[str, int]],
                    allowed: set[str] | None = None,
                    prefer: tuple[str, ...] = ()) -> list[dict[str, int]]:
    """Which center each line's units come from, as few centers as possible.

    `available` maps sku -> {fc: fulfillable}; `needs` is [(sku, units)] per line.
    Centers are taken greedily: the ones the order already ships from first, then the
    one that covers the most lines in full, then the most units, then by id, so an order
    splits only when no single center holds everything. Returns per line {fc: units}
    (less than needed when stock is short). Pure: nothing is reserved."""
    left = {sku: dict(per_fc) for sku, per_fc in available.items()}
    missing = [units for _, units in needs]
    plan: list[dict[str, int]] = [{} for _ in needs]
    centers = sorted({fc for per_fc in left.values() for fc in per_fc
                      if allowed is None or fc in allowed})

    def score(fc: str) -> tuple:
        full = sum(1 for (sku, _), m in zip(needs, missing, strict=True)
                   if m > 0 and left.get(sku, {}).get(fc, 0) >= m)
        units = sum(min(m, left.get(sku, {}).get(fc, 0))
                    for (sku, _), m in zip(needs, missing, strict=True))
        return (fc not in prefer, -full, -units, fc)

    while centers and any(m > 0 for m in missing):
        fc = min(centers, key=score)
        centers.remove(fc)
        for index, (sku, _) in enumerate(needs):
            take = min(missing[index], left.get(sku, {}).get(fc, 0))
            if take > 0:
                plan[index][fc] = plan[index].get(fc, 0) + take
                left[sku][fc] -= take
                missing[index] -= take
    return plan


class StockBook:
    def __init__(self, store: Store, marketplace_id: str,
                 default_center: str = DEFAULT_CENTER) -> None:
        self._store = store
        self.marketplace_id = marketplace_id
        self.default_center = default_center

    def at(self, marketplace_id: str | None) -> StockBook:
        """The book of another marketplace's stock (this one's when None)."""
        if not marketplace_id or marketplace_id == self.marketplace_id:
            return self
        return StockBook(self._store, marketplace_id, self.default_center)

    def _key(self, sku: str) -> str:
        return stock_key(self.marketplace_id, sku)

    # -- reading ------------------------------------------------------------------------

    def get(self, sku: str) -> dict | None:
        return self._store.get(KIND, self._key(sku))

    def all(self) -> list[dict]:
        """This marketplace's SKUs, by seller SKU."""
        return sorted((item for item in self._store.all(KIND)
                       if item["marketplaceId"] == self.marketplace_id),
                      key=lambda item: item["sellerSku"])

    def everywhere(self) -> list[dict]:
        """Every marketplace's SKUs, by marketplace then seller SKU."""
        return sorted(self._store.all(KIND),
                      key=lambda item: (item["marketplaceId"], item["sellerSku"]))

    def catalogue(self, sku: str) -> dict | None:
        """The SKU as listed here, else in any marketplace: for what does not depend on
        where the units are (its ASIN and FNSKU, whether the seller has it at all)."""
        own = self.get(sku)
        if own is not None:
            return own
        return next((i for i in self.everywhere() if i["sellerSku"] == sku), None)

    def available_by_center(self, skus) -> dict[str, dict[str, int]]:
        """sku -> {fc: fulfillable units} for the SKUs asked (unknown SKUs: empty)."""
        out = {}
        for sku in skus:
            item = self.get(sku)
            out[sku] = {fc: q["fulfillable"] for fc, q in (item or {}).get("fcs", {}).items()
                        if q["fulfillable"] > 0}
        return out

    @staticmethod
    def total_reserved(item: dict) -> int:
        return item["reserved"] + item["fcProcessing"]

    @staticmethod
    def total_researching(item: dict) -> int:
        return sum(item["researching"].values())

    @classmethod
    def total_quantity(cls, item: dict) -> int:
        """Units in an inbound shipment or in Amazon's fulfillment centers."""
        return (item["fulfillable"] + cls.total_reserved(item) + item["unfulfillable"]
                + cls.total_researching(item) + sum(item["inbound"].values()))

    # -- catalogue ----------------------------------------------------------------------

    def ensure(self, sku: str, now: float, product_name: str | None = None) -> dict:
        item = self.get(sku)
        if item is None:
            item = _new_item(sku, self.marketplace_id, product_name or sku, now)
            self._store.put(KIND, self._key(sku), item)
        elif product_name:
            item["productName"] = product_name
            self._store.touch(KIND, self._key(sku))
        return item

    def remove(self, sku: str) -> bool:
        if self.get(sku) is None:
            return False
        self._store.delete(KIND, self._key(sku))
        return True

    # -- bookkeeping --------------------------------------------------------------------

    def _changed(self, item: dict, now: float, detected: bool = True) -> None:
        item["fulfillable"] = sum(q["fulfillable"] for q in item["fcs"].values())
        item["reserved"] = sum(q["reserved"] for q in item["fcs"].values())
        item["unfulfillable"] = sum(item["unfulfillableBreakdown"].values())
        if detected:
            item["lastUpdated"] = max(now, item["lastUpdated"])
        self._store.touch(KIND, stock_key(item["marketplaceId"], item["sellerSku"]))

    @staticmethod
    def _center(item: dict, fc: str) -> dict:
        return item["fcs"].setdefault(fc, {"fulfillable": 0, "reserved": 0})

    # -- stock levels (admin, sandbox and inbound) ------------------------------------------

    def set_fulfillable(self, sku: str, quantity: int, now: float, fc: str | None = None,
                        detected: bool = True) -> dict:
        """Absolute level. With a center, only that center's shelf; without one, the whole
        SKU: every unit moves to the default center. Not `detected`: lastUpdated stays."""
        item = self.ensure(sku, now)
        if fc is None:
            for other in item["fcs"].values():
                other["fulfillable"] = 0
            fc = self.default_center
        self._center(item, fc)["fulfillable"] = int(quantity)
        self._changed(item, now, detected)
        return item

    def add(self, sku: str, quantity: int, now: float, fc: str | None = None) -> dict:
        item = self.ensure(sku, now)
        self._center(item, fc or self.default_center)["fulfillable"] += int(quantity)
        self._changed(item, now)
        return item

    def receive(self, sku: str, quantity: int, now: float, fc: str | None = None) -> dict:
        """Inbound units checked in at a center: they leave inboundReceivingQuantity (as
        far as it holds them) and become fulfillable there."""
        item = self.ensure(sku, now)
        inbound = item["inbound"]
        inbound["receiving"] = max(0, inbound["receiving"] - int(quantity))
        self._center(item, fc or self.default_center)["fulfillable"] += int(quantity)
        self._changed(item, now)
        return item

    def adjust_inbound(self, sku: str, now: float, working: int = 0, shipped: int = 0,
                       receiving: int = 0) -> dict:
        """Add (or with negative numbers, take) units to the inbound stages; never below 0.
        Not seen by startDateTime, as Amazon documents."""
        item = self.ensure(sku, now)
        for stage, delta in (("working", working), ("shipped", shipped),
                             ("receiving", receiving)):
            item["inbound"][stage] = max(0, item["inbound"][stage] + int(delta))
        self._changed(item, now, detected=False)
        return item

    def set_researching(self, sku: str, now: float, short: int = 0, mid: int = 0,
                        long: int = 0) -> dict:
        item = self.ensure(sku, now)
        item["researching"] = dict(zip(RESEARCHING_TERMS, map(int, (short, mid, long)),
                                       strict=True))
        self._changed(item, now)
        return item

    def set_unfulfillable(self, sku: str, now: float, **kinds: int) -> dict:
        """Absolute damaged/defective/expired counts, by UNFULFILLABLE_KINDS name."""
        item = self.ensure(sku, now)
        for kind, quantity in kinds.items():
            if kind not in UNFULFILLABLE_KINDS:
                raise ValueError(f"unknown unfulfillable kind {kind!r}")
            item["unfulfillableBreakdown"][kind] = int(quantity)
        self._changed(item, now)
        return item

    # -- customer orders ----------------------------------------------------------------

    def reserve_at(self, sku: str, fc: str, wanted: int, now: float) -> int:
        """Move up to `wanted` fulfillable units at `fc` to reserved; how many moved."""
        item = self.get(sku)
        if item is None or wanted <= 0 or fc not in item["fcs"]:
            return 0
        shelf = item["fcs"][fc]
        taken = min(wanted, shelf["fulfillable"])
        if taken:
            shelf["fulfillable"] -= taken
            shelf["reserved"] += taken
            self._changed(item, now)
        return taken

    def lose(self, sku: str, fc: str, units: int, now: float) -> int:
        """Shelf units found missing at `fc`: they leave the shelf and are counted as
        researching (short term), as Amazon counts misplaced units. How many were lost."""
        item = self.get(sku)
        if item is None or units <= 0 or fc not in item["fcs"]:
            return 0
        shelf = item["fcs"][fc]
        lost = min(units, shelf["fulfillable"])
        if lost:
            shelf["fulfillable"] -= lost
            item["researching"][RESEARCHING_TERMS[0]] += lost
            self._changed(item, now)
        return lost

    def release(self, sku: str, by_center: dict[str, int], now: float) -> None:
        """Reserved units go back on the shelf where they were (order cancelled, shrunk
        or unfulfillable)."""
        item = self.get(sku)
        if item is None:
            return
        moved = False
        for fc, quantity in by_center.items():
            shelf = self._center(item, fc)
            quantity = min(quantity, shelf["reserved"])
            if quantity > 0:
                shelf["reserved"] -= quantity
                shelf["fulfillable"] += quantity
                moved = True
        if moved:
            self._changed(item, now)

    def consume(self, sku: str, fc: str, quantity: int, now: float) -> None:
        """Reserved units shipped from `fc`: they leave the inventory."""
        item = self.get(sku)
        if item is None or fc not in item["fcs"]:
            return
        shelf = item["fcs"][fc]
        quantity = min(quantity, shelf["reserved"])
        if quantity > 0:
            shelf["reserved"] -= quantity
            self._changed(item, now)

    # -- customer returns ---------------------------------------------------------------

    def return_arrived(self, sku: str, quantity: int, now: float) -> None:
        """A returned unit reached the center: held for inspection (fcProcessing)."""
        item = self.get(sku)
        if item is not None and quantity > 0:
            item["fcProcessing"] += quantity
            self._changed(item, now)

    def return_inspected(self, sku: str, fc: str, quantity: int, disposition: str,
                         now: float) -> None:
        """Inspection done: Sellable units go back on the shelf, the rest are counted
        unfulfillable under their damage kind."""
        item = self.get(sku)
        if item is None or quantity <= 0:
            return
        quantity = min(quantity, item["fcProcessing"])
        item["fcProcessing"] -= quantity
        kind = _DAMAGE_KIND.get(disposition)
        if kind is None:
            self._center(item, fc)["fulfillable"] += quantity
        else:
            item["unfulfillableBreakdown"][kind] += quantity
        self._changed(item, now)
