"""The Shopify cart adapter (GraphQL Admin API).

Reads orders changed in a window (`orders` sorted by UPDATED_AT, Shopify's cursors as
page tokens), fulfils FulfillmentOrders at the merchant's Amazon location with
`fulfillmentCreate`, reads `available` quantities at that location by SKU and sets them
with `inventorySetQuantities` (compare-and-swap on `changeFromQuantity`), and appends
notes to the order's note. Cancels, delivery events and returns are in `lifecycle`."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from bridge.carts.contract import (
    CancelRequest,
    Capabilities,
    DeliveryUpdate,
    ReturnUpdate,
    SecretResolver,
)
from bridge.carts.shopify import lifecycle, notes
from bridge.carts.shopify import probe as shopify_probe
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
from bridge.errors import NeedsAttentionError, TransientError
from bridge.logging import get_logger

log = get_logger(__name__)

# The userError code of a quantity whose changeFromQuantity no longer matches the shop.
STALE_CODES = frozenset({"CHANGE_FROM_QUANTITY_STALE"})
# Resends of one batch after stale entries were taken out of it.
MAX_STALE_RESENDS = 3


@dataclass(frozen=True)
class _Entry:
    """One inventory item's new quantity; `change_from` None writes unconditionally."""

    sku: str
    item: str
    quantity: int
    change_from: int | None


class ShopifyAdapter:
    platform: ClassVar[str] = "shopify"
    capabilities: ClassVar[Capabilities] = Capabilities(
        partial_fulfillment=True, notes=True, bulk_stock=True, webhooks=False,
        stock_batch_size=q.QUANTITIES_PER_CALL, stock_read_batch_size=q.SKUS_PER_STOCK_READ,
        conditional_stock_writes=True, cancel_lines=True,
    )

    def __init__(self, settings: ShopifySettings, http: ShopifyHttp | None = None) -> None:
        self.settings = settings
        self.http = http or ShopifyHttp(settings)
        self._inventory_items: dict[str, tuple[str, ...]] = {}  # SKU → tracked InventoryItem GIDs
        # SKU → (quantity reported, {item: available}) as last read or written.
        self._read: dict[str, tuple[int, dict[str, int]]] = {}
        # (body, key) of the last stock write whose answer never arrived.
        self._unanswered: tuple[str, str] | None = None

    @classmethod
    def check_settings(cls, settings: dict[str, Any]) -> list[tuple[str, str]]:
        return check_settings(settings)

    @classmethod
    def from_settings(cls, settings: dict[str, Any], secret: SecretResolver) -> ShopifyAdapter:
        return cls(ShopifySettings.from_settings(settings, secret))

    def probe(self) -> list[tuple[str, str]]:
        """The online check: token, access scopes, and the Amazon location (read only)."""
        credential = "client_secret" if self.settings.uses_client_credentials else "access_token"
        return shopify_probe.probe(self.http, self.settings.location_id, credential)

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
        found: list[dict[str, Any]] = []
        after: str | None = None
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
        return set().union(*lifecycle.live_fulfillments(self.http, order_id).values())

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

    def get_stock(self, skus: Sequence[str]) -> dict[str, int]:
        """`available` at the location per SKU, read by SKU in pages of inventory items.
        A SKU on several variants reads as its highest level: any variant showing more
        than Amazon holds then differs from Amazon's number and gets written."""
        wanted = list(dict.fromkeys(skus))
        stock: dict[str, int] = {}
        for start in range(0, len(wanted), q.SKUS_PER_STOCK_READ):
            batch = wanted[start:start + q.SKUS_PER_STOCK_READ]
            levels = self._read_levels(batch)
            for sku in batch:
                self._remember_read(sku, levels.get(sku))
                if sku in levels:
                    stock[sku] = self._read[sku][0]
        return stock

    def _read_levels(self, skus: list[str]) -> dict[str, dict[str, int]]:
        """SKU → {tracked InventoryItem GID → available at the location}; items not
        stocked at the location have no level and are left out."""
        wanted, search = set(skus), " OR ".join(f"sku:{_quoted(sku)}" for sku in skus)
        levels: dict[str, dict[str, int]] = {}
        items: dict[str, list[str]] = {}
        after = None
        while True:
            variables = {"query": search, "location": self.settings.location_id, "after": after}
            connection = self.http.graphql(q.INVENTORY_LEVELS_BY_SKU, variables,
                                           cost=q.STOCK_READ_COST)["inventoryItems"]
            for node in connection["nodes"]:
                sku = node.get("sku") or ""
                # Shopify's search matches loosely; only an exact, tracked SKU counts.
                if sku not in wanted or not node.get("tracked"):
                    continue
                items.setdefault(sku, []).append(node["id"])
                available = _available(node.get("inventoryLevel"))
                if available is not None:
                    levels.setdefault(sku, {})[node["id"]] = available
            if not connection["pageInfo"]["hasNextPage"]:
                break
            after = connection["pageInfo"]["endCursor"]
        for sku, found in items.items():
            self._inventory_items[sku] = tuple(dict.fromkeys(found))
        return levels

    def _remember_read(self, sku: str, per_item: dict[str, int] | None) -> None:
        if not per_item:
            self._read.pop(sku, None)
            return
        if len(set(per_item.values())) > 1:
            log.warning("shopify_stock_variants_disagree", sku=sku, levels=sorted(per_item.values()))
        self._read[sku] = (max(per_item.values()), dict(per_item))

    def set_stock(self, levels: Sequence[StockLevel]) -> list[str]:
        latest = {level.sku: level for level in levels}
        if not latest:
            return []
        items = self._resolve_skus(list(latest))
        unknown = sorted(sku for sku in latest if not items.get(sku))
        if unknown:
            log.warning("shopify_stock_skus_unknown", count=len(unknown), skus=unknown[:20])
        groups = [self._entries(level, items[level.sku]) for level in latest.values() if items.get(level.sku)]
        stale: list[str] = []
        for batch in _batches(groups, q.QUANTITIES_PER_CALL):
            stale += self._write_batch(batch)
        return stale

    def _entries(self, level: StockLevel, item_ids: tuple[str, ...]) -> list[_Entry]:
        """One entry per inventory item of the SKU. The expectation is per item: when it
        is the SKU's quantity as last read, each item is compared with its own reading."""
        quantity = max(0, level.quantity)
        if level.expected is None:
            return [_Entry(level.sku, item, quantity, None) for item in item_ids]
        reported, per_item = self._read.get(level.sku, (None, {}))
        if reported != level.expected:
            per_item = {}
        return [_Entry(level.sku, item, quantity, per_item.get(item, level.expected)) for item in item_ids]

    def _write_batch(self, batch: dict[str, list[_Entry]]) -> list[str]:
        """Write one call's levels; return the SKUs Shopify refused as stale. A stale entry
        fails the whole mutation, so the rest is sent again without it, a bounded number of
        times; past that, the conditional levels left are handed back unwritten."""
        pending, stale = dict(batch), []
        for attempt in range(MAX_STALE_RESENDS + 1):
            if attempt == MAX_STALE_RESENDS:
                held = [sku for sku, entries in pending.items() if _conditional(entries)]
                stale += held
                pending = {sku: entries for sku, entries in pending.items() if sku not in held}
            if not pending:
                break
            refused = self._set_quantities(pending)
            if not refused:
                self._remember_written(pending)
                break
            stale += refused
            pending = {sku: entries for sku, entries in pending.items() if sku not in refused}
        return stale

    def _set_quantities(self, pending: dict[str, list[_Entry]]) -> list[str]:
        """One inventorySetQuantities call; the SKUs of its stale entries (nothing of the
        call was written then), or [] when all of it was written."""
        entries = [entry for group in pending.values() for entry in group]
        payload = {
            "name": "available",
            "reason": "correction",
            "quantities": [
                {"inventoryItemId": e.item, "locationId": self.settings.location_id,
                 "quantity": e.quantity, "changeFromQuantity": e.change_from}
                for e in entries
            ],
        }
        errors = self._mutate_quantities(payload)
        if _codes(errors) & {"IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED"}:
            # The lost attempt this key belonged to failed; Shopify asks for a new key,
            # which the answer just received already made room for.
            errors = self._mutate_quantities(payload)
        return self._stale_skus(errors, entries)

    def _mutate_quantities(self, payload: dict) -> list[dict]:
        variables = {"input": payload, "key": self._key_for(payload)}
        data = self.http.graphql(q.INVENTORY_SET_QUANTITIES, variables, cost=q.MUTATION_COST, write=True)
        errors = data["inventorySetQuantities"]["userErrors"] or []
        if not _codes(errors) & {"IDEMPOTENCY_CONCURRENT_REQUEST"}:
            # Answered: the next body is a new change, with a new key. A change Shopify
            # is still working on keeps its key for the retry it asks for.
            self._unanswered = None
        return errors

    def _key_for(self, payload: dict) -> str:
        """One key per change. CartHttp's retries resend the same body, hence the same key;
        a body whose answer was lost keeps its key, so the caller's retry of it is
        recognised by Shopify as the same change instead of being applied twice."""
        fingerprint = json.dumps(payload, sort_keys=True)
        if self._unanswered and self._unanswered[0] == fingerprint:
            return self._unanswered[1]
        self._unanswered = (fingerprint, str(uuid.uuid4()))
        return self._unanswered[1]

    def _stale_skus(self, errors: list[dict], entries: list[_Entry]) -> list[str]:
        stale = [e for e in errors if e.get("code") in STALE_CODES]
        others = [e for e in errors if e.get("code") not in STALE_CODES]
        if _codes(others) & {"IDEMPOTENCY_CONCURRENT_REQUEST"}:
            raise TransientError("Shopify is still working on the same stock update")
        user_errors("the stock update", others)
        skus: list[str] = []
        for error in stale:
            index = _entry_index(error, len(entries))
            # A stale error that names no entry holds back every conditional level.
            named = [entries[index]] if index is not None else [e for e in entries if e.change_from is not None]
            skus += [e.sku for e in named]
        return list(dict.fromkeys(skus))

    def _remember_written(self, written: dict[str, list[_Entry]]) -> None:
        for sku, entries in written.items():
            self._read[sku] = (entries[0].quantity, {e.item: e.quantity for e in entries})

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
        notes.append_line(self.http, order, text, lambda lines: bool(lines) and lines[-1] == text)

    # -- lifecycle writes (bridge/carts/shopify/lifecycle.py) ---------------------------

    def cancel_order(self, order: CartOrder, request: CancelRequest) -> bool:
        return lifecycle.cancel(self.http, order, request)

    def push_delivery(self, order: CartOrder, update: DeliveryUpdate) -> bool:
        return lifecycle.push_delivery(self.http, order, update)

    def push_return(self, order: CartOrder, update: ReturnUpdate) -> bool:
        return lifecycle.push_return(self.http, order, update)

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


def _available(level: dict | None) -> int | None:
    for quantity in (level or {}).get("quantities") or []:
        if quantity.get("name") == "available":
            return int(quantity["quantity"])
    return None


def _batches(groups: list[list[_Entry]], size: int) -> Iterator[dict[str, list[_Entry]]]:
    """Calls of at most `size` entries; a SKU's items stay in one call, so a stale SKU
    is held back whole."""
    batch: dict[str, list[_Entry]] = {}
    count = 0
    for group in groups:
        if batch and count + len(group) > size:
            yield batch
            batch, count = {}, 0
        batch[group[0].sku] = group
        count += len(group)
    if batch:
        yield batch


def _conditional(entries: list[_Entry]) -> bool:
    return any(e.change_from is not None for e in entries)


def _codes(errors: list[dict]) -> set[str]:
    return {str(e.get("code") or "") for e in errors}


def _entry_index(error: dict, count: int) -> int | None:
    """The quantities index a userError's field path names (input, quantities, i, …)."""
    field = [str(part) for part in error.get("field") or []]
    if len(field) >= 3 and field[1] == "quantities" and field[2].isdigit() and int(field[2]) < count:
        return int(field[2])
    return None


def _quoted(value: str) -> str:
    """A value for Shopify's search syntax, quoted so spaces and colons stay literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
