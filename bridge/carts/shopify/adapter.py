"""The Shopify cart adapter (GraphQL Admin API).

Reads orders changed in a window (`orders` sorted by UPDATED_AT, Shopify's cursors as
page tokens), fulfils FulfillmentOrders at the merchant's Amazon location with
`fulfillmentCreate`, sets `available` quantities at that location with
`inventorySetQuantities`, and appends notes to the order's note."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

from bridge.carts.contract import Capabilities, SecretResolver
from bridge.carts.shopify import queries as q
from bridge.carts.shopify.client import ShopifyHttp, user_errors
from bridge.carts.shopify.mapping import (
    FulfillmentOrderLine,
    cart_order,
    window_query,
    workable_lines,
)
from bridge.carts.shopify.settings import ShopifySettings, check_settings
from bridge.domain.model import CartOrder, OrderPage, PackageShipment, StockLevel
from bridge.errors import NeedsAttentionError
from bridge.logging import get_logger

log = get_logger(__name__)

# Fulfillments Shopify no longer counts as shipped; their tracking may be written again.
VOID_FULFILLMENT_STATUSES = frozenset({"CANCELLED", "ERROR", "FAILURE"})
NOTE_SEPARATOR = "\n"


class ShopifyAdapter:
    platform: ClassVar[str] = "shopify"
    capabilities: ClassVar[Capabilities] = Capabilities(
        partial_fulfillment=True, notes=True, bulk_stock=True, webhooks=False,
        stock_batch_size=q.QUANTITIES_PER_CALL,
    )

    def __init__(self, settings: ShopifySettings, http: ShopifyHttp | None = None) -> None:
        self.settings = settings
        self.http = http or ShopifyHttp(settings)
        self._inventory_items: dict[str, tuple[str, ...]] = {}  # SKU → tracked InventoryItem GIDs

    @classmethod
    def check_settings(cls, settings: dict[str, Any]) -> list[tuple[str, str]]:
        return check_settings(settings)

    @classmethod
    def from_settings(cls, settings: dict[str, Any], secret: SecretResolver) -> "ShopifyAdapter":
        return cls(ShopifySettings.from_settings(settings, secret))

    # -- orders in --------------------------------------------------------------------

    def fetch_orders(self, since: datetime, until: datetime, page: str | None, limit: int) -> OrderPage:
        first = max(1, min(limit, q.MAX_ORDERS_PER_PAGE))
        variables = {"first": first, "after": page, "query": window_query(since, until)}
        data = self.http.graphql(q.ORDERS_UPDATED, variables, cost=q.orders_page_cost(first))
        connection = data["orders"]
        orders = [self._order(node) for node in connection["nodes"]]
        info = connection["pageInfo"]
        return OrderPage(orders, info["endCursor"] if info["hasNextPage"] else None)

    def _order(self, node: dict) -> CartOrder:
        fos = node["fulfillmentOrders"]
        if _overflows(fos):
            fulfillment_orders = self._all_fulfillment_orders(node["id"])
        else:
            fulfillment_orders = fos["nodes"]
        lines = workable_lines(fulfillment_orders, self.settings.location_id)
        return cart_order(node, lines, self.settings.paid_statuses)

    def _all_fulfillment_orders(self, order_id: str) -> list[dict]:
        """Every fulfillment order of one order with every line item, for orders larger
        than a page's nested connections."""
        found, after = [], None
        while True:
            data = self.http.graphql(q.ORDER_FULFILLMENT_ORDERS, {"id": order_id, "after": after},
                                     cost=q.ORDER_FULFILLMENT_ORDERS_COST)
            order = data.get("order")
            if order is None:
                return found
            connection = order["fulfillmentOrders"]
            for fo in connection["nodes"]:
                if fo["lineItems"]["pageInfo"]["hasNextPage"] and self._is_ours(fo):
                    fo = {**fo, "lineItems": {"nodes": self._all_line_items(fo)}}
                found.append(fo)
            if not connection["pageInfo"]["hasNextPage"]:
                return found
            after = connection["pageInfo"]["endCursor"]

    def _all_line_items(self, fo: dict) -> list[dict]:
        items = list(fo["lineItems"]["nodes"])
        after = fo["lineItems"]["pageInfo"]["endCursor"]
        while after:
            data = self.http.graphql(q.FULFILLMENT_ORDER_LINES, {"id": fo["id"], "after": after},
                                     cost=q.FULFILLMENT_ORDER_LINES_COST)
            connection = (data.get("fulfillmentOrder") or {}).get("lineItems")
            if not connection:
                break
            items.extend(connection["nodes"])
            info = connection["pageInfo"]
            after = info["endCursor"] if info["hasNextPage"] else None
        return items

    def _is_ours(self, fo: dict) -> bool:
        location = ((fo.get("assignedLocation") or {}).get("location") or {}).get("id")
        return location == self.settings.location_id

    # -- tracking back ----------------------------------------------------------------

    def push_shipment(self, order: CartOrder, shipment: PackageShipment, notify: bool) -> bool:
        if shipment.tracking_number in self._tracking_numbers(order.order_id):
            return False
        by_fo = self._lines_to_fulfil(order, shipment)
        fulfillment: dict[str, Any] = {
            "lineItemsByFulfillmentOrder": [
                {"fulfillmentOrderId": fo_id,
                 "fulfillmentOrderLineItems": [{"id": line_id, "quantity": qty} for line_id, qty in items]}
                for fo_id, items in by_fo.items()
            ],
            "trackingInfo": _tracking_info(shipment),
            "notifyCustomer": notify if self.settings.notify_customer is None else self.settings.notify_customer,
        }
        data = self.http.graphql(q.FULFILLMENT_CREATE, {"fulfillment": fulfillment},
                                 cost=q.MUTATION_COST, write=True)
        user_errors(f"the fulfillment of order {order.number}", data["fulfillmentCreate"]["userErrors"])
        return True

    def _tracking_numbers(self, order_id: str) -> set[str]:
        data = self.http.graphql(q.ORDER_TRACKING, {"id": order_id}, cost=q.ORDER_TRACKING_COST)
        order = data.get("order")
        if order is None:
            raise NeedsAttentionError("cart_order_missing", f"Shopify has no order {order_id}")
        return {
            info["number"]
            for fulfillment in order["fulfillments"]
            if fulfillment.get("status") not in VOID_FULFILLMENT_STATUSES
            for info in fulfillment["trackingInfo"]
            if info.get("number")
        }

    def _lines_to_fulfil(self, order: CartOrder, shipment: PackageShipment) -> dict[str, list[tuple[str, int]]]:
        """The shipment's lines as (fulfillment order → [(line item, quantity)]), matched by
        FulfillmentOrderLineItem id, else by SKU (a fulfillment order that was moved or
        split since the order was read has new line item ids), capped at what remains."""
        open_lines = workable_lines(self._all_fulfillment_orders(order.order_id), self.settings.location_id)
        remaining = {line.line_id: line.remaining for line in open_lines}
        by_fo: dict[str, list[tuple[str, int]]] = {}
        for shipped in shipment.lines:
            wanted = shipped.quantity
            for line in _candidates(open_lines, shipped.line_id, shipped.sku):
                take = min(wanted, remaining[line.line_id])
                if take <= 0:
                    continue
                remaining[line.line_id] -= take
                wanted -= take
                by_fo.setdefault(line.fulfillment_order_id, []).append((line.line_id, take))
                if wanted == 0:
                    break
            if wanted:
                log.warning("shopify_shipped_more_than_open", order=order.order_id,
                            sku=shipped.sku, quantity=shipped.quantity, unmatched=wanted)
        if not by_fo:
            raise NeedsAttentionError(
                "cart_nothing_to_fulfil",
                f"order {order.number}: Shopify has no open items at the Amazon location for package "
                f"{shipment.package_number} ({shipment.carrier} {shipment.tracking_number}); "
                "were they fulfilled or moved by hand?")
        return by_fo

    # -- stock ------------------------------------------------------------------------

    def set_stock(self, levels: Sequence[StockLevel]) -> None:
        latest = {level.sku: max(0, level.quantity) for level in levels}
        if not latest:
            return
        items = self._resolve_skus(list(latest))
        quantities: dict[str, int] = {}
        for sku, quantity in latest.items():
            for item in items.get(sku, ()):
                quantities[item] = quantity
        unknown = sorted(sku for sku in latest if not items.get(sku))
        if unknown:
            log.warning("shopify_stock_skus_unknown", count=len(unknown), skus=unknown[:20])
        entries = list(quantities.items())
        for start in range(0, len(entries), q.QUANTITIES_PER_CALL):
            self._set_quantities(entries[start:start + q.QUANTITIES_PER_CALL])

    def _set_quantities(self, entries: list[tuple[str, int]]) -> None:
        variables = {
            "input": {
                "name": "available",
                "reason": "correction",
                "quantities": [
                    {"inventoryItemId": item, "locationId": self.settings.location_id,
                     "quantity": quantity, "changeFromQuantity": None}
                    for item, quantity in entries
                ],
            },
            # One key per change; CartHttp's retries resend this same body, hence this key.
            "key": str(uuid.uuid4()),
        }
        data = self.http.graphql(q.INVENTORY_SET_QUANTITIES, variables, cost=q.MUTATION_COST, write=True)
        user_errors("the stock update", data["inventorySetQuantities"]["userErrors"])

    def _resolve_skus(self, skus: list[str]) -> dict[str, tuple[str, ...]]:
        """SKU → tracked InventoryItem GIDs (a SKU may be on several variants). Found
        items are cached for the adapter's life; unknown SKUs are asked again next time."""
        missing = [sku for sku in skus if sku not in self._inventory_items]
        for start in range(0, len(missing), q.SKUS_PER_LOOKUP):
            batch = missing[start:start + q.SKUS_PER_LOOKUP]
            found = self._lookup_variants(batch)
            for sku in batch:
                if found.get(sku):
                    self._inventory_items[sku] = tuple(found[sku])
        return {sku: self._inventory_items.get(sku, ()) for sku in skus}

    def _lookup_variants(self, skus: list[str]) -> dict[str, list[str]]:
        wanted = set(skus)
        search = " OR ".join(f"sku:{_quoted(sku)}" for sku in skus)
        found: dict[str, list[str]] = {}
        after = None
        while True:
            data = self.http.graphql(q.VARIANTS_BY_SKU, {"query": search, "after": after},
                                     cost=q.VARIANTS_BY_SKU_COST)
            connection = data["productVariants"]
            for variant in connection["nodes"]:
                sku, item = variant.get("sku") or "", variant.get("inventoryItem") or {}
                # Shopify's search matches loosely; only an exact SKU counts.
                if sku in wanted and item.get("id") and item.get("tracked", True):
                    if item["id"] not in found.setdefault(sku, []):
                        found[sku].append(item["id"])
            if not connection["pageInfo"]["hasNextPage"]:
                return found
            after = connection["pageInfo"]["endCursor"]

    # -- notes ------------------------------------------------------------------------

    def add_note(self, order: CartOrder, text: str) -> None:
        """Appended to the order's note (orderUpdate replaces the whole note), which the
        merchant sees on the order page. Unchanged when its last line is this text."""
        data = self.http.graphql(q.ORDER_NOTE, {"id": order.order_id}, cost=q.ORDER_NOTE_COST)
        current = ((data.get("order") or {}).get("note") or "").rstrip()
        if current.split(NOTE_SEPARATOR)[-1] == text:
            return
        note = f"{current}{NOTE_SEPARATOR}{text}" if current else text
        data = self.http.graphql(q.ORDER_NOTE_UPDATE, {"input": {"id": order.order_id, "note": note}},
                                 cost=q.MUTATION_COST, write=True)
        user_errors(f"the note on order {order.number}", data["orderUpdate"]["userErrors"])

    def close(self) -> None:
        self.http.close()


def _overflows(fulfillment_orders: dict) -> bool:
    if fulfillment_orders["pageInfo"]["hasNextPage"]:
        return True
    return any(fo["lineItems"]["pageInfo"]["hasNextPage"] for fo in fulfillment_orders["nodes"])


def _candidates(lines: list[FulfillmentOrderLine], line_id: str, sku: str) -> list[FulfillmentOrderLine]:
    exact = [line for line in lines if line.line_id == line_id]
    return exact or [line for line in lines if sku and line.sku == sku]


def _tracking_info(shipment: PackageShipment) -> dict[str, str]:
    info = {"company": shipment.carrier, "number": shipment.tracking_number}
    if shipment.tracking_url:
        info["url"] = shipment.tracking_url
    return info


def _quoted(value: str) -> str:
    """A value for Shopify's search syntax, quoted so spaces and colons stay literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
