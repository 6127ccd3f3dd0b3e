"""How cart SKUs become seller SKUs at Amazon: the storefront's `[policy.sku_map]`.

    "MUG-BLUE-L"  = "MUG-BLUE"                       one cart SKU to one seller SKU
    "blue-mug"    = "MUG-BLUE"                       several cart SKUs may share one
    "GIFT-SET"    = { "MUG-BLUE" = 2, "COASTER" = 4 }   a kit: one cart unit ships these

A cart SKU not in the map is its own seller SKU, so a seller SKU that some entry
points at still keeps its same-named shop SKU in line. The map is applied once: a
target is never looked up again, which is why a target that is itself a key of a
different entry is refused as a chain (the merchant almost certainly meant the end of
it). Pure: no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

MAX_SELLER_SKU = 50   # Amazon's sellerSku limit
MAX_KIT_COMPONENTS = 20
MAX_KIT_UNITS = 250   # no kit can ship in one order beyond Amazon's unit limit

Components = tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class SkuMap:
    entries: Mapping[str, Components]

    @classmethod
    def from_config(cls, raw: Mapping[str, str | Mapping[str, int]]) -> SkuMap:
        entries: dict[str, Components] = {}
        for cart_sku, target in raw.items():
            if isinstance(target, str):
                entries[cart_sku] = ((target, 1),)
            else:
                entries[cart_sku] = tuple((sku, int(units)) for sku, units in target.items())
        return cls(entries)

    def components(self, cart_sku: str) -> Components:
        """Seller SKUs and units that one unit of `cart_sku` ships as."""
        return self.entries.get(cart_sku) or ((cart_sku, 1),)

    def is_kit(self, cart_sku: str) -> bool:
        parts = self.components(cart_sku)
        return len(parts) > 1 or parts[0][1] != 1

    def cart_skus(self, seller_skus: Iterable[str]) -> list[str]:
        """Every shop SKU whose quantity follows Amazon's stock of `seller_skus`: the
        mapped cart SKUs whose components are all known, and each known seller SKU
        under its own name unless an entry maps that name elsewhere."""
        known = set(seller_skus)
        out = [cart_sku for cart_sku, parts in self.entries.items()
               if all(sku in known for sku, _units in parts)]
        out += [sku for sku in sorted(known) if sku not in self.entries]
        return out

    def problems(self) -> list[tuple[str, str]]:
        """(cart SKU, what is wrong) for every entry Amazon or bridge could not use."""
        found: list[tuple[str, str]] = []
        for cart_sku, parts in self.entries.items():
            if not cart_sku.strip():
                found.append((cart_sku, "a cart SKU cannot be empty"))
            if not parts:
                found.append((cart_sku, "a kit needs at least one seller SKU"))
            if len(parts) > MAX_KIT_COMPONENTS:
                found.append((cart_sku, f"a kit has at most {MAX_KIT_COMPONENTS} seller SKUs"))
            for seller_sku, units in parts:
                found += [(cart_sku, what) for what in _target_problems(seller_sku, units)]
                found += self._chain_problems(cart_sku, seller_sku)
            if sum(units for _sku, units in parts) > MAX_KIT_UNITS:
                found.append((cart_sku, f"one unit ships more than Amazon's {MAX_KIT_UNITS} "
                                        "units per order"))
        return found

    def _chain_problems(self, cart_sku: str, seller_sku: str) -> list[tuple[str, str]]:
        if seller_sku == cart_sku or seller_sku not in self.entries:
            return []
        onward = self.entries[seller_sku]
        if onward == ((seller_sku, 1),):
            return []
        if any(sku == cart_sku for sku, _units in onward):
            return [(cart_sku, f"maps to {seller_sku!r}, which maps back to {cart_sku!r}: a cycle")]
        ends = ", ".join(sku for sku, _units in onward)
        return [(cart_sku, f"maps to {seller_sku!r}, which is itself mapped (to {ends}); the map "
                           "is applied once, so point the entry at the seller SKU it should ship")]


def _target_problems(seller_sku: str, units: int) -> list[str]:
    out = []
    if not seller_sku.strip():
        out.append("a seller SKU cannot be empty")
    if len(seller_sku) > MAX_SELLER_SKU:
        out.append(f"seller SKU {seller_sku[:60]!r} is longer than Amazon's {MAX_SELLER_SKU} characters")
    if units < 1:
        out.append(f"seller SKU {seller_sku!r} has {units} units per kit; at least 1")
    return out
