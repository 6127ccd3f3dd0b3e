"""Shadow mode's guards: a storefront in shadow mode reaches Amazon and its shop through
read-only wrappers. Reads pass through; every other call is refused with `ShadowWrite`
before anything leaves the process. The services that know the mode (submit, stock)
never get that far; the guard makes "nothing written anywhere" hold even for a flow
that does not know about shadow mode.

A call counts as a read only when it is named here (or starts with a read verb); an
unknown method is refused, so a write added to a client later is refused too."""

from __future__ import annotations

import dataclasses
from typing import Any

from bridge.config import StorefrontConfig
from bridge.errors import BridgeError

SHADOW = "shadow"

# Cart reads: the order poll, stock reads, the online check.
_CART_READS = frozenset({"fetch_orders", "get_stock", "probe", "close", "check_settings",
                         "from_settings"})
# SP-API reads of the fulfillment network, inbound included (getLabels only names URLs).
_FBA_READS = frozenset({
    "fulfillment_order", "changed_orders", "inventory_levels", "features", "feature_sku",
    "package_tracking", "return_reasons", "order_returns", "close",
    "inbound_plans", "packing_options", "packing_group_items", "plan_boxes",
    "placement_options", "shipment", "shipment_items", "shipment_boxes",
    "transportation_options", "delivery_window_options", "operation_status",
    "wait_for_operation", "box_labels", "item_labels", "received_items", "download",
    # Outbound v2026-07-04's getOrderPreview and getOffers: POSTs that change nothing.
    "order_preview", "offers",
})
_READ_PREFIXES = ("get_", "list_", "fetch_", "read_")


class ShadowWrite(BridgeError):
    """A write attempted in shadow mode; nothing was sent."""

    def __init__(self, storefront: str, call: str) -> None:
        super().__init__(f"shadow mode: storefront {storefront!r} does not write "
                         f"({call} was not sent)", storefront, call)
        self.storefront, self.call = storefront, call


def is_shadow(storefront: StorefrontConfig) -> bool:
    return storefront.mode == SHADOW


class _ReadOnly:
    """Passes reads and plain attributes through to `inner`; refuses other calls."""

    _reads: frozenset[str] = frozenset()

    def __init__(self, inner: Any, storefront: str, what: str) -> None:
        self._inner, self._storefront, self._what = inner, storefront, what

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if not callable(value) or name in self._reads or name.startswith(_READ_PREFIXES):
            return value
        return self._refuse(name)

    def _refuse(self, name: str) -> Any:
        storefront, call = self._storefront, f"{self._what}.{name}"

        def refused(*_args: Any, **_kwargs: Any) -> Any:
            raise ShadowWrite(storefront, call)

        return refused


class ReadOnlyCart(_ReadOnly):
    """The cart adapter in shadow mode. It says it has no notes, so a flow that would
    tell the merchant something skips the note (and records no failed note)."""

    _reads = _CART_READS

    def __init__(self, inner: Any, storefront: str) -> None:
        super().__init__(inner, storefront, "cart")
        self.platform = inner.platform
        self.capabilities = dataclasses.replace(inner.capabilities, notes=False)


class ReadOnlyFulfillmentNetwork(_ReadOnly):
    """The SP-API client in shadow mode; its inbound client is guarded too."""

    _reads = _FBA_READS

    def __init__(self, inner: Any, storefront: str) -> None:
        super().__init__(inner, storefront, "amazon")

    @property
    def inbound(self) -> Any:
        return ReadOnlyFulfillmentNetwork(self._inner.inbound, self._storefront)
